/**
 * A run as the break-glass CLI shows it: a JSON view for machines and plain-text lines for a terminal, with the
 * next thing a person can do about it. Pure: the caller passes the time and what it knows about the workers.
 */
import type { ApprovalsConfig } from '../config/topology.js';
import type { Actor, PreflightCheck, ProposalPreflight, Run, RunState, StepStatus } from '../core/model.js';
import { TERMINAL_STATES } from '../core/model.js';
import { requiredApprovals } from '../core/policy/approvals.js';
import { splitBrainFailures } from '../core/policy/break-glass-votes.js';
import { formatBytes } from '../core/steps/step.js';
import { formatDuration, isoTime, plural, runElapsed, runLabel } from '../slack/blocks/format.js';
import { pastPointOfNoReturn } from '../core/runs/point-of-no-return.js';
import { abortEffect } from '../slack/blocks/run-lines.js';
import { actorPlain, approversLeft } from './cli-identity.js';

export interface ActorView {
  type: Actor['type'];
  id: string;
  /** How the terminal shows it, e.g. `U0BOB (CLI, root@bastion)`. */
  text: string;
  origin?: { osUser: string; host: string };
}

export interface StepView {
  id: string;
  /** 1-based position in the plan; steps of one group run in parallel. */
  n: number;
  title: string;
  status: StepStatus;
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  /** Finished steps: how long it took; a running step: how long so far. */
  durationMs?: number;
  error?: string;
  skippedBy?: ActorView;
}

export interface RunView {
  id: string;
  site: string;
  kind: Run['kind'];
  mode: Run['mode'];
  force: boolean;
  /** `EMERGENCY failover`, `planned failover`, `failback`, with `BREAK-GLASS` for --force. */
  label: string;
  state: RunState;
  from: string;
  to: string;
  reason: string;
  requestedBy: ActorView;
  requestedAt: string;
  updatedAt: string;
  expiresAt?: string;
  approvals: { count: number; required: number; breakGlass: boolean; by: ActorView[] };
  steps: StepView[];
  preflight?: { at: string; checks: PreflightCheck[]; lagBytes: number | null };
  /** Why it is paused, failed or aborted. */
  stateReason?: string;
  /** Since execution started: up to now while open, to its end once finished. */
  elapsedMs?: number;
  /** What a person can do next, as commands and sentences (empty once the run is finished). */
  next: string[];
}

export interface DescribeContext {
  approvals: ApprovalsConfig;
  now: number;
  /** Workers listening on the runs queue; null when Redis would not say (CLIENT LIST disabled). */
  runWorkers: number | null;
}

export function actorView(actor: Actor): ActorView {
  return {
    type: actor.type,
    id: actor.id,
    text: actorPlain(actor),
    ...(actor.origin && { origin: actor.origin }),
  };
}

export function describeRun(run: Run, context: DescribeContext): RunView {
  const { approvals, now } = context;
  const finished = TERMINAL_STATES.has(run.state);
  const elapsed = runElapsed(run, now, finished);
  let n = 0;
  const steps = run.plan.groups.flat().map((planned): StepView => {
    n += 1;
    const record = run.steps[planned.id];
    const status = record?.status ?? 'pending';
    const end = record?.finishedAt ?? (status === 'running' ? now : undefined);
    return {
      id: planned.id,
      n,
      title: planned.title,
      status,
      attempts: record?.attempts ?? 0,
      ...(record?.startedAt !== undefined && { startedAt: isoTime(record.startedAt) }),
      ...(record?.finishedAt !== undefined && { finishedAt: isoTime(record.finishedAt) }),
      ...(record?.startedAt !== undefined &&
        end !== undefined && { durationMs: Math.max(0, end - record.startedAt) }),
      ...(record?.error && { error: record.error }),
      ...(record?.skippedBy && { skippedBy: actorView(record.skippedBy) }),
    };
  });
  return {
    id: run.id,
    site: run.site,
    kind: run.kind,
    mode: run.mode,
    force: run.force,
    label: runLabel(run),
    state: run.state,
    from: run.from,
    to: run.to,
    reason: run.reason,
    requestedBy: actorView(run.requestedBy),
    requestedAt: isoTime(run.createdAt),
    updatedAt: isoTime(run.updatedAt),
    ...(run.expiresAt !== undefined && run.state === 'proposed' && { expiresAt: isoTime(run.expiresAt) }),
    approvals: {
      count: run.approvals.length,
      required: requiredApprovals(run, approvals),
      breakGlass: run.force,
      by: run.approvals.map((a) => actorView(a.actor)),
    },
    steps,
    ...(run.preflight && { preflight: preflightView(run.preflight) }),
    ...(run.stateReason && { stateReason: run.stateReason }),
    ...(elapsed !== undefined && { elapsedMs: elapsed }),
    next: nextActions(run, context),
  };
}

export const preflightView = (preflight: ProposalPreflight): NonNullable<RunView['preflight']> => ({
  at: isoTime(preflight.at),
  checks: preflight.checks,
  lagBytes: preflight.lagBytes,
});

/** What can be done about `run` now, from the CLI (and Slack, once it is back). */
export function nextActions(run: Run, context: DescribeContext): string[] {
  const { approvals, now, runWorkers } = context;
  const noWorker =
    runWorkers === 0 ? ['No worker is connected to Redis: start `baton worker` (or `baton start`).'] : [];
  switch (run.state) {
    case 'proposed': {
      const required = requiredApprovals(run, approvals);
      const missing = Math.max(0, required - run.approvals.length);
      const left = approversLeft(run, approvals);
      const expires =
        run.expiresAt === undefined ? '' : ` before it expires in ${formatDuration(run.expiresAt - now)}`;
      return [
        `Needs ${plural(missing, run.force ? 'more break-glass approval' : 'more approval')}${expires}: ` +
          `baton approve ${run.id} --as <APPROVER>   (listed approvers who can: ${left.join(', ') || 'none'})`,
        `Or turn it down: baton reject ${run.id} --as <APPROVER>`,
      ];
    }
    case 'approved':
      return [`Approved; a worker starts it now.`, ...noWorker];
    case 'running': {
      const running = run.plan.groups
        .flat()
        .filter((s) => run.steps[s.id]?.status === 'running')
        .map((s) => s.id);
      return [
        `Running${running.length ? ` ${running.join(', ')}` : ''} on a worker; follow it with: baton status ${run.site}`,
        pastPointOfNoReturn(run)
          ? `It can only finish now: ${abortEffect(run)}`
          : `To stop it: baton abort ${run.id} --as <APPROVER>   (${abortEffect(run)})`,
        ...noWorker,
      ];
    }
    case 'paused': {
      const breakGlass = plural(Math.max(approvals.breakGlass.required, approvals.required), 'approver');
      const splitBrain = splitBrainFailures(run).length
        ? [
            `Paused by the split-brain guard: ${run.from}'s database may still take writes. Fence ${run.from} (or ` +
              `make sure it is down) and retry; or accept the risk, break-glass (${breakGlass}, each from their own ` +
              `OS account or Slack): baton accept-risk ${run.id} --as <APPROVER>`,
          ]
        : [];
      return [
        `Fix the cause, then try the failed step again: baton retry ${run.id} --as <APPROVER>`,
        ...splitBrain,
        pastPointOfNoReturn(run)
          ? `It cannot be stopped: ${abortEffect(run)}`
          : `Or stop: baton abort ${run.id} --as <APPROVER>   (${abortEffect(run)})`,
        `Skipping a failed step is break-glass (${breakGlass}): use Slack's Skip step.`,
        ...noWorker,
      ];
    }
    case 'aborting':
      return [`Undoing the reversible steps on a worker.`, ...noWorker];
    default:
      return [];
  }
}

/** The run as terminal lines: header, who asked and approved, each step with its duration, and what is next. */
export function renderRun(view: RunView, options: { indent?: string; steps?: boolean } = {}): string[] {
  const pad = options.indent ?? '';
  const lines = [
    `${pad}${view.id}  ${view.label} of ${view.site}, ${view.from} → ${view.to}: ${view.state.toUpperCase()}` +
      (view.elapsedMs === undefined ? '' : ` (${formatDuration(view.elapsedMs)})`),
    `${pad}  requested by ${view.requestedBy.text} at ${view.requestedAt}: ${view.reason}`,
    `${pad}  approvals: ${view.approvals.count} of ${view.approvals.required}` +
      `${view.approvals.breakGlass ? ' (break-glass)' : ''}` +
      (view.approvals.by.length ? ` by ${view.approvals.by.map((a) => a.text).join(', ')}` : ''),
  ];
  if (view.expiresAt) lines.push(`${pad}  expires at ${view.expiresAt}`);
  if (view.stateReason && ['paused', 'failed', 'aborted', 'aborting'].includes(view.state)) {
    lines.push(`${pad}  ${view.state}: ${view.stateReason}`);
  }
  if (view.preflight && view.state === 'proposed') {
    lines.push(
      `${pad}  preflight at ${view.preflight.at}:`,
      ...renderPreflight(view.preflight, `${pad}    `),
    );
  }
  if (options.steps !== false && view.state !== 'proposed') {
    lines.push(`${pad}  steps:`);
    const width = Math.max(...view.steps.map((s) => s.title.length + String(s.n).length + 2));
    for (const step of view.steps) {
      const title = `${step.n}. ${step.title}`.padEnd(width);
      const took =
        step.durationMs === undefined
          ? ''
          : `  ${formatDuration(step.durationMs)}${step.status === 'running' ? ' so far' : ''}`;
      const attempts = step.attempts > 1 ? `  (${step.attempts} attempts)` : '';
      lines.push(`${pad}    ${step.status.padEnd(11)} ${title}${took}${attempts}`.trimEnd());
      // A paused run's reason already quotes its failed step's error.
      const failed = step.status === 'failed' || step.status === 'undo-failed';
      if (step.error && failed && !view.stateReason?.includes(step.error))
        lines.push(`${pad}                ${step.error}`);
      if (step.skippedBy) lines.push(`${pad}                skipped by ${step.skippedBy.text}`);
    }
  }
  for (const [i, next] of view.next.entries()) lines.push(`${pad}  ${i === 0 ? 'next:' : '     '} ${next}`);
  return lines;
}

/** Preflight checks, one a line: `passed   target-nodes: 3 Ready nodes on west`, and the standby's lag. */
export function renderPreflight(preflight: NonNullable<RunView['preflight']>, pad = '  '): string[] {
  const lines = preflight.checks.map((c) => `${pad}${c.status.padEnd(8)} ${c.id}: ${c.detail}`);
  if (preflight.lagBytes !== null) lines.push(`${pad}standby lag ${formatBytes(preflight.lagBytes)}`);
  return lines;
}

/** One line of run history: `r2  failback  succeeded  2024-05-01T03:12:00Z  (1 m 4 s)  by U0ALICE`. */
export function renderHistoryLine(view: RunView): string {
  const approved = lastApprovers(view);
  return (
    `${view.id.padEnd(5)} ${view.label.padEnd(26)} ${view.from} → ${view.to}  ${view.state.padEnd(9)} ` +
    `${view.requestedAt}${view.elapsedMs === undefined ? '' : `  (${formatDuration(view.elapsedMs)})`}` +
    `  requested by ${view.requestedBy.text}${approved}`
  );
}

const lastApprovers = (view: RunView): string =>
  view.approvals.by.length ? `, approved by ${view.approvals.by.map((a) => a.text).join(', ')}` : '';
