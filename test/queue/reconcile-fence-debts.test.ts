/**
 * The fence-debt reconciler narrows a debt by what it paid, against the debt as it is when it writes: a run that
 * widens the debt meanwhile (scale-down-source could not reach the old side either) must not have that part wiped
 * by a pass that started before it. Real Redis, the simulated world; east's database answers slowly so that the
 * widening lands in the middle of the pass, as it did under load in CI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startRedis } from '../../lab/processes/processes.js';
import { SimulatedWorld } from '../../lab/simulated-world/simulated-world.js';
import { Redis } from 'ioredis';
import { systemClock } from '../../src/core/clock.js';
import { reconcileFenceDebts } from '../../src/queue/reconcile-fence-debts.js';
import { FenceDebtStore } from '../../src/store/fence-debts.js';
import { RunStore } from '../../src/store/run-store.js';
import { createLogger } from '../../src/logger.js';
import { exampleSite, exampleTopology } from '../support/core-fixtures.js';

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('reconcileFenceDebts', () => {
  it('keeps the part of a debt that a run added while a pass was paying another part', async () => {
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    try {
      const prefix = 'debt-race';
      const site = exampleSite();
      const world = SimulatedWorld.inMemory(site, systemClock);
      // East is back and writable (its database owes the fence), and answers slowly.
      world.slow('database.status:east', 300);
      const debts = new FenceDebtStore(connection, prefix);
      const opened = {
        site: site.name,
        cluster: 'east',
        runId: 'r1',
        since: Date.now(),
        reason: 'east unreachable',
      };
      await debts.open({ ...opened, database: true, workloads: false });
      const posted: string[] = [];
      const pass = reconcileFenceDebts({
        connection,
        storePrefix: prefix,
        debts,
        store: new RunStore(connection, prefix),
        ports: world.ports,
        notifier: {
          postStatus: async ({ key }) => {
            posted.push(key);
            return true;
          },
        },
        topology: { ...exampleTopology(), sites: [site] },
        clock: systemClock,
        log: createLogger({ level: 'silent' }),
      });
      // Meanwhile the run's scale-down-source could not reach east's API either: the debt widens.
      await new Promise((resolve) => setTimeout(resolve, 100));
      await debts.open({ ...opened, database: false, workloads: true, reason: "east's API unreachable" });
      await pass;
      // The database part is paid; the workloads part is still owed, and nothing says the debt is paid.
      expect(await debts.get(site.name)).toMatchObject({ database: false, workloads: true });
      expect(posted.filter((key) => key.includes('paid'))).toEqual([]);
    } finally {
      connection.disconnect();
    }
  });
});
