import type { StepDefinition } from './step.js';
import { recordedBefore, scaleWorkloads, workloadsAt } from './scale-workloads.js';

const serving = (w: { replicas: number }) => w.replicas;

/** Brings the standby side to its serving size and waits until every replica is Ready. */
export const scaleUpTarget: StepDefinition = {
  id: 'scale-up-target',
  reversible: true,
  pointOfNoReturn: false,
  defaults: { timeoutMs: 300_000, retries: 1 },
  isDone: (ctx) => workloadsAt(ctx, ctx.run.to, serving, { ready: true }),
  async apply(ctx) {
    return { scaled: await scaleWorkloads(ctx, ctx.run.to, serving, { waitReady: true }) };
  },
  isUndone: (ctx) =>
    workloadsAt(
      ctx,
      ctx.run.to,
      recordedBefore(ctx, (w) => w.standbyReplicas),
      { ready: false },
    ),
  async undo(ctx) {
    await scaleWorkloads(
      ctx,
      ctx.run.to,
      recordedBefore(ctx, (w) => w.standbyReplicas),
      { waitReady: false },
    );
  },
};
