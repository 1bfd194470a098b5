/**
 * Pre-warm (DESIGN §6) through the worker role as it runs in production, on a real Redis and the simulated world in
 * Redis: a proposal's target side scales up while people read it, never down; a reject, an expiry or a cancel gives
 * back exactly what Baton changed (not what someone changed since); an approval leaves it to the run, whose
 * scale-up-target finds the pods Ready; a failing target never blocks the proposal; two workers and duplicated jobs
 * act once.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/core/clock.js';
import type { Actor, Run } from '../../../src/core/model.js';
import { createLogger } from '../../../src/logger.js';
import { followPrewarm } from '../../../src/queue/prewarm/prewarm-worker.js';
import type { WorkerRole } from '../../../src/roles/worker-role.js';
import { startWorkerRole } from '../../../src/roles/worker-role.js';
import { runMessageKey } from '../../../src/slack/publish-run.js';
import { NotifyKeys } from '../../../src/store/keys.js';
import type { WorldState } from '../../../lab/simulated-world/simulated-world.js';
import type { SimCluster } from '../../../lab/simulated-world/world-state.js';
import type { Harness } from '../../support/integration.js';
import { ALICE, BOB, createHarness, waitFor, waitForState } from '../../support/integration.js';
import { redisPerFile } from '../../support/redis-per-file.js';

const log = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const WEB = 'default/Deployment/web';
const SCALE_WEST = (n: number) => `scale west ${WEB} ${n}`;
const FAST = { pollIntervalMs: 50, dnsPollIntervalMs: 50 };

const { redis, cleanups } = redisPerFile();

async function harness(): Promise<Harness> {
  const h = await createHarness(redis.url, { timing: { podsReadyAfterMs: 400 } });
  cleanups.push(() => h.close());
  return h;
}

/** One worker role of the deployment (no Slack token: messages wait in Redis, where the test reads them). */
async function workerRole(h: Harness, name = 'w1'): Promise<WorkerRole> {
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const role = await startWorkerRole({
    topology: h.topology,
    connection,
    prefixes: { store: h.storePrefix, bull: h.bullPrefix },
    ports: h.world.ports,
    slack: null,
    clock: systemClock,
    log,
    name,
    settings: FAST,
    lock: { lockDuration: 2000, stalledInterval: 1000 },
    backoff: { baseMs: 10, maxMs: 50 },
  });
  cleanups.push(async () => {
    await role.close();
    connection.disconnect();
  });
  return role;
}

const propose = async (h: Harness, actor: Actor = BOB): Promise<Run> =>
  (await h.service.propose({ kind: 'failover', reason: 'east is down', actor })).run;

/** West as the simulated world has it now. */
function west(state: WorldState): SimCluster {
  const cluster = state.clusters.west;
  if (!cluster) throw new Error('the world has no west');
  return cluster;
}

const westWeb = async (h: Harness) => west(await h.world.state()).workloads[WEB];
const westActions = async (h: Harness) =>
  (await h.world.state()).actions.filter(
    (a) => a.startsWith('scale west') || a.startsWith('autoscaler west'),
  );

/** The run once `check` holds for it. */
const runWhen = (h: Harness, runId: string, what: string, check: (run: Run) => boolean, timeoutMs = 15_000) =>
  waitFor(
    what,
    async () => {
      const run = await h.store.require(runId);
      return check(run) ? run : undefined;
    },
    timeoutMs,
  );

/** The proposal message's newest content as the notify queue holds it. */
async function proposalText(h: Harness, run: Run): Promise<string> {
  const stored = await h.redis.hget(new NotifyKeys(h.bullPrefix).status(runMessageKey(run)), 'blocks');
  return stored ?? '';
}

async function addWestHpa(h: Harness): Promise<void> {
  await h.world.change((state) => {
    west(state).autoscalers = {
      'default/web-hpa': {
        namespace: 'default',
        name: 'web-hpa',
        target: WEB,
        minReplicas: 1,
        maxReplicas: 10,
        heldFrom: null,
      },
    };
  });
}

describe('pre-warm on proposal', () => {
  it('scales the standby up to the serving count while the proposal waits, and shows the Ready count live', async () => {
    const h = await harness();
    await workerRole(h);
    const run = await propose(h);
    const warm = await runWhen(h, run.id, 'the target to be warm', (r) => r.prewarm?.readyAt !== undefined);
    expect(warm.state).toBe('proposed');
    expect(warm.prewarm?.cluster).toBe('west');
    expect(warm.prewarm?.workloads['default/web']).toEqual({ from: 1, to: 5, ready: 5 });
    expect((await westWeb(h))?.replicas).toBe(5);
    expect(await westActions(h)).toEqual([SCALE_WEST(5)]);
    const audit = (await h.store.audit()).filter((e) => e.runId === run.id).map((e) => e.action);
    expect(audit).toContain('prewarm-started');
    expect(audit).toContain('prewarm-ready');
    await waitFor('the message to say it is warm', async () =>
      (await proposalText(h, run)).includes('Warm on west:* web 5/5 Ready'),
    );
  });

  it('never scales the target down: a workload above the serving count stays there', async () => {
    const h = await harness();
    await h.world.change((state) => {
      const web = west(state).workloads[WEB];
      if (web) web.replicas = 7;
    });
    await workerRole(h);
    const run = await propose(h);
    const warm = await runWhen(
      h,
      run.id,
      'pre-warm to be recorded',
      (r) => r.prewarm?.scaledAt !== undefined,
    );
    expect(warm.prewarm?.workloads['default/web']).toMatchObject({ from: 7, to: 7 });
    expect((await westWeb(h))?.replicas).toBe(7);
    expect(await westActions(h)).toEqual([]);
    await h.service.reject(run.id, ALICE, 'not now');
    await runWhen(h, run.id, 'the job to look at the reject', (r) => r.state === 'rejected');
    // Nothing was changed, so nothing is given back: still 7.
    await new Promise((r) => setTimeout(r, 300));
    expect((await westWeb(h))?.replicas).toBe(7);
    expect(await westActions(h)).toEqual([]);
  });

  it('a reject scales back exactly what Baton changed and gives back the HPA it held', async () => {
    const h = await harness();
    await addWestHpa(h);
    await workerRole(h);
    const run = await propose(h);
    await runWhen(h, run.id, 'the target to be warm', (r) => r.prewarm?.readyAt !== undefined);
    const held = west(await h.world.state()).autoscalers?.['default/web-hpa'];
    expect(held).toMatchObject({ minReplicas: 5, heldFrom: { minReplicas: 1, maxReplicas: 10 } });

    await h.service.reject(run.id, ALICE, 'false alarm');
    const done = await runWhen(
      h,
      run.id,
      'pre-warm to be given back',
      (r) => r.prewarm?.released !== undefined,
    );
    expect(done.prewarm?.released).toMatchObject({ because: 'rejected', leftAlone: [] });
    expect((await westWeb(h))?.replicas).toBe(1);
    expect(west(await h.world.state()).autoscalers?.['default/web-hpa']).toMatchObject({
      minReplicas: 1,
      maxReplicas: 10,
      heldFrom: null,
    });
    expect(await westActions(h)).toEqual([
      'autoscaler west default/web-hpa 5-10 held',
      SCALE_WEST(5),
      'autoscaler west default/web-hpa 1-10',
      SCALE_WEST(1),
    ]);
    await waitFor('the message to say what was given back', async () =>
      (await proposalText(h, run)).includes('Pre-warm given back on west'),
    );
  });

  it('an expiry scales back too', async () => {
    const h = await harness();
    await workerRole(h);
    const run = await propose(h);
    await runWhen(h, run.id, 'the target to be scaled', (r) => r.prewarm?.scaledAt !== undefined);
    await h.store.mutate(
      run.id,
      (current) => ({ ...current, expiresAt: Date.now() - 1 }),
      () => ({ event: { type: 'alert-resolved' }, actor: ALICE }),
    );
    expect((await h.service.expire(run.id))?.state).toBe('expired');
    const done = await runWhen(
      h,
      run.id,
      'pre-warm to be given back',
      (r) => r.prewarm?.released !== undefined,
    );
    expect(done.prewarm?.released?.because).toBe('expired');
    expect((await westWeb(h))?.replicas).toBe(1);
  });

  it('a cancelled proposal gives back too: no run will ever take the pods', async () => {
    const h = await harness();
    await workerRole(h);
    const run = await propose(h);
    await runWhen(h, run.id, 'the target to be scaled', (r) => r.prewarm?.scaledAt !== undefined);
    await h.service.cancel(run.id, BOB);
    const done = await runWhen(
      h,
      run.id,
      'pre-warm to be given back',
      (r) => r.prewarm?.released !== undefined,
    );
    expect(done.prewarm?.released?.because).toBe('cancelled');
    expect((await westWeb(h))?.replicas).toBe(1);
  });

  it('leaves alone a count someone else changed since, and says so', async () => {
    const h = await harness();
    await workerRole(h);
    const run = await propose(h);
    await runWhen(h, run.id, 'the target to be scaled', (r) => r.prewarm?.scaledAt !== undefined);
    await h.world.change((state) => {
      const web = west(state).workloads[WEB];
      if (web) web.replicas = 3;
    });
    await h.service.reject(run.id, ALICE);
    const done = await runWhen(
      h,
      run.id,
      'pre-warm to be given back',
      (r) => r.prewarm?.released !== undefined,
    );
    expect(done.prewarm?.released?.restored).toEqual([]);
    expect(done.prewarm?.released?.leftAlone).toEqual([
      'default/web: now 3, not the 5 Baton set — left as it is',
    ]);
    expect((await westWeb(h))?.replicas).toBe(3);
    expect(await westActions(h)).toEqual([SCALE_WEST(5)]);
  });

  it('an approval leaves the pods for the run, whose scale-up-target finds them Ready', async () => {
    const h = await harness();
    await workerRole(h);
    const run = await propose(h);
    await runWhen(h, run.id, 'the target to be warm', (r) => r.prewarm?.readyAt !== undefined);
    await h.service.approve(run.id, ALICE);
    const done = await waitForState(h.store, run.id, ['succeeded'], 30_000);
    expect(done.steps['scale-up-target']?.output).toEqual({ alreadyDone: true });
    expect(done.prewarm?.released).toBeUndefined();
    expect((await westWeb(h))?.replicas).toBe(5);
    expect((await westActions(h)).filter((a) => a.startsWith('scale west'))).toEqual([SCALE_WEST(5)]);
  });

  it('an Abort after approval gives back what pre-warm found, HPA included (the run took its record)', async () => {
    const h = await harness();
    await addWestHpa(h);
    await workerRole(h);
    const run = await propose(h);
    await runWhen(h, run.id, 'the target to be warm', (r) => r.prewarm?.readyAt !== undefined);
    h.world.fail('database.fence', 1000);
    await h.service.approve(run.id, ALICE);
    await waitForState(h.store, run.id, ['paused'], 30_000);
    await h.service.abort(run.id, ALICE);
    const aborted = await waitForState(h.store, run.id, ['aborted'], 30_000);
    h.world.heal();
    expect(aborted.steps['scale-up-target']?.status).toBe('undone');
    expect((await westWeb(h))?.replicas).toBe(1);
    expect(west(await h.world.state()).autoscalers?.['default/web-hpa']).toMatchObject({
      minReplicas: 1,
      maxReplicas: 10,
      heldFrom: null,
    });
  });

  it('a target whose API fails does not block the proposal: the failure is a line in it', async () => {
    const h = await harness();
    h.world.fail('cluster.scaleWorkload:west', 1000);
    await workerRole(h);
    const run = await propose(h);
    const failed = await runWhen(h, run.id, 'pre-warm to fail', (r) => r.prewarm?.failed !== undefined);
    expect(failed.state).toBe('proposed');
    await waitFor('the message to say it is not warming', async () =>
      (await proposalText(h, run)).includes('Not warming west:'),
    );
    const approved = await h.service.approve(run.id, ALICE);
    expect(approved.complete).toBe(true);
    h.world.heal();
  });

  it('does not touch a target that preflight found unreachable', async () => {
    const h = await harness();
    await h.world.change((state) => {
      west(state).reachable = false;
    });
    await workerRole(h);
    const run = await propose(h);
    const skipped = await runWhen(h, run.id, 'pre-warm to give up', (r) => r.prewarm?.failed !== undefined);
    expect(skipped.prewarm?.failed).toBe("west's Kubernetes API did not answer preflight");
    expect(skipped.prewarm?.progress).toEqual({});
    expect(await westActions(h)).toEqual([]);
  });

  it('two workers and duplicated jobs warm once and give back once', async () => {
    const h = await harness();
    await addWestHpa(h);
    const one = await workerRole(h, 'w1');
    await workerRole(h, 'w2');
    const run = await propose(h);
    await runWhen(h, run.id, 'the target to be warm', (r) => r.prewarm?.readyAt !== undefined);
    await h.service.reject(run.id, ALICE);
    await runWhen(h, run.id, 'pre-warm to be given back', (r) => r.prewarm?.released !== undefined);
    // The same job, run again by two workers at once (a stalled job and its re-run), and once more afterwards.
    const options = {
      connection: h.redis,
      storePrefix: h.storePrefix,
      store: one.store,
      topology: h.topology,
      ports: h.world.ports,
      clock: systemClock,
      log,
      pollMs: 20,
    };
    const again = await Promise.allSettled([followPrewarm(options, run.id), followPrewarm(options, run.id)]);
    expect(again.some((r) => r.status === 'fulfilled' && r.value === 'given-back')).toBe(true);
    await followPrewarm(options, run.id);
    expect(await westActions(h)).toEqual([
      'autoscaler west default/web-hpa 5-10 held',
      SCALE_WEST(5),
      'autoscaler west default/web-hpa 1-10',
      SCALE_WEST(1),
    ]);
    const released = (await h.store.audit()).filter(
      (e) => e.runId === run.id && e.action === 'prewarm-released',
    );
    expect(released).toHaveLength(1);
  });

  it('two workers racing the give-back of a rejected proposal scale back once', async () => {
    const h = await harness();
    const role = await workerRole(h);
    const run = await propose(h);
    await runWhen(h, run.id, 'the target to be warm', (r) => r.prewarm?.readyAt !== undefined);
    // Stop the deployment's workers, so only the two racers below act on the reject.
    await role.close();
    await h.service.reject(run.id, ALICE);
    const options = {
      connection: h.redis,
      storePrefix: h.storePrefix,
      store: h.store,
      topology: h.topology,
      ports: h.world.ports,
      clock: systemClock,
      log,
    };
    const results = await Promise.allSettled([
      followPrewarm(options, run.id),
      followPrewarm(options, run.id),
    ]);
    const busy = results.filter((r) => r.status === 'rejected');
    // One gave back; the other found the lock taken (its job retries later and then finds nothing to do).
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2 - busy.length);
    await followPrewarm(options, run.id);
    expect(await westActions(h)).toEqual([SCALE_WEST(5), SCALE_WEST(1)]);
    expect((await westWeb(h))?.replicas).toBe(1);
  });
});
