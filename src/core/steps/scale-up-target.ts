import type { StepDefinition } from './step.js';
import {
  autoscalersHold,
  autoscalersRestored,
  raiseAutoscalers,
  restoreAutoscalers,
} from './hold-autoscalers.js';
import {
  applicationsPaused,
  applicationsResumed,
  pauseApplications,
  resumeApplications,
} from './gitops-applications.js';
import { recordedBefore, scaleWorkloads, workloadsAt } from './scale-workloads.js';

const serving = (w: { replicas: number }) => w.replicas;

/**
 * Brings the standby side to its serving size — never below what it runs now — and waits until every replica is
 * Ready. HorizontalPodAutoscalers of its workloads first get their minReplicas raised to the serving count, or
 * their next sync would scale it back.
 */
export const scaleUpTarget: StepDefinition = {
  id: 'scale-up-target',
  reversible: true,
  pointOfNoReturn: false,
  defaults: { timeoutMs: 300_000, retries: 1 },
  isDone: async (ctx) =>
    (await applicationsPaused(ctx, ctx.run.to)) &&
    (await autoscalersHold(ctx, ctx.run.to, serving)) &&
    workloadsAt(ctx, ctx.run.to, serving, { ready: true, atLeast: true }),
  async apply(ctx) {
    // Argo CD's self-heal would put Git's standby count back seconds after the scale.
    const gitops = await pauseApplications(ctx, ctx.run.to);
    const autoscalers = await raiseAutoscalers(ctx, ctx.run.to, serving);
    const scaled = await scaleWorkloads(ctx, ctx.run.to, serving, { waitReady: true, atLeast: true });
    return { scaled, ...(autoscalers.length > 0 && { autoscalers }), ...(gitops.length > 0 && { gitops }) };
  },
  isUndone: async (ctx) =>
    (ctx.run.from !== ctx.site.homeCluster || (await applicationsResumed(ctx, ctx.run.to))) &&
    (await autoscalersRestored(ctx, ctx.run.to)) &&
    workloadsAt(
      ctx,
      ctx.run.to,
      recordedBefore(ctx, (w) => w.standbyReplicas),
      { ready: false },
    ),
  async undo(ctx) {
    await restoreAutoscalers(ctx, ctx.run.to);
    await scaleWorkloads(
      ctx,
      ctx.run.to,
      recordedBefore(ctx, (w) => w.standbyReplicas),
      { waitReady: false },
    );
    // The site stays (or is again) at home: Git describes this side, so its Applications sync on their own again.
    if (ctx.run.from === ctx.site.homeCluster) await resumeApplications(ctx, ctx.run.to);
  },
};
