import { z } from 'zod';

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
