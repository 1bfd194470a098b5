import { BatonError } from '../../errors.js';
import type { ClusterId } from '../../config/topology.js';
import type { StepContext } from './step.js';
import { workloadKey, workloadLabel } from './step.js';

/**
 * Shared by the steps that scale: sets each workload of `cluster` to the replica count `desired` gives it, only
 * where it differs, remembering what it found (for undo) before the first change. `atLeast`: a workload already
 * above `desired` is left there — a side about to take traffic is never scaled down (DESIGN §6, "Scaling holds").
 */
export async function scaleWorkloads(
  ctx: StepContext,
  cluster: ClusterId,
  desired: (w: StepContext['site']['workloads'][number]) => number,
  options: { waitReady: boolean; atLeast?: boolean },
): Promise<Record<string, { from: number; to: number }>> {
  const { site, ports, signal } = ctx;
  const changes: Record<string, { from: number; to: number }> = {};
  const before: Record<string, number> = { ...((ctx.progress.before as Record<string, number>) ?? {}) };
  for (const workload of site.workloads) {
    const status = await ports.cluster.getWorkload(site, cluster, workload, { signal });
    if (!status) {
      throw new BatonError(
        'workload-missing',
        `${workload.kind} ${workloadLabel(workload)} does not exist on ${cluster} — create it there (same images as the other side), then Retry`,
      );
    }
    const target = options.atLeast ? Math.max(status.replicas, desired(workload)) : desired(workload);
    if (status.replicas === target) continue;
    const key = workloadKey(workload);
    if (before[key] === undefined) {
      before[key] = status.replicas;
      await ctx.checkpoint({ ...ctx.progress, before });
    }
    await ports.cluster.scaleWorkload(site, cluster, workload, target, { signal });
    changes[workloadLabel(workload)] = { from: status.replicas, to: target };
  }
  if (options.waitReady) await waitReady(ctx, cluster, desired);
  return changes;
}

/** Each workload of `cluster` Ready at the count `desired` gives it, within the step's timeout. */
async function waitReady(
  ctx: StepContext,
  cluster: ClusterId,
  desired: (w: StepContext['site']['workloads'][number]) => number,
): Promise<void> {
  for (const workload of ctx.site.workloads) {
    await ctx.ports.cluster.waitForReady(ctx.site, cluster, workload, desired(workload), {
      signal: ctx.signal,
      pollMs: ctx.settings.pollIntervalMs,
    });
  }
}

/**
 * True when every workload on `cluster` has spec.replicas equal to what `desired` gives (at least that, with
 * `atLeast`), and Ready, if asked.
 */
export async function workloadsAt(
  ctx: StepContext,
  cluster: ClusterId,
  desired: (w: StepContext['site']['workloads'][number]) => number,
  options: { ready: boolean; atLeast?: boolean },
): Promise<boolean> {
  for (const workload of ctx.site.workloads) {
    const status = await ctx.ports.cluster.getWorkload(ctx.site, cluster, workload, { signal: ctx.signal });
    if (!status) return false;
    if (options.atLeast ? status.replicas < desired(workload) : status.replicas !== desired(workload))
      return false;
    if (options.ready && status.readyReplicas < desired(workload)) return false;
  }
  return true;
}

/** The replica count a workload had before this step changed it, else `fallback`. */
export function recordedBefore(
  ctx: StepContext,
  fallback: (w: StepContext['site']['workloads'][number]) => number,
): (w: StepContext['site']['workloads'][number]) => number {
  const before = (ctx.progress.before as Record<string, number> | undefined) ?? {};
  return (w) => before[workloadKey(w)] ?? fallback(w);
}
