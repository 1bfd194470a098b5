import type { Queue } from 'bullmq';
import { z } from 'zod';
import type { Run } from '../core/model.js';
import { runJobId } from '../core/model.js';

export const RUNS_QUEUE = 'runs';

/** Job data of the runs queue: which run, and which execution segment of it (see runJobId). */
export const runJobSchema = z.object({ runId: z.string().min(1), segment: z.number().int().positive() });
export type RunJobData = z.infer<typeof runJobSchema>;

/**
 * BullMQ lock settings of the run workers. A killed worker's run is picked up once its lock expires
 * (lockDuration) and a stalled check runs (stalledInterval): about 5–7 s here, against ~60 s with BullMQ's
 * defaults. A run survives `maxStalledCount` stalls before BullMQ gives up on it.
 */
export const RUN_WORKER_SETTINGS = {
  lockDuration: 5000,
  stalledInterval: 2000,
  maxStalledCount: 10,
} as const;

/** The BullMQ key that holds a job's lock token. */
export const jobLockKey = (bullPrefix: string, jobId: string): string =>
  `${bullPrefix}:${RUNS_QUEUE}:${jobId}:lock`;

/**
 * Adds the run's current segment as a job. BullMQ ignores a second add with the same id, so producers, retried
 * requests and the reconciler can all call it. Jobs that throw (Redis trouble mid-run) are retried for ~100 s;
 * finished jobs are kept a week (failed ones a month) for inspection.
 */
export async function enqueueRun(
  queue: Queue<RunJobData>,
  run: Pick<Run, 'kind' | 'site' | 'id' | 'segment'>,
): Promise<void> {
  await queue.add(
    'run',
    { runId: run.id, segment: run.segment },
    {
      jobId: runJobId(run),
      attempts: 50,
      backoff: { type: 'fixed', delay: 2000 },
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: { age: 30 * 24 * 3600 },
    },
  );
}
