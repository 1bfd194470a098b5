import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { StoreKeys, keyPrefixesOf } from '../../src/store/keys.js';
import { SharedRateLimit } from '../../src/store/shared-rate-limit.js';
import type { RatePriority } from '../../src/store/shared-rate-limit.js';
import type { ScriptConnection } from '../../src/store/script.js';
import { startRedis } from '../../lab/processes/processes.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { maxRequestsInWindow } from '../../lab/route53/request-rate.js';
import type { RedisClusterNode } from '../support/redis-cluster.js';
import { startRedisClusterNode } from '../support/redis-cluster.js';

const WINDOW_MS = 300;

let redis: RedisProcess;
const connections: Redis[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const connection of connections) connection.disconnect();
  await redis?.stop();
});

/** A limiter as a process would have it: a connection of its own that fails fast while Redis is away. */
function limiter(keys: StoreKeys, limit = 3, url = redis.url): SharedRateLimit {
  const connection = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  connection.on('error', () => undefined);
  connections.push(connection);
  return new SharedRateLimit({
    connection,
    keys,
    api: 'route53',
    limit,
    windowMs: WINDOW_MS,
    clock: systemClock,
    redisTimeoutMs: 500,
  });
}

const freshKeys = () => new StoreKeys(keyPrefixesOf(`t${randomUUID().slice(0, 8)}`).store);
const ready = (limiters: SharedRateLimit[]) =>
  Promise.all(
    connections.map((c) => (c.status === 'ready' ? undefined : new Promise((r) => c.once('ready', r)))),
  ).then(() => limiters);

describe('SharedRateLimit', () => {
  it('lets at most `limit` requests start in any window, across limiters on separate connections', async () => {
    const keys = freshKeys();
    const all = await ready([limiter(keys), limiter(keys), limiter(keys)]);
    const starts = await Promise.all(
      all.flatMap((one) =>
        Array.from({ length: 4 }, async () => {
          const permit = await one.acquire('low');
          permit.answered();
          return { at: permit.startedAt };
        }),
      ),
    );
    expect(starts).toHaveLength(12);
    expect(maxRequestsInWindow(starts, WINDOW_MS)).toBeLessThanOrEqual(3);
  });

  it('serves a high request ahead of low ones queued before it, in another process', async () => {
    const keys = freshKeys();
    const [polls, changes] = await ready([limiter(keys), limiter(keys)]);
    const order: string[] = [];
    const take = async (one: SharedRateLimit, priority: RatePriority, name: string) => {
      (await one.acquire(priority)).answered();
      order.push(name);
    };
    const queued = Array.from({ length: 8 }, (_, i) => take(polls!, 'low', `poll${i}`));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const urgent = [take(changes!, 'high', 'change0'), take(changes!, 'high', 'change1')];
    await Promise.all([...queued, ...urgent]);
    // The window holds 3; polls may take only 2 of them, and wait while a change waits.
    expect(order.slice(0, 2)).toEqual(['poll0', 'poll1']);
    expect(order.slice(2, 4)).toEqual(['change0', 'change1']);
  });

  it('rejects, rather than waits, while its Redis is away', async () => {
    const other = await startRedis();
    const keys = freshKeys();
    const [one] = await ready([limiter(keys, 3, other.url)]);
    await other.stop();
    await expect(one!.acquire('high')).rejects.toThrow();
  });
});

describe('SharedRateLimit on Redis Cluster', () => {
  let node: RedisClusterNode;
  let cluster: Cluster;
  beforeAll(async () => {
    node = await startRedisClusterNode();
    cluster = new Cluster([{ host: node.host, port: node.port }], {
      redisOptions: { maxRetriesPerRequest: 1 },
    });
  });
  afterAll(async () => {
    await cluster?.quit();
    await node?.stop();
  });

  it('keeps both keys of its script in the key prefix slot', async () => {
    const limit = new SharedRateLimit({
      connection: cluster as unknown as ScriptConnection,
      keys: freshKeys(),
      api: 'route53',
      limit: 2,
      windowMs: WINDOW_MS,
      clock: systemClock,
    });
    const permits = await Promise.all([limit.acquire('low'), limit.acquire('high'), limit.acquire('high')]);
    for (const permit of permits) permit.answered();
    expect(
      maxRequestsInWindow(
        permits.map((p) => ({ at: p.startedAt })),
        WINDOW_MS,
      ),
    ).toBeLessThanOrEqual(2);
  });
});
