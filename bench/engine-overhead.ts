/**
 * Engine overhead: what Baton itself adds to a failover when the outside world answers instantly. An in-process
 * run worker on a real Redis drives the 8-step planned plan against a simulated world with zero latency, and we
 * time approve → first step, the engine's cost per step, and approve → succeeded. Everything measured is Baton:
 * the queue hand-off, the Lua saves after every step transition, and the step bodies' own port calls.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { systemClock } from '../src/core/clock.js';
import type { Run } from '../src/core/model.js';
import { TERMINAL_STATES, allSteps } from '../src/core/model.js';
import { createLogger } from '../src/logger.js';
import { startRunWorker } from '../src/queue/run-worker.js';
import { startRedis } from '../lab/processes/processes.js';
import { SimulatedWorld } from '../lab/simulated-world/simulated-world.js';
import type { SiteConfig } from '../src/config/topology.js';
import type { Harness } from '../test/support/integration.js';
import { ALICE, BOB, createHarness } from '../test/support/integration.js';
import type { Row } from './support.js';
import { ms, percentile, renderTable, runIfMain } from './support.js';

const WARMUP = 10;
const RUNS = 200;
const STEPS = 8;
const RUN_TIMEOUT_MS = 10_000;
const REDIS_SAMPLES = 1000;
const DIAGNOSTIC_RUNS = 100;

interface Sample {
  firstStepMs: number;
  perStepMs: number;
  wholeRunMs: number;
  wholeRunWallMs: number;
  approveCallMs: number;
  saves: number;
}

export async function engineOverhead(): Promise<string> {
  const redis = await startRedis();
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const h = await createHarness(redis.url);
    cleanups.push(() => h.close());
    const site = h.topology.sites[0];
    if (!site) throw new Error('the example topology has no site');
    // Zero latency, pods Ready and DNS INSYNC at once: whatever time passes is the engine's.
    const world = SimulatedWorld.inMemory(site, systemClock);

    // Resolved from the worker's own progress hook, so the bench does not poll Redis alongside the worker.
    const waiters = new Map<string, { resolve: (value: { run: Run; at: number }) => void }>();
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    cleanups.push(async () => connection.disconnect());
    const worker = startRunWorker({
      connection,
      bullPrefix: h.bullPrefix,
      store: h.store,
      debts: h.debts,
      topology: h.topology,
      ports: world.ports,
      clock: systemClock,
      log: createLogger({ level: 'silent' }),
      settings: { pollIntervalMs: 1, dnsPollIntervalMs: 1 },
      onChange: (run) => {
        if (TERMINAL_STATES.has(run.state)) waiters.get(run.id)?.resolve({ run, at: performance.now() });
      },
    });
    cleanups.push(() => worker.close());
    await worker.worker.waitUntilReady();

    const samples = await measureRuns({ h, site, world, waiters, warmup: WARMUP, count: RUNS });

    const probe = new Redis(redis.url);
    cleanups.push(async () => probe.disconnect());
    const roundTrips = await probeRedis(probe, `${h.prefix}:bench-probe`);

    // Diagnostic, no budget: the same runs with Redis fsyncing once a second instead of on every write, to show
    // how much of the overhead is the AOF fsync rather than Baton's own code.
    await probe.config('SET', 'appendfsync', 'everysec');
    const relaxed = await measureRuns({ h, site, world, waiters, warmup: WARMUP, count: DIAGNOSTIC_RUNS });
    const relaxedTrips = await probeRedis(probe, `${h.prefix}:bench-probe`);
    await probe.config('SET', 'appendfsync', 'always');

    const at = (from: Sample[], key: keyof Sample, q: number) =>
      percentile(
        from.map((s) => s[key]),
        q,
      );
    const p = (key: keyof Sample, q: number) => at(samples, key, q);
    const savesPerRun = p('saves', 50);
    const rows: Row[] = [
      {
        metric: 'approve → first step started (run record)',
        values: [ms(p('firstStepMs', 50)), ms(p('firstStepMs', 99))],
        budget: 'p99 < 20 ms',
        pass: p('firstStepMs', 99) < 20,
      },
      {
        metric: 'engine overhead per step ((succeeded − first step started) / 8)',
        values: [ms(p('perStepMs', 50), 2), ms(p('perStepMs', 99), 2)],
        budget: 'p99 < 5 ms',
        pass: p('perStepMs', 99) < 5,
      },
      {
        metric: 'whole run, approve → succeeded (run record)',
        values: [ms(p('wholeRunMs', 50)), ms(p('wholeRunMs', 99))],
        budget: 'p99 < 100 ms',
        pass: p('wholeRunMs', 99) < 100,
      },
      {
        metric: 'whole run, wall clock until the success is saved (performance.now)',
        values: [ms(p('wholeRunWallMs', 50)), ms(p('wholeRunWallMs', 99))],
        budget: '—',
      },
      {
        metric: '`service.approve` call (read, Lua save, queue add)',
        values: [ms(p('approveCallMs', 50), 2), ms(p('approveCallMs', 99), 2)],
        budget: '—',
      },
      {
        metric: 'worker saves per run (Lua SAVE_RUN + audit XADD, one after another)',
        values: [`${savesPerRun}`, `${p('saves', 99)}`],
        budget: '—',
      },
      {
        metric: `Redis PING round trip (${REDIS_SAMPLES} samples)`,
        values: [ms(roundTrips.ping(50), 3), ms(roundTrips.ping(99), 3)],
        budget: '—',
      },
      {
        metric: 'Redis SET round trip (appendfsync always: one fsync per write)',
        values: [ms(roundTrips.set(50), 3), ms(roundTrips.set(99), 3)],
        budget: '—',
      },
      {
        metric: `diagnostic, appendfsync everysec (${DIAGNOSTIC_RUNS} runs): approve → first step`,
        values: [ms(at(relaxed, 'firstStepMs', 50)), ms(at(relaxed, 'firstStepMs', 99))],
        budget: '—',
      },
      {
        metric: 'diagnostic, appendfsync everysec: overhead per step',
        values: [ms(at(relaxed, 'perStepMs', 50), 2), ms(at(relaxed, 'perStepMs', 99), 2)],
        budget: '—',
      },
      {
        metric: 'diagnostic, appendfsync everysec: whole run',
        values: [ms(at(relaxed, 'wholeRunMs', 50)), ms(at(relaxed, 'wholeRunMs', 99))],
        budget: '—',
      },
      {
        metric: 'diagnostic, appendfsync everysec: Redis SET round trip',
        values: [ms(relaxedTrips.set(50), 3), ms(relaxedTrips.set(99), 3)],
        budget: '—',
      },
    ];
    return renderTable({
      title: 'Engine overhead (8-step planned failover/failback, zero-latency world)',
      setup:
        `${RUNS} runs after ${WARMUP} warm-up runs, alternating planned failover and failback; in-process ` +
        '`startRunWorker` on a real Redis (`startRedis`: AOF, appendfsync always), poll intervals 1 ms, ' +
        'production lock settings. Run-record times are `Date.now()` (1 ms resolution).',
      columns: ['p50', 'p99'],
      rows,
    });
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await redis.stop();
  }
}

/** PING and SET round trips, one after another, as percentile functions. */
async function probeRedis(
  client: Redis,
  key: string,
): Promise<{ ping: (q: number) => number; set: (q: number) => number }> {
  const pings: number[] = [];
  const sets: number[] = [];
  for (let i = 0; i < REDIS_SAMPLES; i += 1) {
    let t = performance.now();
    await client.ping();
    pings.push(performance.now() - t);
    t = performance.now();
    await client.set(key, String(i));
    sets.push(performance.now() - t);
  }
  return { ping: (q) => percentile(pings, q), set: (q) => percentile(sets, q) };
}

interface MeasureOptions {
  h: Harness;
  site: SiteConfig;
  world: SimulatedWorld;
  waiters: Map<string, { resolve: (value: { run: Run; at: number }) => void }>;
  warmup: number;
  count: number;
}

/** Proposes, approves and awaits `warmup + count` runs one after another; returns the last `count` samples. */
async function measureRuns({ h, site, world, waiters, warmup, count }: MeasureOptions): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let i = 0; i < warmup + count; i += 1) {
    const serving = await h.service.serving(site);
    const kind = serving === site.homeCluster ? 'failover' : 'failback';
    const { run } = await h.service.propose({
      kind,
      mode: 'planned',
      reason: `engine overhead ${i}`,
      actor: BOB,
    });
    if (allSteps(run.plan).length !== STEPS) {
      throw new Error(`expected a ${STEPS}-step plan, got ${allSteps(run.plan).length} steps`);
    }
    const finished = new Promise<{ run: Run; at: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`run ${run.id} did not finish`)), RUN_TIMEOUT_MS);
      waiters.set(run.id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
      });
    });

    const wall0 = performance.now();
    const t0 = Date.now();
    await h.service.approve(run.id, ALICE);
    const approveCallMs = performance.now() - wall0;
    const { run: done, at: observedAt } = await finished;
    waiters.delete(run.id);
    if (done.state !== 'succeeded') throw new Error(`run ${run.id} ${done.state}: ${done.stateReason}`);

    // Before the next run, the old primary is rebuilt as a standby of the new one.
    await world.rebuildAsStandby(done.from);
    if (i < warmup) continue;

    const firstStart = done.steps.preflight?.startedAt;
    const succeededAt = done.timeline.find((e) => e.event === 'succeeded')?.at;
    if (firstStart === undefined || succeededAt === undefined) {
      throw new Error(`run ${done.id} has no preflight start or success time`);
    }
    samples.push({
      firstStepMs: firstStart - t0,
      perStepMs: (succeededAt - firstStart) / STEPS,
      wholeRunMs: succeededAt - t0,
      wholeRunWallMs: observedAt - wall0,
      approveCallMs,
      saves: done.version - run.version,
    });
  }
  return samples;
}

runIfMain(import.meta.url, engineOverhead);
