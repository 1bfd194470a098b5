/**
 * HorizontalPodAutoscalers that target a site's workloads. An HPA undoes any scale outside [minReplicas,
 * maxReplicas] at its next sync (every 15 s by default), so the side that takes traffic has its HPAs' range raised
 * to the serving count, and the side that gives traffic away gets back the range it had, with its minimum lowered
 * to the standby count where it was higher (or the HPA would scale the old side straight back up).
 *
 * The range an HPA had before Baton first changed it is written on the HPA itself (`heldFrom`), in the same write
 * that changes it, so no later run loses it. Each step also checkpoints, before its first write to an HPA, the range
 * and record that HPA had then (`autoscalersBefore`), and its undo gives back exactly that.
 */
import type { ClusterId } from '../../config/topology.js';
import type { AutoscalerRange, AutoscalerStatus } from '../ports.js';
import type { StepContext } from './step.js';
import { workloadLabel } from './step.js';

type Workload = StepContext['site']['workloads'][number];

/** What these functions use of a step's context; the fence-debt reconciler passes one of its own. */
export type AutoscalerContext = Pick<StepContext, 'site' | 'ports' | 'signal' | 'progress' | 'checkpoint'>;

/** An HPA as a step found it before its first write to it: for the undo. */
interface Before extends AutoscalerRange {
  namespace: string;
  name: string;
  heldFrom: AutoscalerRange | null;
}

const rangeOf = (r: AutoscalerRange): AutoscalerRange => ({
  minReplicas: r.minReplicas,
  maxReplicas: r.maxReplicas,
});

const sameRange = (a: AutoscalerRange, b: AutoscalerRange | null): boolean =>
  b !== null && a.minReplicas === b.minReplicas && a.maxReplicas === b.maxReplicas;
const sameRecord = (a: AutoscalerRange | null, b: AutoscalerRange | null): boolean =>
  a === null ? b === null : sameRange(a, b);

/**
 * What this step found before it first changed each HPA. Runs checkpointed before `autoscalersBefore` existed
 * recorded a raise as `autoscalers` (the original range, the HPA then unheld) and a give-back as `released`.
 */
function befores(ctx: Pick<StepContext, 'progress'>, cluster: ClusterId): Before[] {
  const entries = [...((ctx.progress.autoscalersBefore as Before[] | undefined) ?? [])];
  entries.push(...((ctx.progress.released as Before[] | undefined) ?? []));
  const raised = (ctx.progress.autoscalers as Record<string, AutoscalerRange> | undefined) ?? {};
  for (const [id, original] of Object.entries(raised)) {
    const [onCluster, namespace = '', name = ''] = id.split('/');
    if (onCluster === cluster && !entries.some((e) => e.namespace === namespace && e.name === name))
      entries.push({ namespace, name, ...rangeOf(original), heldFrom: null });
  }
  return entries;
}

/** Checkpoints the HPA as it is, unless this step already recorded it. */
async function recordBefore(ctx: AutoscalerContext, hpa: AutoscalerStatus): Promise<void> {
  const recorded = (ctx.progress.autoscalersBefore as Before[] | undefined) ?? [];
  if (recorded.some((r) => r.namespace === hpa.namespace && r.name === hpa.name)) return;
  const entry: Before = { namespace: hpa.namespace, name: hpa.name, ...rangeOf(hpa), heldFrom: hpa.heldFrom };
  await ctx.checkpoint({ ...ctx.progress, autoscalersBefore: [...recorded, entry] });
}

const describeChange = (hpa: AutoscalerStatus, workload: Workload, range: AutoscalerRange): string =>
  `${hpa.namespace}/${hpa.name} (${workloadLabel(workload)}): minReplicas ${hpa.minReplicas} → ${range.minReplicas}` +
  (range.maxReplicas !== hpa.maxReplicas ? `, maxReplicas ${hpa.maxReplicas} → ${range.maxReplicas}` : '');

/**
 * Raises every HPA of `cluster` whose minReplicas is below what `desired` gives its workload to that count (and its
 * maxReplicas, when its own maximum is lower too). Returns what changed, e.g. `default/web-hpa: minReplicas 1 → 5`.
 */
export async function raiseAutoscalers(
  ctx: AutoscalerContext,
  cluster: ClusterId,
  desired: (w: Workload) => number,
): Promise<string[]> {
  const { site, ports, signal } = ctx;
  const changes: string[] = [];
  for (const workload of site.workloads) {
    const want = desired(workload);
    for (const hpa of await ports.cluster.listAutoscalers(site, cluster, workload, { signal })) {
      if (hpa.minReplicas >= want && hpa.maxReplicas >= want) continue;
      // An HPA Baton already holds keeps the range it had before Baton first changed it.
      const original = hpa.heldFrom ?? rangeOf(hpa);
      const range = { minReplicas: want, maxReplicas: Math.max(original.maxReplicas, want) };
      await recordBefore(ctx, hpa);
      await ports.cluster.setAutoscalerRange(
        site,
        cluster,
        hpa,
        { ...range, heldFrom: original },
        { signal },
      );
      changes.push(describeChange(hpa, workload, range));
    }
  }
  return changes;
}

/** The range an HPA of the side that gives traffic away keeps: its own, with a minimum no higher than `count`. */
function standbyRange(original: AutoscalerRange, count: number): AutoscalerRange {
  return {
    minReplicas: original.minReplicas > count ? Math.max(1, count) : original.minReplicas,
    maxReplicas: original.maxReplicas,
  };
}

/** The range and record `lowerAutoscalers` gives an HPA: no record when that range is the HPA's own. */
function lowered(
  hpa: AutoscalerStatus,
  count: number,
): { range: AutoscalerRange; heldFrom: AutoscalerRange | null } {
  const original = hpa.heldFrom ?? rangeOf(hpa);
  const range = standbyRange(original, count);
  return { range, heldFrom: sameRange(range, original) ? null : original };
}

/**
 * The side that gives traffic away (the fence, scale-down-source): every HPA of `cluster` gets the range it had before
 * Baton first changed it, except that a minimum above what `desired` gives its workload is lowered to it (at least 1,
 * the API's floor; the controller leaves a workload scaled to 0 alone). An HPA back at its own range carries no
 * record; a lowered one keeps it, so the run that brings traffic back raises it from there. Returns what changed.
 */
export async function lowerAutoscalers(
  ctx: AutoscalerContext,
  cluster: ClusterId,
  desired: (w: Workload) => number,
): Promise<string[]> {
  const { site, ports, signal } = ctx;
  const changes: string[] = [];
  for (const workload of site.workloads) {
    for (const hpa of await ports.cluster.listAutoscalers(site, cluster, workload, { signal })) {
      const { range, heldFrom } = lowered(hpa, desired(workload));
      if (sameRange(range, hpa) && sameRecord(heldFrom, hpa.heldFrom)) continue;
      await recordBefore(ctx, hpa);
      await ports.cluster.setAutoscalerRange(site, cluster, hpa, { ...range, heldFrom }, { signal });
      changes.push(describeChange(hpa, workload, range));
    }
  }
  return changes;
}

/** True when every HPA of `cluster` has the range and record `lowerAutoscalers` gives it. */
export async function autoscalersLowered(
  ctx: AutoscalerContext,
  cluster: ClusterId,
  desired: (w: Workload) => number,
): Promise<boolean> {
  for (const workload of ctx.site.workloads) {
    const hpas = await ctx.ports.cluster.listAutoscalers(ctx.site, cluster, workload, { signal: ctx.signal });
    for (const hpa of hpas) {
      const { range, heldFrom } = lowered(hpa, desired(workload));
      if (!sameRange(range, hpa) || !sameRecord(heldFrom, hpa.heldFrom)) return false;
    }
  }
  return true;
}

/** True when every HPA of `cluster` keeps its workload at least at what `desired` gives it. */
export async function autoscalersHold(
  ctx: AutoscalerContext,
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

/** The undo: every HPA this step changed gets back the range and record it had before. */
export async function restoreAutoscalers(ctx: AutoscalerContext, cluster: ClusterId): Promise<void> {
  for (const entry of befores(ctx, cluster)) {
    await ctx.ports.cluster.setAutoscalerRange(
      ctx.site,
      cluster,
      entry,
      { ...rangeOf(entry), heldFrom: entry.heldFrom },
      { signal: ctx.signal },
    );
  }
}

/** True when every HPA this step changed has the range and record it had before. */
export async function autoscalersRestored(ctx: AutoscalerContext, cluster: ClusterId): Promise<boolean> {
  const entries = befores(ctx, cluster);
  if (entries.length === 0) return true;
  for (const workload of ctx.site.workloads) {
    const hpas = await ctx.ports.cluster.listAutoscalers(ctx.site, cluster, workload, { signal: ctx.signal });
    for (const hpa of hpas) {
      const entry = entries.find((e) => e.namespace === hpa.namespace && e.name === hpa.name);
      if (entry && (!sameRange(entry, hpa) || !sameRecord(entry.heldFrom, hpa.heldFrom))) return false;
    }
  }
  return true;
}
