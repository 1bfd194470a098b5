import { BatonError, describeError } from '../../errors.js';
import type { StepContext, StepDefinition } from './step.js';
import { recordedBefore, scaleWorkloads, workloadsAt } from './scale-workloads.js';

const standby = (w: { standbyReplicas: number }) => w.standbyReplicas;

async function databaseFenced(ctx: StepContext): Promise<boolean> {
  if (!ctx.site.database) return true;
  const status = await ctx.ports.database.status(ctx.site, ctx.run.from);
  return status.readOnly || status.inRecovery;
}

/**
 * Stops writes on the old side before anything is promoted, so there is never a second writable primary.
 * Planned: both parts must succeed. Emergency: best effort — an unreachable source is recorded, not fatal.
 */
export const fenceSource: StepDefinition = {
  id: 'fence-source',
  reversible: true,
  pointOfNoReturn: false,
  defaults: { timeoutMs: 60_000, retries: 2 },
  async isDone(ctx) {
    try {
      return (await databaseFenced(ctx)) && (await workloadsAt(ctx, ctx.run.from, standby, { ready: false }));
    } catch {
      return false; // unreachable: apply decides whether that is fatal
    }
  },
  async apply(ctx) {
    const { site, run, ports } = ctx;
    const output: Record<string, unknown> = {};
    const problems: string[] = [];
    const bestEffort = async (what: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (error) {
        // Best effort covers an unreachable side, never a timed-out attempt or a refused save (lock lost, or
        // the run changed under us, e.g. aborted).
        if (
          run.mode === 'planned' ||
          ctx.signal.aborted ||
          (error instanceof BatonError && (error.code === 'lease-lost' || error.code === 'run-conflict'))
        ) {
          throw error;
        }
        problems.push(`${what}: ${describeError(error)}`);
      }
    };
    if (site.database) {
      await bestEffort(`${run.from} database`, async () => {
        if (await databaseFenced(ctx)) return;
        output.lsn = (await ports.database.fence(site, run.from)).lsn;
      });
    }
    await bestEffort(`${run.from} workloads`, async () => {
      output.scaled = await scaleWorkloads(ctx, run.from, standby, { waitReady: false });
    });
    if (problems.length) output.unfenced = problems;
    return output;
  },
  async isUndone(ctx) {
    const { site, run, ports } = ctx;
    if (site.database) {
      const status = await ports.database.status(site, run.from);
      if (status.readOnly) return false;
    }
    return workloadsAt(
      ctx,
      run.from,
      recordedBefore(ctx, (w) => w.replicas),
      { ready: false },
    );
  },
  async undo(ctx) {
    const { site, run, ports } = ctx;
    if (site.database && (await ports.database.status(site, run.from)).readOnly) {
      await ports.database.unfence(site, run.from);
    }
    await scaleWorkloads(
      ctx,
      run.from,
      recordedBefore(ctx, (w) => w.replicas),
      { waitReady: false },
    );
  },
};
