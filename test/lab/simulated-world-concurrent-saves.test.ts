/**
 * The simulated world in Redis loses no update when several world stores share one connection, as `lab worker
 * --simulated` shares it among its sites' worlds. WATCH belongs to the connection and EXEC unwatches every key
 * (https://redis.io/docs/latest/develop/interact/transactions/#optimistic-locking-using-check-and-set), so updates
 * interleaved on one connection would all read the same state and each commit over the others: the store must run
 * them one at a time. A second connection, as another worker process, still races them under WATCH.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startRedis } from '../../lab/processes/processes.js';
import {
  resetSeveralSitesInRedis,
  severalSitesInRedis,
  siteWorldKey,
} from '../../lab/simulated-world/several-sites.js';
import { SimulatedWorld } from '../../lab/simulated-world/simulated-world.js';
import { systemClock } from '../../src/core/clock.js';
import type { WorkloadRef } from '../../src/core/ports.js';
import { exampleSite } from '../support/core-fixtures.js';
import { siteNamed } from '../support/several-sites.js';

const KEY = 'baton:test:world';
const PER_STORE = 25;

let redis: RedisProcess;
const clients: Redis[] = [];

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await redis?.stop();
});

const connect = (): Redis => {
  const client = new Redis(redis.url, { maxRetriesPerRequest: null });
  clients.push(client);
  return client;
};

describe('the simulated world in Redis: concurrent saves', () => {
  it('keeps every concurrent scale of stores sharing one connection, and of another connection', async () => {
    const production = exampleSite();
    const billing = siteNamed(exampleSite(), 'billing', 'east');
    const sites = [production, billing];
    const shared = connect();
    await resetSeveralSitesInRedis(shared, KEY, sites);

    // Three stores on one connection: both sites' worlds, and a second store of production's world (one key, two
    // stores). A fourth store, on a connection of its own, is another worker process.
    const several = severalSitesInRedis(shared, KEY, sites, systemClock);
    const productionAgain = SimulatedWorld.inRedis(
      shared,
      siteWorldKey(KEY, 'production'),
      production,
      systemClock,
    );
    const otherProcess = SimulatedWorld.inRedis(
      connect(),
      siteWorldKey(KEY, 'billing'),
      billing,
      systemClock,
    );

    const [web] = production.workloads;
    if (!web) throw new Error('the example site has no workload');
    const ref: WorkloadRef = web;
    const scales = Array.from({ length: PER_STORE }, (_, i) => 100 + i);
    const settled = await Promise.allSettled(
      scales.flatMap((replicas) => [
        several.ports.cluster.scaleWorkload(production, 'east', ref, replicas),
        productionAgain.ports.cluster.scaleWorkload(production, 'east', ref, replicas + 1000),
        several.ports.cluster.scaleWorkload(billing, 'east', ref, replicas),
        otherProcess.ports.cluster.scaleWorkload(billing, 'east', ref, replicas + 1000),
      ]),
    );

    expect(settled.filter((s) => s.status === 'rejected')).toEqual([]);
    const scaled = (replicas: number) => `scale east default/Deployment/web ${replicas}`;
    const expected = [...scales.map(scaled), ...scales.map((r) => scaled(r + 1000))].sort();
    const productionActions = (await several.world('production').state()).actions;
    const billingActions = (await several.world('billing').state()).actions;
    expect(productionActions).toHaveLength(2 * PER_STORE);
    expect([...productionActions].sort()).toEqual(expected);
    expect(billingActions).toHaveLength(2 * PER_STORE);
    expect([...billingActions].sort()).toEqual(expected);
  });
});
