/**
 * The worker role's processor: a thin shell that parses the job, checks it is the run's current segment, and
 * hands the run to the core engine with persistence bound to this job's lock. SIGTERM (close) lets the current
 * step finish, then moves the job back so another worker resumes it.
 */
import type { Job } from 'bullmq';
import { DelayedError, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Topology } from '../config/topology.js';
import type { Run } from '../core/model.js';
import { runJobId } from '../core/model.js';
import type { ExecuteOutcome } from '../core/runs/execute-run.js';
import { LeaseLostError, executeRun } from '../core/runs/execute-run.js';
import type { Clock, Log, Ports } from '../core/ports.js';
import { STEPS } from '../core/steps/index.js';
import type { StepSettings } from '../core/steps/step.js';
import { DEFAULT_STEP_SETTINGS } from '../core/steps/step.js';
import { BatonError, describeError } from '../errors.js';
import type { FenceDebtStore } from '../store/fence-debts.js';
import type { RunStore } from '../store/run-store.js';
import { DEFAULT_KEY_PREFIXES } from '../store/keys.js';
import type { RunJobData } from './queues.js';
import { expireIfDue } from './expire-proposal.js';
import { RUNS_QUEUE, RUN_WORKER_SETTINGS, enqueueRun, jobLockKey, runJobSchema } from './queues.js';

/**
 * Runs one worker process drives at once, by default. A cluster evacuation starts a run per site (tens at once);
 * a run spends its time waiting on the outside world, each holds its own site's lock, and the API limits are kept
 * where they live (the shared Route 53 limit, the Kubernetes write pacing, the Slack channel pacer). Four per
 * process made an evacuation of 50 sites on three workers go in four waves.
 */
export const RUN_CONCURRENCY = 16;

export interface RunWorkerOptions {
  /** A connection with maxRetriesPerRequest: null (BullMQ requires it for workers). */
  connection: Redis;
  /** Worker name, stored by BullMQ on each job it processes (processedBy). */
  name?: string;
  /** BullMQ key prefix (default `{baton}-bull`, as the store's keys; see store/keys.ts). */
  bullPrefix?: string;
  store: RunStore;
  /** Where runs open fence debts (the old side could not be fenced). */
  debts: FenceDebtStore;
  topology: Topology;
  ports: Ports;
  clock: Clock;
  log: Log;
  settings?: StepSettings;
  /** Runs of different sites at once (default {@link RUN_CONCURRENCY}). */
  concurrency?: number;
  lock?: Partial<Record<keyof typeof RUN_WORKER_SETTINGS, number>>;
  backoff?: { baseMs: number; maxMs: number };
  /** Progress hook (the notify queue producer); never awaited. */
  onChange?: (run: Run) => void;
}

export interface RunWorker {
  worker: Worker<RunJobData>;
  /** Graceful: the current step finishes, the job goes back to the queue, then the connections close. */
  close(): Promise<void>;
  /**
   * Expires proposals past their expiry, and enqueues jobs for runs that should be executing but have none
   * (after a crash between save and add). Returns how many jobs it added. The worker role runs it as periodic work
   * (once per deployment), and once at start.
   */
  reconcile(): Promise<number>;
}

export function startRunWorker(options: RunWorkerOptions): RunWorker {
  const bullPrefix = options.bullPrefix ?? DEFAULT_KEY_PREFIXES.bull;
  const lock = { ...RUN_WORKER_SETTINGS, ...options.lock };
  const log = options.log;
  let stopping = false;
  const queue = new Queue<RunJobData>(RUNS_QUEUE, { connection: options.connection, prefix: bullPrefix });

  const processor = async (
    job: Job<RunJobData>,
    token?: string,
  ): Promise<{ outcome: ExecuteOutcome | 'stale' }> => {
    const data = runJobSchema.parse(job.data);
    const run = await options.store.get(data.runId);
    if (!run || run.segment !== data.segment) return { outcome: 'stale' };
    const site = options.topology.sites.find((s) => s.name === run.site);
    if (!site) throw new Error(`run ${run.id} is for site ${run.site}, which the topology no longer has`);
    // Abort of a running run starts a new segment while the old one may still be inside a step: wait for it.
    if (
      run.segment > 1 &&
      (await queue.getJobState(runJobId({ ...run, segment: run.segment - 1 }))) === 'active'
    ) {
      await job.moveToDelayed(Date.now() + 500, token);
      throw new DelayedError();
    }
    const lease = { lockKey: jobLockKey(bullPrefix, job.id ?? ''), token: token ?? '' };
    const runLog = log.child({ runId: run.id, site: run.site, kind: run.kind, jobId: job.id });
    try {
      const { outcome } = await executeRun({
        run,
        site,
        ports: options.ports,
        steps: STEPS,
        clock: options.clock,
        log: runLog,
        settings: options.settings ?? DEFAULT_STEP_SETTINGS,
        ...(options.backoff && { backoff: options.backoff }),
        persistence: {
          save: (next, audit) => options.store.save(next, audit, lease),
          assertLease: async () => {
            if ((await options.connection.get(lease.lockKey)) !== lease.token)
              throw new LeaseLostError(run.id);
          },
          openFenceDebt: async (debt) => {
            if (!(await options.debts.open(debt, lease))) throw new LeaseLostError(run.id);
          },
        },
        shouldStop: () => stopping,
        ...(options.onChange && { onChange: options.onChange }),
      });
      runLog.info({ outcome }, 'run segment finished');
      if (outcome === 'released') {
        // Back to the queue at once for another worker; DelayedError tells BullMQ we moved it ourselves.
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      return { outcome };
    } catch (error) {
      if (error instanceof LeaseLostError) runLog.warn({}, 'lost the run lock; another worker continues it');
      if (error instanceof BatonError && error.code === 'run-conflict') {
        // Someone changed the run under us (Abort while running): if it moved to a new segment, ours is over.
        const now = await options.store.get(run.id);
        if (now && now.segment !== data.segment) {
          runLog.info({ segment: now.segment }, 'run moved to a new segment; this one stops');
          return { outcome: 'stale' };
        }
      }
      throw error;
    }
  };

  const worker = new Worker<RunJobData>(RUNS_QUEUE, processor, {
    connection: options.connection,
    prefix: bullPrefix,
    concurrency: options.concurrency ?? RUN_CONCURRENCY,
    ...(options.name && { name: options.name }),
    lockDuration: lock.lockDuration,
    stalledInterval: lock.stalledInterval,
    maxStalledCount: lock.maxStalledCount,
  });
  worker.on('error', (error) => log.error({ err: describeError(error) }, 'run worker error'));
  worker.on('failed', (job, error) =>
    log.warn(
      { jobId: job?.id, err: describeError(error), attemptsMade: job?.attemptsMade },
      'run job failed',
    ),
  );

  const reconcile = async (): Promise<number> => {
    let added = 0;
    // A site has at most one open run: read each site's, instead of scanning the run history.
    const open = (
      await Promise.all(options.topology.sites.map((site) => options.store.openRun(site.name)))
    ).filter((run): run is Run => run !== null);
    // Unanswered proposals expire here, which also frees their site for the next request.
    for (const run of open.filter((r) => r.state === 'proposed')) {
      const expired = await expireIfDue(options.store, run.id, options.clock.now());
      if (expired?.state === 'expired') options.onChange?.(expired);
    }
    for (const run of open.filter((r) => ['approved', 'running', 'aborting'].includes(r.state))) {
      const jobId = runJobId(run);
      const state = await queue.getJobState(jobId);
      if (state === 'unknown') {
        await enqueueRun(queue, run);
        added += 1;
      } else if (state === 'failed') {
        await (await queue.getJob(jobId))?.retry();
        added += 1;
      }
    }
    if (added) log.warn({ added }, 're-enqueued runs that had no live job');
    return added;
  };

  return {
    worker,
    reconcile,
    async close() {
      stopping = true;
      await worker.close();
      await queue.close();
    },
  };
}
