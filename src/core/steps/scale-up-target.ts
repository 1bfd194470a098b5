import type { StepDefinition } from './step.js';
import {
  autoscalersHold,
  autoscalersReleased,
  raiseAutoscalers,
  releaseAutoscalers,
} from './hold-autoscalers.js';
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
    (await autoscalersHold(ctx, ctx.run.to, serving)) &&
    workloadsAt(ctx, ctx.run.to, serving, { ready: true, atLeast: true }),
  async apply(ctx) {
    const autoscalers = await raiseAutoscalers(ctx, ctx.run.to, serving);
    const scaled = await scaleWorkloads(ctx, ctx.run.to, serving, { waitReady: true, atLeast: true });
    return { scaled, ...(autoscalers.length > 0 && { autoscalers }) };
  },
  isUndone: async (ctx) =>
    (await autoscalersReleased(ctx, ctx.run.to)) &&
    workloadsAt(
      ctx,
      ctx.run.to,
      recordedBefore(ctx, (w) => w.standbyReplicas),
      { ready: false },
    ),
  async undo(ctx) {
    await releaseAutoscalers(ctx, ctx.run.to);
    await scaleWorkloads(
      ctx,
      ctx.run.to,
      recordedBefore(ctx, (w) => w.standbyReplicas),
      { waitReady: false },
    );
  },
};
