import { describeError } from '../../errors.js';
import type { StepDefinition } from './step.js';
import { autoscalersReleased, releaseAutoscalers, restoreReleased } from './hold-autoscalers.js';
import { recordedBefore, scaleWorkloads, workloadsAt } from './scale-workloads.js';

const standby = (w: { standbyReplicas: number }) => w.standbyReplicas;

/**
 * The old side back to its lean standby size, when it can be reached, and its HorizontalPodAutoscalers given back
 * the range they had before an earlier run raised it. An unreachable side becomes a fence debt: Baton scales it down
 * the moment its API answers again.
 */
export const scaleDownSource: StepDefinition = {
  id: 'scale-down-source',
  reversible: true,
  pointOfNoReturn: false,
  defaults: { timeoutMs: 120_000, retries: 2 },
  async isDone(ctx) {
    try {
      return (
        (await autoscalersReleased(ctx, ctx.run.from)) &&
        (await workloadsAt(ctx, ctx.run.from, standby, { ready: false }))
      );
    } catch {
      return false;
    }
  },
  async apply(ctx) {
    try {
      await ctx.ports.cluster.readyNodeCount(ctx.site, ctx.run.from, { signal: ctx.signal });
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      const reason = `${ctx.run.from}'s Kubernetes API unreachable (${describeError(error)})`;
      await ctx.openFenceDebt({ database: false, workloads: true, reason });
      return { skipped: `${reason}; Baton scales it down when it answers again` };
    }
    const autoscalers = await releaseAutoscalers(ctx, ctx.run.from);
    const scaled = await scaleWorkloads(ctx, ctx.run.from, standby, { waitReady: false });
    return { scaled, ...(autoscalers.length > 0 && { autoscalers }) };
  },
  isUndone: (ctx) =>
    workloadsAt(
      ctx,
      ctx.run.from,
      recordedBefore(ctx, (w) => w.replicas),
      { ready: false },
    ),
  async undo(ctx) {
    // The side serves again: the HPAs this step gave back are held again as they were.
    await restoreReleased(ctx, ctx.run.from);
    await scaleWorkloads(
      ctx,
      ctx.run.from,
      recordedBefore(ctx, (w) => w.replicas),
      { waitReady: false },
    );
  },
};
