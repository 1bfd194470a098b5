/**
 * The evacuations queue: an evacuation's preflight runs here, in a worker, never on the Slack request path
 * (DESIGN §4). Each site's gates are measured as a single proposal's are (measurePreflight), all sites at once, and
 * each result is stored on the evacuation as it arrives, so its message fills in site by site; then the site's
 * pre-warm starts (`afterPreflight`), as a single proposal's does after its preflight. A pre-warm that could not
 * start fails the attempt once the others are done, and the next attempt starts it again.
 */
import type { Job, Queue } from 'bullmq';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Topology } from '../config/topology.js';
import type { ProposalPreflight, Run } from '../core/model.js';
import type { Clock, Log, Ports } from '../core/ports.js';
import { describeError } from '../errors.js';
import { DEFAULT_KEY_PREFIXES } from '../store/keys.js';
import { measurePreflight } from './check-jobs.js';

export const EVACUATIONS_QUEUE = 'evacuations';

export const evacuationJobSchema = z.object({
  /** preflight: measure each site's gates; expire: an undecided evacuation expires (run when it is due). */
  type: z.enum(['preflight', 'expire']),
  evacuationId: z.string().min(1),
});
export type EvacuationJobData = z.infer<typeof evacuationJobSchema>;

/** One preflight job per evacuation; a second add with the same id (a repeated request) is ignored. */
export async function enqueueEvacuationPreflight(
  queue: Queue<EvacuationJobData>,
  evacuationId: string,
): Promise<void> {
  await queue.add(
    'preflight',
    { type: 'preflight', evacuationId },
    {
      jobId: `evacuation-preflight-${evacuationId}`,
      attempts: 3,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: 24 * 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  );
}

/** Expires the evacuation when it is due, if nobody decided by then (a delayed job; a repeat add is ignored). */
export async function enqueueEvacuationExpiry(
  queue: Queue<EvacuationJobData>,
  evacuationId: string,
  delayMs: number,
): Promise<void> {
  await queue.add(
    'expire',
    { type: 'expire', evacuationId },
    {
      jobId: `evacuation-expire-${evacuationId}`,
      delay: Math.max(0, delayMs),
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  );
}

/** What the worker needs of the evacuation service. */
export interface EvacuationPreflightTarget {
  /** The draft runs to measure: one per site still waiting for its preflight (none once decided). */
  preflightDrafts(evacuationId: string): Promise<Run[]>;
  recordPreflight(evacuationId: string, site: string, preflight: ProposalPreflight): Promise<void>;
  /** The sites whose preflight is stored, while the evacuation is undecided (none once decided). */
  measuredSites(evacuationId: string): Promise<string[]>;
  /** Marks it expired if it is still undecided and due. */
  expire(evacuationId: string): Promise<unknown>;
}

export interface EvacuationWorkerOptions {
  connection: Redis;
  bullPrefix?: string;
  target: EvacuationPreflightTarget;
  topology: Topology;
  ports: Ports;
  clock: Clock;
  log: Log;
  timeoutMs?: number;
  /**
   * A site's preflight is stored: start its pre-warm (src/queue/prewarm/). A failure never holds up the evacuation;
   * the job is tried again (3 attempts), starting the pre-warm of every measured site again.
   */
  afterPreflight?: (evacuationId: string, site: string) => Promise<void>;
}

export function startEvacuationWorker(options: EvacuationWorkerOptions): { close(): Promise<void> } {
  const { target, log } = options;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const processor = async (job: Job<EvacuationJobData>): Promise<string> => {
    const { type, evacuationId } = evacuationJobSchema.parse(job.data);
    if (type === 'expire') {
      await target.expire(evacuationId);
      return 'expired-if-due';
    }
    // Sites an earlier attempt measured: their pre-warm may not have started (a repeat add is ignored).
    const measured = await target.measuredSites(evacuationId);
    const drafts = await target.preflightDrafts(evacuationId);
    const notStarted: string[] = [];
    // Pre-warm is a help, never a condition: the evacuation goes on without it, and the job tries again.
    const startPrewarm = async (site: string) => {
      await options.afterPreflight?.(evacuationId, site).catch((error: unknown) => {
        notStarted.push(site);
        log.warn(
          { evacuationId, site, err: describeError(error) },
          'could not start the site’s pre-warm; the evacuation is unaffected, the job tries again',
        );
      });
    };
    await Promise.all([
      ...measured.map(startPrewarm),
      ...drafts.map(async (run) => {
        const preflight = await measurePreflight({ ...options, run, timeoutMs });
        await target.recordPreflight(evacuationId, run.site, preflight);
        await startPrewarm(run.site);
      }),
    ]);
    log.info({ evacuationId, sites: drafts.length }, 'evacuation preflight measured');
    if (notStarted.length > 0)
      throw new Error(`pre-warm not started for ${notStarted.sort().join(', ')}: trying again`);
    return 'measured';
  };
  const worker = new Worker<EvacuationJobData>(EVACUATIONS_QUEUE, processor, {
    connection: options.connection,
    prefix: options.bullPrefix ?? DEFAULT_KEY_PREFIXES.bull,
    concurrency: 2,
  });
  worker.on('error', (error) => log.error({ err: describeError(error) }, 'evacuation worker error'));
  return { close: () => worker.close() };
}
