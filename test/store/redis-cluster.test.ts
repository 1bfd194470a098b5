import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Cluster } from 'ioredis';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookAlert } from '../../src/alerts/alertmanager-payload.js';
import { IncidentStore } from '../../src/store/incidents/incident-store.js';
import { keyPrefixes } from '../../src/config/load-config.js';
import { LeaseLostError } from '../../src/core/runs/execute-run.js';
import type { Run } from '../../src/core/model.js';
import { ChannelPacer } from '../../src/queue/notify/channel-pacer.js';
import { StatusCoalescer } from '../../src/queue/notify/status-coalescer.js';
import { ThreadOrder } from '../../src/queue/notify/thread-order.js';
import { RUNS_QUEUE, jobLockKey } from '../../src/queue/queues.js';
import { RunStore } from '../../src/store/run-store.js';
import { FakeClock } from '../support/fake-clock.js';
import { ALICE, CAROL, approvedRun, exampleSite, proposedRun } from '../support/core-fixtures.js';
import type { RedisClusterNode } from '../support/redis-cluster.js';
import { startRedisClusterNode } from '../support/redis-cluster.js';

// A real Redis Cluster refuses a script whose keys are in different slots (CROSSSLOT): every call below passes only
// because Baton's keys, and BullMQ's under the bull prefix, share the hash tag of the key prefix.

const T = 1_700_000_000_000;
const site = exampleSite();
const prefixes = keyPrefixes({ keyPrefix: `c${randomUUID().slice(0, 8)}` });
const firing = (fp: string): WebhookAlert => ({
  status: 'firing',
  labels: { alertname: 'ActiveClusterDown' },
  annotations: {},
  startsAt: T,
  generatorURL: '',
  fingerprint: fp,
});
const group = { groupKey: 'g1', truncatedFiring: false, now: T };

let node: RedisClusterNode;
let cluster: Cluster;
/** The stores take an ioredis client; a Cluster answers the same commands. */
let redis: Redis;

beforeAll(async () => {
  node = await startRedisClusterNode();
  cluster = new Cluster([{ host: node.host, port: node.port }], {
    redisOptions: { maxRetriesPerRequest: null },
  });
  redis = cluster as unknown as Redis;
});
afterAll(async () => {
  await cluster?.quit();
  await node?.stop();
});

describe('Baton on Redis Cluster', () => {
  it('is a cluster that refuses keys of two slots in one script', async () => {
    await expect(cluster.eval('return 1', 2, 'baton:run:r1', 'bull:runs:1:lock')).rejects.toThrow(
      /CROSSSLOT/,
    );
  });

  it('creates and saves runs under a BullMQ job lock, and keeps one open run per site', async () => {
    const store = new RunStore(redis, prefixes.store);
    const proposed = { ...proposedRun(site, { now: T }), id: await store.nextRunId() };
    const created = await store.create(proposed, {
      event: { type: 'run-proposed', reason: 'test' },
      actor: CAROL,
    });
    expect(created).toMatchObject({ created: true, run: { id: proposed.id, version: 1 } });
    // The site's marker names the open run: the second proposal reads it, and gets the first run back.
    const again = await store.create(
      { ...proposed, id: await store.nextRunId() },
      { event: { type: 'run-proposed', reason: 'test' }, actor: ALICE },
    );
    expect(again).toMatchObject({ created: false, run: { id: proposed.id } });

    const lockKey = jobLockKey(prefixes.bull, `failover-${site.name}-${proposed.id}`);
    await cluster.set(lockKey, 'token-1');
    const approved = { ...approvedRun(site, { now: T }), id: proposed.id, version: 1 };
    const saved = await store.save(
      approved,
      { event: { type: 'run-approved', count: 1, required: 1 }, actor: ALICE },
      { lockKey, token: 'token-1' },
    );
    expect(saved.version).toBe(2);
    await expect(
      store.save(
        saved,
        { event: { type: 'run-approved', count: 1, required: 1 }, actor: ALICE },
        { lockKey, token: 'token-2' },
      ),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect((await store.audit()).map((entry) => entry.event)).toEqual([
      { type: 'run-proposed', reason: 'test' },
      { type: 'run-approved', count: 1, required: 1 },
    ]);
  });

  it('opens a fence debt under the lease and pays it in a transaction', async () => {
    const store = new RunStore(redis, prefixes.store);
    const lockKey = jobLockKey(prefixes.bull, 'failover-debt');
    await cluster.set(lockKey, 'token');
    const debt = {
      site: site.name,
      cluster: site.homeCluster,
      runId: 'r9',
      since: T,
      database: true,
      workloads: false,
      reason: 'database unreachable',
    };
    expect(await store.debts.open(debt, { lockKey, token: 'token' })).toBe(true);
    expect((await store.debts.list()).map((open) => open.site)).toEqual([site.name]);
    const paid = await store.debts.update(site.name, () => null, {
      record: { event: { type: 'fence-debt-paid', cluster: site.homeCluster, done: 'paid' }, actor: ALICE },
      at: T + 1,
    });
    expect(paid?.after).toBeNull();
    expect(await store.debts.list()).toEqual([]);
  });

  it('records alerts for runs and notices, and the probes of a quiet period', async () => {
    const incidents = new IncidentStore(redis, prefixes.store);
    const recorded = await incidents.recordRun(site.name, 'r1', [firing('a'), firing('b')], {
      ...group,
      onlyIfKnown: false,
    });
    expect(recorded).toMatchObject({ transition: 'firing', state: { id: 'r1', firing: 2 } });
    expect(await incidents.lastRun(site.name, [firing('a')], group)).toEqual({ runId: 'r1', hasNew: false });
    expect(await incidents.lastRun(site.name, [firing('c')], group)).toEqual({ runId: 'r1', hasNew: true });

    const notice = await incidents.recordNotice(site.name, [firing('n')], group);
    expect(notice).toMatchObject({ transition: 'firing', state: { id: '1', firing: 1 } });
    expect(await incidents.noticeState(site.name, '1')).toMatchObject({ firing: 1 });

    expect(await incidents.claim('r1', 'announced')).toBe(true);
    const probed = await incidents.recordProbe('r1', {
      createdAt: T,
      at: T + 10,
      ok: false,
      detail: '503',
      maxGapMs: 60_000,
    });
    expect(probed?.probes).toMatchObject({ total: 1, failed: 1, streak: 1 });
    await incidents.clearRunPending('r1', recorded?.state.version ?? 0);
    expect((await incidents.runState('r1'))?.pending).toBeUndefined();
  });

  it('keeps the notify state beside the notify queue', async () => {
    const clock = new FakeClock(T);
    const statuses = new StatusCoalescer(redis, prefixes.bull);
    const gen = await statuses.update('run:production:r1', 'C1', { text: 'proposed' });
    expect(await statuses.claim('run:production:r1', gen)).toMatchObject({ outcome: 'claimed' });
    const release = await statuses.lock('run:production:r1', 'worker-1');
    await release?.();

    const threads = new ThreadOrder(redis, prefixes.bull, clock);
    const reply = { threadKey: 'run:production:r1', dedupeId: 'step-1', createdAt: T };
    await threads.join(reply);
    expect(await threads.isTurn(reply)).toBe(true);
    await threads.leave(reply, true);
    expect(await threads.posted(reply)).toBe(true);

    const pacer = new ChannelPacer({ redis, prefix: prefixes.bull, intervalMs: 1000, clock });
    expect(await pacer.reserve('C1')).toBe(T);
    expect(await pacer.block('C1', 5000)).toBe(T + 5000);
  });

  it('runs a BullMQ queue under the bull prefix, its job lock in the store slot', async () => {
    const queue = new Queue(RUNS_QUEUE, { connection: cluster, prefix: prefixes.bull });
    const store = new RunStore(redis, prefixes.store);
    const run: Run = { ...proposedRun({ ...site, name: 'lock-site' }, { now: T }), id: 'r-locked' };
    await store.create(run, { event: { type: 'run-proposed', reason: 'test' }, actor: CAROL });
    const worker = new Worker(
      RUNS_QUEUE,
      async (job, token) => {
        // What the run worker does: save only while BullMQ's lock of this job still holds this token.
        const lease = { lockKey: jobLockKey(prefixes.bull, job.id ?? ''), token: token ?? '' };
        const current = await store.require(run.id);
        return (
          await store.save(
            { ...current, updatedAt: T + 1 },
            { event: { type: 'step-progress', step: 'preflight' }, actor: ALICE },
            lease,
          )
        ).version;
      },
      { connection: cluster, prefix: prefixes.bull },
    );
    try {
      const done = new Promise<unknown>((resolve, reject) => {
        worker.on('completed', (_job, result) => resolve(result));
        worker.on('failed', (_job, error) => reject(error));
      });
      await queue.add('run', {}, { jobId: `failover-lock-site-${run.id}` });
      expect(await done).toBe(2);
    } finally {
      await worker.close();
      await queue.close();
    }
  });
});
