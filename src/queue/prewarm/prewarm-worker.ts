/**
 * Pre-warm as a job (DESIGN §6): one job per pre-warmed proposal, added once its preflight is stored — a single
 * proposal (`prewarm-<site>-<run>`, its record on the run) or one site of an evacuation (`prewarm-evac-<id>-<site>`,
 * its record in its own key). Each job follows its proposal until it ends (follow-prewarm.ts): it warms the target,
 * shows its Ready count live while the proposal is open, and gives back what it changed when the proposal ends
 * without a run that took it. It reads the world only here, in a worker, never on a Slack request.
 */
import type { Job } from 'bullmq';
import { DelayedError, Queue, Worker } from 'bullmq';
import { z } from 'zod';
import type { Run } from '../../core/model.js';
import { describeError } from '../../errors.js';
import { EvacuationStore } from '../../store/evacuation-store.js';
import { DEFAULT_KEY_PREFIXES } from '../../store/keys.js';
import type { RunStore } from '../../store/run-store.js';
import { SitePrewarmStore } from '../../store/site-prewarm-store.js';
import { EvacuationReader, evacuationPrewarmSource } from './evacuation-prewarm-source.js';
import type { FollowOptions, PrewarmOutcome } from './follow-prewarm.js';
import { followSource } from './follow-prewarm.js';
import { runPrewarmSource } from './run-prewarm-source.js';

export type { PrewarmOutcome } from './follow-prewarm.js';

export const PREWARM_QUEUE = 'prewarm';

export const prewarmJobSchema = z.union([
  z.object({ runId: z.string().min(1) }),
  z.object({ evacuationId: z.string().min(1), site: z.string().min(1) }),
]);
export type PrewarmJobData = z.infer<typeof prewarmJobSchema>;

/** Giving back must happen: a target that does not answer is tried again every 5 s for half an hour. */
const JOB_OPTIONS = {
  attempts: 360,
  backoff: { type: 'fixed', delay: 5000 },
  removeOnComplete: { age: 24 * 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

/** Adds the proposal's pre-warm job; BullMQ ignores a second add with the same id. */
export async function enqueuePrewarm(
  queue: Queue<PrewarmJobData>,
  run: Pick<Run, 'id' | 'site'>,
): Promise<void> {
  await queue.add('prewarm', { runId: run.id }, { ...JOB_OPTIONS, jobId: `prewarm-${run.site}-${run.id}` });
}

/** Adds the pre-warm job of one site of an evacuation (once its preflight is stored); a repeat add is ignored. */
export async function enqueueEvacuationPrewarm(
  queue: Queue<PrewarmJobData>,
  evacuationId: string,
  site: string,
): Promise<void> {
  await queue.add(
    'prewarm',
    { evacuationId, site },
    { ...JOB_OPTIONS, jobId: `prewarm-evac-${evacuationId}-${site}` },
  );
}

export interface PrewarmOptions extends FollowOptions {
  store: RunStore;
  /** The run changed: publish it. Never awaited. */
  onChange?: (run: Run) => void;
  /** An evacuation site's pre-warm changed: publish the evacuation's table. Never awaited. */
  onEvacuationChange?: (evacuationId: string) => void;
}

/** Follows one single proposal's pre-warm until it ends (see followSource). */
export function followPrewarm(
  options: PrewarmOptions,
  runId: string,
  shouldStop: () => boolean = () => false,
): Promise<PrewarmOutcome> {
  return followSource(options, runPrewarmSource(options, runId), shouldStop);
}

/** Follows one evacuation site's pre-warm until the evacuation is decided and the site handed over or given back. */
export function followEvacuationPrewarm(
  options: PrewarmOptions,
  evacuationId: string,
  site: string,
  shouldStop: () => boolean = () => false,
  evacuations = new EvacuationReader(new EvacuationStore(options.connection, options.storePrefix)),
): Promise<PrewarmOutcome> {
  const source = evacuationPrewarmSource(
    {
      evacuations,
      prewarms: new SitePrewarmStore(options.connection, options.storePrefix),
      runs: options.store,
      sites: options.topology.sites,
      clock: options.clock,
      ...(options.onEvacuationChange && { onChange: options.onEvacuationChange }),
    },
    evacuationId,
    site,
  );
  return followSource(options, source, shouldStop);
}

/** The pre-warm queue's worker: one job per pre-warmed proposal, each following it until it ends. */
export function startPrewarmWorker(
  options: PrewarmOptions & { bullPrefix?: string; name?: string; concurrency?: number },
): { queue: Queue<PrewarmJobData>; close(): Promise<void> } {
  const prefix = options.bullPrefix ?? DEFAULT_KEY_PREFIXES.bull;
  const queue = new Queue<PrewarmJobData>(PREWARM_QUEUE, { connection: options.connection, prefix });
  const evacuations = new EvacuationReader(new EvacuationStore(options.connection, options.storePrefix));
  let stopping = false;
  const worker = new Worker<PrewarmJobData>(
    PREWARM_QUEUE,
    async (job: Job<PrewarmJobData>, token?: string) => {
      const data = prewarmJobSchema.parse(job.data);
      const outcome =
        'runId' in data
          ? await followPrewarm(options, data.runId, () => stopping)
          : await followEvacuationPrewarm(options, data.evacuationId, data.site, () => stopping, evacuations);
      if (outcome === 'stopping') {
        // SIGTERM: hand the proposal to another worker at once instead of holding shutdown for its expiry.
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      return outcome;
    },
    {
      connection: options.connection,
      prefix,
      // Each job follows one open proposal until it is decided, mostly asleep: one per site of an open proposal,
      // and an evacuation of fifty sites is fifty at once.
      concurrency: options.concurrency ?? 256,
      maxStalledCount: 10,
      ...(options.name && { name: options.name }),
    },
  );
  worker.on('error', (error) => options.log.error({ err: describeError(error) }, 'prewarm worker error'));
  worker.on('failed', (job, error) =>
    options.log.warn({ jobId: job?.id, err: describeError(error) }, 'pre-warm job failed; it is retried'),
  );
  return {
    queue,
    async close() {
      stopping = true;
      await worker.close();
      await queue.close();
    },
  };
}
