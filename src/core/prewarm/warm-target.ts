/**
 * Pre-warm (DESIGN §6): while a proposal waits, its target side is scaled up to the serving count, so the pods
 * start while people read it. It uses the scale-up-target step's own helpers, so it never scales anything down and
 * holds HPAs the same way (minReplicas raised, the range to give back written on the HPA and checkpointed). A reject,
 * an expiry or a cancel gives back exactly what it changed, unless someone else has changed it since.
 *
 * Pure of I/O except through the ports; the job in src/queue/prewarm/ records each change on the run.
 */
import { workloadKey, workloadLabel } from '../steps/step.js';
import type { StepContext } from '../steps/step.js';
import type { SiteConfig } from '../../config/topology.js';
import { prewarmOf } from '../../config/topology.js';
import { raiseAutoscalers, restoreAutoscalers } from '../steps/hold-autoscalers.js';
import { scaleWorkloads } from '../steps/scale-workloads.js';
import type { AutoscalerRange } from '../ports.js';
import type { Run } from '../model.js';
import type { Prewarm, PrewarmWorkload } from './prewarm-record.js';

type Workload = SiteConfig['workloads'][number];

const serving = (w: Workload): number => w.replicas;

/**
 * Why this proposal is not pre-warmed: `off` (the site says so: nothing is shown), a reason shown in the proposal,
 * or null when it may be. Only a stored proposal gets here (a dry run is never stored), after its preflight.
 */
export function whyNotPrewarm(run: Pick<Run, 'to' | 'preflight'>, site: SiteConfig): 'off' | string | null {
  if (!prewarmOf(site)) return 'off';
  const checks = run.preflight?.checks ?? [];
  if (checks.some((c) => c.id === 'preflight' && c.status === 'failed'))
    return 'preflight could not run, so the target was not touched';
  const nodes = checks.find((c) => c.id === 'target-nodes');
  // runPreflightChecks says "did not answer" exactly when the API call itself failed (steps/preflight.ts).
  if (nodes?.status === 'failed' && nodes.detail.includes('did not answer'))
    return `${run.to}'s Kubernetes API did not answer preflight`;
  return null;
}

/**
 * Scales every workload of the run's target up to its serving count (never down) after raising its HPAs, without
 * waiting for Ready. Returns each workload's from → to (all of them, changed or not) and the HPA changes.
 */
export async function warmTarget(
  ctx: StepContext,
): Promise<{ workloads: Record<string, PrewarmWorkload>; autoscalers: string[] }> {
  const autoscalers = await raiseAutoscalers(ctx, ctx.run.to, serving);
  await scaleWorkloads(ctx, ctx.run.to, serving, { waitReady: false, atLeast: true });
  const before = (ctx.progress.before as Record<string, number> | undefined) ?? {};
  const workloads: Record<string, PrewarmWorkload> = {};
  for (const workload of ctx.site.workloads) {
    const status = await ctx.ports.cluster.getWorkload(ctx.site, ctx.run.to, workload, {
      signal: ctx.signal,
    });
    if (!status) continue;
    const from = before[workloadKey(workload)] ?? status.replicas;
    workloads[workloadLabel(workload)] = { from, to: status.replicas, ready: status.readyReplicas };
  }
  return { workloads, autoscalers };
}

/** The Ready count of each warmed workload now (a workload that vanished counts 0). */
export async function readWarmth(
  ctx: Pick<StepContext, 'site' | 'run' | 'ports' | 'signal'>,
  prewarm: Prewarm,
): Promise<Record<string, PrewarmWorkload>> {
  const next: Record<string, PrewarmWorkload> = {};
  for (const workload of ctx.site.workloads) {
    const label = workloadLabel(workload);
    const known = prewarm.workloads[label];
    if (!known) continue;
    const status = await ctx.ports.cluster.getWorkload(ctx.site, prewarm.cluster, workload, {
      signal: ctx.signal,
    });
    next[label] = { ...known, ready: status?.readyReplicas ?? 0 };
  }
  return next;
}

/** Every warmed workload Ready at the count Baton set. */
export const allWarm = (workloads: Record<string, PrewarmWorkload>): boolean =>
  Object.values(workloads).every((w) => w.ready >= w.to);

interface HpaBefore extends AutoscalerRange {
  namespace: string;
  name: string;
  heldFrom: AutoscalerRange | null;
}

/**
 * Gives back what pre-warm changed on the target: each HPA it raised gets its range and record back, then each
 * workload it scaled goes back to the count it found. Anything someone else changed since (a workload no longer at
 * the count Baton set, an HPA whose minimum moved) is left as it is and listed. Safe to run again: what is already
 * back counts as restored and is not touched twice.
 */
export async function coolTarget(
  ctx: StepContext,
  prewarm: Prewarm,
): Promise<{ restored: string[]; leftAlone: string[] }> {
  const { site, ports, signal } = ctx;
  const cluster = prewarm.cluster;
  const restored: string[] = [];
  const leftAlone: string[] = [];
  const desiredByWorkload = new Map(site.workloads.map((w) => [workloadLabel(w), w]));

  // HPAs first: one still held at the serving count would scale the workload straight back up.
  const recorded = (ctx.progress.autoscalersBefore as HpaBefore[] | undefined) ?? [];
  const ours: HpaBefore[] = [];
  for (const workload of desiredByWorkload.values()) {
    for (const hpa of await ports.cluster.listAutoscalers(site, cluster, workload, { signal })) {
      const entry = recorded.find((e) => e.namespace === hpa.namespace && e.name === hpa.name);
      if (!entry) continue;
      const id = `${hpa.namespace}/${hpa.name} (${workloadLabel(workload)})`;
      if (hpa.minReplicas === entry.minReplicas && hpa.maxReplicas === entry.maxReplicas) {
        restored.push(`${id}: minReplicas back at ${entry.minReplicas}`);
        continue;
      }
      if (hpa.minReplicas !== workload.replicas) {
        leftAlone.push(
          `${id}: minReplicas now ${hpa.minReplicas}, not the ${workload.replicas} Baton set — left as it is`,
        );
        continue;
      }
      ours.push(entry);
      restored.push(`${id}: minReplicas ${hpa.minReplicas} → ${entry.minReplicas}`);
    }
  }
  if (ours.length > 0) {
    // restoreAutoscalers gives back every HPA in the checkpoint: hand it only the ones still as Baton left them.
    await restoreAutoscalers({ ...ctx, progress: { autoscalersBefore: ours } }, cluster);
  }

  for (const workload of site.workloads) {
    const label = workloadLabel(workload);
    const warmed = prewarm.workloads[label];
    const before = ((ctx.progress.before as Record<string, number> | undefined) ?? {})[workloadKey(workload)];
    if (before === undefined) continue; // pre-warm did not change it
    const to = warmed?.to ?? workload.replicas;
    const status = await ports.cluster.getWorkload(site, cluster, workload, { signal });
    if (!status) {
      leftAlone.push(`${label}: gone from ${cluster} — nothing to scale back`);
    } else if (status.replicas === before) {
      restored.push(`${label} back at ${before}`);
    } else if (status.replicas === to) {
      await ports.cluster.scaleWorkload(site, cluster, workload, before, { signal });
      restored.push(`${label} ${to} → ${before}`);
    } else {
      leftAlone.push(`${label}: now ${status.replicas}, not the ${to} Baton set — left as it is`);
    }
  }
  return { restored, leftAlone };
}
