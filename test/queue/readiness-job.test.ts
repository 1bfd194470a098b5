/**
 * Continuous readiness end to end: two worker roles of one deployment on a real Redis, one simulated world shared
 * through it, and the Slack stand-in. A site that turns red is announced once, its recovery once; the metrics any
 * process serves report the last evaluation; the evaluations change nothing in the world.
 */
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSlackWebClient } from '../../src/adapters/slack-web.js';
import { systemClock } from '../../src/core/clock.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics, registerStateGauges } from '../../src/metrics.js';
import { createStateReader } from '../../src/observability/read-baton-state.js';
import { PERIODIC_QUEUE } from '../../src/queue/periodic.js';
import { Notifier } from '../../src/queue/notify/index.js';
import { READINESS_SCHEDULER, evaluateDueSites } from '../../src/queue/readiness-job.js';
import type { WorkerRole } from '../../src/roles/worker-role.js';
import { startWorkerRole } from '../../src/roles/worker-role.js';
import { ReadinessStore } from '../../src/store/readiness-store.js';
import { startRedis } from '../../lab/processes/processes.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startSlackApiServer } from '../../lab/slack/slack-api-server.js';
import type { SlackApiServer } from '../../lab/slack/slack-api-server.js';
import { SimulatedWorld } from '../../lab/simulated-world/simulated-world.js';
import type { Harness } from '../support/integration.js';
import { createHarness, waitFor } from '../support/integration.js';
import { FakeClock } from '../support/fake-clock.js';

const TOKEN = 'xoxb-readiness-test';
const CHANNEL = 'C0INCIDENTS';
const INTERVAL_MS = 400;
const log = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

let redis: RedisProcess;
let slack: SlackApiServer;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  redis = await startRedis();
  slack = await startSlackApiServer({ botToken: TOKEN });
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});
afterAll(async () => {
  await slack?.close();
  await redis?.stop();
});

async function harness(): Promise<Harness> {
  const h = await createHarness(redis.url);
  cleanups.push(() => h.close());
  // Shorter than the schema allows (10 s), so the test sees several evaluations.
  h.topology.readinessIntervalMs = INTERVAL_MS;
  return h;
}

/** One worker role of the deployment, on the world shared through Redis. */
async function workerRole(h: Harness): Promise<WorkerRole> {
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const site = h.topology.sites[0];
  if (!site) throw new Error('no site');
  const role = await startWorkerRole({
    topology: h.topology,
    connection,
    prefixes: { store: h.storePrefix, bull: h.bullPrefix },
    ports: SimulatedWorld.inRedis(connection, h.worldKey, site, systemClock).ports,
    slack: createSlackWebClient({ token: TOKEN, apiUrl: slack.apiUrl, log }),
    clock: systemClock,
    log,
    perChannelIntervalMs: 50,
    readinessCheckEveryMs: 100,
  });
  cleanups.push(async () => {
    await role.close();
    connection.disconnect();
  });
  return role;
}

const noticesOf = (needle: string) =>
  slack
    .messages(CHANNEL)
    .filter((m) => m.text.startsWith('🔴') || m.text.startsWith('🟢'))
    .filter((m) => m.text.includes(needle));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function scrape(h: Harness): Promise<string> {
  const producer = new Redis(redis.url);
  const metrics = createMetrics(new Registry());
  const reader = createStateReader({
    connection: producer,
    prefixes: { store: h.storePrefix, bull: h.bullPrefix },
    topology: h.topology,
    // A loaded test machine may be slow; a read that times out would report no samples at all.
    timeoutMs: 10_000,
  });
  registerStateGauges(metrics.registry, () => reader.read(), log);
  try {
    return await metrics.registry.metrics();
  } finally {
    await reader.close();
    producer.disconnect();
  }
}

describe('continuous readiness', () => {
  it('announces a red site once and its recovery once, across two workers', async () => {
    const h = await harness();
    await Promise.all([workerRole(h), workerRole(h)]);
    const readiness = new ReadinessStore(h.redis, h.storePrefix);

    const first = await waitFor('the first evaluation', () => readiness.last('production'), 10_000);
    expect(first.evaluation).toMatchObject({ ready: true, from: 'east', to: 'west', problems: [] });
    expect(slack.messages(CHANNEL)).toEqual([]); // a first green evaluation says nothing
    expect(await scrape(h)).toContain('baton_site_ready{site="production"} 1');

    await h.world.change((s) => {
      s.lagBytes = 3_355_443; // 3.2 MiB, over the example's 1 MiB
    });
    const [red] = await waitFor(
      'the not-ready notice',
      async () => (noticesOf('is not ready').length ? noticesOf('is not ready') : undefined),
      10_000,
    );
    // `>` escaped as Slack requires of message text; Slack shows it as ">".
    expect(red?.text).toBe(
      '🔴 production is not ready to fail over: west lag 3.2 MiB &gt; 1 MiB\n' +
        'Fix it before it is needed; `/failover readiness production` shows every check.',
    );
    // Several more evaluations by both workers: still one notice.
    await sleep(4 * INTERVAL_MS);
    expect(noticesOf('is not ready')).toHaveLength(1);
    const metrics = await scrape(h);
    expect(metrics).toContain('baton_site_ready{site="production"} 0');
    expect(metrics).toContain('baton_readiness_check{site="production",check="target-database"} 0');
    expect(metrics).toContain('baton_readiness_check{site="production",check="target-nodes"} 1');

    await h.world.change((s) => {
      s.lagBytes = 0;
    });
    const [green] = await waitFor(
      'the ready-again notice',
      async () => (noticesOf('again').length ? noticesOf('again') : undefined),
      10_000,
    );
    expect(green?.text).toMatch(
      /^🟢 production is ready to fail over again \(after .+ not ready; all \d+ checks pass\)$/,
    );
    await sleep(4 * INTERVAL_MS);
    expect(noticesOf('again')).toHaveLength(1);
    expect(noticesOf('is not ready')).toHaveLength(1);
    expect(await scrape(h)).toContain('baton_site_ready{site="production"} 1');

    // Read-only: the evaluations changed nothing in the world.
    expect((await h.world.state()).actions).toEqual([]);
    // One scheduler for the deployment.
    const queue = new Queue(PERIODIC_QUEUE, { connection: h.redis, prefix: h.bullPrefix });
    cleanups.push(() => queue.close());
    expect(await queue.getJobScheduler(READINESS_SCHEDULER)).toMatchObject({ every: 100 });
  });

  it('evaluates each site once per its own interval, and reminds a site that stays red once a day', async () => {
    const h = await harness();
    h.topology.readinessIntervalMs = 10 * 60_000;
    const site = h.topology.sites[0]!;
    const clock = new FakeClock();
    const world = SimulatedWorld.inMemory(site, systemClock);
    await world.change((s) => {
      s.lagBytes = 3_355_443;
    });
    const notifier = new Notifier({ connection: h.redis, prefix: h.bullPrefix, log, clock });
    cleanups.push(() => notifier.close());
    const options = {
      store: h.store,
      readiness: new ReadinessStore(h.redis, h.storePrefix),
      ports: world.ports,
      notifier,
      topology: h.topology,
      clock,
      log,
    };
    const notices = async () =>
      (await h.redis.keys(`${h.bullPrefix}:notify-state:status:readiness:production:*`))
        .map((key) => key.split(':').slice(-2).join(':'))
        .sort((a, b) => Number(a.split(':')[1]) - Number(b.split(':')[1]));

    // Ticks every minute for 49 hours: one evaluation per 10 minutes, whatever the tick.
    let evaluations = 0;
    for (let minute = 0; minute <= 49 * 60; minute += 1) {
      evaluations += (await evaluateDueSites(options)).length;
      await clock.advance(60_000);
    }
    expect(evaluations).toBe(49 * 6 + 1);
    const start = clock.now() - (49 * 60 + 1) * 60_000;
    expect(await notices()).toEqual([
      `unready:${start}`,
      `reminder:${start + 24 * 3600_000}`,
      `reminder:${start + 48 * 3600_000}`,
    ]);
  });
});
