/**
 * The runs queue against a real Redis: duplicates give one run and one job, a Redis restart mid-run loses
 * nothing, SIGTERM finishes the current step and hands the run over, and a worker that lost its lock stops.
 */
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { systemClock } from '../../src/core/clock.js';
import type { Run } from '../../src/core/model.js';
import { SYSTEM_ACTOR, runJobId } from '../../src/core/model.js';
import { jobLockKey } from '../../src/queue/queues.js';
import { startRunWorker } from '../../src/queue/run-worker.js';
import type { RunWorker } from '../../src/queue/run-worker.js';
import { SimulatedWorld } from '../../lab/simulated-world/simulated-world.js';
import { RunStore } from '../../src/store/run-store.js';
import { createLogger } from '../../src/logger.js';
import type { Harness } from '../support/integration.js';
import {
  ALICE,
  BOB,
  createHarness,
  createRunService,
  spawnWorker,
  waitFor,
  waitForState,
  waitForStep,
} from '../support/integration.js';
import { redisPerFile } from '../support/redis-per-file.js';

const { redis, cleanups } = redisPerFile();
const log = createLogger({ level: 'silent' });

async function harness(): Promise<Harness> {
  const h = await createHarness(redis.url);
  cleanups.push(() => h.close());
  return h;
}

function inProcessWorker(h: Harness, world: SimulatedWorld, connection?: Redis): RunWorker {
  const conn = connection ?? new Redis(redis.url, { maxRetriesPerRequest: null });
  const worker = startRunWorker({
    connection: conn,
    bullPrefix: h.bullPrefix,
    store: h.store,
    debts: h.debts,
    topology: h.topology,
    ports: world.ports,
    clock: systemClock,
    log,
    settings: { pollIntervalMs: 50, dnsPollIntervalMs: 50 },
    lock: { lockDuration: 2000, stalledInterval: 1000 },
  });
  cleanups.push(async () => {
    await worker.close();
    conn.disconnect();
  });
  return worker;
}

describe('one run at a time', () => {
  it('gives one run for concurrent failover requests for a site', async () => {
    const h = await harness();
    const other = new Redis(redis.url);
    cleanups.push(async () => other.disconnect());
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        h.service.propose({ kind: 'failover', reason: `request ${i}`, actor: i % 2 ? BOB : ALICE }),
      ),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.run.id)).size).toBe(1);
    expect(await h.store.history('production')).toHaveLength(1);
    const audit = await h.store.audit();
    expect(audit.filter((e) => e.action === 'run-proposed')).toHaveLength(1);
  });

  it('gives one job when the same run is enqueued twice, and one approval wins a double click', async () => {
    const h = await harness();
    const { run } = await h.service.propose({ kind: 'failover', reason: 'double click', actor: BOB });
    const clicks = await Promise.allSettled([
      h.service.approve(run.id, ALICE),
      h.service.approve(run.id, ALICE),
      h.service.approve(run.id, { ...ALICE, id: 'U0BOB2' }),
    ]);
    expect(clicks.filter((c) => c.status === 'fulfilled')).toHaveLength(1);
    const approved = await h.store.require(run.id);
    await h.service.enqueue(approved);
    await h.service.enqueue(approved);
    const counts = await h.queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1);
    expect(await h.queue.getJobState(runJobId(approved))).toBe('waiting');
  });

  it('an approval that races another write to the proposal (its preflight result) still counts', async () => {
    const h = await harness();
    const { run } = await h.service.propose({ kind: 'failover', reason: 'race', actor: BOB });
    // A store whose first read hands out the proposal just before the preflight job saves its result over it.
    class PreflightLandsMeanwhile extends RunStore {
      private raced = false;
      override async require(id: string): Promise<Run> {
        const stale = await super.require(id);
        if (!this.raced) {
          this.raced = true;
          await h.store.mutate(
            id,
            (r) => ({ ...r, preflight: { at: Date.now(), checks: [], lagBytes: 0 } }),
            () => ({ event: { type: 'preflight-measured', checks: [] }, actor: SYSTEM_ACTOR }),
          );
        }
        return stale;
      }
    }
    const racing = createRunService({
      redis: h.redis,
      store: new PreflightLandsMeanwhile(h.redis, h.storePrefix),
      bullPrefix: h.bullPrefix,
      topology: h.topology,
    });
    const outcome = await racing.service.approve(run.id, ALICE);
    await racing.close();
    expect(outcome).toMatchObject({ complete: true, count: 1 });
    const saved = await h.store.require(run.id);
    expect(saved.state).toBe('approved');
    expect(saved.preflight?.lagBytes).toBe(0); // the other write was kept, not overwritten
    expect(saved.approvals.map((a) => a.actor.id)).toEqual([ALICE.id]);
  });

  it('releases the site when a run finishes, so the next request creates a new run', async () => {
    const h = await harness();
    const { run } = await h.service.propose({ kind: 'failover', reason: 'first', actor: BOB });
    await h.service.reject(run.id, ALICE, 'not now');
    const next = await h.service.propose({ kind: 'failover', reason: 'second', actor: BOB });
    expect(next.created).toBe(true);
    expect(next.run.id).not.toBe(run.id);
  });
});

describe('expiry', () => {
  it('refuses a late approval, and the worker expires unanswered proposals and frees the site', async () => {
    const h = await harness();
    const site = h.topology.sites[0]!;
    const { run } = await h.service.propose({ kind: 'failover', reason: 'nobody answers', actor: BOB });
    const later = { ...systemClock, now: () => Date.now() + h.topology.approvals.expiresAfterMs + 1000 };
    const late = createRunService({
      redis: h.redis,
      store: h.store,
      bullPrefix: h.bullPrefix,
      topology: h.topology,
      clock: later,
    });
    await expect(late.service.approve(run.id, ALICE)).rejects.toMatchObject({ code: 'expired' });
    await late.close();
    expect((await h.store.require(run.id)).state).toBe('expired');

    const second = await h.service.propose({ kind: 'failover', reason: 'again', actor: BOB });
    expect(second.created).toBe(true);
    const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const worker = startRunWorker({
      connection: conn,
      bullPrefix: h.bullPrefix,
      store: h.store,
      debts: h.debts,
      topology: h.topology,
      ports: SimulatedWorld.inMemory(site, systemClock).ports,
      clock: later,
      log,
    });
    cleanups.push(async () => {
      await worker.close();
      conn.disconnect();
    });
    await worker.reconcile();
    expect((await h.store.require(second.run.id)).state).toBe('expired');
    expect(await h.store.openRun('production')).toBeNull();
    expect((await h.store.audit()).filter((e) => e.action === 'run-expired')).toHaveLength(2);
  });
});

describe('Redis restarted mid-run', () => {
  it('completes the run and loses nothing', async () => {
    const h = await harness();
    const site = h.topology.sites[0]!;
    const world = SimulatedWorld.inMemory(site, systemClock, { podsReadyAfterMs: 2500, latencyMs: 5 });
    inProcessWorker(h, world);
    const { run } = await h.service.propose({ kind: 'failover', reason: 'redis restart', actor: BOB });
    await h.service.approve(run.id, ALICE);
    await waitForStep(h.store, run.id, 'scale-up-target');
    const auditBefore = (await h.store.audit(100_000)).length;
    await redis.shutdown();
    await new Promise((r) => setTimeout(r, 1500));
    await redis.start();

    const done = await waitForState(h.store, run.id, ['succeeded', 'paused', 'failed'], 60_000);
    expect(done.state, done.stateReason).toBe('succeeded');
    const audit = await h.store.audit(100_000);
    expect(audit.length).toBeGreaterThan(auditBefore);
    expect(audit.map((e) => e.action)).toEqual(
      expect.arrayContaining(['run-proposed', 'run-approved', 'run-started', 'run-succeeded']),
    );
    // Every action once; the fence runs on every attempt by design (and again just before promotion).
    const actions = (await world.state()).actions.filter((a) => !a.startsWith('fence '));
    expect(new Set(actions).size).toBe(actions.length);
    expect((await h.store.site('production')).serving).toBe('west');
  }, 90_000);
});

describe('SIGTERM', () => {
  it('lets the current step finish, hands the run back, and another worker finishes it', async () => {
    const h = await harness();
    const flags = ['--pods-ready-ms', '2000', '--latency-ms', '5', '--poll-ms', '50'];
    const first = spawnWorker(h, redis.url, flags);
    cleanups.push(async () => first.child.kill('SIGKILL'));
    const { run } = await h.service.propose({ kind: 'failover', reason: 'sigterm', actor: BOB });
    await h.service.approve(run.id, ALICE);
    await waitForStep(h.store, run.id, 'scale-up-target');
    first.child.kill('SIGTERM');
    const code = await first.exited;
    expect(code, first.output()).toBe(0);

    const handedBack = await h.store.require(run.id);
    expect(handedBack.state).toBe('running');
    expect(handedBack.steps['scale-up-target']?.status).toBe('succeeded');
    expect(handedBack.steps['promote-target-db']?.status).toBe('pending');
    expect(await h.queue.getJobState(runJobId(handedBack))).toMatch(/waiting|delayed/);

    const second = spawnWorker(h, redis.url, flags);
    cleanups.push(async () => second.child.kill('SIGKILL'));
    const done = await waitForState(h.store, run.id, ['succeeded', 'paused', 'failed'], 30_000);
    expect(done.state, done.stateReason).toBe('succeeded');
    const job = await h.queue.getJob(runJobId(done));
    expect(job?.processedBy).toBe(second.name);
  }, 60_000);
});

describe('Abort while a step is running', () => {
  it('waits for the running step to end, undoes what was done, and never promotes', async () => {
    const h = await harness();
    const site = h.topology.sites[0]!;
    const world = SimulatedWorld.inMemory(site, systemClock, { podsReadyAfterMs: 1500, latencyMs: 5 });
    inProcessWorker(h, world);
    const { run } = await h.service.propose({ kind: 'failover', reason: 'abort while running', actor: BOB });
    await h.service.approve(run.id, ALICE);
    // Abort while scale-up-target waits for pods: it has scaled west and has no save due until it finishes.
    await waitFor('west to be scaled up', async () => {
      const current = await h.store.require(run.id);
      const west = (await world.state()).clusters.west?.workloads['default/Deployment/web'];
      return current.steps['fence-source']?.status === 'succeeded' && west?.replicas === 5;
    });
    await h.service.abort(run.id, ALICE);

    const done = await waitForState(h.store, run.id, ['aborted', 'failed'], 30_000);
    expect(done.state, done.stateReason).toBe('aborted');
    expect(done.steps['promote-target-db']?.status).toBe('pending');
    const state = await world.state();
    expect(state.actions.some((a) => a.startsWith('promote'))).toBe(false);
    expect(state.clusters.east?.db.readOnly).toBe(false);
    expect(state.clusters.east?.workloads['default/Deployment/web']?.replicas).toBe(5);
    expect(state.clusters.west?.workloads['default/Deployment/web']?.replicas).toBe(1);
    const first = await h.queue.getJob(runJobId({ ...run, segment: 1 }));
    expect(first?.returnvalue).toEqual({ outcome: 'stale' });
    // The undo started only after the old segment had let go of the run.
    const firstUndo = (await h.store.audit()).find((e) => e.action === 'step-undone');
    expect(firstUndo!.at).toBeGreaterThanOrEqual(first!.finishedOn!);
    expect(await h.store.openRun('production')).toBeNull();
  }, 40_000);
});

describe('a worker that lost its lock', () => {
  it('starts no further step', async () => {
    const h = await harness();
    const site = h.topology.sites[0]!;
    const world = SimulatedWorld.inMemory(site, systemClock, { podsReadyAfterMs: 1500, latencyMs: 5 });
    inProcessWorker(h, world);
    const { run } = await h.service.propose({ kind: 'failover', reason: 'lock lost', actor: BOB });
    const approved = (await h.service.approve(run.id, ALICE)).run;
    await waitForStep(h.store, run.id, 'scale-up-target');
    // Another worker takes the job over: the lock now holds someone else's token.
    const lockKey = jobLockKey(h.bullPrefix, runJobId(approved));
    await h.redis.set(lockKey, 'another-worker', 'PX', 60_000);
    await new Promise((r) => setTimeout(r, 2500));
    const after = await h.store.require(run.id);
    expect(after.steps['promote-target-db']?.status).toBe('pending');
    expect((await world.state()).actions.some((a) => a.startsWith('promote'))).toBe(false);
    expect((await h.store.audit(100_000)).some((e) => e.detail === 'promote-target-db')).toBe(false);
  }, 30_000);
});
