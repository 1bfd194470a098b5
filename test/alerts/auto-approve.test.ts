/**
 * Auto-approval against a real Redis, the web and worker roles and the Slack stand-in: a proposal raised through
 * the webhook is approved by the policy only after the quiet period, only while its alert fires, and only when
 * Baton's own probe of the serving cluster (the simulated world's health port) fails too.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { alertmanagerRoute } from '../../src/alerts/alertmanager-route.js';
import type { AutoApproval } from '../../src/alerts/auto-approve.js';
import {
  AUTO_APPROVAL_ACTOR,
  autoApprovalEnabled,
  startAutoApproval,
} from '../../src/alerts/auto-approve.js';
import type { Topology } from '../../src/config/topology.js';
import { systemClock } from '../../src/core/clock.js';
import type { Clock } from '../../src/core/ports.js';
import { createLogger } from '../../src/logger.js';
import type { RedisProcess } from '../../src/sandbox/processes.js';
import { startRedis } from '../../src/sandbox/processes.js';
import { RunStore } from '../../src/store/run-store.js';
import { exampleTopology, waitFor } from '../support/integration.js';
import type { SlackHarness } from '../support/slack-harness.js';
import { CHANNEL, USERS, startSlackHarness } from '../support/slack-harness.js';

const TOKEN = 'auto-approval-test-token';
const QUIET_MS = 5 * 60_000;

let redis: RedisProcess;
const cleanups: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});
afterAll(async () => {
  await redis.stop();
});

const withAutoApproval = (topology: Topology): Topology => ({
  ...topology,
  sites: topology.sites.map((site) => ({
    ...site,
    alerts: site.alerts.map((rule) =>
      rule.action === 'propose-failover' ? { ...rule, autoApprove: { afterMs: QUIET_MS } } : rule,
    ),
  })),
});

interface Setup {
  h: SlackHarness;
  policy: AutoApproval;
  /** Moves the policy's clock forward. */
  advance(ms: number): void;
  alert(status: 'firing' | 'resolved'): Promise<Response>;
  replies(runId: string): Promise<string[]>;
}

async function setup(): Promise<Setup> {
  let offset = 0;
  const clock: Clock = { now: () => Date.now() + offset, sleep: systemClock.sleep };
  let prefixes = { store: '', bull: '' };
  const h = await startSlackHarness(redis.url, {
    topology: withAutoApproval,
    routes: (parts, context) => {
      prefixes = context.prefixes;
      return [
        alertmanagerRoute(parts, {
          token: TOKEN,
          topology: context.topology,
          connection: context.connection,
          prefix: context.prefixes.store,
          clock: systemClock,
          log: context.log,
        }),
      ];
    },
  });
  cleanups.push(() => h.close());
  const world = h.world;
  const worker = h.worker;
  if (!world || !worker) throw new Error('the harness has no world or worker');
  const policy = startAutoApproval({
    connection: h.redis,
    prefixes,
    store: worker.store,
    notifier: worker.notifier,
    publish: async () => undefined,
    health: world.ports.health,
    topology: h.topology,
    clock,
    log: createLogger({ level: 'silent' }),
    everyMs: 3_600_000,
  });
  if (!policy) throw new Error('auto-approval did not start');
  cleanups.push(() => policy.close());
  const started = Date.now();
  return {
    h,
    policy,
    advance: (ms) => {
      offset += ms;
    },
    alert: (status) =>
      fetch(`${h.webUrl}/alertmanager`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          version: '4',
          groupKey: '{}:{alertname="ActiveClusterDown"}',
          status,
          receiver: 'baton',
          truncatedAlerts: 0,
          externalURL: 'http://alertmanager.example:9093',
          groupLabels: {},
          commonLabels: {},
          commonAnnotations: {},
          alerts: [
            {
              status,
              labels: { alertname: 'ActiveClusterDown', cluster: 'east' },
              annotations: { summary: 'east health check fails' },
              startsAt: new Date(started).toISOString(),
              endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z',
              generatorURL: '',
              fingerprint: 'f00d',
            },
          ],
        }),
      }),
    async replies(runId) {
      const message = await h.runMessage(runId);
      return h.slack.replies(CHANNEL, message.ts).map((r) => r.text);
    },
  };
}

const setHealthy = (s: Setup, healthy: boolean) =>
  s.h.world?.change((state) => {
    const east = state.clusters.east;
    if (east) east.healthy = healthy;
  });

describe('auto-approval', () => {
  it('is off unless a rule enables it: then no timer runs at all', async () => {
    const topology = await exampleTopology();
    expect(autoApprovalEnabled(topology)).toBe(false);
    expect(autoApprovalEnabled(withAutoApproval(topology))).toBe(true);
    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    cleanups.push(async () => client.disconnect());
    const started = startAutoApproval({
      connection: client,
      prefixes: { store: 'off:', bull: 'off-bull' },
      store: new RunStore(client, 'off:'),
      notifier: { postReply: async () => true },
      publish: async () => undefined,
      health: { check: async () => ({ ok: false }) },
      topology,
      clock: systemClock,
      log: createLogger({ level: 'silent' }),
    });
    expect(started).toBeNull();
  });

  it('waits for the quiet period, withholds while the serving cluster answers, approves once the witness agrees', async () => {
    const s = await setup();
    expect((await s.alert('firing')).status).toBe(200);
    const run = await waitFor('the proposal', async () => s.h.latestRun(), 10_000);
    await waitFor('the auto-approval notice', async () => (await s.replies(run.id)).length === 1, 10_000);
    expect((await s.replies(run.id))[0]).toMatch(/^Auto-approval is on for run r\d+: it may be approved at/);

    expect(await s.policy.tick()).toEqual([{ runId: run.id, outcome: 'not-due' }]);
    s.advance(QUIET_MS + 1_000);

    // The serving cluster still answers Baton: no approval, said once.
    expect(await s.policy.tick()).toEqual([{ runId: run.id, outcome: 'withheld' }]);
    expect(await s.policy.tick()).toEqual([{ runId: run.id, outcome: 'withheld' }]);
    await waitFor('the withheld reply', async () => (await s.replies(run.id)).length === 2, 10_000);
    expect((await s.replies(run.id))[1]).toBe(
      `Auto-approval withheld for run ${run.id}: east still answers Baton's probe.`,
    );
    expect((await s.h.web.store.require(run.id)).state).toBe('proposed');
    const withheld = (await s.h.web.store.audit()).filter((e) => e.action === 'auto-approval-withheld');
    expect(withheld).toHaveLength(1);
    expect(withheld[0]?.actor).toEqual(AUTO_APPROVAL_ACTOR);

    await setHealthy(s, false);
    expect(await s.policy.tick()).toEqual([{ runId: run.id, outcome: 'approved' }]);
    const approved = await s.h.web.store.require(run.id);
    expect(approved.state).not.toBe('proposed');
    expect(approved.approvals.map((a) => a.actor)).toEqual([AUTO_APPROVAL_ACTOR]);
    const audit = (await s.h.web.store.audit()).find((e) => e.action === 'run-approved');
    expect(audit).toMatchObject({ runId: run.id, actor: AUTO_APPROVAL_ACTOR });
    // Step replies follow in the same thread once the run starts; the policy's own reply is among them.
    await waitFor(
      'the approved reply',
      async () => (await s.replies(run.id)).includes(`Run ${run.id} approved by the auto-approval policy.`),
      10_000,
    );
    // A second worker's pass finds nothing left to do.
    expect(await s.policy.tick()).toEqual([]);
  });

  it('never approves once the alert has resolved, nor a person’s proposal', async () => {
    const s = await setup();
    await setHealthy(s, false);
    await s.alert('firing');
    const run = await waitFor('the proposal', async () => s.h.latestRun(), 10_000);
    await s.alert('resolved');
    s.advance(QUIET_MS + 1_000);
    expect(await s.policy.tick()).toEqual([{ runId: run.id, outcome: 'resolved' }]);
    expect((await s.h.web.store.require(run.id)).state).toBe('proposed');

    await s.h.click(USERS.bob, 'reject', run.id);
    await waitFor(
      'the rejection',
      async () => (await s.h.web.store.require(run.id)).state === 'rejected',
      10_000,
    );
    await s.h.command(USERS.dave, '/failover', 'production east is down');
    const human = await waitFor(
      'the person’s proposal',
      async () => {
        const latest = await s.h.latestRun();
        return latest && latest.id !== run.id ? latest : undefined;
      },
      10_000,
    );
    await s.alert('firing');
    expect(await s.policy.tick()).toEqual([]);
    expect((await s.h.web.store.require(human.id)).state).toBe('proposed');
  });
});
