/**
 * Preflight for a proposal runs as a job in the worker role, never on the Slack request path (DESIGN §4): the web
 * role records the proposal and enqueues this; a worker runs the read-only gates against the real world, stores
 * the results on the run and lets the proposal message show them.
 */
import type { Job, Queue } from 'bullmq';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Topology } from '../config/topology.js';
import type { ProposalPreflight, Run } from '../core/model.js';
import { SYSTEM_ACTOR } from '../core/model.js';
import type { Clock, Log, Ports } from '../core/ports.js';
import { runPreflightChecks } from '../core/steps/preflight.js';
import { BatonError, describeError } from '../errors.js';
import type { RunStore } from '../store/run-store.js';

export const PREFLIGHT_QUEUE = 'preflight';

export const preflightJobSchema = z.object({ runId: z.string().min(1) });
export type PreflightJobData = z.infer<typeof preflightJobSchema>;

/** One preflight per proposal; BullMQ ignores a second add with the same id (a retried Slack request). */
export async function enqueuePreflight(
  queue: Queue<PreflightJobData>,
  run: Pick<Run, 'id' | 'site'>,
): Promise<void> {
  await queue.add(
    'preflight',
    { runId: run.id },
    {
      jobId: `preflight-${run.site}-${run.id}`,
      attempts: 3,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: 24 * 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  );
}

/** Runs the gates and measures the target standby's lag; never throws for a gate, only for Redis trouble. */
export async function measurePreflight(input: {
  run: Run;
  topology: Topology;
  ports: Ports;
  clock: Clock;
  timeoutMs: number;
}): Promise<ProposalPreflight> {
  const { run, topology, ports, clock } = input;
  const site = topology.sites.find((s) => s.name === run.site);
  if (!site)
    throw new BatonError('unknown-site', `run ${run.id} is for site ${run.site}, not in the topology`);
  const timeout = AbortSignal.timeout(input.timeoutMs);
  const timedOut = new Promise<never>((_, reject) =>
    timeout.addEventListener('abort', () =>
      reject(
        new BatonError('preflight-timeout', `preflight did not finish within ${input.timeoutMs / 1000} s`),
      ),
    ),
  );
  const measure = async (): Promise<ProposalPreflight> => {
    const checks = await runPreflightChecks({ site, run, ports });
    let lagBytes: number | null = null;
    if (site.database) {
      try {
        lagBytes = (await ports.database.status(site, run.to)).lagBytes;
      } catch {
        lagBytes = null; // the target-database check already says why
      }
    }
    return { at: clock.now(), checks, lagBytes };
  };
  try {
    return await Promise.race([measure(), timedOut]);
  } catch (error) {
    return {
      at: clock.now(),
      checks: [{ id: 'preflight', status: 'failed', detail: `could not run: ${describeError(error)}` }],
      lagBytes: null,
    };
  }
}

export interface PreflightWorkerOptions {
  connection: Redis;
  bullPrefix?: string;
  store: RunStore;
  topology: Topology;
  ports: Ports;
  clock: Clock;
  log: Log;
  timeoutMs?: number;
  onChange?: (run: Run) => void;
}

export function startPreflightWorker(options: PreflightWorkerOptions): { close(): Promise<void> } {
  const { store, log } = options;
  const processor = async (job: Job<PreflightJobData>): Promise<string> => {
    const { runId } = preflightJobSchema.parse(job.data);
    const run = await store.get(runId);
    if (!run || run.state !== 'proposed') return 'not-proposed';
    const preflight = await measurePreflight({ ...options, run, timeoutMs: options.timeoutMs ?? 30_000 });
    let saved: Run | null = null;
    try {
      saved = await store.mutate(
        runId,
        (current) => {
          // Approved meanwhile: the preflight step runs again anyway, and the proposal is no longer shown.
          if (current.state !== 'proposed') throw new BatonError('not-proposed', 'decided meanwhile');
          return { ...current, preflight };
        },
        () => ({
          action: 'preflight-measured',
          actor: SYSTEM_ACTOR,
          detail: preflight.checks.map((c) => `${c.id}: ${c.status}`).join(', '),
        }),
      );
    } catch (error) {
      if (error instanceof BatonError && error.code === 'not-proposed') return 'not-proposed';
      throw error;
    }
    log.info(
      { runId, failed: preflight.checks.filter((c) => c.status === 'failed').length },
      'proposal preflight measured',
    );
    options.onChange?.(saved);
    return 'measured';
  };
  const worker = new Worker<PreflightJobData>(PREFLIGHT_QUEUE, processor, {
    connection: options.connection,
    prefix: options.bullPrefix ?? 'bull',
    concurrency: 4,
  });
  worker.on('error', (error) => log.error({ err: describeError(error) }, 'preflight worker error'));
  return { close: () => worker.close() };
}
