/**
 * the run service on a paused run against a real Redis: break-glass votes (Skip, accepting the split-brain risk) count
 * approvers by the one identity rule, a command carrying a stale segment is refused, and accepting the split-brain
 * risk is its own audited act. No worker runs here: the enqueued segment job is asserted on the queue.
 */
import { describe, expect, it } from 'vitest';
import type { Actor, Run } from '../../src/core/model.js';
import { SYSTEM_ACTOR, runJobId } from '../../src/core/model.js';
import { transitionRun } from '../../src/core/runs/transition-run.js';
import { BatonError } from '../../src/errors.js';
import type { Harness } from '../support/integration.js';
import { ALICE, BOB, createHarness } from '../support/integration.js';
import { redisPerFile } from '../support/redis-per-file.js';

const { redis, cleanups } = redisPerFile();

const DAVE: Actor = { type: 'slack-user', id: 'U0DAVE', name: 'dave' };
const BASTION = { osUser: 'root', host: 'bastion-1' };
const cli = (id: string, origin = BASTION): Actor => ({ type: 'cli', id, origin });
const SPLIT_BRAIN_ERROR =
  "east's database still answers and is writable (connection ok, not read-only): promoting west now would make two primaries";

async function harness(): Promise<Harness> {
  const h = await createHarness(redis.url);
  cleanups.push(() => h.close());
  return h;
}

/** A failover approved by ALICE that the worker paused at promote-target-db with `errorCode`. */
async function pausedRun(
  h: Harness,
  errorCode = 'source-still-writable',
  error = SPLIT_BRAIN_ERROR,
): Promise<Run> {
  const { run } = await h.service.propose({ kind: 'failover', reason: 'ActiveClusterDown', actor: DAVE });
  await h.service.approve(run.id, ALICE);
  return h.store.mutate(
    run.id,
    (current) => {
      const now = Date.now();
      const running = transitionRun(current, 'running', { at: now, actor: SYSTEM_ACTOR });
      const steps = { ...running.steps };
      for (const id of ['preflight', 'fence-source', 'scale-up-target'] as const) {
        const step = steps[id];
        if (step) steps[id] = { ...step, status: 'succeeded', attempts: 1 };
      }
      steps['promote-target-db'] = {
        id: 'promote-target-db',
        status: 'failed',
        attempts: 3,
        error,
        errorCode,
      };
      return {
        ...transitionRun(running, 'paused', {
          at: now,
          actor: SYSTEM_ACTOR,
          reason: `Promote PostgreSQL on west failed: ${error}`,
        }),
        steps,
      };
    },
    (run) => ({ event: { type: 'run-paused', reason: run.stateReason ?? '' }, actor: SYSTEM_ACTOR }),
  );
}

async function refusal(promise: Promise<unknown>): Promise<BatonError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BatonError) return error;
    throw error;
  }
  throw new Error('expected the command to be refused');
}

describe('Skip votes count approvers by the one identity rule', () => {
  it('two --as ids typed from one OS account are one vote; the step is not skipped', async () => {
    const h = await harness();
    const run = await pausedRun(h, 'step-timeout', 'timed out');
    const first = await h.service.skip(run.id, cli('U0ALICE'));
    expect(first).toMatchObject({ applied: false, count: 1, required: 2 });

    const second = await refusal(h.service.skip(run.id, cli('U0BOB')));
    expect(second.code).toBe('same-os-account');
    expect(second.message).toBe(
      'approvals typed from one OS account (root@bastion-1) count as one, whatever --as says: U0ALICE already ' +
        'asked to skip the failed step from it (1 of 2). Another approver must ask from their own OS account, or in Slack',
    );
    const after = await h.store.require(run.id);
    expect(after.state).toBe('paused');
    expect(after.steps['promote-target-db']?.status).toBe('failed');
    const refused = (await h.store.audit()).filter((e) => e.action === 'break-glass-vote-refused');
    expect(refused.map((e) => [e.actor.id, e.actor.origin, e.detail])).toEqual([
      ['U0BOB', BASTION, 'skip: same-os-account'],
    ]);

    // Another approver in Slack completes it.
    const third = await h.service.skip(run.id, BOB);
    expect(third).toMatchObject({ applied: true, count: 2, required: 2 });
    expect(third.run.steps['promote-target-db']?.status).toBe('skipped');
  });

  it('a Slack user and the CLI acting as that user are one vote', async () => {
    const h = await harness();
    const run = await pausedRun(h, 'step-timeout', 'timed out');
    await h.service.skip(run.id, BOB);
    const again = await refusal(h.service.skip(run.id, cli('U0BOB')));
    expect(again.code).toBe('already-voted');
    expect(again.message).toContain('already counted (1 of 2)');
    expect((await h.store.require(run.id)).state).toBe('paused');
  });
});

describe('commands carrying a stale segment are refused', () => {
  it('Retry, Skip and Abort with the segment of an older message change nothing', async () => {
    const h = await harness();
    const paused = await pausedRun(h, 'step-timeout', 'timed out');
    const shown = paused.segment;
    // Someone retried, and the run paused again: a new segment.
    await h.service.retry(paused.id, BOB, { expectedSegment: shown });
    await h.store.mutate(
      paused.id,
      (current) =>
        transitionRun(current, 'paused', { at: Date.now(), actor: SYSTEM_ACTOR, reason: 'timed out again' }),
      (run) => ({ event: { type: 'run-paused', reason: run.stateReason ?? '' }, actor: SYSTEM_ACTOR }),
    );
    const before = await h.store.require(paused.id);
    expect(before.segment).toBe(shown + 1);

    for (const act of [
      () => h.service.retry(paused.id, ALICE, { expectedSegment: shown }),
      () => h.service.skip(paused.id, ALICE, { expectedSegment: shown }),
      () => h.service.abort(paused.id, ALICE, { expectedSegment: shown }),
    ]) {
      const error = await refusal(act());
      expect(error.code).toBe('stale-message');
      expect(error.message).toBe(
        `This message is out of date: run ${paused.id} has moved on since (now paused, retried by U0BOB). ` +
          'Use the newest message in the thread.',
      );
    }
    const after = await h.store.require(paused.id);
    expect(after).toMatchObject({ state: 'paused', segment: before.segment, version: before.version });

    // The current segment, or none at all (a message from before segments were carried), still acts.
    expect((await h.service.retry(paused.id, ALICE, { expectedSegment: before.segment })).state).toBe(
      'running',
    );
  });

  it('a command without a segment works as before', async () => {
    const h = await harness();
    const paused = await pausedRun(h, 'step-timeout', 'timed out');
    expect((await h.service.abort(paused.id, ALICE)).state).toBe('aborting');
  });
});

describe('acceptRisk: accepting the split-brain risk is its own break-glass act', () => {
  it('takes effect when breakGlass.required distinct approvers ask; records the risk, resumes and audits', async () => {
    const h = await harness();
    const run = await pausedRun(h);

    const vote = await h.service.acceptRisk(run.id, cli('U0ALICE'), { expectedSegment: run.segment });
    expect(vote).toMatchObject({ applied: false, count: 1, required: 2 });
    expect(vote.run.state).toBe('paused');
    expect(vote.run.acceptedRisks ?? []).toEqual([]);

    // The same OS account under another --as does not count.
    const same = await refusal(h.service.acceptRisk(run.id, cli('U0BOB'), { expectedSegment: run.segment }));
    expect(same.code).toBe('same-os-account');
    expect(same.message).toContain('U0ALICE already asked to accept the split-brain risk from it (1 of 2)');

    const done = await h.service.acceptRisk(run.id, BOB, { expectedSegment: run.segment });
    expect(done).toMatchObject({ applied: true, count: 2, required: 2 });
    const after = await h.store.require(run.id);
    expect(after.state).toBe('running');
    expect(after.segment).toBe(run.segment + 1);
    expect(after.steps['promote-target-db']).toMatchObject({ status: 'pending' });
    expect(after.steps['promote-target-db']?.error).toBeUndefined();
    expect(after.acceptedRisks).toEqual([
      {
        risk: 'split-brain',
        by: [cli('U0ALICE'), BOB],
        at: expect.any(Number) as number,
        segment: run.segment + 1,
        detail: SPLIT_BRAIN_ERROR,
      },
    ]);
    // The next segment is queued for a worker.
    expect(await h.queue.getJobState(runJobId(after))).toBe('waiting');

    const audit = (await h.store.audit()).filter((e) => e.runId === run.id);
    expect(audit.map((e) => `${e.action} ${e.actor.id} ${e.detail ?? ''}`.trim()).slice(-3)).toEqual([
      'split-brain-risk-vote U0ALICE 1 of 2',
      'break-glass-vote-refused U0BOB accept-risk: same-os-account',
      `split-brain-risk-accepted U0BOB 2 of 2: ${SPLIT_BRAIN_ERROR}`,
    ]);

    // A click on the message from before the acceptance is out of date.
    const late = await refusal(
      h.service.acceptRisk(run.id, cli('U0BOB', { osUser: 'bob', host: 'laptop' }), {
        expectedSegment: run.segment,
      }),
    );
    expect(late.code).toBe('stale-message');
    expect(late.message).toContain('now running, split-brain risk accepted by U0BOB');
  });

  it('refuses a run not paused by the split-brain guard, saying what, why and what to do', async () => {
    const h = await harness();
    const run = await pausedRun(h, 'step-timeout', 'timed out');
    const error = await refusal(h.service.acceptRisk(run.id, ALICE));
    expect(error.code).toBe('no-split-brain-risk');
    expect(error.message).toBe(
      `Run ${run.id} is paused at promote-target-db (step-timeout), not by the split-brain guard: there is no ` +
        'split-brain risk to accept. Retry, Skip or Abort it instead.',
    );
    expect((await h.store.require(run.id)).state).toBe('paused');
  });

  it('refuses someone who is not an approver, and a run that is not paused', async () => {
    const h = await harness();
    const run = await pausedRun(h);
    const stranger = await refusal(h.service.acceptRisk(run.id, DAVE));
    expect(stranger.code).toBe('not-approver');
    expect(stranger.message).toBe(
      'Only approvers can accept the split-brain risk (break-glass). Approvers: U0ALICE, U0BOB, members of S0SRE. ' +
        'Ask one of them.',
    );

    await h.service.abort(run.id, ALICE);
    const notPaused = await refusal(h.service.acceptRisk(run.id, BOB));
    expect(notPaused.code).toBe('not-paused');
    expect(notPaused.message).toBe(`Run ${run.id} is aborting, not paused`);
  });
});
