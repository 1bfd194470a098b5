/**
 * `baton plan [failover|failback] [SITE]`: the plan the engine would run, from the serving cluster Baton records,
 * and preflight measured by a worker (the CLI talks to no cluster, Route 53 or database itself: the worker has the
 * credentials). Changes nothing: the dry-run job creates no run and holds no lock.
 */
import type { Queue } from 'bullmq';
import type { Actor, Plan, ProposalPreflight } from '../core/model.js';
import { buildPlan, renderPlan } from '../core/plans/build-plan.js';
import { requiredApprovals } from '../core/policy/approvals.js';
import type { CheckJobData, DryRunResult } from '../queue/check-jobs.js';
import { plural, runLabel } from '../slack/blocks/format.js';
import type { BreakGlass } from './open-break-glass.js';
import type { RunView } from './describe-run.js';
import { preflightView, renderPreflight } from './describe-run.js';
import { countWorkers } from './show-status.js';

const POLL_MS = 100;

export interface PlanReport {
  site: string;
  serving: string;
  kind: Plan['kind'];
  mode: Plan['mode'];
  force: boolean;
  from: string;
  to: string;
  steps: {
    n: number;
    id: string;
    title: string;
    actions: string[];
    parallel: boolean;
    pointOfNoReturn: boolean;
  }[];
  warnings: string[];
  /** The plan as the engine's own text lines (renderPlan). */
  rendered: string[];
  approvalsRequired: number;
  /** Measured by a worker; null when none answered (see preflightNote). */
  preflight: RunView['preflight'] | null;
  preflightNote?: string;
  /** The site's open run, which a proposal would link to instead of creating another. */
  openRun?: { id: string; kind: string; state: string };
}

export async function gatherPlan(
  bg: BreakGlass,
  request: {
    kind: Plan['kind'];
    site?: string;
    planned: boolean;
    force: boolean;
    waitMs: number;
    actor: Actor;
  },
): Promise<PlanReport> {
  const site = bg.service.site(request.site);
  const serving = await bg.service.serving(site);
  const plan = buildPlan(
    { kind: request.kind, ...(request.planned && { mode: 'planned' as const }), force: request.force },
    site,
    { serving },
  );
  const open = await bg.service.openRun(site.name);
  const measured = await measureOnWorker(
    bg.queues.checks,
    {
      type: 'dry-run',
      site: site.name,
      kind: request.kind,
      planned: request.planned,
      force: request.force,
      reason: 'baton plan (break-glass CLI)',
      actor: request.actor,
    },
    request.waitMs,
  );
  let n = 0;
  return {
    site: site.name,
    serving,
    kind: plan.kind,
    mode: plan.mode,
    force: request.force,
    from: plan.from,
    to: plan.to,
    steps: plan.groups.flatMap((group) =>
      group.map((step) => {
        n += 1;
        return {
          n,
          id: step.id,
          title: step.title,
          actions: step.actions,
          parallel: group.length > 1,
          pointOfNoReturn: step.pointOfNoReturn,
        };
      }),
    ),
    warnings: plan.warnings,
    rendered: renderPlan(plan),
    approvalsRequired: requiredApprovals({ force: request.force }, bg.topology.approvals),
    preflight: measured.preflight ? preflightView(measured.preflight) : null,
    ...(measured.note && { preflightNote: measured.note }),
    ...(open && { openRun: { id: open.id, kind: open.kind, state: open.state } }),
  };
}

/**
 * Asks a worker to measure preflight (a dry-run check job) and waits up to `waitMs` for its answer. Says why there is
 * no answer: no worker connected, none answered in time, or the check failed.
 */
export async function measureOnWorker(
  queue: Queue<CheckJobData>,
  data: Extract<CheckJobData, { type: 'dry-run' }>,
  waitMs: number,
): Promise<{ preflight?: ProposalPreflight; note?: string }> {
  if (waitMs <= 0) return { note: 'not measured (--wait 0)' };
  if ((await countWorkers(queue)) === 0)
    return { note: 'not measured: no worker is connected to Redis (start `baton worker`)' };
  const job = await queue.add('dry-run', data, {
    attempts: 1,
    removeOnComplete: { age: 600 },
    removeOnFail: { age: 600 },
  });
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const current = job.id ? await queue.getJob(job.id) : undefined;
    if (!current?.finishedOn) continue;
    const result = current.returnvalue as Partial<DryRunResult> | null;
    if (result?.type === 'dry-run' && result.preflight) return { preflight: result.preflight };
    return { note: `not measured: the worker's check failed (${current.failedReason ?? 'no result'})` };
  }
  // Nobody took it in time: take it back so a worker that comes later does not measure for nobody.
  if ((await job.getState()) === 'waiting') await job.remove().catch(() => undefined);
  return { note: `not measured: no worker answered within ${waitMs / 1000} s` };
}

export function renderPlanReport(report: PlanReport): string[] {
  const label = runLabel({ kind: report.kind, mode: report.mode, force: report.force });
  const lines = [
    `Plan: ${label} of ${report.site}, ${report.from} → ${report.to} (Baton records ${report.serving} as serving).`,
    'Nothing changes until a run is proposed and approved.',
    '',
    ...report.rendered,
  ];
  if (report.warnings.length) lines.push('', ...report.warnings.map((w) => `! ${w}`));
  lines.push('', 'Preflight:');
  if (report.preflight) lines.push(...renderPreflight(report.preflight));
  else lines.push(`  ${report.preflightNote ?? 'not measured'}`);
  lines.push('');
  if (report.openRun) {
    lines.push(
      `${report.site} already has an open run: ${report.openRun.kind} ${report.openRun.id}, ${report.openRun.state}` +
        ` (baton status ${report.site}).`,
    );
  } else {
    lines.push(
      `It would need ${plural(report.approvalsRequired, report.force ? 'break-glass approval' : 'approval')}. ` +
        `Propose it: baton propose ${report.kind} ${report.site}${report.force ? ' --force' : report.mode === 'planned' && report.kind === 'failover' ? ' --planned' : ''} --as <USER> --reason "…"`,
    );
  }
  return lines;
}
