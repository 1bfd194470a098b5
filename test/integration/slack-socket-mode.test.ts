/**
 * Slack end to end over Socket Mode: Bolt's own Socket Mode client opens a connection through
 * `apps.connections.open` on the Slack stand-in, receives slash commands and clicks as envelopes, acks them over
 * the WebSocket, and the run goes from proposal to success. Redis, Bolt, the notify queue and the stand-in are real.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startRedis } from '../../lab/processes/processes.js';
import { ACTION_IDS } from '../../src/slack/action-ids.js';
import { waitFor, waitForState } from '../support/integration.js';
import type { SlackHarness, SlackHarnessOptions } from '../support/slack-harness.js';
import { CHANNEL, USERS, buttonIds, startSlackHarness } from '../support/slack-harness.js';

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

async function start(options: SlackHarnessOptions = {}): Promise<SlackHarness> {
  harness = await startSlackHarness(redis.url, { ...options, socketMode: true });
  return harness;
}

/** Delivers `/failover <text>` and returns the delivery and the new run. */
async function propose(h: SlackHarness, text: string, user: string = USERS.dave) {
  const before = (await h.latestRun())?.id;
  const delivery = await h.deliverCommand(user, '/failover', text);
  const run = await waitFor('the proposal', async () => {
    const latest = await h.latestRun();
    return latest && latest.id !== before ? latest : undefined;
  });
  return { delivery, run };
}

describe('Slack over Socket Mode', () => {
  it('connects once, serves its own HTTP routes, and answers the server’s pings', async () => {
    const h = await start({ worker: false });
    // start() resolves only after the hello, so the connection is already there.
    expect(h.slack.socketMode.connections()).toBe(1);
    expect(h.slack.calls({ method: 'apps.connections.open' })).toEqual([
      expect.objectContaining({ ok: true, status: 200 }),
    ]);
    const health = await fetch(`${h.webUrl}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
    const ready = await fetch(`${h.webUrl}/readyz`);
    expect(ready.status).toBe(200);
    // Nothing listens for Slack's HTTP requests in Socket Mode.
    expect((await fetch(h.eventsUrl, { method: 'POST' })).status).toBe(404);
    // The client pings every ~1.7 s and drops the link if no pong comes back; the stand-in answers them.
    await waitFor('a client ping', async () => h.slack.socketMode.connectionLog()[0]?.pingsReceived, 5_000);
    expect(h.slack.socketMode.connectionLog()).toHaveLength(1);
  });

  it('a slash command is acked within Slack’s 3 s (the stand-in refuses later acks), and an approver’s click runs the failover to success', async () => {
    const h = await start();
    const { delivery, run } = await propose(h, 'production ActiveClusterDown');
    expect(delivery).toMatchObject({ acked: true });
    expect(delivery.error).toBeUndefined();
    expect(run.state).toBe('proposed');
    expect(run.requestedBy).toMatchObject({ type: 'slack-user', id: USERS.dave });

    const proposal = await h.runMessage(run.id);
    expect(h.slack.messages(CHANNEL).map((m) => m.ts)).toContain(proposal.ts);
    expect(buttonIds(proposal)).toEqual(expect.arrayContaining([ACTION_IDS.approve, ACTION_IDS.reject]));
    await waitFor('the proposal answer on the response_url', async () =>
      h.answers(delivery.responseUrlId).find((text) => text.includes(`Proposed failover ${run.id}`)),
    );

    const click = await h.deliverClick(USERS.alice, ACTION_IDS.approve, run.id);
    expect(click).toMatchObject({ acked: true });
    const done = await waitForState(h.web.store, run.id, ['succeeded'], 30_000);
    expect(done.approvals.map((a) => a.actor.id)).toEqual([USERS.alice]);
    await waitFor('the final status message', async () =>
      buttonIds(await h.runMessage(run.id)).includes(ACTION_IDS.startFailback) ? true : undefined,
    );

    // Both envelopes were acked on the one connection there was, the click with an empty payload.
    const envelopes = h.slack.socketMode.envelopes();
    expect(envelopes.map((e) => [e.type, e.connectionId, e.ackedAt !== undefined])).toEqual([
      ['slash_commands', 'link-1', true],
      ['interactive', 'link-1', true],
    ]);
  });

  it('an answer carried in the ack is shown to the user as an ephemeral', async () => {
    const h = await start({ worker: false });
    const status = await h.deliverCommand(USERS.dave, '/failover', 'status production');
    expect(status).toMatchObject({ acked: true });
    expect(status.error).toBeUndefined();
    expect(status.ackPayload).toMatchObject({ response_type: 'ephemeral', text: expect.any(String) });
    const shown = h.slack.ephemerals({ user: USERS.dave }).filter((e) => e.via === 'ack');
    expect(shown).toHaveLength(1);
    expect(shown[0]?.text).toBe((status.ackPayload as { text: string }).text);
    expect(shown[0]?.blocks?.length).toBeGreaterThan(0);
  });

  it('after a refresh_requested disconnect the client reconnects, and commands work again', async () => {
    const h = await start();
    await h.slack.socketMode.disconnectAll('refresh_requested');
    expect(h.slack.socketMode.connections()).toBe(0);
    // Nobody is connected until the client comes back: Slack cannot dispatch.
    const lost = await h.deliverCommand(USERS.dave, '/failover', 'production lost');
    expect(lost).toMatchObject({ acked: false, error: 'dispatch_failed' });

    // Bolt's client waits its clientPingTimeout (5 s) before reconnecting through a new apps.connections.open.
    await waitFor('the reconnection', async () => h.slack.socketMode.connections() === 1, 15_000);
    const log = h.slack.socketMode.connectionLog();
    expect(log.map((c) => c.id)).toEqual(['link-1', 'link-2']);
    expect(log[0]).toMatchObject({ closeCode: 1000 });
    expect(h.slack.calls({ method: 'apps.connections.open', ok: true })).toHaveLength(2);

    const { delivery, run } = await propose(h, 'production after refresh');
    expect(delivery).toMatchObject({ acked: true });
    expect(h.slack.socketMode.envelopes().at(-1)?.connectionId).toBe('link-2');
    expect(run.state).toBe('proposed');
    await h.runMessage(run.id);
    expect(await h.web.store.history('production')).toHaveLength(1);
  });
});
