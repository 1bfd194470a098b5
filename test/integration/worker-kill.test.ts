/**
 * DESIGN §6 / issue 2: a worker process killed with SIGKILL at a random step, 20 times; another worker process
 * resumes every run, and every external action happens exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allSteps, runJobId } from '../../src/core/model.js';
import { startRedis } from '../../lab/processes/processes.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import type { Harness, WorkerProcess } from '../support/integration.js';
import {
  ALICE,
  BOB,
  SIM_WORKER_FLAGS,
  createHarness,
  rebuildAsStandby,
  spawnWorker,
  waitFor,
  waitForState,
} from '../support/integration.js';

// Short locks make the test quicker; the benchmark measures the production settings.
const WORKER_FLAGS = [...SIM_WORKER_FLAGS, '--lock-duration-ms', '2000', '--stalled-interval-ms', '1000'];
const KILLS = 20;

let redis: RedisProcess;
let harness: Harness;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  redis = await startRedis();
  harness = await createHarness(redis.url);
});

afterAll(async () => {
  for (const w of workers) w.child.kill('SIGKILL');
  await harness?.close();
  await redis?.stop();
});

const start = () => {
  const worker = spawnWorker(harness, redis.url, WORKER_FLAGS);
  workers.push(worker);
  return worker;
};
const alive = () => workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);

describe('a worker killed with SIGKILL mid-run', () => {
  it(`has its run resumed by another worker, ${KILLS} times, with every action exactly once`, async () => {
    start();
    start();
    const resumeMs: number[] = [];
    for (let i = 0; i < KILLS; i += 1) {
      const site = harness.topology.sites[0]!;
      const serving = await harness.service.serving(site);
      const kind = serving === site.homeCluster ? 'failover' : 'failback';
      const before = (await harness.world.state()).actions.length;
      const { run } = await harness.service.propose({ kind, reason: `kill test ${i}`, actor: BOB });
      await harness.service.approve(run.id, ALICE);
      const steps = allSteps(run.plan).map((s) => s.id);
      const victimStep = steps[Math.floor(Math.random() * steps.length)]!;

      // Wait until the chosen step is under way (or the run has moved past it), then kill whoever runs it.
      const jobKey = `${harness.bullPrefix}:runs:${runJobId({ ...run, segment: 1 })}`;
      const owner = await waitFor(
        `step ${victimStep} of ${run.id} to start`,
        async () => {
          const current = await harness.store.require(run.id);
          if (['paused', 'failed', 'succeeded'].includes(current.state)) {
            throw new Error(`run ${run.id} ${current.state} before ${victimStep}: ${current.stateReason}`);
          }
          if (current.steps[victimStep]?.status === 'pending') return undefined;
          return harness.redis.hget(jobKey, 'pb');
        },
        20_000,
        5,
      );
      const victim = alive().find((w) => w.name === owner);
      expect(victim, `the worker named ${owner} is alive`).toBeDefined();
      victim!.child.kill('SIGKILL');
      const killedAt = Date.now();
      await victim!.exited;
      start();

      const done = await waitForState(harness.store, run.id, ['succeeded', 'paused', 'failed'], 40_000);
      expect(done.state, `run ${run.id} (${kind}, killed in ${victimStep}): ${done.stateReason}`).toBe(
        'succeeded',
      );
      const resumed = (await harness.store.audit(100_000)).find(
        (e) => e.runId === run.id && e.at > killedAt && e.action.startsWith('step-'),
      );
      if (resumed) resumeMs.push(resumed.at - killedAt);

      const actions = (await harness.world.state()).actions.slice(before);
      const web = 'default/Deployment/web';
      // Every action once, but the fence: it runs on every attempt by design (idempotent), at least in fence-source
      // and again just before promotion.
      expect(
        actions.filter((a) => !a.startsWith('fence ')).sort(),
        `actions of ${run.id} killed in ${victimStep}`,
      ).toEqual(
        [
          `dns ${run.to}`,
          `promote ${run.to}`,
          `scale ${run.from} ${web} 1`,
          `scale ${run.to} ${web} 5`,
        ].sort(),
      );
      expect(actions.filter((a) => a === `fence ${run.from}`).length).toBeGreaterThanOrEqual(2);
      const state = await harness.world.state();
      expect(state.dns.serving).toBe(run.to);
      expect(state.clusters[run.to]!.db.role).toBe('primary');
      await rebuildAsStandby(harness.world, run.from);
    }
    expect(resumeMs.length).toBeGreaterThan(KILLS / 2);
    console.log(`resume after SIGKILL (ms): ${resumeMs.sort((a, b) => a - b).join(', ')}`);
  }, 300_000);

  it('survives four stalls of one run (maxStalledCount is above 3)', async () => {
    start();
    const site = harness.topology.sites[0]!;
    const serving = await harness.service.serving(site);
    const kind = serving === site.homeCluster ? 'failover' : 'failback';
    const { run } = await harness.service.propose({ kind, reason: 'four stalls', actor: BOB });
    await harness.service.approve(run.id, ALICE);
    const jobKey = `${harness.bullPrefix}:runs:${runJobId({ ...run, segment: 1 })}`;
    for (let kill = 0; kill < 4; kill += 1) {
      // Each time, wait for a live worker to own the job and make progress, then kill it.
      const progressBefore = (await harness.store.require(run.id)).version;
      const owner = await waitFor(
        `a worker to resume ${run.id}`,
        async () => {
          const current = await harness.store.require(run.id);
          if (current.state !== 'running' || current.version <= progressBefore) return undefined;
          const name = await harness.redis.hget(jobKey, 'pb');
          return alive().find((w) => w.name === name);
        },
        20_000,
        5,
      );
      owner.child.kill('SIGKILL');
      await owner.exited;
      start();
    }
    const done = await waitForState(harness.store, run.id, ['succeeded', 'paused', 'failed'], 40_000);
    expect(done.state, done.stateReason).toBe('succeeded');
    expect(Number(await harness.redis.hget(jobKey, 'stc'))).toBeGreaterThanOrEqual(3);
    // The run is saved as succeeded inside the processor; BullMQ completes the job just after.
    await waitFor(
      'the job to complete',
      async () => (await harness.queue.getJobState(runJobId({ ...run, segment: 1 }))) === 'completed',
    );
  }, 120_000);
});
