/**
 * The Route 53 adapter's limits that are not the shared one: the per-process limiter (changes before polls), and
 * what a process does while the shared limit's Redis is away (one request per second of its own, logged once).
 */
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTE53_RATE_WINDOW_MS, RequestRateLimiter, Route53Dns } from '../../../src/adapters/route53.js';
import { loadTopologyFile } from '../../../src/config/topology.js';
import type { SiteConfig } from '../../../src/config/topology.js';
import { systemClock } from '../../../src/core/clock.js';
import { StoreKeys, keyPrefixesOf } from '../../../src/store/keys.js';
import { SharedRateLimit } from '../../../src/store/shared-rate-limit.js';
import { startRedis } from '../../../lab/processes/processes.js';
import type { RedisProcess } from '../../../lab/processes/processes.js';
import { maxRequestsInWindow } from '../../../lab/route53/request-rate.js';
import { route53SeedFor, startRoute53ApiServer } from '../../../lab/route53/route53-api-server.js';
import type { Route53StandIn } from '../../../lab/route53/route53-api-server.js';
import { recordingLog } from '../../support/core-fixtures.js';
import { sitesInOwnZones } from '../../support/route53-zones.js';
import { FakeClock } from '../../support/fake-clock.js';

const CREDENTIALS = { accessKeyId: 'AKIDBATONTEST', secretAccessKey: 'baton-test-secret' };
const EXAMPLE = fileURLToPath(new URL('../../../examples/baton.yaml', import.meta.url));

describe('RequestRateLimiter', () => {
  it('gives the next token to a waiting change before polls that waited longer', async () => {
    const clock = new FakeClock();
    const limiter = new RequestRateLimiter(2, 1000, clock);
    const order: string[] = [];
    const take = (priority: 'change' | 'poll', name: string) =>
      limiter.acquire(priority).then(() => void order.push(name));
    const all = [take('poll', 'p1'), take('poll', 'p2'), take('poll', 'p3'), take('poll', 'p4')];
    await new Promise((resolve) => setImmediate(resolve));
    all.push(take('change', 'c1'));
    await clock.advance(2000);
    await Promise.all(all);
    expect(order).toEqual(['p1', 'p2', 'c1', 'p3', 'p4']);
  });

  it('keeps a permit’s token out until its request is answered, however slow, and a window after', async () => {
    const clock = new FakeClock();
    const limiter = new RequestRateLimiter(2, 1000, clock);
    const t0 = clock.now();
    const first = await limiter.permit('change');
    const second = await limiter.permit('change');
    let thirdAt: number | undefined;
    const third = limiter.permit('change').then((permit) => (thirdAt = permit.startedAt));
    // Both requests are still unanswered 1.5 s later (a slow server, a starved event loop): the server may not even
    // have seen them yet, so a third must not start.
    await clock.advance(1500);
    expect(thirdAt).toBeUndefined();
    second.answered();
    await clock.advance(999);
    expect(thirdAt).toBeUndefined();
    await clock.advance(1);
    await third;
    expect(thirdAt).toBe(t0 + 2500);
    first.answered();
  });

  it('lets a plain acquire’s token go a window after it started', async () => {
    const clock = new FakeClock();
    const limiter = new RequestRateLimiter(1, 1000, clock);
    const t0 = clock.now();
    await limiter.acquire();
    let next: number | undefined;
    const later = limiter.acquire().then((at) => (next = at));
    await clock.advance(1000);
    await later;
    expect(next).toBe(t0 + 1000);
  });
});

describe('Route53Dns while the shared limit has no Redis', () => {
  let redis: RedisProcess;
  let standIn: Route53StandIn;
  let site: SiteConfig;
  let connection: Redis;

  beforeAll(async () => {
    const loaded = await loadTopologyFile(EXAMPLE, {
      EAST_DATABASE_URL: 'postgresql://x@127.0.0.1/e',
      WEST_DATABASE_URL: 'postgresql://x@127.0.0.1/w',
    });
    if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
    site = loaded.topology.sites[0]!;
    redis = await startRedis();
    standIn = await startRoute53ApiServer({
      // Three zones besides the site's: reads of one zone that wait together would share one request.
      ...route53SeedFor([site, ...sitesInOwnZones(site, 3)]),
      credentials: CREDENTIALS,
      requestsPerSecond: 5,
      dns: false,
    });
    // As run-role.ts passes it: a connection that fails fast while Redis is away.
    connection = new Redis(redis.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    connection.on('error', () => undefined);
  });
  afterAll(async () => {
    connection?.disconnect();
    await standIn?.close();
    await redis?.stop();
  });

  it('falls back to one request per second of its own, says so once, and shares again once Redis is back', async () => {
    const log = recordingLog();
    const dns = new Route53Dns({
      endpoint: standIn.endpoint,
      credentials: CREDENTIALS,
      log,
      sharedLimiter: new SharedRateLimit({
        connection,
        keys: new StoreKeys(keyPrefixesOf('fallback').store),
        api: 'route53',
        limit: 5,
        windowMs: ROUTE53_RATE_WINDOW_MS,
        clock: systemClock,
        redisTimeoutMs: 500,
      }),
    });
    try {
      await redis.shutdown();
      standIn.clearRequests();
      const targets = await Promise.all(sitesInOwnZones(site, 3).map((own) => dns.currentTarget(own)));
      expect(targets).toEqual(['east', 'east', 'east']);
      expect(standIn.requests).toHaveLength(3);
      expect(maxRequestsInWindow(standIn.requests, 1000)).toBe(1);
      const warnings = log.entries.filter((entry) => entry.level === 'warn');
      expect(warnings.map((entry) => entry.msg)).toEqual([
        'Redis unavailable: Route 53 requests limited per process until it is back',
      ]);

      await redis.start();
      await waitUntil(() => connection.status === 'ready');
      // Past the second it keeps to its own limit after a failure, it asks Redis again.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await dns.currentTarget(site);
      expect(log.entries.map((entry) => entry.msg)).toContain(
        'Route 53 request limit shared through Redis again',
      );
      expect(
        await connection.zcard(new StoreKeys(keyPrefixesOf('fallback').store).rateStarts('route53')),
      ).toBe(1);
    } finally {
      dns.close();
    }
  }, 20_000);
});

async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
