/**
 * The scrape-time read behind Baton's Redis gauges: BullMQ job counts and live workers per queue, and the open runs
 * by state. Open runs are read per site, because a run that has not finished is always its site's open run (the
 * store creates a run only when the site's marker is free or points at a finished run, and clears the marker in the
 * save that finishes the run): two Redis reads per site instead of a scan of the run history.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Topology } from '../config/topology.js';
import type { PreflightCheck } from '../core/model.js';
import { BatonError } from '../errors.js';
import type { MeteredQueue, StateSnapshot } from '../metrics.js';
import { GAUGED_RUN_STATES, METERED_QUEUES, QUEUE_JOB_STATES, READINESS_CHECK_VALUES } from '../metrics.js';
import { CHECKS_QUEUE } from '../queue/check-jobs.js';
import { NOTIFY_QUEUE } from '../queue/notify/index.js';
import { RUNS_QUEUE } from '../queue/queues.js';
import { ReadinessStore } from '../store/readiness-store.js';
import { RunStore } from '../store/run-store.js';

const QUEUE_NAMES: Record<MeteredQueue, string> = {
  runs: RUNS_QUEUE,
  checks: CHECKS_QUEUE,
  notify: NOTIFY_QUEUE,
};

/** Each check id's value; an id that appears twice (a workload's image and scaling checks) reports its worst. */
function worstByCheck(checks: readonly PreflightCheck[]): Record<string, number> {
  const values: Record<string, number> = {};
  for (const c of checks) values[c.id] = Math.min(values[c.id] ?? 1, READINESS_CHECK_VALUES[c.status]);
  return values;
}

export interface StateReaderOptions {
  /** A fail-fast connection (producer settings): a scrape must not wait for Redis to come back. */
  connection: Redis;
  prefixes: { store: string; bull: string };
  topology: Topology;
  /** Longest a read may take before the scrape gives up on it (default 2 s). */
  timeoutMs?: number;
}

export interface StateReader {
  read(): Promise<StateSnapshot>;
  close(): Promise<void>;
}

export function createStateReader(options: StateReaderOptions): StateReader {
  const { connection, prefixes, topology } = options;
  const timeoutMs = options.timeoutMs ?? 2000;
  const store = new RunStore(connection, prefixes.store);
  const queues = METERED_QUEUES.map((name) => {
    const queue = new Queue(QUEUE_NAMES[name], { connection, prefix: prefixes.bull });
    // Connection errors reach the scrape as a failed read (logged there); an unheard 'error' event would crash.
    queue.on('error', () => undefined);
    return [name, queue] as const;
  });

  const readQueues = async (): Promise<StateSnapshot['queues']> => {
    const entries = await Promise.all(
      queues.map(async ([name, queue]) => {
        const [counts, workers] = await Promise.all([
          queue.getJobCounts(...QUEUE_JOB_STATES),
          queue.getWorkers(),
        ]);
        const jobs = Object.fromEntries(QUEUE_JOB_STATES.map((state) => [state, counts[state] ?? 0]));
        return [name, { jobs, workers: workers.length }] as const;
      }),
    );
    return Object.fromEntries(entries) as StateSnapshot['queues'];
  };

  const readRuns = async () => {
    const runsInState = Object.fromEntries(GAUGED_RUN_STATES.map((state) => [state, 0])) as Record<
      (typeof GAUGED_RUN_STATES)[number],
      number
    >;
    const open = await Promise.all(topology.sites.map((site) => store.openRun(site.name)));
    for (const run of open) {
      if (run && run.state in runsInState) runsInState[run.state as keyof typeof runsInState] += 1;
    }
    return runsInState;
  };

  // The last evaluation each worker stored: any process serving /metrics reports the same, whichever evaluated.
  const readiness = new ReadinessStore(connection, prefixes.store);
  const readReadiness = async (): Promise<NonNullable<StateSnapshot['readiness']>> => {
    const names = topology.sites.map((site) => site.name);
    const records = await readiness.lastOf(names);
    const entries = records.flatMap((record, i) =>
      record
        ? [
            [
              names[i] ?? record.evaluation.site,
              {
                ready: record.evaluation.ready,
                checks: worstByCheck(record.evaluation.checks),
              },
            ] as const,
          ]
        : [],
    );
    return Object.fromEntries(entries);
  };

  const readDebts = async (): Promise<Record<string, number>> => {
    const debts = new Set((await store.debts.list()).map((debt) => debt.site));
    return Object.fromEntries(topology.sites.map((site) => [site.name, debts.has(site.name) ? 1 : 0]));
  };

  return {
    async read() {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new BatonError('redis-timeout', `Redis did not answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      try {
        const [queueState, runsInState, fenceDebt, siteReadiness] = await Promise.race([
          Promise.all([readQueues(), readRuns(), readDebts(), readReadiness()]),
          timeout,
        ]);
        return {
          queues: queueState,
          runsInState,
          approvalsPending: runsInState.proposed,
          fenceDebt,
          readiness: siteReadiness,
        };
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      await Promise.all(queues.map(([, queue]) => queue.close()));
    },
  };
}
