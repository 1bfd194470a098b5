/**
 * Periodic work, once per deployment: one BullMQ queue, one job scheduler per kind of work (upserted by every worker
 * role at boot — the same scheduler id, so one schedule however many workers run), and this process's share of
 * running the passes. Each pass runs in one worker. A pass that outlives its interval may overlap the next one, so
 * each kind of work guards what must not happen twice (a claim or a lock in Redis).
 */
import type { Job } from 'bullmq';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Log } from '../core/ports.js';
import { describeError } from '../errors.js';

export const PERIODIC_QUEUE = 'periodic';

export interface PeriodicJob {
  /** The scheduler id and job name, e.g. `fence-debts`. */
  id: string;
  everyMs: number;
  /** The first pass after this long (default: at once). */
  firstAfterMs?: number;
  run(): Promise<unknown>;
}

export interface PeriodicWork {
  queue: Queue;
  worker: Worker;
  close(): Promise<void>;
}

export async function startPeriodicWork(options: {
  /** A worker connection (maxRetriesPerRequest: null). */
  connection: Redis;
  bullPrefix: string;
  jobs: PeriodicJob[];
  log: Log;
  name?: string;
}): Promise<PeriodicWork> {
  const { connection, bullPrefix, jobs } = options;
  const log = options.log.child({ component: 'periodic' });
  const byId = new Map(jobs.map((job) => [job.id, job]));
  const queue = new Queue(PERIODIC_QUEUE, { connection, prefix: bullPrefix });
  queue.on('error', (error) => log.warn({ err: describeError(error) }, 'periodic queue error'));
  for (const job of jobs) {
    await queue.upsertJobScheduler(
      job.id,
      {
        every: job.everyMs,
        ...(job.firstAfterMs !== undefined && { startDate: Date.now() + job.firstAfterMs }),
      },
      { name: job.id, data: {}, opts: { removeOnComplete: true, removeOnFail: 100 } },
    );
  }
  const worker = new Worker(
    PERIODIC_QUEUE,
    async (job: Job) => {
      const work = byId.get(job.name);
      // A scheduler this version no longer knows (an older worker's): nothing to do.
      if (!work) return { unknown: job.name };
      return work.run();
    },
    {
      connection,
      prefix: bullPrefix,
      concurrency: Math.max(1, jobs.length),
      ...(options.name && { name: options.name }),
    },
  );
  worker.on('error', (error) => log.warn({ err: describeError(error) }, 'periodic worker error'));
  worker.on('failed', (job, error) =>
    log.warn({ job: job?.name, err: describeError(error) }, 'a periodic pass failed'),
  );
  // Returns once the worker's blocking connection, which BullMQ opens in the background, has finished its handshake.
  // Closed while that handshake's INFO (BullMQ's version check) is in flight, BullMQ rejects it into a handler whose
  // listeners close() already removed: an unhandled "Connection is closed." at a SIGTERM right after boot, or when a
  // test closes a fresh worker role (bullmq dist/cjs/classes/redis-connection.js, `this.initializing.catch(...)` in
  // the constructor; taskforcesh/bullmq#3546).
  await worker.waitUntilReady();
  log.info({ jobs: jobs.map((j) => ({ id: j.id, everyMs: j.everyMs })) }, 'periodic work scheduled');
  return {
    queue,
    worker,
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}
