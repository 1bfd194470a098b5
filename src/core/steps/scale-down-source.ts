import { describeError } from '../../errors.js';
import type { StepDefinition } from './step.js';
import { recordedBefore, scaleWorkloads, workloadsAt } from './scale-workloads.js';

const standby = (w: { standbyReplicas: number }) => w.standbyReplicas;

/** The old side back to its lean standby size, when it can be reached; an unreachable side is recorded. */
export const scaleDownSource: StepDefinition = {
  id: 'scale-down-source',
  reversible: true,
  pointOfNoReturn: false,
  defaults: { timeoutMs: 120_000, retries: 2 },
  async isDone(ctx) {
    try {
      return await workloadsAt(ctx, ctx.run.from, standby, { ready: false });
    } catch {
      return false;
    }
  },
  async apply(ctx) {
    try {
      await ctx.ports.cluster.readyNodeCount(ctx.site, ctx.run.from);
    } catch (error) {
      return {
        skipped: `${ctx.run.from} unreachable (${describeError(error)}); scale it down when it is back`,
      };
    }
    return { scaled: await scaleWorkloads(ctx, ctx.run.from, standby, { waitReady: false }) };
  },
  isUndone: (ctx) =>
    workloadsAt(
      ctx,
      ctx.run.from,
      recordedBefore(ctx, (w) => w.replicas),
      { ready: false },
    ),
  async undo(ctx) {
    await scaleWorkloads(
      ctx,
      ctx.run.from,
      recordedBefore(ctx, (w) => w.replicas),
      { waitReady: false },
    );
  },
};
