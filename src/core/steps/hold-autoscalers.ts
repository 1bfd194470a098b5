/**
 * HorizontalPodAutoscalers that target a site's workloads. An HPA undoes any scale outside [minReplicas,
 * maxReplicas] at its next sync (every 15 s by default), so the side that takes traffic has its HPAs' range raised
 * to the serving count, and the side that gives traffic away gets back the range it had. The range to give back is
 * written on the HPA itself, in the same write that raises it, and checkpointed, so neither a worker crash nor a
 * later run loses it (the checkpoint is the step's own record of what it found).
 */
import type { ClusterId } from '../../config/topology.js';
import type { AutoscalerRange } from '../ports.js';
import type { StepContext } from './step.js';
import { workloadLabel } from './step.js';

type Workload = StepContext['site']['workloads'][number];

const key = (cluster: ClusterId, namespace: string, name: string) => `${cluster}/${namespace}/${name}`;

/**
 * Raises every HPA of `cluster` whose minReplicas is below what `desired` gives its workload to that count (and its
 * maxReplicas, when that is lower too). Returns what changed, e.g. `default/web-hpa: minReplicas 1 → 5`.
 */
export async function raiseAutoscalers(
  ctx: StepContext,
  cluster: ClusterId,
  desired: (w: Workload) => number,
): Promise<string[]> {
  const { site, ports, signal } = ctx;
  const changes: string[] = [];
  const held: Record<string, AutoscalerRange> = {
    ...((ctx.progress.autoscalers as Record<string, AutoscalerRange> | undefined) ?? {}),
  };
  for (const workload of site.workloads) {
    const want = desired(workload);
    for (const hpa of await ports.cluster.listAutoscalers(site, cluster, workload, { signal })) {
      if (hpa.minReplicas >= want && hpa.maxReplicas >= want) continue;
      // An HPA Baton already holds keeps the range it had before Baton first raised it.
      const original = hpa.heldFrom ?? { minReplicas: hpa.minReplicas, maxReplicas: hpa.maxReplicas };
      const id = key(cluster, hpa.namespace, hpa.name);
      if (!held[id]) {
        held[id] = original;
        await ctx.checkpoint({ ...ctx.progress, autoscalers: held });
      }
      const range = { minReplicas: want, maxReplicas: Math.max(hpa.maxReplicas, want) };
      await ports.cluster.setAutoscalerRange(
        site,
        cluster,
        hpa,
        { ...range, heldFrom: original },
        { signal },
      );
      changes.push(
        `${hpa.namespace}/${hpa.name} (${workloadLabel(workload)}): minReplicas ${hpa.minReplicas} → ${range.minReplicas}` +
          (range.maxReplicas !== hpa.maxReplicas
            ? `, maxReplicas ${hpa.maxReplicas} → ${range.maxReplicas}`
            : ''),
      );
    }
  }
  return changes;
}

/**
 * Gives every HPA of `cluster` that Baton holds the range recorded on it. Only the record on the object counts: it is
 * written in the same request that raised the range, so an HPA without one was never raised (a crash between the
 * checkpoint and the write) or was already given back, and is left alone. Returns what changed.
 */
export async function releaseAutoscalers(ctx: StepContext, cluster: ClusterId): Promise<string[]> {
  const { site, ports, signal } = ctx;
  const changes: string[] = [];
  for (const workload of site.workloads) {
    for (const hpa of await ports.cluster.listAutoscalers(site, cluster, workload, { signal })) {
      const original = hpa.heldFrom;
      if (!original) continue;
      const released = (ctx.progress.released as Released[] | undefined) ?? [];
      if (!released.some((r) => r.namespace === hpa.namespace && r.name === hpa.name)) {
        const entry = { namespace: hpa.namespace, name: hpa.name, ...rangeOf(hpa), heldFrom: original };
        await ctx.checkpoint({ ...ctx.progress, released: [...released, entry] });
      }
      await ports.cluster.setAutoscalerRange(site, cluster, hpa, { ...original, heldFrom: null }, { signal });
      changes.push(
        `${hpa.namespace}/${hpa.name} (${workloadLabel(workload)}): minReplicas ${hpa.minReplicas} → ${original.minReplicas}` +
          (original.maxReplicas !== hpa.maxReplicas
            ? `, maxReplicas ${hpa.maxReplicas} → ${original.maxReplicas}`
            : ''),
      );
    }
  }
  return changes;
}

/** An HPA this step gave back, as it was before: for the undo. */
interface Released extends AutoscalerRange {
  namespace: string;
  name: string;
  heldFrom: AutoscalerRange;
}

const rangeOf = (r: AutoscalerRange): AutoscalerRange => ({
  minReplicas: r.minReplicas,
  maxReplicas: r.maxReplicas,
});

/** Undoes `releaseAutoscalers` of this step: each HPA it gave back is held again as it was. */
export async function restoreReleased(ctx: StepContext, cluster: ClusterId): Promise<void> {
  for (const entry of (ctx.progress.released as Released[] | undefined) ?? []) {
    await ctx.ports.cluster.setAutoscalerRange(
      ctx.site,
      cluster,
      entry,
      { ...rangeOf(entry), heldFrom: entry.heldFrom },
      { signal: ctx.signal },
    );
  }
}

/** True when no HPA of `cluster` is held by Baton any more. */
export async function autoscalersReleased(ctx: StepContext, cluster: ClusterId): Promise<boolean> {
  for (const workload of ctx.site.workloads) {
    const hpas = await ctx.ports.cluster.listAutoscalers(ctx.site, cluster, workload, { signal: ctx.signal });
    if (hpas.some((hpa) => hpa.heldFrom !== null)) return false;
  }
  return true;
}

/** True when every HPA of `cluster` keeps its workload at least at what `desired` gives it. */
export async function autoscalersHold(
  ctx: StepContext,
  cluster: ClusterId,
  desired: (w: Workload) => number,
): Promise<boolean> {
  for (const workload of ctx.site.workloads) {
    const hpas = await ctx.ports.cluster.listAutoscalers(ctx.site, cluster, workload, { signal: ctx.signal });
    if (hpas.some((hpa) => hpa.minReplicas < desired(workload) || hpa.maxReplicas < desired(workload)))
      return false;
  }
  return true;
}
