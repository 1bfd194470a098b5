/**
 * The buttons of a paused run, end to end through signed clicks (Bolt, the notify queue and the Slack stand-in
 * real, Redis real): a Retry, Skip or Abort clicked on a message the run has moved on from is refused as out of
 * date, and a run the split-brain guard paused offers "Accept split-brain risk", a break-glass act of its own.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR, allSteps } from '../../src/core/model.js';
import { blockAction, postToApp, sign } from '../../lab/slack/slack-signer.js';
import { ACTION_IDS } from '../../src/slack/action-ids.js';
import { waitFor, waitForState } from '../support/integration.js';
import type { SlackHarness } from '../support/slack-harness.js';
import {
  CHANNEL,
  SIGNING_SECRET,
  USERS,
  buttonIds,
  findButtonValue,
  startSlackHarness,
} from '../support/slack-harness.js';
import { redisPerFile } from '../support/redis-per-file.js';

const { redis } = redisPerFile();
let harness: SlackHarness | null = null;

afterEach(async () => {
  await harness?.close();
  harness = null;
});

const SPLIT_BRAIN_ERROR =
  "east's database still answers and is writable: promoting west now would make two writable primaries";

/** A proposal by dave, approved by alice, that pauses at preflight: west has too few Ready nodes (until healed). */
async function pausedAtPreflight(h: SlackHarness) {
  const world = h.world;
  if (!world) throw new Error('the harness has no simulated world');
  world.fail('cluster.readyNodeCount', 1000);
  expect((await h.command(USERS.dave, '/failover', 'production ActiveClusterDown')).status).toBe(200);
  const proposed = await waitFor('the proposal', () => h.latestRun());
  await waitFor('preflight in the proposal', async () =>
    JSON.stringify((await h.runMessage(proposed.id)).blocks).includes('❌') ? true : undefined,
  );
  await h.click(USERS.alice, ACTION_IDS.approve, proposed.id);
  const run = await waitForState(h.web.store, proposed.id, ['paused', 'succeeded', 'failed'], 30_000);
  expect(run.state).toBe('paused');
  const message = await waitFor('the paused message', async () => {
    const current = await h.runMessage(run.id);
    return buttonIds(current).includes(ACTION_IDS.retryStep) ? current : undefined;
  });
  return { run, world, message };
}

/**
 * A run as the promote step's split-brain guard leaves it: everything before the promotion done, the promotion
 * refused with `source-still-writable`, paused (written to the store and published as the worker would).
 */
async function pausedBySplitBrainGuard(h: SlackHarness) {
  const { run: atPreflight, world } = await pausedAtPreflight(h);
  world.heal();
  const order = allSteps(atPreflight.plan).map((s) => s.id);
  const run = await h.web.store.mutate(
    atPreflight.id,
    (current) => {
      const steps = { ...current.steps };
      for (const id of order.slice(0, order.indexOf('promote-target-db'))) {
        steps[id] = { id, status: 'succeeded', attempts: 1 };
      }
      steps['promote-target-db'] = {
        id: 'promote-target-db',
        status: 'failed',
        attempts: 1,
        error: SPLIT_BRAIN_ERROR,
        errorCode: 'source-still-writable',
      };
      return { ...current, steps, stateReason: `promote-target-db: ${SPLIT_BRAIN_ERROR}` };
    },
    () => ({ event: { type: 'run-paused', reason: SPLIT_BRAIN_ERROR }, actor: SYSTEM_ACTOR }),
  );
  await h.web.service.publish(run);
  const message = await waitFor('the Accept split-brain risk button', async () => {
    const current = await h.runMessage(run.id);
    return buttonIds(current).includes(ACTION_IDS.acceptRisk) ? current : undefined;
  });
  return { run, message };
}

/** Clicks `actionId` with a button value of our choosing (an older message's), as Slack would send it. */
async function clickWithValue(
  h: SlackHarness,
  user: string,
  actionId: string,
  value: string,
  messageTs: string,
) {
  const { id, url } = h.slack.createResponseUrl({ channel: CHANNEL, user, messageTs });
  const body = blockAction({
    actionId,
    value,
    userId: user,
    userName: user.toLowerCase(),
    channelId: CHANNEL,
    messageTs,
    responseUrl: url,
    triggerId: h.slack.mintTriggerId({ userId: user }),
  });
  const response = await postToApp(h.eventsUrl, body, sign(SIGNING_SECRET, body, Date.now() / 1000));
  expect(response.status).toBe(200);
  return id;
}

const answer = (h: SlackHarness, responseUrlId: string) =>
  waitFor('the ephemeral answer', async () => h.answers(responseUrlId).join('\n') || undefined, 10_000);

describe('stale buttons are refused', () => {
  it('Skip and Abort clicked on a message from before a Retry are out of date; the current message acts', async () => {
    const h = (harness = await startSlackHarness(redis.url));
    const { run, message } = await pausedAtPreflight(h);
    const oldSkip = findButtonValue(message, ACTION_IDS.skipStep) ?? '';
    const oldAbort = findButtonValue(message, ACTION_IDS.abortRun) ?? '';
    expect(JSON.parse(oldSkip)).toMatchObject({ runId: run.id, segment: run.segment });

    // Retry from the current message: preflight fails again and the run pauses in a new segment.
    await h.click(USERS.alice, ACTION_IDS.retryStep, run.id);
    const again = await waitFor('the run paused again', async () => {
      const current = await h.web.store.require(run.id);
      return current.state === 'paused' && current.segment === run.segment + 1 ? current : undefined;
    });

    for (const [actionId, value] of [
      [ACTION_IDS.skipStep, oldSkip],
      [ACTION_IDS.abortRun, oldAbort],
    ] as const) {
      const responseUrlId = await clickWithValue(h, USERS.bob, actionId, value, message.ts);
      expect(await answer(h, responseUrlId)).toBe(
        `This message is out of date: run \`${run.id}\` has moved on since (now *paused*, retried by <@${USERS.alice}>). ` +
          'Use the newest message in the thread.',
      );
    }
    const after = await h.web.store.require(run.id);
    expect(after).toMatchObject({ state: 'paused', segment: again.segment });
    expect(after.timeline.filter((e) => e.event === 'skip-requested')).toEqual([]);

    // A button from before buttons carried the segment still counts, as it did.
    const legacy = JSON.stringify({ runId: run.id, site: run.site, version: 3 });
    await clickWithValue(h, USERS.bob, ACTION_IDS.skipStep, legacy, message.ts);
    await waitFor('the skip vote', async () =>
      (await h.web.store.require(run.id)).timeline.some((e) => e.event === 'skip-requested')
        ? true
        : undefined,
    );
  });
});

describe('Accept split-brain risk', () => {
  it('is offered on a run the guard paused, with its consequence; two approvers resume the run', async () => {
    const h = (harness = await startSlackHarness(redis.url));
    const { run, message } = await pausedBySplitBrainGuard(h);
    expect(buttonIds(message)).toEqual([
      ACTION_IDS.retryStep,
      ACTION_IDS.skipStep,
      ACTION_IDS.acceptRisk,
      ACTION_IDS.abortRun,
    ]);
    const blocks = JSON.stringify(message.blocks);
    expect(blocks).toContain(
      "east's database may still take writes; promoting west makes two primaries, and writes on east after now are lost",
    );

    // Not an approver: refused, saying who may.
    const stranger = await h.click(USERS.mallory, ACTION_IDS.acceptRisk, run.id);
    expect(await answer(h, stranger.responseUrlId)).toContain(
      `Only approvers can accept the split-brain risk of run \`${run.id}\``,
    );

    // One vote: recorded and shown; the run stays paused.
    await h.click(USERS.alice, ACTION_IDS.acceptRisk, run.id);
    await waitFor('the vote in the message', async () =>
      JSON.stringify((await h.runMessage(run.id)).blocks).includes('(1 of 2)') ? true : undefined,
    );
    expect((await h.web.store.require(run.id)).state).toBe('paused');
    // Twice from the same person: one vote, and they are told so.
    const twice = await h.click(USERS.alice, ACTION_IDS.acceptRisk, run.id);
    expect(await answer(h, twice.responseUrlId)).toContain('already counted (1 of 2)');

    // The second approver: the risk is accepted, the promotion is tried again and the run finishes.
    await h.click(USERS.bob, ACTION_IDS.acceptRisk, run.id);
    await waitFor('the accepted risk', async () =>
      (await h.web.store.require(run.id)).segment > run.segment ? true : undefined,
    );
    const done = await waitForState(h.web.store, run.id, ['succeeded', 'paused', 'failed'], 30_000);
    expect(done.state).toBe('succeeded');
    expect(done.acceptedRisks).toEqual([
      expect.objectContaining({
        risk: 'split-brain',
        by: [expect.objectContaining({ id: USERS.alice }), expect.objectContaining({ id: USERS.bob })],
        segment: run.segment + 1,
        detail: SPLIT_BRAIN_ERROR,
      }),
    ]);
    const audit = (await h.web.store.audit()).filter((e) => e.runId === run.id).map((e) => e.action);
    expect(audit).toEqual(expect.arrayContaining(['split-brain-risk-vote', 'split-brain-risk-accepted']));
  });

  it('a click on a run paused for another reason is refused with what to do instead', async () => {
    const h = (harness = await startSlackHarness(redis.url));
    const { run, message } = await pausedAtPreflight(h);
    expect(buttonIds(message)).not.toContain(ACTION_IDS.acceptRisk);
    const value = findButtonValue(message, ACTION_IDS.retryStep) ?? '';
    const responseUrlId = await clickWithValue(h, USERS.bob, ACTION_IDS.acceptRisk, value, message.ts);
    expect(await answer(h, responseUrlId)).toContain(
      'not by the split-brain guard: there is no split-brain risk to accept',
    );
    expect((await h.web.store.require(run.id)).state).toBe('paused');
  });
});

describe('a request for a site held by a paused run', () => {
  it('--force answers in one message: the paused run, what paused it and for how long, who can cancel it', async () => {
    const h = (harness = await startSlackHarness(redis.url));
    const { run } = await pausedAtPreflight(h);
    const ack = await h.command(USERS.carol, '/failover', 'production --force still down');
    expect(ack.status).toBe(200);
    const answer = await waitFor('the answer', async () => h.answers(ack.responseUrlId)[0]);
    expect(answer).toContain(
      `⛔ production already has an open run, so nothing new was started: \`${run.id}\``,
    );
    expect(answer).toMatch(/\*paused\* for (under )?\d+ min: preflight: Preflight failed: /);
    expect(answer).toContain('Fix it and Retry, or Abort. Decide it in');
    expect(answer).toContain(
      `Decide it in <#${CHANNEL}> (Retry, Skip or Abort), or cancel it with \`/failover cancel ${run.id}\``,
    );
    expect(answer).toContain(`Who can cancel: <@${USERS.dave}> (the requester) or `);
    expect(answer).toContain(`<@${USERS.alice}>`);
    expect(await h.latestRun()).toMatchObject({ id: run.id });
  });
});
