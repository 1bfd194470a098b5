import type { KnownBlock } from '@slack/types';
import { describe, expect, it } from 'vitest';
import type { Run } from '../../../src/core/model.js';
import { decodeActionValue } from '../../../src/slack/action-ids.js';
import { buildStatusMessage } from '../../../src/slack/blocks/status-message.js';
import {
  ALICE,
  BOB,
  abortedRun,
  approve,
  at,
  move,
  pausedAfterPromotion,
  pausedBeforePromotion,
  proposal,
  runningRun,
  step,
  succeededRun,
} from './run-fixtures.js';

const buttons = (blocks: KnownBlock[]) =>
  blocks.flatMap((b) => (b.type === 'actions' ? b.elements : [])).filter((e) => e.type === 'button');
const sectionTexts = (blocks: KnownBlock[]): string[] =>
  blocks.flatMap((b) => (b.type === 'section' && b.text ? [b.text.text] : []));
const lineOf = (blocks: KnownBlock[], fragment: string): string | undefined =>
  sectionTexts(blocks)
    .flatMap((t) => t.split('\n'))
    .find((line) => line.includes(fragment));

describe('buildStatusMessage', () => {
  it('running: state, elapsed time, each step with icon, duration and output; no buttons', () => {
    const message = buildStatusMessage({ run: runningRun(), now: at(110), breakGlassApprovals: 2 });
    expect(message).toMatchSnapshot();
    expect(buttons(message.blocks)).toEqual([]);
    expect(message.blocks[0]).toMatchObject({
      text: { text: '⏳ EMERGENCY failover · production: running · 48 s' },
    });
    expect(lineOf(message.blocks, 'Scale up west')).toBe(
      '✅ *3. Scale up west* · 31 s · default/web 1 → 5 · 5/5 Ready',
    );
    expect(lineOf(message.blocks, 'Promote')).toBe(
      "✅ ⛔ *5. Promote west's database — point of no return* · 3 s · west promoted · RPO 0 B (proved)",
    );
    expect(lineOf(message.blocks, 'Switch')).toBe(
      '⏳ *6. Switch app.example.com to west* · 12 s · attempt 2 of 2 · waiting for DNS change C0123456789ABC to be INSYNC',
    );
    expect(lineOf(message.blocks, 'Verify')).toBe('◻️ *7. Verify users reach west*');
    expect(message.text).toBe(
      'EMERGENCY failover of production (r1, east → west): running, 5/8 steps done — now: Switch app.example.com to west.',
    );
  });

  it('paused after the point of no return: reason, Retry / Skip, and no Abort: it would undo nothing', () => {
    const message = buildStatusMessage({ run: pausedAfterPromotion(), now: at(160), breakGlassApprovals: 2 });
    expect(message).toMatchSnapshot();
    expect(buttons(message.blocks).map((b) => b.action_id)).toEqual(['retry-step', 'skip-step']);
    const [retry, skip] = buttons(message.blocks);
    expect(retry).toMatchObject({ action_id: 'retry-step', style: 'primary', text: { text: 'Retry step' } });
    expect(skip).toMatchObject({
      action_id: 'skip-step',
      text: { text: 'Skip step (break-glass, 2 approvals)' },
    });
    expect(decodeActionValue(retry?.value ?? '')).toMatchObject({ runId: 'r1', site: 'production' });
    expect(lineOf(message.blocks, 'Abort is refused')).toBe(
      "Abort is refused: Promote west's database was already requested, so nothing can be undone — west's " +
        'database is (or is becoming) the primary and east stays fenced. Retry to finish the run.',
    );
    expect(lineOf(message.blocks, 'Switch')).toBe(
      '❌ *6. Switch app.example.com to west* · 52 s · 3 attempts · ' +
        'Route 53 throttled ChangeResourceRecordSets (Throttling): Rate exceeded',
    );
    expect(message.text).toBe(
      'EMERGENCY failover of production (r1, east → west) PAUSED at Switch app.example.com to west: ' +
        'switch-dns: Route 53 throttled ChangeResourceRecordSets (Throttling): Rate exceeded — Retry or Skip.',
    );
  });

  it('paused before the point of no return: Abort undoes the reversible steps, newest first', () => {
    const message = buildStatusMessage({ run: pausedBeforePromotion(), now: at(710) });
    expect(lineOf(message.blocks, 'Abort')).toBe('Abort undoes Scale up west, then Fence east and stops.');
    // Without the topology's count the Skip button still says it is break-glass.
    expect(buttons(message.blocks)[1]?.text.text).toBe('Skip step (break-glass, break-glass approvals)');
  });

  it('paused with the promotion failed before it was requested: Abort undoes the reversible steps', () => {
    let run = startedAtPromotion();
    run = step(run, 'promote-target-db', {
      status: 'failed',
      attempts: 2,
      startedAt: at(95),
      finishedAt: at(120),
      error: 'connection reset',
    });
    run = move(run, 'paused', 120, undefined, 'promote-target-db: connection reset');
    const message = buildStatusMessage({ run, now: at(121) });
    expect(lineOf(message.blocks, 'Abort')).toBe('Abort undoes Scale up west, then Fence east and stops.');
    expect(buttons(message.blocks).map((b) => b.action_id)).toContain('abort-run');
  });

  it('paused with the promotion requested but not finished: Abort is refused, nothing can be undone', () => {
    let run = startedAtPromotion();
    run = step(run, 'promote-target-db', {
      status: 'failed',
      attempts: 2,
      startedAt: at(95),
      finishedAt: at(120),
      error: 'west is still in recovery',
      progress: { pointOfNoReturnAt: at(96) },
    });
    run = move(run, 'paused', 120, undefined, 'promote-target-db: west is still in recovery');
    const message = buildStatusMessage({ run, now: at(121) });
    expect(lineOf(message.blocks, 'Abort')).toMatch(/^Abort is refused: /);
    expect(buttons(message.blocks).map((b) => b.action_id)).not.toContain('abort-run');
  });

  it('counts skip requests of the current segment', () => {
    let run = pausedAfterPromotion();
    run = {
      ...run,
      timeline: [
        ...run.timeline,
        { at: at(155), event: 'skip-requested', actor: ALICE, detail: `segment ${run.segment}` },
        { at: at(156), event: 'skip-requested', actor: ALICE, detail: `segment ${run.segment}` },
        { at: at(157), event: 'skip-requested', actor: BOB, detail: `segment ${run.segment - 1}` },
      ],
    };
    const message = buildStatusMessage({ run, now: at(160), breakGlassApprovals: 2 });
    expect(lineOf(message.blocks, 'Skip requested')).toBe('Skip requested by <@U0ALICE> (1 of 2)');
  });

  it('buttons carry the run segment, so a click on an older message can be told apart', () => {
    const run = pausedAfterPromotion();
    const message = buildStatusMessage({
      run: { ...run, version: 41 },
      now: at(160),
      breakGlassApprovals: 2,
    });
    for (const b of buttons(message.blocks))
      expect(decodeActionValue(b.value ?? '')).toEqual({
        runId: 'r1',
        site: 'production',
        segment: run.segment,
      });
  });

  it('counts a Slack user and the CLI acting as them as one skip vote, and one OS account as one', () => {
    let run = pausedAfterPromotion();
    const detail = `segment ${run.segment}`;
    const bastion = { osUser: 'root', host: 'bastion-1' };
    run = {
      ...run,
      timeline: [
        ...run.timeline,
        {
          at: at(155),
          event: 'skip-requested',
          actor: { type: 'cli', id: 'U0BOB', origin: bastion },
          detail,
        },
        { at: at(156), event: 'skip-requested', actor: BOB, detail },
        {
          at: at(157),
          event: 'skip-requested',
          actor: { type: 'cli', id: 'U0CAROL', origin: bastion },
          detail,
        },
      ],
    };
    const message = buildStatusMessage({ run, now: at(160), breakGlassApprovals: 2 });
    expect(lineOf(message.blocks, 'Skip requested')).toBe(
      'Skip requested by <@U0BOB> (break-glass CLI) (1 of 2)',
    );
  });

  it('paused by the split-brain guard: Accept split-brain risk, with its consequence, and the votes so far', () => {
    let run = pausedBySplitBrainGuard();
    const message = buildStatusMessage({ run, now: at(130), breakGlassApprovals: 2 });
    expect(message).toMatchSnapshot();
    expect(buttons(message.blocks).map((b) => b.action_id)).toEqual([
      'retry-step',
      'skip-step',
      'accept-split-brain-risk',
      'abort-run',
    ]);
    const accept = buttons(message.blocks)[2];
    expect(accept).toMatchObject({
      style: 'danger',
      text: { text: 'Accept split-brain risk (break-glass, 2 approvals)' },
      confirm: {
        title: { text: 'Accept the split-brain risk?' },
        text: {
          text:
            "east's database may still take writes; promoting west makes two primaries, and writes on east after " +
            'now are lost. Break-glass: it takes effect once 2 approvals ask for it.',
        },
        confirm: { text: 'Accept the risk' },
        deny: { text: 'Keep paused' },
        style: 'danger',
      },
    });
    expect(lineOf(message.blocks, 'Split-brain guard')).toBe(
      "🔀 *Split-brain guard:* east's database may still take writes, so west was not promoted. Fix it (fence east, " +
        'or make sure it is down), then *Retry step*; or, break-glass, *Accept split-brain risk* once 2 approvals ask for it.',
    );

    run = {
      ...run,
      timeline: [
        ...run.timeline,
        { at: at(125), event: 'split-brain-risk-vote', actor: ALICE, detail: `segment ${run.segment}` },
      ],
    };
    const voted = buildStatusMessage({ run, now: at(130), breakGlassApprovals: 2 });
    expect(lineOf(voted.blocks, 'Split-brain risk accepted by')).toBe(
      'Split-brain risk accepted by <@U0ALICE> (1 of 2)',
    );
  });

  it('a run paused for another reason offers no Accept split-brain risk', () => {
    const message = buildStatusMessage({
      run: pausedBeforePromotion(),
      now: at(710),
      breakGlassApprovals: 2,
    });
    expect(buttons(message.blocks).map((b) => b.action_id)).not.toContain('accept-split-brain-risk');
    expect(lineOf(message.blocks, 'Split-brain guard')).toBeUndefined();
  });

  it('succeeded failover: took, outputs, and a Start failback button', () => {
    const message = buildStatusMessage({ run: succeededRun(), now: at(200), homeCluster: 'east' });
    expect(message).toMatchSnapshot();
    const [failback] = buttons(message.blocks);
    expect(failback).toMatchObject({ action_id: 'start-failback', text: { text: 'Start failback' } });
    expect(buttons(message.blocks)).toHaveLength(1);
    expect(message.blocks[0]).toMatchObject({
      text: { text: '✅ EMERGENCY failover · production: succeeded · took 1 m 20 s' },
    });
    expect(lineOf(message.blocks, 'Switch')).toBe(
      '✅ *6. Switch app.example.com to west* · 32 s · 2 attempts · DNS change C0123456789ABC INSYNC after 30 s',
    );
    expect(lineOf(message.blocks, 'Verify')).toBe(
      '✅ *7. Verify users reach west* · 10 s · resolves to 203.0.113.20; health 200',
    );
    expect(lineOf(message.blocks, 'Scale down')).toBe('✅ *8. Scale down east* · 2 s · already done');
    expect(message.text).toBe(
      'EMERGENCY failover of production (r1, east → west) succeeded: west serves production after 1 m 20 s.',
    );
  });

  it('no failback button after a failback, or a failover that went home', () => {
    const failback: Run = { ...succeededRun(), kind: 'failback', mode: 'planned' };
    expect(buttons(buildStatusMessage({ run: failback, now: at(200) }).blocks)).toEqual([]);
    expect(
      buttons(buildStatusMessage({ run: succeededRun(), now: at(200), homeCluster: 'west' }).blocks),
    ).toEqual([]);
  });

  it('no failback button while the old side owes its fence: it says what comes first', () => {
    const run = succeededRun();
    const withDebt: Run = {
      ...run,
      timeline: [...run.timeline, { at: at(150), event: 'fence-debt-opened', detail: 'east unreachable' }],
    };
    const message = buildStatusMessage({ run: withDebt, now: at(200), homeCluster: 'east' });
    expect(buttons(message.blocks)).toEqual([]);
    expect(lineOf(message.blocks, 'owes its fence')).toBe(
      'east still owes its fence: Baton fences it the moment it answers. Then rebuild it as a standby of west and ' +
        '`/failback production`.',
    );
  });

  it('aborted: what was undone, no buttons', () => {
    const message = buildStatusMessage({ run: abortedRun(), now: at(800) });
    expect(message).toMatchSnapshot();
    expect(buttons(message.blocks)).toEqual([]);
    expect(lineOf(message.blocks, 'Fence east')).toBe('↩️ *2. Fence east* · 6 s');
    expect(lineOf(message.blocks, '*Aborted:*')).toBe('↩️ *Aborted:* Undid scale-up-target, fence-source');
  });

  it('aborting and failed say what happened, without buttons', () => {
    const aborting = {
      ...move(pausedBeforePromotion(), 'aborting', 720, BOB, 'abort requested'),
      segment: 2,
    };
    const abortingMessage = buildStatusMessage({ run: aborting, now: at(721) });
    expect(buttons(abortingMessage.blocks)).toEqual([]);
    expect(lineOf(abortingMessage.blocks, 'Aborting')).toBe(
      '↩️ *Aborting* (asked by <@U0BOB>): Abort undoes Scale up west, then Fence east and stops.',
    );
    const failed = move(
      aborting,
      'failed',
      730,
      undefined,
      'Abort could not undo fence-source: timeout — restore these by hand',
    );
    const failedMessage = buildStatusMessage({ run: failed, now: at(731) });
    expect(buttons(failedMessage.blocks)).toEqual([]);
    expect(failedMessage.text).toBe(
      'EMERGENCY failover of production (r1, east → west) failed: Abort could not undo fence-source: timeout — restore these by hand',
    );
  });

  it('approved and not yet started: waiting for a worker, how to stop it', () => {
    const message = buildStatusMessage({ run: approve(proposal(), ALICE, 60), now: at(61) });
    expect(JSON.stringify(message.blocks)).toContain('waiting for a worker');
    expect(JSON.stringify(message.blocks)).toContain('/failover cancel r1');
    expect(buttons(message.blocks)).toEqual([]);
  });
});

/** Running, with preflight, fencing and scaling done, about to promote. */
function startedAtPromotion(): Run {
  const run = runningRun();
  return {
    ...run,
    steps: {
      ...run.steps,
      'promote-target-db': { id: 'promote-target-db', status: 'pending', attempts: 0 },
      'switch-dns': { id: 'switch-dns', status: 'pending', attempts: 0 },
    },
  };
}

/** Paused at the promotion: the split-brain guard found east's database still writable. */
function pausedBySplitBrainGuard(): Run {
  let run = startedAtPromotion();
  const error = "east's database still answers and is writable: promoting west now would make two primaries";
  run = step(run, 'promote-target-db', {
    status: 'failed',
    attempts: 1,
    startedAt: at(95),
    finishedAt: at(96),
    error,
    errorCode: 'source-still-writable',
  });
  return move(run, 'paused', 96, { type: 'system', id: 'baton' }, `promote-target-db: ${error}`);
}
