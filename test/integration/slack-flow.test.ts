/**
 * Slack end to end through signed HTTP requests: request → proposal → approval → the run executes → the status
 * message is updated → summary. Bolt, the notify queue and the Slack Web API stand-in are all real; so is Redis.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Topology } from '../../src/config/topology.js';
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
  harness = await startSlackHarness(redis.url, options);
  return harness;
}

const withApprovals =
  (change: Partial<Topology['approvals']>) =>
  (topology: Topology): Topology => ({ ...topology, approvals: { ...topology.approvals, ...change } });

async function propose(h: SlackHarness, user: string = USERS.dave, text = 'production ActiveClusterDown') {
  const response = await h.command(user, '/failover', text);
  expect(response.status).toBe(200);
  const before = (await h.latestRun())?.id;
  const run = await waitFor('the proposal', async () => {
    const latest = await h.latestRun();
    return latest && latest.id !== before ? latest : undefined;
  });
  return { response, run };
}

describe('Slack: request, approve, run, report', () => {
  it('a requester proposes, an approver approves, the run succeeds and the channel shows every step', async () => {
    const h = await start();
    const { response, run } = await propose(h);
    expect(run.state).toBe('proposed');
    expect(run.requestedBy).toMatchObject({ type: 'slack-user', id: USERS.dave });

    // The proposal: Approve / Reject, then the preflight results once the job has measured them.
    const proposal = await h.runMessage(run.id);
    expect(buttonIds(proposal)).toEqual(expect.arrayContaining([ACTION_IDS.approve, ACTION_IDS.reject]));
    await waitFor('preflight in the proposal', async () => {
      const message = await h.runMessage(run.id);
      return JSON.stringify(message.blocks).includes('✅') ? message : undefined;
    });
    expect(h.answers(response.responseUrlId).join('\n')).toContain(`Proposed failover ${run.id}`);

    const click = await h.click(USERS.alice, ACTION_IDS.approve, run.id);
    expect(click.status).toBe(200);
    const done = await waitForState(h.web.store, run.id, ['succeeded'], 30_000);
    expect(done.approvals.map((a) => a.actor.id)).toEqual([USERS.alice]);

    // One message per run, edited in place up to its final state, with Start failback offered.
    const final = await waitFor('the final status message', async () => {
      const message = await h.runMessage(run.id);
      return buttonIds(message).includes(ACTION_IDS.startFailback) ? message : undefined;
    });
    expect(final.edits.length).toBeGreaterThanOrEqual(1);
    expect(h.slack.messages(CHANNEL).filter((m) => m.ts === final.ts)).toHaveLength(1);
    // Thread replies for the steps, and a summary message with the recovery time.
    await waitFor('step replies', async () =>
      // Replies waiting together go as one message, a line each: count lines.
      (await h.runMessage(run.id)).replies.flatMap((r) => r.text.split('\n')).length >= 7 ? true : undefined,
    );
    const summary = await waitFor('the summary', async () =>
      h.slack.messages(CHANNEL).find((m) => m.ts !== final.ts && /recover/i.test(m.text)),
    );
    expect(summary.text).toContain(run.id);
  });

  it('/failover cancel of a running run aborts it only for an approver', async () => {
    const h = await start({ timing: { podsReadyAfterMs: 4000 } });
    const { run } = await propose(h);
    await h.click(USERS.alice, ACTION_IDS.approve, run.id);
    await waitForState(h.web.store, run.id, ['running'], 10_000);

    // dave requested it and may cancel a proposal, but stopping a run in flight is an approver's call.
    const refused = await h.command(USERS.dave, '/failover', `cancel ${run.id}`);
    const answer = await waitFor(
      'the refusal',
      async () => h.answers(refused.responseUrlId).join('\n') || undefined,
    );
    expect(answer).toContain('Only approvers can abort a run');
    expect((await h.web.store.require(run.id)).state).toBe('running');

    const allowed = await h.command(USERS.bob, '/failover', `cancel ${run.id}`);
    expect(allowed.status).toBe(200);
    const aborted = await waitForState(h.web.store, run.id, ['aborted'], 30_000);
    expect(aborted.timeline.some((e) => e.actor?.id === USERS.bob)).toBe(true);
  });

  it('refuses self-approval and unknown users, with an ephemeral answer and an audit entry', async () => {
    const h = await start();
    const { run } = await propose(h, USERS.alice);
    const self = await h.click(USERS.alice, ACTION_IDS.approve, run.id);
    expect(self.status).toBe(200);
    await waitFor('the self-approval answer', async () => h.answers(self.responseUrlId)[0]);
    expect(h.answers(self.responseUrlId)[0]).toMatch(/another approver|requested/i);

    const stranger = await h.click(USERS.mallory, ACTION_IDS.approve, run.id);
    await waitFor('the refusal', async () => h.answers(stranger.responseUrlId)[0]);
    expect(h.answers(stranger.responseUrlId)[0]).toMatch(/approver/i);

    expect((await h.web.store.require(run.id)).state).toBe('proposed');
    const refused = (await h.web.store.audit()).filter((a) => a.action === 'approval-refused');
    expect(refused.map((a) => a.actor.id).sort()).toEqual([USERS.alice, USERS.mallory].sort());

    // Mallory may not request either; nothing is recorded for her request.
    const request = await h.command(USERS.mallory, '/failback', 'production');
    await waitFor('the request refusal', async () => h.answers(request.responseUrlId)[0]);
    expect(h.answers(request.responseUrlId)[0]).toMatch(/not allowed/i);
    expect((await h.web.store.history('production')).map((r) => r.id)).toEqual([run.id]);
  });

  it('an approver through a Slack user group can approve; reject replaces the buttons', async () => {
    const h = await start();
    const { run } = await propose(h);
    await h.click(USERS.bob, ACTION_IDS.reject, run.id);
    const rejected = await waitForState(h.web.store, run.id, ['rejected']);
    expect(rejected.state).toBe('rejected');
    await waitFor('buttons gone', async () =>
      buttonIds(await h.runMessage(run.id)).length === 0 ? true : undefined,
    );

    const second = await propose(h);
    expect(second.run.id).not.toBe(run.id);
    await h.click(USERS.carol, ACTION_IDS.approve, second.run.id); // member of S0SRE
    await waitForState(h.web.store, second.run.id, ['succeeded'], 30_000);
  });

  it('two approvers for required: 2, counted once each however often they click', async () => {
    const h = await start({ topology: withApprovals({ required: 2 }) });
    const { run } = await propose(h);
    // A double click: two deliveries at once. Only one approval counts.
    await Promise.all([
      h.click(USERS.alice, ACTION_IDS.approve, run.id),
      h.click(USERS.alice, ACTION_IDS.approve, run.id),
    ]);
    await waitFor('one approval', async () =>
      (await h.web.store.require(run.id)).approvals.length === 1 ? true : undefined,
    );
    expect((await h.web.store.require(run.id)).state).toBe('proposed');
    await waitFor('1 of 2 shown', async () =>
      /1 of 2/.test(JSON.stringify((await h.runMessage(run.id)).blocks)) ? true : undefined,
    );

    await h.click(USERS.bob, ACTION_IDS.approve, run.id);
    const done = await waitForState(h.web.store, run.id, ['succeeded'], 30_000);
    expect(done.approvals.map((a) => a.actor.id)).toEqual([USERS.alice, USERS.bob]);
  });

  it('proposals expire, and the message says so without buttons', async () => {
    const h = await start({ topology: withApprovals({ expiresAfterMs: 1500 }) });
    const { run } = await propose(h);
    await waitForState(h.web.store, run.id, ['expired'], 15_000);
    await waitFor('expired message', async () => {
      const message = await h.runMessage(run.id);
      return buttonIds(message).length === 0 && /expired/i.test(message.text) ? true : undefined;
    });
    const late = await h.click(USERS.bob, ACTION_IDS.approve, run.id).catch((error: Error) => error);
    expect(late).toBeInstanceOf(Error); // no button left to click
  });

  it('answers 401 to a bad or stale signature and records nothing', async () => {
    const h = await start({ worker: false });
    const forged = await h.command(USERS.dave, '/failover', 'production', { secret: 'not-the-secret' });
    expect(forged.status).toBe(401);
    const stale = await h.command(USERS.dave, '/failover', 'production', {
      nowSeconds: Date.now() / 1000 - 600,
    });
    expect(stale.status).toBe(401);
    expect(await h.web.store.history('production')).toHaveLength(0);
  });

  it('answers 401 to a request signed 6 minutes in the future, which Bolt alone would accept', async () => {
    const h = await start({ worker: false });
    const ahead = await h.command(USERS.dave, '/failover', 'production', {
      nowSeconds: Date.now() / 1000 + 6 * 60,
    });
    expect(ahead.status).toBe(401);
    expect(ahead.text).toBe('');
    expect(await h.web.store.history('production')).toHaveLength(0);
    // Within the five minutes, a clock running ahead is still fine.
    const early = await h.command(USERS.dave, '/failover', 'production', {
      nowSeconds: Date.now() / 1000 + 4 * 60,
    });
    expect(early.status).toBe(200);
  });

  it('a person who runs the command again while a proposal is open gets the open run back', async () => {
    const h = await start();
    const { run } = await propose(h, USERS.dave, 'production db down');
    // Slack does not retry slash commands (only Events API deliveries carry X-Slack-Retry-Num): this is a person.
    const again = await h.command(USERS.dave, '/failover', 'production db down');
    expect(again.status).toBe(200);
    const answer = await waitFor('the answer', async () => h.answers(again.responseUrlId)[0]);
    expect(answer).toContain('already has an open run');
    expect(answer).toContain(run.id);
    expect(answer).toContain('proposed');
    // Someone else asking gets the same answer; nothing new is created.
    const other = await h.command(USERS.alice, '/failover', 'production');
    expect(await waitFor('the second answer', async () => h.answers(other.responseUrlId)[0])).toContain(
      run.id,
    );
    expect((await h.web.store.history('production')).map((r) => r.id)).toEqual([run.id]);
  });

  it('Slack answering 500 and 429 for a whole run does not slow it; the messages catch up afterwards', async () => {
    const h = await start({ timing: { podsReadyAfterMs: 1500 } });
    const { run } = await propose(h);
    await h.runMessage(run.id);
    // From here on Slack answers every message with 429 first, then 500, until the run is over.
    h.slack.faults.rateLimit({ method: 'chat.update', retryAfterS: 1, count: 3 });
    h.slack.faults.fail({ status: 500, method: 'chat.update', count: Infinity });
    h.slack.faults.fail({ status: 500, method: 'chat.postMessage', count: Infinity });
    const delivered = () =>
      h.slack.calls({ ok: true }).filter((c) => c.method === 'chat.update' || c.method === 'chat.postMessage')
        .length;
    const deliveredBefore = delivered();
    await h.click(USERS.alice, ACTION_IDS.approve, run.id);
    const done = await waitForState(h.web.store, run.id, ['succeeded'], 30_000);
    expect(done.state).toBe('succeeded');
    // The run finished while Slack had not taken a single message since the approval: it never waited for one.
    // (How long a run takes is the benchmarks' business.)
    expect(delivered()).toBe(deliveredBefore);
    expect(h.slack.calls({ ok: false }).length).toBeGreaterThan(0);
    expect(buttonIds(await h.runMessage(run.id))).toContain(ACTION_IDS.approve); // Slack still shows the proposal
    h.slack.faults.clear();
    await waitFor(
      'the final status in Slack',
      async () =>
        buttonIds(await h.runMessage(run.id)).includes(ACTION_IDS.startFailback) ? true : undefined,
      20_000,
    );
  });
});
