/**
 * Read-only checks against the real world run as jobs in the worker role, never on the Slack request path
 * (DESIGN §4): preflight for a proposal (stored on the run, shown in the proposal message), a dry run (answered on
 * the requester's response_url), and `/failover status` (what Route 53 and PostgreSQL say now, beside Baton's
 * own record).
 */
import type { Job, Queue } from 'bullmq';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Topology } from '../config/topology.js';
import type { ProposalPreflight, Run } from '../core/model.js';
import { SYSTEM_ACTOR } from '../core/model.js';
import { buildPlan } from '../core/plans/build-plan.js';
import { newRun } from '../core/runs/new-run.js';
import type { Clock, Log, Ports } from '../core/ports.js';
import { runPreflightChecks } from '../core/steps/preflight.js';
import { BatonError, describeError } from '../errors.js';
import type { SiteObservation } from '../runs/observe-site.js';
import { observeSite } from '../runs/observe-site.js';
import type { RunStore } from '../store/run-store.js';
import { DEFAULT_KEY_PREFIXES } from '../store/keys.js';

export const CHECKS_QUEUE = 'checks';

const actorSchema = z.object({
  type: z.enum(['slack-user', 'cli', 'policy', 'alert', 'system']),
  id: z.string(),
  name: z.string().optional(),
});

export const checkJobSchema = z.union([
  z.object({ type: z.literal('preflight'), runId: z.string().min(1) }),
  z.object({
    type: z.literal('dry-run'),
    site: z.string(),
    kind: z.enum(['failover', 'failback']),
    planned: z.boolean(),
    force: z.boolean(),
    reason: z.string(),
    actor: actorSchema,
    /** Where to answer (Slack); without it the preflight is the job's return value (the break-glass CLI). */
    responseUrl: z.string().url().optional(),
  }),
  z.object({ type: z.literal('observe'), sites: z.array(z.string()), responseUrl: z.string().url() }),
]);
export type CheckJobData = z.infer<typeof checkJobSchema>;

const JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 24 * 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

/** One preflight per proposal; BullMQ ignores a second add with the same id (a retried Slack request). */
export async function enqueuePreflight(
  queue: Queue<CheckJobData>,
  run: Pick<Run, 'id' | 'site'>,
): Promise<void> {
  await queue.add(
    'preflight',
    { type: 'preflight', runId: run.id },
    { ...JOB_OPTIONS, jobId: `preflight-${run.site}-${run.id}` },
  );
}

export async function enqueueCheck(
  queue: Queue<CheckJobData>,
  data: Exclude<CheckJobData, { type: 'preflight' }>,
): Promise<void> {
  await queue.add(data.type, data, { ...JOB_OPTIONS, attempts: 1 });
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
    let lagUnknown: string | undefined;
    if (site.database) {
      try {
        const target = await ports.database.status(site, run.to);
        lagBytes = target.lagBytes;
        // Never "0 B" for a lag nobody could measure: say why, and what the standby had received.
        if (lagBytes === null && target.inRecovery) {
          lagUnknown =
            `${target.lagUnknown ?? `${run.from} could not be read`}; ${run.to} had received up to ` +
            `${target.receiveLsn ?? target.lsn ?? 'an unknown position'}`;
        }
      } catch {
        lagBytes = null; // the target-database check already says why
      }
    }
    return { at: clock.now(), checks, lagBytes, ...(lagUnknown && { lagUnknown }) };
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

/** What a dry run without a response_url returns as its job result, for a caller waiting on the job. */
export interface DryRunResult {
  type: 'dry-run';
  preflight: ProposalPreflight;
}

export interface CheckWorkerOptions {
  connection: Redis;
  bullPrefix?: string;
  store: RunStore;
  topology: Topology;
  ports: Ports;
  clock: Clock;
  log: Log;
  timeoutMs?: number;
  /** A proposal's preflight was stored on it. */
  onChange?: (run: Run) => void;
  /** After a proposal's preflight is stored (pre-warm's job is added here); a throw retries the preflight job. */
  afterPreflight?: (run: Run) => Promise<void>;
  /** A dry run was measured: answer the requester. `run` is transient (never stored). */
  onDryRun?: (run: Run, responseUrl: string) => Promise<void>;
  /** `/failover status` was observed: answer the asker. */
  onObserved?: (sites: SiteObservation[], responseUrl: string) => Promise<void>;
}

export function startCheckWorker(options: CheckWorkerOptions): { close(): Promise<void> } {
  const { store, log, topology } = options;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const processor = async (job: Job<CheckJobData>): Promise<string | DryRunResult> => {
    const data = checkJobSchema.parse(job.data);
    if (data.type === 'dry-run') {
      const site = topology.sites.find((s) => s.name === data.site);
      if (!site) return 'unknown-site';
      const plan = buildPlan(
        { kind: data.kind, ...(data.planned && { mode: 'planned' as const }), force: data.force },
        site,
        { serving: (await store.site(site.name)).serving ?? site.homeCluster },
      );
      const draft = newRun({
        id: 'dry-run',
        plan,
        force: data.force,
        reason: data.reason,
        requestedBy: data.actor,
        now: options.clock.now(),
        expiresAfterMs: topology.approvals.expiresAfterMs,
      });
      const preflight = await measurePreflight({ ...options, run: draft, timeoutMs });
      if (data.responseUrl === undefined) return { type: 'dry-run', preflight };
      await options.onDryRun?.({ ...draft, preflight }, data.responseUrl);
      return 'dry-run';
    }
    if (data.type === 'observe') {
      const sites = topology.sites.filter((s) => data.sites.includes(s.name));
      const observed = await Promise.all(sites.map((s) => observeSite(s, options.ports, store)));
      await options.onObserved?.(observed, data.responseUrl);
      return 'observed';
    }
    const { runId } = data;
    const run = await store.get(runId);
    if (!run || run.state !== 'proposed') return 'not-proposed';
    const preflight = await measurePreflight({ ...options, run, timeoutMs });
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
          event: {
            type: 'preflight-measured',
            checks: preflight.checks.map(({ id, status }) => ({ id, status })),
          },
          actor: SYSTEM_ACTOR,
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
    await options.afterPreflight?.(saved);
    return 'measured';
  };
  const worker = new Worker<CheckJobData>(CHECKS_QUEUE, processor, {
    connection: options.connection,
    prefix: options.bullPrefix ?? DEFAULT_KEY_PREFIXES.bull,
    concurrency: 4,
  });
  worker.on('error', (error) => log.error({ err: describeError(error) }, 'check worker error'));
  return { close: () => worker.close() };
}
