/**
 * Pre-warm of an evacuation (DESIGN §6): every site of a proposed `/failover --cluster east` warms its standby side
 * as a single proposal would, the evacuation's table shows each site's Ready count, a reject gives every site back,
 * an approval hands each site's record to its run (scale-up-target finds the pods Ready; an Abort restores what
 * pre-warm found), "Approve ready sites" gives back the sites it leaves out, and two followers of one site act once.
 * Real Redis, the web and worker roles, the Slack stand-in and several sites' simulated worlds.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { Topology } from '../../src/config/topology.js';
import { systemClock } from '../../src/core/clock.js';
import type { Run } from '../../src/core/model.js';
import { createLogger } from '../../src/logger.js';
import { followEvacuationPrewarm } from '../../src/queue/prewarm/prewarm-worker.js';
import { startWorkerRole } from '../../src/roles/worker-role.js';
import { evacuationMessageKey } from '../../src/slack/publish-evacuation.js';
import { RunStore } from '../../src/store/run-store.js';
import type { SeveralSites } from '../../lab/simulated-world/several-sites.js';
import { severalSitesInMemory } from '../../lab/simulated-world/several-sites.js';
import type { SlackMessage } from '../../lab/slack/slack-api-server.js';
import { ALICE, BOB, exampleTopology, waitFor, waitForState } from '../support/integration.js';
import { siteNamed } from '../support/several-sites.js';
import type { SlackHarness } from '../support/slack-harness.js';
import { CHANNEL, startSlackHarness } from '../support/slack-harness.js';
import { redisPerFile } from '../support/redis-per-file.js';

const EAST_SITES = ['production', 'shop', 'blog'];
const WEB = 'default/Deployment/web';
const log = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

const { redis, cleanups } = redisPerFile();

/** Three sites served by east and one (api) by west; `change` edits the topology (e.g. `prewarm: false`). */
async function start(
  options: {
    prepare?: (world: SeveralSites) => Promise<void>;
    change?: (topology: Topology) => Topology;
    worker?: boolean;
  } = {},
) {
  const example = await exampleTopology();
  const [base] = example.sites;
  if (!base) throw new Error('no site');
  const sites = [...EAST_SITES.map((name) => siteNamed(base, name, 'east')), siteNamed(base, 'api', 'west')];
  const topology = (options.change ?? ((t) => t))({ ...example, sites });
  const world = severalSitesInMemory(topology.sites, systemClock);
  await options.prepare?.(world);
  const h = await startSlackHarness(redis.url, {
    topology: () => topology,
    ports: world.ports,
    ...(options.worker === false && { worker: false }),
  });
  cleanups.push(() => h.close());
  return { h, world, topology };
}

const propose = async (h: SlackHarness): Promise<string> =>
  (await h.web.evacuations.propose({ kind: 'failover', cluster: 'east', reason: 'east is down', actor: BOB }))
    .evacuation.id;

/** The site's web workload on west, as its world has it now. */
const westWeb = async (world: SeveralSites, site: string) =>
  (await world.world(site).state()).clusters.west?.workloads[WEB];
const westScales = async (world: SeveralSites, site: string) =>
  (await world.world(site).state()).actions.filter(
    (a) => a.startsWith('scale west') || a.startsWith('autoscaler west'),
  );

/** Waits until every one of `sites` has west's web scaled to `replicas`. */
const westAt = (world: SeveralSites, sites: string[], replicas: number, what: string) =>
  waitFor(
    what,
    async () => {
      const webs = await Promise.all(sites.map((site) => westWeb(world, site)));
      return webs.every((w) => w?.replicas === replicas) ? true : undefined;
    },
    30_000,
  );

/** The evacuation's one message as Slack has it now. */
async function evacuationMessage(h: SlackHarness, id: string): Promise<SlackMessage | undefined> {
  const state = await h.web.notifier.statusMessage(evacuationMessageKey(id));
  return state?.ts ? h.slack.message(CHANNEL, state.ts) : undefined;
}

/** The table row of `site` in the message. */
const rowOf = (message: SlackMessage | undefined, site: string): string =>
  ((message?.blocks ?? []) as { text?: { text?: string } }[])
    .flatMap((b) => (b.text?.text ?? '').split('\n'))
    .find((line) => line.startsWith(`${site} `)) ?? '';

/** Waits until every site's row of the evacuation's message says `text`. */
const tableSays = (h: SlackHarness, id: string, sites: string[], text: string) =>
  waitFor(
    `the table to say "${text}" for ${sites.join(', ')}`,
    async () => {
      const message = await evacuationMessage(h, id);
      return sites.every((site) => rowOf(message, site).includes(text)) ? message : undefined;
    },
    30_000,
  );

/** The runs the evacuation started for `sites`, once each has one. */
const runsOf = (h: SlackHarness, id: string, sites: string[]): Promise<Run[]> =>
  waitFor(
    `runs of ${sites.join(', ')}`,
    async () => {
      const e = await h.web.evacuations.get(id);
      const ids = sites.map((site) => e?.sites.find((s) => s.site === site)?.runId);
      if (!ids.every((x) => x)) return undefined;
      return Promise.all(ids.map((runId) => h.web.store.require(runId ?? '')));
    },
    30_000,
  );

describe('pre-warm of an evacuation', () => {
  it('warms every site while proposed, shows it in the table, and a reject gives every site back', async () => {
    const { h, world } = await start();
    const id = await propose(h);
    await westAt(world, EAST_SITES, 5, 'every site warm on west');
    await tableSays(h, id, EAST_SITES, 'warm web 5/5 Ready');
    // The evacuation itself is unchanged by pre-warm: still proposed, nothing started.
    expect((await h.web.evacuations.get(id))?.state).toBe('proposed');
    for (const site of EAST_SITES) expect(await h.web.store.openRun(site)).toBeNull();
    expect(await westScales(world, 'api')).toEqual([]);

    await h.web.evacuations.reject(id, ALICE);
    await westAt(world, EAST_SITES, 1, 'every site given back on west');
    for (const site of EAST_SITES) {
      expect(await westScales(world, site)).toEqual([`scale west ${WEB} 5`, `scale west ${WEB} 1`]);
    }
    await tableSays(h, id, EAST_SITES, 'pre-warm given back');
  });

  it('an approval starts each run with its site’s pre-warm; an Abort restores what pre-warm found', async () => {
    const { h, world } = await start({
      // blog's standby runs 2 (not its standbyReplicas, 1) under an HPA: an Abort must bring back exactly that.
      prepare: async (w) => {
        await w.world('blog').change((state) => {
          const west = state.clusters.west;
          const web = west?.workloads[WEB];
          if (!west || !web) throw new Error('no west web');
          web.replicas = 2;
          web.readyReplicas = 2;
          west.autoscalers = {
            'default/web-hpa': {
              namespace: 'default',
              name: 'web-hpa',
              target: WEB,
              minReplicas: 2,
              maxReplicas: 10,
              heldFrom: null,
            },
          };
        });
      },
    });
    const id = await propose(h);
    await westAt(world, EAST_SITES, 5, 'every site warm on west');
    await tableSays(h, id, EAST_SITES, 'warm web 5/5 Ready');
    // blog's fence fails until healed: its run pauses, and is aborted.
    world.world('blog').fail('database.fence', 1000);
    await h.web.evacuations.approve(id, ALICE, 'all');
    const runs = await runsOf(h, id, EAST_SITES);
    for (const run of runs) {
      // Created approved with the site's pre-warm handed over: the step starts from its checkpoint.
      expect(run.prewarm?.cluster, run.site).toBe('west');
      expect(run.steps['scale-up-target']?.progress, run.site).toMatchObject({
        before: { [WEB]: run.site === 'blog' ? 2 : 1 },
      });
    }
    for (const site of ['production', 'shop']) {
      const runId = runs.find((r) => r.site === site)?.id ?? '';
      const done = await waitForState(h.web.store, runId, ['succeeded'], 30_000);
      expect(done.steps['scale-up-target']?.output, site).toEqual({ alreadyDone: true });
      expect(await westScales(world, site)).toEqual([`scale west ${WEB} 5`]);
    }
    const blog = runs.find((r) => r.site === 'blog')?.id ?? '';
    await waitForState(h.web.store, blog, ['paused'], 30_000);
    await h.web.service.abort(blog, ALICE);
    const aborted = await waitForState(h.web.store, blog, ['aborted'], 30_000);
    world.world('blog').heal();
    expect(aborted.steps['scale-up-target']?.status).toBe('undone');
    // What pre-warm found, not the standby count: 2, and the HPA's own range, no longer held.
    expect((await westWeb(world, 'blog'))?.replicas).toBe(2);
    expect((await world.world('blog').state()).clusters.west?.autoscalers?.['default/web-hpa']).toMatchObject(
      {
        minReplicas: 2,
        maxReplicas: 10,
        heldFrom: null,
      },
    );
  });

  it('"Approve ready sites" gives back the pre-warm of the site it leaves out', async () => {
    const { h, world } = await start({
      prepare: async (w) => {
        await w.world('blog').change((state) => {
          const west = state.clusters.west;
          if (west) west.readyNodes = 0;
        });
      },
    });
    const id = await propose(h);
    await westAt(world, EAST_SITES, 5, 'every site scaled on west');
    await waitFor('blog measured not ready', async () => {
      const e = await h.web.evacuations.get(id);
      return e?.sites.every((s) => s.preflight) ? true : undefined;
    });
    await h.web.evacuations.approve(id, ALICE, 'ready');
    const decided = await h.web.evacuations.get(id);
    expect(decided?.sites.find((s) => s.site === 'blog')?.notStarted).toContain('preflight failed');
    await waitFor('blog given back', async () =>
      (await westWeb(world, 'blog'))?.replicas === 1 ? true : undefined,
    );
    expect(await westScales(world, 'blog')).toEqual([`scale west ${WEB} 5`, `scale west ${WEB} 1`]);
    await tableSays(h, id, ['blog'], 'pre-warm given back');
    const runs = await runsOf(h, id, ['production', 'shop']);
    for (const run of runs) {
      expect(run.steps['scale-up-target']?.progress).toMatchObject({ before: { [WEB]: 1 } });
      await waitForState(h.web.store, run.id, ['succeeded'], 30_000);
      expect((await westWeb(world, run.site))?.replicas).toBe(5);
    }
  });

  it('honours a site’s prewarm: false, and a failing target is a cell in the table, not a block', async () => {
    const { h, world } = await start({
      change: (t) => ({
        ...t,
        sites: t.sites.map((s) => (s.name === 'blog' ? { ...s, prewarm: false } : s)),
      }),
      prepare: async (w) => {
        w.world('shop').fail('cluster.scaleWorkload:west', 1000);
      },
    });
    const id = await propose(h);
    await westAt(world, ['production'], 5, 'production warm on west');
    await tableSays(h, id, ['production'], 'warm web 5/5 Ready');
    await tableSays(h, id, ['shop'], 'not warming');
    const message = await evacuationMessage(h, id);
    expect(rowOf(message, 'blog')).toContain('ready');
    expect(rowOf(message, 'blog')).not.toContain('warm');
    expect(await westScales(world, 'blog')).toEqual([]);
    world.world('shop').heal();

    // The failure changed nothing about the evacuation: approving starts every site.
    await h.web.evacuations.approve(id, ALICE, 'all');
    const runs = await runsOf(h, id, EAST_SITES);
    for (const run of runs) await waitForState(h.web.store, run.id, ['succeeded'], 30_000);
    expect((await westWeb(world, 'blog'))?.replicas).toBe(5);
  });

  it('two followers of one site at once (a stalled job run again) scale up once and give back once', async () => {
    const { h, world, topology } = await start({ worker: false });
    // The deployment's worker, stopped before the reject so that only the racers below act on it.
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const role = await startWorkerRole({
      topology,
      connection,
      prefixes: h.prefixes,
      ports: world.ports,
      slack: null,
      clock: systemClock,
      log,
      name: 'w1',
      settings: { pollIntervalMs: 50, dnsPollIntervalMs: 50 },
    });
    cleanups.push(async () => {
      await role.close();
      connection.disconnect();
    });
    const id = await propose(h);
    await westAt(world, EAST_SITES, 5, 'every site warm on west');
    await role.close();

    const options = {
      connection: h.redis,
      storePrefix: h.prefixes.store,
      store: new RunStore(h.redis, h.prefixes.store),
      topology,
      ports: world.ports,
      clock: systemClock,
      log,
      pollMs: 20,
    };
    // Rejected with no worker running: the same job twice at once (a stalled job and its re-run).
    await h.web.evacuations.reject(id, ALICE);
    const results = await Promise.allSettled([
      followEvacuationPrewarm(options, id, 'shop'),
      followEvacuationPrewarm(options, id, 'shop'),
    ]);
    expect(results.some((r) => r.status === 'fulfilled' && r.value === 'given-back')).toBe(true);
    // The one that found the lock taken retries later, and then finds nothing left to do.
    expect(await followEvacuationPrewarm(options, id, 'shop')).toBe('given-back');
    expect(await westScales(world, 'shop')).toEqual([`scale west ${WEB} 5`, `scale west ${WEB} 1`]);
    const released = (await options.store.audit()).filter(
      (e) => e.site === 'shop' && e.action === 'prewarm-released',
    );
    expect(released).toHaveLength(1);
  });
});
