import { describeError } from '../../errors.js';
import type { StepDefinition } from './step.js';
import {
  autoscalersLowered,
  autoscalersRestored,
  lowerAutoscalers,
  restoreAutoscalers,
} from './hold-autoscalers.js';
import { applicationsResumed, pauseApplications, resumeApplications } from './gitops-applications.js';
import { recordedBefore, scaleWorkloads, workloadsAt } from './scale-workloads.js';

const standby = (w: { standbyReplicas: number }) => w.standbyReplicas;
/** The run brings the site home (a failback): Git describes both sides again once it is done. */
const home = (ctx: { run: { to: string }; site: { homeCluster: string } }) =>
  ctx.run.to === ctx.site.homeCluster;

/**
 * The old side back to its lean standby size, when it can be reached, and its HorizontalPodAutoscalers given back
 * the range they had before an earlier run raised it, with a minimum no higher than the standby count. An unreachable side becomes a fence debt: Baton scales it down
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
        (!home(ctx) ||
          ((await applicationsResumed(ctx, ctx.run.to)) && (await applicationsResumed(ctx, ctx.run.from)))) &&
        (await autoscalersLowered(ctx, ctx.run.from, standby)) &&
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
      // Home serves at Git's size: its Applications may sync again; the old side's wait for its debt to be paid.
      const gitops = home(ctx) ? await resumeApplications(ctx, ctx.run.to) : [];
      return {
        skipped: `${reason}; Baton scales it down when it answers again`,
        ...(gitops.length > 0 && { gitops }),
      };
    }
    const autoscalers = await lowerAutoscalers(ctx, ctx.run.from, standby);
    const scaled = await scaleWorkloads(ctx, ctx.run.from, standby, { waitReady: false });
    // The site is home: both sides are as Git describes them, so their Applications sync on their own again.
    const gitops = home(ctx)
      ? [...(await resumeApplications(ctx, ctx.run.to)), ...(await resumeApplications(ctx, ctx.run.from))]
      : [];
    return { scaled, ...(autoscalers.length > 0 && { autoscalers }), ...(gitops.length > 0 && { gitops }) };
  },
  isUndone: async (ctx) =>
    (await autoscalersRestored(ctx, ctx.run.from)) &&
    workloadsAt(
      ctx,
      ctx.run.from,
      recordedBefore(ctx, (w) => w.replicas),
      { ready: false },
    ),
  async undo(ctx) {
    // The site is away from home again: Argo CD must not put either side back to Git's counts.
    if (home(ctx)) {
      await pauseApplications(ctx, ctx.run.to);
      await pauseApplications(ctx, ctx.run.from);
    }
    // The side serves again: the HPAs this step gave back are held again as they were.
    await restoreAutoscalers(ctx, ctx.run.from);
    await scaleWorkloads(
      ctx,
      ctx.run.from,
      recordedBefore(ctx, (w) => w.replicas),
      { waitReady: false },
    );
  },
};
