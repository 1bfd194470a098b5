/**
 * Issue 16: Redis with Sentinel (a master, a replica, three sentinels) under 2 web and 3 worker processes with
 * REDIS_URL=redis+sentinel://…. The master is SIGKILLed in the middle of a run; the sentinels promote the replica;
 * the run completes, and every external action happened exactly once. The simulated world lives in a Redis of its
 * own, as the systems it stands for live outside Baton: a write Baton's Redis loses in the failover cannot hide a
 * repeated action.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allSteps } from '../../src/core/model.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startRedis } from '../../lab/processes/processes.js';
import type { RedisSentinelProcess } from '../../lab/processes/redis-sentinel.js';
import { startRedisSentinel } from '../../lab/processes/redis-sentinel.js';
import { rebuildAsStandby, waitFor, waitForState } from '../support/integration.js';
import type { Fleet } from '../support/multi-process.js';
import { FLEET_USERS, startFleet } from '../support/multi-process.js';
import { missingPrograms } from '../support/programs.js';
import { skipWhenMissing } from '../support/skip-when-missing.js';

const skip = skipWhenMissing(
  'the Redis Sentinel failover test',
  await missingPrograms(['redis-server']),
  'apt-get install -y redis-server',
);

let sentinel: RedisSentinelProcess;
let outside: RedisProcess;
let fleet: Fleet;
/** The port of the master the first test killed. */
let killedPort = 0;

beforeAll(async () => {
  if (skip) return;
  [sentinel, outside] = await Promise.all([startRedisSentinel({ replicas: 1, sentinels: 3 }), startRedis()]);
  fleet = await startFleet(sentinel.url, {
    webs: 2,
    workers: 3,
    worldRedisUrl: outside.url,
    // Short locks, as a deployment that wants quick recovery sets them; the defaults only make the wait longer.
    workerFlags: ['--lock-duration-ms', '2000', '--stalled-interval-ms', '1000'],
  });
}, 200_000);
afterAll(async () => {
  await fleet?.close();
  await sentinel?.stop();
  await outside?.stop();
});

describe.skipIf(skip)('a Sentinel failover in the middle of a run', () => {
  it('promotes the replica, and the run completes with every external action once', async () => {
    const { harness, world } = fleet;
    const run = await fleet.propose(0, FLEET_USERS.requester, 'production sentinel failover test');
    await fleet.approve(1, FLEET_USERS.approver, run.id);

    // In the middle: the first step has finished and the run is still going.
    const steps = allSteps(run.plan).map((s) => s.id);
    await waitFor(
      `run ${run.id} to be under way`,
      async () => {
        const current = await harness.store.require(run.id);
        if (current.state !== 'running') {
          if (['succeeded', 'paused', 'failed'].includes(current.state))
            throw new Error(`run ${run.id} ${current.state} before the kill: ${current.stateReason}`);
          return undefined;
        }
        return current.steps[steps[0]!]?.status === 'succeeded';
      },
      30_000,
      5,
    );
    const killed = await sentinel.killMaster();
    killedPort = killed;
    const promoted = await sentinel.waitForPromotion(killed, 30_000);
    expect(promoted).not.toBe(killed);

    const done = await waitForState(harness.store, run.id, ['succeeded', 'paused', 'failed'], 60_000);
    expect(done.state, `${done.stateReason}\n${fleet.output()}`).toBe('succeeded');
    for (const step of steps) expect(done.steps[step]?.status, step).toBe('succeeded');

    const state = await world.state();
    const web = 'default/Deployment/web';
    // Every action once, but the fence: it runs on every attempt by design (idempotent).
    expect(state.actions.filter((a) => !a.startsWith('fence ')).sort()).toEqual(
      [`dns ${run.to}`, `promote ${run.to}`, `scale ${run.from} ${web} 1`, `scale ${run.to} ${web} 5`].sort(),
    );
    expect(state.dns.serving).toBe(run.to);
    expect(state.clusters[run.to]!.db.role).toBe('primary');
    // Every process is still up: none crashed on the lost connection.
    for (const p of [...fleet.webs.map((w) => w.process), ...fleet.workers]) {
      expect(p.child.exitCode, p.output()).toBeNull();
    }
  }, 120_000);

  it('loses what a cut-off replica never received, and the run still completes with every action once', async () => {
    const { harness, world } = fleet;
    expect(killedPort, 'the first test killed a master').not.toBe(0);
    // The killed master comes back; the sentinels make it a replica of the new master.
    await sentinel.restart(killedPort);
    await sentinel.waitForReplicas(30_000);
    const master = await sentinel.masterPort();
    const site = harness.topology.sites[0]!;
    await rebuildAsStandby(world, (await harness.service.serving(site)) === 'east' ? 'west' : 'east');
    const before = (await world.state()).actions.length;

    const run = await fleet.propose(0, FLEET_USERS.requester, 'production lost writes test', '/failback');
    await fleet.approve(1, FLEET_USERS.approver, run.id);
    const steps = allSteps(run.plan).map((s) => s.id);
    const succeeded = async (count: number) => {
      const current = await harness.store.require(run.id);
      if (['succeeded', 'paused', 'failed'].includes(current.state))
        throw new Error(`run ${run.id} ${current.state} too early: ${current.stateReason}`);
      return steps.filter((step) => current.steps[step]?.status === 'succeeded').length >= count;
    };
    await waitFor(`run ${run.id} to be under way`, () => succeeded(1), 30_000, 5);

    // The replica is cut off; the master goes on acknowledging the run's progress, which the replica never receives.
    await sentinel.cutReplication();
    await waitFor(`run ${run.id} to progress past the cut`, () => succeeded(3), 30_000, 5);
    const auditKey = `${harness.storePrefix}audit`;
    const seen = (await harness.redis.xrange(auditKey, '-', '+')).map(([id]) => id);
    await sentinel.killMaster();
    await sentinel.waitForPromotion(master, 30_000);

    const done = await waitForState(harness.store, run.id, ['succeeded', 'paused', 'failed'], 60_000);
    expect(done.state, `${done.stateReason}\n${fleet.output()}`).toBe('succeeded');
    const kept = new Set((await harness.redis.xrange(auditKey, '-', '+')).map(([id]) => id));
    expect(
      seen.filter((id) => !kept.has(id)).length,
      'audit entries the old master acknowledged and the promoted replica never had',
    ).toBeGreaterThan(0);

    const state = await world.state();
    const web = 'default/Deployment/web';
    expect(
      state.actions
        .slice(before)
        .filter((a) => !a.startsWith('fence '))
        .sort(),
    ).toEqual(
      [`dns ${run.to}`, `promote ${run.to}`, `scale ${run.from} ${web} 1`, `scale ${run.to} ${web} 5`].sort(),
    );
    expect(state.dns.serving).toBe(run.to);
  }, 120_000);
});
