import { BatonError, describeError } from '../../errors.js';
import { automaticFailover, describeAutomaticFailover } from '../automatic-failover.js';
import { judgeFollower } from '../follower.js';
import { applicationChecks } from './gitops-applications.js';
import type { StepContext, StepDefinition } from './step.js';
import { scalingChecks } from './scaling-checks.js';
import { formatBytes, workloadLabel } from './step.js';

import type { PreflightCheck } from '../model.js';

export type { PreflightCheck };

async function attempt<T>(
  fn: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error: describeError(error) };
  }
}

/**
 * The gates of DESIGN §5, read-only. Used by the preflight step and, at proposal time, by the proposal job.
 * Planned runs need the source side healthy too; emergency runs only note that it is unreachable.
 */
export async function runPreflightChecks(
  ctx: Pick<StepContext, 'site' | 'run' | 'ports'> & { signal?: AbortSignal },
): Promise<PreflightCheck[]> {
  const { site, run, ports } = ctx;
  const call = ctx.signal ? { signal: ctx.signal } : {};
  const { from, to } = run;
  const checks: PreflightCheck[] = [];
  const min = site.checks.minReadyNodes;

  const nodes = await attempt(() => ports.cluster.readyNodeCount(site, to, call));
  checks.push(
    !nodes.ok
      ? {
          id: 'target-nodes',
          status: 'failed',
          detail: `${to}: Kubernetes API did not answer (${nodes.error})`,
        }
      : nodes.value >= min
        ? { id: 'target-nodes', status: 'passed', detail: `${to}: ${nodes.value} nodes Ready (need ${min})` }
        : {
            id: 'target-nodes',
            status: 'failed',
            detail: `${to}: only ${nodes.value} nodes Ready, need ${min}`,
          },
  );

  const sourceReachable = await attempt(() => ports.cluster.readyNodeCount(site, from, call));
  checks.push(
    sourceReachable.ok
      ? { id: 'source-reachable', status: 'passed', detail: `${from}: Kubernetes API answers` }
      : {
          id: 'source-reachable',
          status: run.mode === 'planned' ? 'failed' : 'warning',
          detail:
            `${from}: unreachable (${sourceReachable.error})` +
            (run.mode === 'planned'
              ? ' — a planned switchover needs both sides; use an emergency failover'
              : ''),
        },
  );

  for (const workload of site.workloads) {
    const id = `workload ${workloadLabel(workload)}`;
    const target = await attempt(() => ports.cluster.getWorkload(site, to, workload, call));
    if (!target.ok) {
      checks.push({ id, status: 'failed', detail: `${to}: could not read it (${target.error})` });
      continue;
    }
    if (!target.value) {
      checks.push({ id, status: 'failed', detail: `${to}: ${workload.kind} does not exist` });
      continue;
    }
    const source = sourceReachable.ok
      ? await attempt(() => ports.cluster.getWorkload(site, from, workload, call))
      : null;
    const sourceImages = source?.ok && source.value ? source.value.images : null;
    const drift = sourceImages && sourceImages.join(',') !== target.value.images.join(',');
    const autoscalers = await attempt(() => ports.cluster.listAutoscalers(site, to, workload, call));
    if (!autoscalers.ok) {
      checks.push({
        id: `autoscalers ${workloadLabel(workload)}`,
        status: 'failed',
        detail: `${to}: could not list its HorizontalPodAutoscalers (${autoscalers.error})`,
      });
    }
    checks.push(...scalingChecks(workload, to, target.value, autoscalers.ok ? autoscalers.value : []));
    checks.push(
      drift
        ? {
            id,
            status: 'warning',
            detail: `image drift: ${to} runs ${target.value.images.join(', ')}, ${from} runs ${sourceImages.join(', ')}`,
          }
        : {
            id,
            status: 'passed',
            detail: `${to}: exists${sourceImages ? ', same images as ' + from : ''}`,
          },
    );
  }

  // Argo CD Applications Baton pauses: on the target, and on the source when it answers (the fence pauses them).
  checks.push(...(await applicationChecks({ ...ctx, ...call }, to)));
  if (sourceReachable.ok) checks.push(...(await applicationChecks({ ...ctx, ...call }, from)));

  if (site.database) checks.push(await databaseCheck(ctx, call));

  const dns = await attempt(() => ports.dns.currentTarget(site, call));
  checks.push(
    !dns.ok
      ? {
          id: 'dns',
          status: 'failed',
          detail: `${site.dns.recordName}: Route 53 did not answer (${dns.error})`,
        }
      : dns.value === from
        ? { id: 'dns', status: 'passed', detail: `${site.dns.recordName} points at ${from}` }
        : {
            id: 'dns',
            status: 'failed',
            detail: `${site.dns.recordName} points at ${dns.value ?? 'neither cluster'}, expected ${from} — check /failover status`,
          },
  );
  const exposure = await automaticFailoverCheck(ctx, call);
  if (exposure) checks.push(exposure);
  return checks;
}

/**
 * failover-records: after the switch `to`'s record is PRIMARY with its own trigger, and `from` — fenced, scaled
 * down — is the SECONDARY Route 53 falls back to by itself. A warning: it is the operator's choice to keep.
 */
async function automaticFailoverCheck(
  ctx: Pick<StepContext, 'site' | 'run' | 'ports'>,
  call: { signal?: AbortSignal },
): Promise<PreflightCheck | null> {
  const { site, run, ports } = ctx;
  const dns = ports.dns;
  if (site.dns.strategy !== 'failover-records' || !dns.failoverTriggers) return null;
  const triggers = await attempt(() => dns.failoverTriggers?.(site, call) ?? Promise.resolve({}));
  if (!triggers.ok) return null; // the dns check above already reports Route 53 unreadable
  const exposure = automaticFailover(site, triggers.value, run.to);
  if (!exposure) return null;
  const state = site.database
    ? 'its database fenced, its workloads scaled down'
    : 'its workloads scaled down';
  return {
    id: 'dns-automatic-failover',
    status: 'warning',
    detail: `after the switch, ${describeAutomaticFailover(exposure, state)}`,
  };
}

/**
 * The target database must be a standby that follows the source: streaming from it, on its timeline, listed by it,
 * and not ahead of it (signed lag: a standby ahead has diverged). With the source unreachable only the standby's side
 * is known, and the lag is "unknown", never 0 B.
 */
async function databaseCheck(
  ctx: Pick<StepContext, 'site' | 'run' | 'ports'>,
  call: { signal?: AbortSignal },
): Promise<PreflightCheck> {
  const { site, run, ports } = ctx;
  const { from, to } = run;
  const database = site.database;
  if (!database) throw new Error('databaseCheck needs a database');
  const id = 'target-database';
  const limit = database.maxLagBytes;
  const state = await attempt(() => ports.database.replication(site, to, from, call));
  if (!state.ok) return { id, status: 'failed', detail: `${to}: cannot connect (${state.error})` };
  const verdict = judgeFollower(state.value, {
    standby: to,
    primary: from,
    cnpg: database.promotion === 'cloudnative-pg',
  });
  switch (verdict.kind) {
    case 'broken':
      return { id, status: 'failed', detail: `${verdict.detail} — ${verdict.fix}` };
    case 'unknown':
      return {
        id,
        status: run.mode === 'planned' ? 'failed' : 'warning',
        detail: `${to}: standby, lag unknown — ${verdict.detail}`,
      };
    case 'follows':
      return {
        id,
        status: verdict.lagBytes <= limit ? 'passed' : 'failed',
        detail: `${to}: standby streaming from ${from}, ${formatBytes(verdict.lagBytes)} behind (limit ${formatBytes(limit)})`,
      };
  }
}

export const preflight: StepDefinition = {
  id: 'preflight',
  reversible: false,
  pointOfNoReturn: false,
  defaults: { timeoutMs: 60_000, retries: 1 },
  // Read-only: always run it again, the world may have changed since the proposal.
  isDone: async () => false,
  async apply(ctx) {
    const checks = await runPreflightChecks(ctx);
    ctx.signal.throwIfAborted();
    const failed = checks.filter((c) => c.status === 'failed');
    if (failed.length && !ctx.run.force) {
      throw new BatonError(
        'preflight-failed',
        `Preflight failed: ${failed.map((c) => c.detail).join('; ')}. Fix it and Retry, or Abort.`,
      );
    }
    return { checks, overridden: failed.length > 0 };
  },
};
