/**
 * An approved evacuation whose approving process died before it had started every site's run (issue 16: trust under
 * faults). Nobody has to click again: the periodic `evacuation-starts` pass starts what is missing once the approval
 * is older than START_GRACE_MS, records a run the evacuation had already started as its own, and two passes at once
 * still start one run per site. Real Redis, the real run and evacuation services.
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Topology } from '../../src/config/topology.js';
import { keyPrefixes } from '../../src/config/load-config.js';
import { approveEvacuation } from '../../src/core/evacuation/decide-evacuation.js';
import type { Actor } from '../../src/core/model.js';
import { createLogger } from '../../src/logger.js';
import type { EvacuationJobData } from '../../src/queue/evacuation-jobs.js';
import { EVACUATIONS_QUEUE } from '../../src/queue/evacuation-jobs.js';
import { EvacuationService, START_GRACE_MS } from '../../src/runs/evacuation-service.js';
import { EvacuationStore } from '../../src/store/evacuation-store.js';
import { SitePrewarmStore } from '../../src/store/site-prewarm-store.js';
import { RunStore } from '../../src/store/run-store.js';
import { startRedis } from '../../lab/processes/processes.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { FakeClock } from '../support/fake-clock.js';
import { createRunService, exampleTopology } from '../support/integration.js';
import { siteNamed } from '../support/several-sites.js';

const DAVE: Actor = { type: 'slack-user', id: 'U0DAVE', name: 'dave' };
const ALICE: Actor = { type: 'slack-user', id: 'U0ALICE', name: 'alice' };
const SITES = ['shop', 'blog', 'docs'];

let redis: RedisProcess;
let connection: Redis;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  redis = await startRedis();
  connection = new Redis(redis.url, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  for (const close of closers.splice(0)) await close();
  connection?.disconnect();
  await redis?.stop();
});

interface Hooks {
  /** Before the evacuation is proposed. */
  beforePropose?: (parts: { runs: Runs; runStore: RunStore; clock: FakeClock }) => Promise<void>;
  /** After it is proposed, before it is approved. */
  beforeApprove?: (parts: { runs: Runs; runStore: RunStore; clock: FakeClock }) => Promise<void>;
}
type Runs = ReturnType<typeof createRunService>['service'];

async function setUp(hooks: Hooks = {}) {
  const example = await exampleTopology();
  const [base] = example.sites;
  if (!base) throw new Error('no site');
  const topology: Topology = { ...example, sites: SITES.map((name) => siteNamed(base, name, 'east')) };
  const prefixes = keyPrefixes({ keyPrefix: `evs${randomUUID().slice(0, 6)}` });
  const clock = new FakeClock(Date.parse('2026-12-03T20:00:00Z'));
  const runStore = new RunStore(connection, prefixes.store);
  const runs = createRunService({
    redis: connection,
    store: runStore,
    bullPrefix: prefixes.bull,
    topology,
    clock,
  });
  const queue = new Queue<EvacuationJobData>(EVACUATIONS_QUEUE, { connection, prefix: prefixes.bull });
  closers.push(
    () => runs.close(),
    () => queue.close(),
  );
  const store = new EvacuationStore(connection, prefixes.store);
  const service = new EvacuationService({
    store,
    prewarms: new SitePrewarmStore(connection, prefixes.store),
    runs: runs.service,
    queue,
    publish: async () => undefined,
    topology,
    clock,
    log: createLogger({ level: 'silent' }),
  });
  await hooks.beforePropose?.({ runs: runs.service, runStore, clock });
  const { evacuation } = await service.propose({
    kind: 'failover',
    cluster: 'east',
    reason: 'east is down',
    actor: DAVE,
  });
  await hooks.beforeApprove?.({ runs: runs.service, runStore, clock });
  // The approving process saves the approval, then dies before it starts any site's run.
  await store.mutate(evacuation.id, (current) => {
    const decision = approveEvacuation(current, ALICE, {
      config: topology.approvals,
      choice: 'all',
      now: clock.now(),
    });
    if (!decision.ok) throw new Error(decision.reason);
    return { evacuation: decision.evacuation };
  });
  const openRuns = async () =>
    Promise.all(SITES.map(async (site) => (await runStore.openRun(site))?.evacuation ?? null));
  return { service, store, clock, runs: runs.service, runStore, id: evacuation.id, openRuns };
}

/** What the approving process did for shop before it died: started its run, not yet written down. */
async function startShopAsTheEvacuation(store: EvacuationStore, runs: Runs, id: string) {
  const evacuation = await store.require(id);
  const { run } = await runs.startApproved({
    site: 'shop',
    kind: 'failover',
    from: 'east',
    mode: evacuation.sites[0]!.mode,
    reason: `evacuation ${id}: east is down`,
    requestedBy: DAVE,
    approvals: evacuation.approvals.map(({ actor, at, breakGlass }) => ({ actor, at, breakGlass })),
    evacuation: id,
  });
  return run;
}

describe('an evacuation approved by a process that died before starting its sites', () => {
  it('is finished by the periodic pass once the grace has passed, one run per site', async () => {
    const { service, store, clock, id, openRuns, runStore } = await setUp();
    // Within the grace the approving process may still be at it: nothing is started behind its back.
    expect(await service.resumeStarts()).toEqual([]);
    expect(await openRuns()).toEqual([null, null, null]);

    clock.advance(START_GRACE_MS);
    // Two workers' passes at once.
    const [first, second] = await Promise.all([service.resumeStarts(), service.resumeStarts()]);
    expect([...first, ...second]).toContain(id);
    expect(await openRuns()).toEqual([id, id, id]);
    const saved = await store.require(id);
    expect(
      saved.sites.map((s) => [s.site, Boolean(s.runId), s.notStarted ?? null, s.openRun ?? null]),
    ).toEqual(SITES.map((site) => [site, true, null, null]));
    for (const site of SITES) expect(await runStore.history(site)).toHaveLength(1);
    // Finished: the next pass has nothing to do.
    expect(await service.resumeStarts()).toEqual([]);
  });

  it('records a run the evacuation had started before it died as its own, not as another open run', async () => {
    const { service, store, clock, runs, id } = await setUp();
    // It got as far as starting the first site's run, but not as far as writing it down.
    const run = await startShopAsTheEvacuation(store, runs, id);
    clock.advance(START_GRACE_MS);
    await service.resumeStarts();
    const shop = (await store.require(id)).sites.find((s) => s.site === 'shop');
    expect(shop).toMatchObject({ runId: run.id });
    expect(shop?.openRun).toBeUndefined();
    expect(shop?.notStarted).toBeUndefined();
  });

  it('starts a site whose open run at the proposal has ended since', async () => {
    let single = '';
    const { service, store, clock, id, runStore } = await setUp({
      // blog has a proposal of its own when the evacuation is proposed…
      beforePropose: async ({ runs }) => {
        single = (await runs.propose({ site: 'blog', kind: 'failover', reason: 'blog down', actor: DAVE }))
          .run.id;
      },
      // …which is cancelled before the evacuation is approved.
      beforeApprove: async ({ runs }) => void (await runs.cancel(single, DAVE)),
    });
    expect((await store.require(id)).sites.find((s) => s.site === 'blog')?.openRun).toBe(single);
    clock.advance(START_GRACE_MS);
    await service.resumeStarts();
    const blog = (await store.require(id)).sites.find((s) => s.site === 'blog');
    expect(blog?.notStarted).toBeUndefined();
    expect(blog?.runId).toBeDefined();
    expect((await runStore.get(blog!.runId!))?.evacuation).toBe(id);
  });

  it('does not start a site that moved since the proposal, and says why', async () => {
    const { service, store, clock, id, runStore } = await setUp({
      // docs was moved to west by a run of its own after the evacuation was proposed, long enough ago for its
      // cooldown to have passed.
      beforeApprove: async ({ runs, runStore: store, clock: now }) => {
        const { run } = await runs.startApproved({
          site: 'docs',
          kind: 'failover',
          from: 'east',
          mode: 'emergency',
          reason: 'docs alone',
          requestedBy: DAVE,
          approvals: [{ actor: ALICE, at: now.now(), breakGlass: false }],
          evacuation: 'e-other',
        });
        await store.mutate(
          run.id,
          (r) => ({ ...r, state: 'succeeded', updatedAt: now.now() - 3_600_000 }),
          () => ({ event: { type: 'run-succeeded', summary: 'docs on west' }, actor: DAVE }),
        );
      },
    });
    clock.advance(START_GRACE_MS);
    await service.resumeStarts();
    const docs = (await store.require(id)).sites.find((s) => s.site === 'docs');
    expect(docs?.runId).toBeUndefined();
    expect(docs?.notStarted).toMatch(/docs is served by west now, not east/);
    // Nothing was started to move it back onto east.
    expect((await runStore.history('docs')).filter((r) => r.evacuation === id)).toEqual([]);
  });

  it('never starts a site again whose run of this evacuation was aborted before it was written down', async () => {
    const { service, store, clock, runs, id, runStore } = await setUp();
    const run = await startShopAsTheEvacuation(store, runs, id);
    // An operator aborts it before the evacuation has recorded it.
    await runStore.mutate(
      run.id,
      (r) => ({ ...r, state: 'aborted', updatedAt: clock.now() }),
      () => ({ event: { type: 'run-aborted', reason: 'operator' }, actor: ALICE }),
    );
    clock.advance(START_GRACE_MS);
    await service.resumeStarts();
    expect((await store.require(id)).sites.find((s) => s.site === 'shop')).toMatchObject({ runId: run.id });
    expect(await runStore.history('shop')).toHaveLength(1);
  });
});
