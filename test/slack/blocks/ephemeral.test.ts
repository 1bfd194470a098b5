import { describe, expect, it } from 'vitest';
import { BatonError } from '../../../src/errors.js';
import {
  buildClickRefusalMessage,
  buildErrorMessage,
  buildRefusalMessage,
  buildUsageMessage,
  principalsText,
} from '../../../src/slack/blocks/ephemeral.js';
import { exampleTopology } from '../../support/core-fixtures.js';
import { ALICE, BOB, approve, move, pausedAfterPromotion, proposal, runningRun } from './run-fixtures.js';

const approvals = exampleTopology().approvals;

describe('buildUsageMessage', () => {
  it('lists both commands, every sub-command and flag, with examples for the site', () => {
    const message = buildUsageMessage({ sites: ['production', 'payments'], breakGlassApprovals: 2 });
    expect(message).toMatchSnapshot();
    const body = JSON.stringify(message.blocks);
    for (const word of [
      '/failover [site]',
      '/failback [site]',
      '--dry-run',
      '--planned',
      '--force',
      'status [site]',
    ]) {
      expect(body).toContain(word);
    }
    for (const word of ['history [site]', 'plan [site]', 'cancel &lt;run&gt;', 'help'])
      expect(body).toContain(word);
    expect(body).toContain('needs 2 break-glass approvals');
    expect(body).toContain('/failover production east is down');
  });

  it('puts the parse error first, escaped', () => {
    const message = buildUsageMessage({ sites: ['production'], error: 'Unknown flag "--<x>"' });
    expect(message.blocks[0]).toEqual({
      type: 'section',
      text: { type: 'mrkdwn', text: '⚠️ Unknown flag "--&lt;x&gt;"' },
    });
    expect(message.text).toBe(
      'Baton did not understand that: Unknown flag "--&lt;x&gt;" — /failover help shows how to use it.',
    );
  });
});

describe('buildRefusalMessage', () => {
  it('names who may request', () => {
    const message = buildRefusalMessage({
      kind: 'failover',
      site: 'production',
      requesters: approvals.requesters,
    });
    expect(message).toMatchSnapshot();
    expect(message.text).toBe(
      '🚫 You are not allowed to request a failover of production. Who may: members of <!subteam^S0ONCALL>. ' +
        'Ask one of them in the incident channel. Read-only commands (status, history, plan) work for everyone.',
    );
  });
});

describe('principalsText', () => {
  it('mentions users and groups, joined as a sentence', () => {
    expect(principalsText(approvals.approvers)).toBe('<@U0ALICE>, <@U0BOB> or members of <!subteam^S0SRE>');
    expect(principalsText({ users: ['U0ALICE'], userGroups: [] })).toBe('<@U0ALICE>');
    expect(principalsText({ users: [], userGroups: [] })).toContain('nobody is configured');
  });
});

describe('buildClickRefusalMessage', () => {
  const run = proposal();

  it.each([
    [
      'not-approver',
      run,
      '🚫 Only approvers can approve run `r1`. Approvers: <@U0ALICE>, <@U0BOB> or members of <!subteam^S0SRE>. ' +
        'Ask one of them in the incident channel.',
    ],
    [
      'self-approval',
      run,
      '🚫 You requested run `r1`, so another approver must approve it (self-approval is off). ' +
        'Approvers: <@U0ALICE>, <@U0BOB> or members of <!subteam^S0SRE>.',
    ],
    [
      'already-approved',
      approve(run, ALICE, 20, false),
      '👍 Your approval of run `r1` is already counted (1 approval so far). Another approver must add theirs.',
    ],
    [
      'not-proposed',
      move(run, 'rejected', 45, BOB, 'rejected'),
      'Run `r1` is already *rejected* by <@U0BOB> at <!date^1700000045^{time}|2023-11-14T22:14:05Z> — your click changed nothing.',
    ],
    [
      'not-proposed',
      runningRun(),
      'Run `r1` is already *running* (approved by <@U0ALICE>) — your click changed nothing.',
    ],
    [
      'expired',
      move(run, 'expired', 900, undefined, 'no decision before expiry'),
      '⌛ Run `r1` expired at <!date^1700000900^{time}|2023-11-14T22:28:20Z> without a decision; nothing will run. ' +
        'To try again: `/failover production <reason>`',
    ],
    [
      'not-paused',
      runningRun(),
      'Run `r1` is *running*, not paused: Retry, Skip and Abort act only on a paused run. Nothing changed.',
    ],
  ] as const)('%s', (code, target, expected) => {
    const message = buildClickRefusalMessage({ code, run: target, approvers: approvals.approvers });
    expect(message.text).toBe(expected.replace('<reason>', '&lt;reason&gt;'));
    expect(message.blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: message.text } }]);
  });

  it('names the action tried', () => {
    const message = buildClickRefusalMessage({
      code: 'not-approver',
      run: pausedAfterPromotion(),
      approvers: approvals.approvers,
      action: 'skip',
    });
    expect(message.text).toMatch(/^🚫 Only approvers can skip run `r1`/);
  });

  it('stale-message: the message is out of date, what the run did since, and where to look', () => {
    const paused = pausedAfterPromotion();
    const retried = { ...move(paused, 'running', 160, BOB, 'retry'), segment: paused.segment + 1 };
    const message = buildClickRefusalMessage({
      code: 'stale-message',
      run: retried,
      approvers: approvals.approvers,
      action: 'skip',
    });
    expect(message.text).toBe(
      'This message is out of date: run `r1` has moved on since (now *running*, retried by <@U0BOB>). ' +
        'Use the newest message in the thread.',
    );
  });

  it('already-voted: the vote is counted, how many so far, and that another approver must ask', () => {
    const paused = pausedAfterPromotion();
    const run = {
      ...paused,
      timeline: [
        ...paused.timeline,
        { at: paused.updatedAt, event: 'skip-requested', actor: ALICE, detail: `segment ${paused.segment}` },
      ],
    };
    const message = buildClickRefusalMessage({
      code: 'already-voted',
      run,
      approvers: approvals.approvers,
      action: 'skip',
      breakGlassApprovals: 2,
    });
    expect(message.text).toBe(
      '👍 Your request to skip the failed step of run `r1` is already counted (1 of 2). Another approver must ask too.',
    );
  });

  it('no-split-brain-risk: what paused the run instead, and what to do', () => {
    const message = buildClickRefusalMessage({
      code: 'no-split-brain-risk',
      run: pausedAfterPromotion(),
      approvers: approvals.approvers,
      action: 'accept the split-brain risk of',
    });
    expect(message.text).toBe(
      'Run `r1` is paused at switch-dns (`route53-throttled`), not by the split-brain guard: there is no ' +
        'split-brain risk to accept. Retry, Skip or Abort it instead.',
    );
  });
});

describe('buildErrorMessage', () => {
  it('says what failed, why, what to do, and the code', () => {
    const message = buildErrorMessage({
      action: 'approve run r1',
      error: new BatonError('run-conflict', 'run r1 was changed by someone else; try again', {
        retriable: true,
      }),
      next: 'Click Approve again.',
    });
    expect(message).toMatchSnapshot();
    expect(message.text).toBe(
      '⚠️ Baton could not approve run r1: run r1 was changed by someone else; try again. Click Approve again.',
    );
  });

  it('has a default next step and handles non-errors', () => {
    const message = buildErrorMessage({ action: 'read the history', error: 'Redis <down>' });
    expect(message.text).toBe(
      '⚠️ Baton could not read the history: Redis &lt;down&gt;. Try again in a moment. If it keeps failing, check Baton ' +
        'with `/failover status`, or use the break-glass CLI (`baton status`).',
    );
    expect(message.blocks).toHaveLength(1);
  });
});
