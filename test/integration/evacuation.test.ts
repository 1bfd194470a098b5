/**
 * Cluster evacuation end to end (DESIGN §2, `/failover --cluster east`): several sites in the simulated world, Bolt,
 * the notify queue, the Slack stand-in and a real Redis. One message proposes every site east serves, one approval
 * starts one run per site, and the message's table follows the runs to their end.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Topology } from '../../src/config/topology.js';
import { systemClock } from '../../src/core/clock.js';
import { alertmanagerRoute } from '../../src/alerts/alertmanager-route.js';
import { IncidentStore } from '../../src/store/incidents/incident-store.js';
import { ACTION_IDS } from '../../src/slack/action-ids.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startRedis } from '../../lab/processes/processes.js';
import type { SeveralSites } from '../../lab/simulated-world/several-sites.js';
import {
  EAST_SITES,
  buttons,
  clickEvacuation as click,
  evacuationMessage,
  evacuationRecord as evacuation,
  measured,
  proposeEvacuation as propose,
  runsOf,
  startEvacuationHarness,
  tableOf,
} from '../support/evacuation-harness.js';
import { waitFor } from '../support/integration.js';
import type { SlackHarness } from '../support/slack-harness.js';
import { CHANNEL, USERS } from '../support/slack-harness.js';

const TOKEN = 'test-alertmanager-token-evacuation-0001';

let redis: RedisProcess;
let harness: SlackHarness | null = null;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});
afterEach(async () => {
  await harness?.close();
  harness = null;
});

/** The evacuation harness, with the Alertmanager webhook. */
async function start(
  prepare?: (world: SeveralSites) => Promise<void>,
  approvals: Partial<Topology['approvals']> = {},
) {
  const started = await startEvacuationHarness(redis.url, {
    ...(prepare && { prepare }),
    approvals,
    routes: (parts, context) => [
      alertmanagerRoute(parts, {
        token: TOKEN,
        topology: context.topology,
        incidents: new IncidentStore(context.connection, context.prefixes.store),
        clock: systemClock,
        log: context.log,
      }),
    ],
  });
  harness = started.h;
  return started;
}

/** DESIGN §3's ClusterDown alert for east, as Alertmanager posts it. */
const ALERT = {
  receiver: 'baton',
  status: 'firing',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'ClusterDown', cluster: 'east', severity: 'critical' },
      annotations: { summary: 'east API server unreachable' },
      startsAt: '2026-11-21T05:33:20.850214685Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.example:9090/graph',
      fingerprint: 'c1a5d0e2f3b4a697',
    },
  ],
  groupLabels: { alertname: 'ClusterDown' },
  commonLabels: { alertname: 'ClusterDown', cluster: 'east' },
  commonAnnotations: { summary: 'east API server unreachable' },
  externalURL: 'http://alertmanager.example:9093',
  version: '4',
  groupKey: '{}:{alertname="ClusterDown"}',
  truncatedAlerts: 0,
};

async function postAlert(h: SlackHarness): Promise<void> {
  const res = await fetch(`${h.webUrl}/alertmanager`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(ALERT),
  });
  expect(res.status).toBe(200);
}

describe('cluster evacuation', () => {
  it('/failover --cluster east proposes one message for every site east serves; Approve all runs them all', async () => {
    const { h, world } = await start();
    const answer = await propose(h, '--cluster east east is down');
    expect(answer).toContain('Proposed evacuation e1 of east (3 sites)');
    const proposed = await evacuation(h, 'e1');
    expect(proposed.sites.map((s) => s.site)).toEqual(EAST_SITES);
    expect(proposed.sites.every((s) => s.from === 'east' && s.to === 'west')).toBe(true);

    // Asking again names the open evacuation instead of proposing a second one.
    expect(await propose(h, '--cluster east again')).toContain(
      'Evacuation e1 of east (3 sites) is already open',
    );

    await measured(h, 'e1');
    const message = await waitFor('the preflight verdicts in the message', async () => {
      const m = await evacuationMessage(h, 'e1');
      const table = tableOf(m);
      return !table.includes('preflight…') && !table.includes('sites measured') ? m : undefined;
    });
    expect(tableOf(message)).not.toContain('not ready');
    expect(tableOf(message)).toContain('Approve ready sites (3)');
    expect(buttons(message).map((b) => b.action_id)).toEqual(
      expect.arrayContaining([
        ACTION_IDS.evacuationApproveAll,
        ACTION_IDS.evacuationApproveReady,
        ACTION_IDS.evacuationReject,
        `${ACTION_IDS.evacuationSite}-0`,
      ]),
    );
    expect(h.slack.messages(CHANNEL).filter((m) => m.text.includes('Evacuation e1'))).toHaveLength(1);

    // A site opens its detail as a modal.
    await click(h, USERS.alice, ACTION_IDS.evacuationSite, 'e1', 'shop');
    await waitFor('the site modal', async () =>
      h.slack.views().some((v) => JSON.stringify(v).includes('Site shop')) ? true : undefined,
    );

    await click(h, USERS.alice, ACTION_IDS.evacuationApproveAll, 'e1');
    const runs = await runsOf(h, 'e1', EAST_SITES, 'succeeded');
    expect(new Set(runs.map((r) => r.id)).size).toBe(3);
    for (const run of runs) {
      expect(run.evacuation).toBe('e1');
      expect(run.requestedBy.id).toBe(USERS.dave);
      expect(run.approvals.map((a) => a.actor.id)).toEqual([USERS.alice]);
      expect(run.to).toBe('west');
    }
    for (const site of EAST_SITES) {
      expect((await world.world(site).state()).dns.serving).toBe('west');
      // One external switch per site, not two.
      expect((await world.world(site).state()).actions.filter((a) => a === 'dns west')).toHaveLength(1);
    }
    expect((await world.world('api').state()).actions).toEqual([]);

    // The live table reaches its final state, in the same one message.
    const final = await waitFor('the final table', async () => {
      const m = await evacuationMessage(h, 'e1');
      return (tableOf(m).match(/succeeded/g) ?? []).length >= 3 ? m : undefined;
    });
    expect(final.edits.length).toBeGreaterThan(1);
    expect(buttons(final).map((b) => b.action_id)).not.toContain(ACTION_IDS.evacuationApproveAll);
    expect(tableOf(final)).toContain('verify');

    // /failback --cluster east brings every site home, with one approval.
    for (const site of EAST_SITES) await world.world(site).rebuildAsStandby('east');
    expect(await propose(h, '--cluster east all clear', '/failback')).toContain(
      'Proposed evacuation e2 of east',
    );
    const back = await measured(h, 'e2');
    expect(back.kind).toBe('failback');
    expect(back.sites.map((s) => [s.site, s.from, s.to, s.mode])).toEqual(
      EAST_SITES.map((s) => [s, 'west', 'east', 'planned']),
    );
    await click(h, USERS.bob, ACTION_IDS.evacuationApproveAll, 'e2');
    const home = await runsOf(h, 'e2', EAST_SITES, 'succeeded');
    expect(home.every((r) => r.kind === 'failback' && r.to === 'east')).toBe(true);
    for (const site of EAST_SITES) expect((await world.world(site).state()).dns.serving).toBe('east');
  });

  it('Approve ready sites leaves out a site whose preflight failed', async () => {
    const { h } = await start(async (world) => {
      await world.world('blog').change((state) => {
        const west = state.clusters.west;
        if (west) west.readyNodes = 0;
      });
    });
    await propose(h, '--cluster east');
    const measuredOnce = await measured(h, 'e1');
    const blog = measuredOnce.sites.find((s) => s.site === 'blog');
    expect(blog?.preflight?.checks.some((c) => c.status === 'failed')).toBe(true);
    await waitFor('blog not ready in the message', async () =>
      tableOf(await evacuationMessage(h, 'e1')).includes('not ready') ? true : undefined,
    );
    await click(h, USERS.alice, ACTION_IDS.evacuationApproveReady, 'e1');
    await runsOf(h, 'e1', ['production', 'shop'], 'succeeded');
    const decided = await evacuation(h, 'e1');
    expect(decided.choice).toBe('ready');
    expect(decided.sites.find((s) => s.site === 'blog')).toMatchObject({
      notStarted: expect.stringContaining('preflight failed'),
    });
    expect(decided.sites.find((s) => s.site === 'blog')?.runId).toBeUndefined();
    expect(await h.web.store.openRun('blog')).toBeNull();
  });

  it('refuses an unauthorized clicker and self-approval with why; Reject starts nothing', async () => {
    const { h } = await start();
    const response = await h.command(USERS.alice, '/failover', '--cluster east');
    expect(response.status).toBe(200);
    await evacuation(h, 'e1');

    const stranger = await click(h, USERS.mallory, ACTION_IDS.evacuationApproveAll, 'e1');
    const refusal = await waitFor('the refusal', async () => h.answers(stranger)[0]);
    expect(refusal).toContain('Only approvers can approve evacuation e1');
    const self = await click(h, USERS.alice, ACTION_IDS.evacuationApproveAll, 'e1');
    expect(await waitFor('the self-approval refusal', async () => h.answers(self)[0])).toMatch(
      /another approver/,
    );
    expect((await evacuation(h, 'e1')).state).toBe('proposed');

    await click(h, USERS.bob, ACTION_IDS.evacuationReject, 'e1');
    const rejected = await waitFor('rejected', async () => {
      const e = await h.web.evacuations.get('e1');
      return e?.state === 'rejected' ? e : undefined;
    });
    expect(rejected.decidedBy?.id).toBe(USERS.bob);
    for (const site of EAST_SITES) expect(await h.web.store.openRun(site)).toBeNull();
    await waitFor('the rejected message without buttons', async () => {
      const m = await evacuationMessage(h, 'e1');
      return tableOf(m).includes('Rejected') &&
        !buttons(m).some((b) => b.action_id === ACTION_IDS.evacuationApproveAll)
        ? true
        : undefined;
    });
    // The cluster is free again: a new request is a new evacuation.
    expect(await propose(h, '--cluster east')).toContain('Proposed evacuation e2');
  });

  it('a site with an open run is listed as such and not started twice', async () => {
    const { h } = await start();
    await h.command(USERS.dave, '/failover', 'shop shop first');
    const single = await waitFor(
      'the single proposal',
      async () => (await h.web.store.openRun('shop')) ?? undefined,
    );
    await propose(h, '--cluster east');
    const proposed = await measured(h, 'e1');
    expect(proposed.sites.find((s) => s.site === 'shop')?.openRun).toBe(single.id);
    await waitFor('shop listed with its open run', async () =>
      tableOf(await evacuationMessage(h, 'e1')).includes(`open run ${single.id}`) ? true : undefined,
    );
    await click(h, USERS.alice, ACTION_IDS.evacuationApproveAll, 'e1');
    await runsOf(h, 'e1', ['production', 'blog'], 'succeeded');
    const decided = await evacuation(h, 'e1');
    expect(decided.sites.find((s) => s.site === 'shop')?.runId).toBeUndefined();
    expect((await h.web.store.require(single.id)).state).toBe('proposed');
    expect(await h.web.store.history('shop', 10)).toHaveLength(1);
  });

  it('an alert rule proposes one evacuation, however often and for however many sites it arrives', async () => {
    const { h } = await start();
    // Both Alertmanager replicas, and a repeat: the same firing three times, matched by four sites' rules each.
    for (let i = 0; i < 3; i += 1) await postAlert(h);
    const proposed = await evacuation(h, 'e1');
    expect(proposed.requestedBy).toMatchObject({ type: 'alert', id: 'ClusterDown' });
    expect(proposed.trigger?.alertname).toBe('ClusterDown');
    expect(proposed.sites.map((s) => s.site)).toEqual(EAST_SITES);
    expect(await h.web.evacuations.get('e2')).toBeNull();
    for (const site of [...EAST_SITES, 'api']) expect(await h.web.store.openRun(site)).toBeNull();
    await evacuationMessage(h, 'e1');
    expect(h.slack.messages(CHANNEL).filter((m) => m.text.includes('Evacuation'))).toHaveLength(1);

    await click(h, USERS.carol, ACTION_IDS.evacuationApproveAll, 'e1');
    const runs = await runsOf(h, 'e1', EAST_SITES, 'succeeded');
    expect(runs.every((r) => r.trigger?.alertname === 'ClusterDown')).toBe(true);
  });

  it('a firing that was rejected does not propose again when Alertmanager repeats it', async () => {
    const { h } = await start();
    await postAlert(h);
    await evacuation(h, 'e1');
    await click(h, USERS.bob, ACTION_IDS.evacuationReject, 'e1');
    await waitFor('rejected', async () =>
      (await h.web.evacuations.get('e1'))?.state === 'rejected' ? true : undefined,
    );
    await postAlert(h);
    await postAlert(h);
    expect(await h.web.evacuations.get('e2')).toBeNull();
    // A person may still ask for it.
    expect(await propose(h, '--cluster east')).toContain('Proposed evacuation e2');
  });

  it('an undecided evacuation expires on its own, says so, and frees the cluster', async () => {
    const { h } = await start(undefined, { expiresAfterMs: 1500 });
    await propose(h, '--cluster east');
    const expired = await waitFor('expired', async () => {
      const e = await h.web.evacuations.get('e1');
      return e?.state === 'expired' ? e : undefined;
    });
    expect(expired.sites.every((s) => !s.runId)).toBe(true);
    await waitFor('the expired message without buttons', async () => {
      const m = await evacuationMessage(h, 'e1');
      return tableOf(m).includes('Expired') &&
        !buttons(m).some((b) => b.action_id === ACTION_IDS.evacuationApproveAll)
        ? true
        : undefined;
    });
    expect(await propose(h, '--cluster east')).toContain('Proposed evacuation e2');
  });
});
