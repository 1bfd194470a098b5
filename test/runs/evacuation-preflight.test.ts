/**
 * An evacuation's preflight is measured for every site at once, and each result is stored as it arrives (issue 16's
 * 50-site benchmark once saw an evacuation that never finished its preflight): fifty results at once are all kept.
 * A site whose pre-warm could not be started gets it on the job's next attempt. Real Redis, the real evacuation
 * service and worker.
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Topology } from '../../src/config/topology.js';
import { keyPrefixes } from '../../src/config/load-config.js';
import { systemClock } from '../../src/core/clock.js';
import type { Actor } from '../../src/core/model.js';
import { createLogger } from '../../src/logger.js';
import type { EvacuationJobData } from '../../src/queue/evacuation-jobs.js';
import { EVACUATIONS_QUEUE, startEvacuationWorker } from '../../src/queue/evacuation-jobs.js';
import { EvacuationService } from '../../src/runs/evacuation-service.js';
import { EvacuationStore } from '../../src/store/evacuation-store.js';
import { SitePrewarmStore } from '../../src/store/site-prewarm-store.js';
import { RunStore } from '../../src/store/run-store.js';
import { startRedis } from '../../lab/processes/processes.js';
import { severalSitesInMemory } from '../../lab/simulated-world/several-sites.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { createRunService, exampleTopology, waitFor } from '../support/integration.js';
import { siteNamed } from '../support/several-sites.js';

const DAVE: Actor = { type: 'slack-user', id: 'U0DAVE', name: 'dave' };
const SITES = Array.from({ length: 50 }, (_, i) => `app-${String(i + 1).padStart(2, '0')}`);

let redis: RedisProcess;
let connection: Redis;
beforeAll(async () => {
  redis = await startRedis();
  connection = new Redis(redis.url, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  connection?.disconnect();
  await redis?.stop();
});

describe('an evacuation of 50 sites', () => {
  it('keeps every site’s preflight when all 50 arrive at once', async () => {
    const example = await exampleTopology();
    const [base] = example.sites;
    if (!base) throw new Error('no site');
    const topology: Topology = { ...example, sites: SITES.map((name) => siteNamed(base, name, 'east')) };
    const prefixes = keyPrefixes({ keyPrefix: `evp${randomUUID().slice(0, 6)}` });
    const runs = createRunService({
      redis: connection,
      store: new RunStore(connection, prefixes.store),
      bullPrefix: prefixes.bull,
      topology,
    });
    const queue = new Queue<EvacuationJobData>(EVACUATIONS_QUEUE, { connection, prefix: prefixes.bull });
    const store = new EvacuationStore(connection, prefixes.store);
    let publishes = 0;
    const service = new EvacuationService({
      store,
      prewarms: new SitePrewarmStore(connection, prefixes.store),
      runs: runs.service,
      queue,
      publish: async () => void (publishes += 1),
      topology,
      clock: systemClock,
      log: createLogger({ level: 'silent' }),
    });
    try {
      const { evacuation } = await service.propose({
        kind: 'failover',
        cluster: 'east',
        reason: 'east is down',
        actor: DAVE,
      });
      const publishedAtPropose = publishes;
      const preflight = {
        at: 1,
        lagBytes: 0,
        checks: [{ id: 'dns', status: 'passed' as const, detail: '' }],
      };
      await Promise.all(SITES.map((site) => service.recordPreflight(evacuation.id, site, preflight)));
      const saved = await store.require(evacuation.id);
      expect(saved.sites.filter((s) => s.preflight === undefined).map((s) => s.site)).toEqual([]);
      // Saved (and its message queued) in a few writes, not fifty.
      expect(publishes - publishedAtPropose).toBeLessThan(10);
    } finally {
      await queue.close();
      await runs.close();
    }
  });

  it('starts a site’s pre-warm on the next attempt when it could not be started', async () => {
    const example = await exampleTopology();
    const [base] = example.sites;
    if (!base) throw new Error('no site');
    const names = ['app-01', 'app-02', 'app-03'];
    const topology: Topology = { ...example, sites: names.map((name) => siteNamed(base, name, 'east')) };
    const prefixes = keyPrefixes({ keyPrefix: `evw${randomUUID().slice(0, 6)}` });
    const log = createLogger({ level: 'silent' });
    const runs = createRunService({
      redis: connection,
      store: new RunStore(connection, prefixes.store),
      bullPrefix: prefixes.bull,
      topology,
    });
    const queue = new Queue<EvacuationJobData>(EVACUATIONS_QUEUE, { connection, prefix: prefixes.bull });
    const service = new EvacuationService({
      store: new EvacuationStore(connection, prefixes.store),
      prewarms: new SitePrewarmStore(connection, prefixes.store),
      runs: runs.service,
      queue,
      publish: async () => undefined,
      topology,
      clock: systemClock,
      log,
    });
    const started: string[] = [];
    let refused = 0;
    const worker = startEvacuationWorker({
      connection,
      bullPrefix: prefixes.bull,
      target: service,
      topology,
      ports: severalSitesInMemory(topology.sites, systemClock).ports,
      clock: systemClock,
      log,
      // Redis refuses app-02's pre-warm job once, as during a Sentinel failover.
      afterPreflight: async (_evacuation, site) => {
        if (site === 'app-02' && refused === 0) {
          refused += 1;
          throw new Error('Connection is closed.');
        }
        started.push(site);
      },
    });
    try {
      await service.propose({ kind: 'failover', cluster: 'east', reason: 'east is down', actor: DAVE });
      await waitFor(
        'every site’s pre-warm started',
        async () => (names.every((name) => started.includes(name)) ? true : undefined),
        30_000,
        50,
      );
      expect(refused).toBe(1);
    } finally {
      await worker.close();
      await queue.close();
      await runs.close();
    }
  });
});
