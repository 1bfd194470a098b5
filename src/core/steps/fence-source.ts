import { BatonError, describeError } from '../../errors.js';
import type { FenceMark } from '../ports.js';
import type { StepDefinition } from './step.js';
import {
  autoscalersLowered,
  autoscalersRestored,
  lowerAutoscalers,
  restoreAutoscalers,
} from './hold-autoscalers.js';
import {
  applicationsPaused,
  applicationsResumed,
  pauseApplications,
  resumeApplications,
} from './gitops-applications.js';
import { recordedBefore, scaleWorkloads, workloadsAt } from './scale-workloads.js';

const standby = (w: { standbyReplicas: number }) => w.standbyReplicas;

/** The fence mark a fence-source (or promote) output carries, if it is one. */
export function fenceMarkOf(output: Readonly<Record<string, unknown>> | undefined): FenceMark | undefined {
  const mark = output?.fence as Partial<FenceMark> | undefined;
  return mark && typeof mark.lsn === 'string' && typeof mark.nextXid === 'string'
    ? (mark as FenceMark)
    : undefined;
}

/**
 * Stops writes on the old side before anything is promoted, so there is never a second writable primary.
 * Planned: both parts must succeed. Emergency: best effort — an unreachable source is recorded, not fatal (the
 * promote step's guard decides). The database fence runs on every attempt: a read-only flag an earlier attempt
 * left behind proves nothing about sessions, overrides or the final position.
 */
export const fenceSource: StepDefinition = {
  id: 'fence-source',
  reversible: true,
  pointOfNoReturn: false,
  defaults: { timeoutMs: 60_000, retries: 2 },
  async isDone(ctx) {
    if (ctx.site.database) return false;
    try {
      return (
        (await applicationsPaused(ctx, ctx.run.from)) &&
        (await autoscalersLowered(ctx, ctx.run.from, standby)) &&
        (await workloadsAt(ctx, ctx.run.from, standby, { ready: false }))
      );
    } catch {
      return false; // unreachable: apply decides whether that is fatal
    }
  },
  async apply(ctx) {
    const { site, run, ports, signal } = ctx;
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
          signal.aborted ||
          (error instanceof BatonError && (error.code === 'lease-lost' || error.code === 'run-conflict'))
        ) {
          throw error;
        }
        problems.push(`${what}: ${describeError(error)}`);
      }
    };
    const database = site.database;
    if (database) {
      // CloudNativePG switchover: demote the source Cluster; its token lets the target be promoted without loss.
      const demote = database.promotion === 'cloudnative-pg' && run.mode === 'planned';
      await bestEffort(`${run.from} database`, async () => {
        output.fence = await ports.database.fence(site, run.from, {
          signal,
          ...(demote && { demoteTo: run.to }),
        });
      });
    }
    await bestEffort(`${run.from} workloads`, async () => {
      // Argo CD's self-heal and the HPAs first: either would scale the old side back up.
      const gitops = await pauseApplications(ctx, run.from);
      if (gitops.length > 0) output.gitops = gitops;
      const autoscalers = await lowerAutoscalers(ctx, run.from, standby);
      if (autoscalers.length > 0) output.autoscalers = autoscalers;
      output.scaled = await scaleWorkloads(ctx, run.from, standby, { waitReady: false });
    });
    if (problems.length) output.unfenced = problems;
    return output;
  },
  async isUndone(ctx) {
    const { site, run, ports, signal } = ctx;
    if (site.database) {
      const status = await ports.database.status(site, run.from, { signal });
      if (status.readOnly) return false;
    }
    if (!(await autoscalersRestored(ctx, run.from))) return false;
    if (run.from === site.homeCluster && !(await applicationsResumed(ctx, run.from))) return false;
    return workloadsAt(
      ctx,
      run.from,
      recordedBefore(ctx, (w) => w.replicas),
      { ready: false },
    );
  },
  async undo(ctx) {
    const { site, run, ports, signal } = ctx;
    if (site.database) await ports.database.unfence(site, run.from, { signal });
    await restoreAutoscalers(ctx, run.from);
    await scaleWorkloads(
      ctx,
      run.from,
      recordedBefore(ctx, (w) => w.replicas),
      { waitReady: false },
    );
    // Back home: Git describes this side again, so its Applications sync on their own again.
    if (run.from === site.homeCluster) await resumeApplications(ctx, run.from);
  },
};
