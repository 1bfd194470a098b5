import type { KnownBlock } from '@slack/types';
import { describe, expect, it } from 'vitest';
import type { Run } from '../../../src/core/model.js';
import { decodeActionValue } from '../../../src/slack/action-ids.js';
import type { ProposalMessageInput } from '../../../src/slack/blocks/proposal-message.js';
import { buildProposalMessage } from '../../../src/slack/blocks/proposal-message.js';
import { siteWithoutDatabase } from '../../support/core-fixtures.js';
import {
  ALICE,
  BOB,
  CAROL,
  PREFLIGHT_FAILING,
  PREFLIGHT_OK,
  approve,
  at,
  move,
  proposal,
  runningRun,
} from './run-fixtures.js';

const base = (run: Run, overrides: Partial<ProposalMessageInput> = {}): ProposalMessageInput => ({
  run,
  preflight: PREFLIGHT_OK,
  lagBytes: 524_288,
  approvalsRequired: 1,
  breakGlassRequired: false,
  now: at(30),
  ...overrides,
});

const buttons = (blocks: KnownBlock[]) =>
  blocks.flatMap((b) => (b.type === 'actions' ? b.elements : [])).filter((e) => e.type === 'button');
const allText = (blocks: KnownBlock[]): string => JSON.stringify(blocks);

describe('buildProposalMessage', () => {
  it('pending emergency proposal: plan, preflight, data loss, Approve and Reject', () => {
    const message = buildProposalMessage(
      base(proposal(), {
        trigger: {
          alertname: 'ActiveClusterDown',
          summary: 'east health endpoint down for 2m',
          startsAt: '2023-11-14T22:10:00Z',
          url: 'https://alertmanager.example.com/#/alerts?filter={alertname="ActiveClusterDown"}&silenced=false',
        },
      }),
    );
    expect(message).toMatchSnapshot();
    const [approveButton, rejectButton] = buttons(message.blocks);
    expect(approveButton).toMatchObject({ action_id: 'approve', style: 'primary' });
    expect(rejectButton).toMatchObject({ action_id: 'reject', style: 'danger' });
    expect(decodeActionValue(approveButton?.value ?? '')).toEqual({
      runId: 'r1',
      site: 'production',
      segment: 0,
    });
    expect(message.text).toBe(
      'EMERGENCY failover of production (east → west, r1) proposed by <@U0CAROL>: active cluster down. ' +
        'Needs 1 approval (0 so far).',
    );
    expect(allText(message.blocks)).toContain('up to *512 KiB* of WAL');
    expect(allText(message.blocks)).toContain('Expires at <!date^1700000900^{time}|2023-11-14T22:28:20Z>');
  });

  it('a resolved alert: the proposal keeps its buttons and says the alert resolved', () => {
    const trigger = { alertname: 'ActiveClusterDown', startsAt: at(-120), resolvedAt: at(20) };
    const message = buildProposalMessage(base(proposal(), { trigger }));
    expect(message).toMatchSnapshot();
    expect(buttons(message.blocks)).toHaveLength(2);
    expect(allText(message.blocks)).toContain(
      '✅ *The alert resolved* at <!date^1700000020^{time}|2023-11-14T22:13:40Z> — the proposal stays open',
    );
    expect(message.text).toMatch(/The alert has resolved\.$/);
    const rejected = buildProposalMessage(
      base(move(proposal(), 'rejected', 45, BOB, 'rejected'), { trigger, now: at(46) }),
    );
    expect(allText(rejected.blocks)).toContain('✅ *The alert resolved* at <!date^1700000020^{time}|');
    expect(allText(rejected.blocks)).not.toContain('stays open');
  });

  it('preflight still running, lag unknown', () => {
    const message = buildProposalMessage(base(proposal(), { preflight: 'pending', lagBytes: null }));
    const text = allText(message.blocks);
    expect(text).toContain('*Preflight:* ⏳ running');
    expect(text).toContain("*unknown* — west's standby lag could not be measured");
  });

  it('failed preflight says approving will stop there, failures listed first', () => {
    const message = buildProposalMessage(base(proposal(), { preflight: PREFLIGHT_FAILING }));
    const preflight = message.blocks.find(
      (b) => b.type === 'section' && b.text?.text.includes('*Preflight:*'),
    );
    expect(preflight).toMatchSnapshot();
    expect(message.text).toContain('Preflight: 1 failed.');
  });

  it('planned proposal promises no data loss', () => {
    const message = buildProposalMessage(base(proposal({ kind: 'failover', mode: 'planned' })));
    expect(allText(message.blocks)).toContain('none (planned switchover waits for the standby)');
    expect(message.blocks[0]).toMatchObject({ text: { text: '🔁 Planned failover · production' } });
  });

  it('a site without a database has no database data loss', () => {
    const message = buildProposalMessage(base(proposal({ kind: 'failover' }, siteWithoutDatabase())));
    expect(allText(message.blocks)).toContain('none from a database (this site has no database)');
  });

  it('--force is marked loudly and needs break-glass approvals', () => {
    const run = approve(proposal({ kind: 'failover', force: true }), ALICE, 20, false);
    const message = buildProposalMessage(
      base(run, { approvalsRequired: 2, breakGlassRequired: true, preflight: PREFLIGHT_FAILING }),
    );
    expect(message).toMatchSnapshot();
    expect(message.blocks[0]).toMatchObject({
      text: { text: '🔥 BREAK-GLASS EMERGENCY failover · production' },
    });
    expect(allText(message.blocks)).toContain('*Approvals:* 1 of 2 break-glass — approved by <@U0ALICE>');
    expect(allText(message.blocks)).not.toContain('Approving will stop at preflight');
    expect(buttons(message.blocks)[0]?.text.text).toBe('Approve (break-glass)');
  });

  it('approved: who approved and when, no buttons', () => {
    const run = approve(proposal(), ALICE, 60);
    const message = buildProposalMessage(base(run, { now: at(61) }));
    expect(message).toMatchSnapshot();
    expect(buttons(message.blocks)).toEqual([]);
    expect(message.text).toBe(
      'EMERGENCY failover of production (east → west, r1) approved by <@U0ALICE> — starting now.',
    );
  });

  it('a run that has moved on still shows the approval, not buttons', () => {
    const message = buildProposalMessage(base(runningRun(), { now: at(100) }));
    expect(buttons(message.blocks)).toEqual([]);
    expect(allText(message.blocks)).toContain('the run is *running*');
  });

  it('rejected: by whom and when, no buttons', () => {
    const message = buildProposalMessage(
      base(move(proposal(), 'rejected', 45, BOB, 'rejected'), { now: at(46) }),
    );
    expect(message).toMatchSnapshot();
    expect(buttons(message.blocks)).toEqual([]);
    expect(message.text).toBe('EMERGENCY failover of production (east → west, r1) rejected by <@U0BOB>.');
  });

  it('cancelled by the requester', () => {
    const message = buildProposalMessage(base(move(proposal(), 'cancelled', 45, CAROL, 'cancelled')));
    expect(buttons(message.blocks)).toEqual([]);
    expect(allText(message.blocks)).toContain(
      '🚫 *Cancelled* by <@U0CAROL> at <!date^1700000045^{time}|2023-11-14T22:14:05Z>. Nothing will run.',
    );
  });

  it('expired: no buttons, says how to try again', () => {
    const run = move(proposal(), 'expired', 900, undefined, 'no decision before expiry');
    const message = buildProposalMessage(base(run, { now: at(901) }));
    expect(message).toMatchSnapshot();
    expect(buttons(message.blocks)).toEqual([]);
  });

  it('a proposal past its expiry renders as expired even before the expiry job ran', () => {
    const message = buildProposalMessage(base(proposal(), { now: at(900) }));
    expect(buttons(message.blocks)).toEqual([]);
    expect(message.text).toContain('expired without a decision');
    const before = buildProposalMessage(base(proposal(), { now: at(899) }));
    expect(buttons(before.blocks)).toHaveLength(2);
  });

  it('dry run: no buttons and says nothing will run', () => {
    const message = buildProposalMessage(base(proposal(), { dryRun: true }));
    expect(message).toMatchSnapshot();
    expect(buttons(message.blocks)).toEqual([]);
    expect(message.text).toBe(
      'Dry run: EMERGENCY failover of production (east → west, r1) — nothing will run.',
    );
  });

  it('escapes the reason and the alert, so they cannot mention @channel or inject links', () => {
    const run = { ...proposal(), reason: '<!channel> db & <https://evil.example|click>' };
    const message = buildProposalMessage(
      base(run, { trigger: { alertname: 'A<b>', summary: 'x > y & z', url: 'javascript:alert(1)' } }),
    );
    const text = allText(message.blocks);
    expect(text).toContain('&lt;!channel&gt; db &amp; &lt;https://evil.example|click&gt;');
    expect(text).toContain('`A&lt;b&gt;`: x &gt; y &amp; z');
    expect(text).not.toContain('javascript:');
    expect(message.text).toContain('&lt;!channel&gt;');
  });

  it('shows the plan with parallel steps and the point of no return marked', () => {
    const message = buildProposalMessage(base(proposal()));
    const plan = message.blocks
      .filter((b) => b.type === 'section')
      .map((b) => b.text?.text ?? '')
      .filter((t) => /^\*Plan\*|^_Steps|^\*\d|^⛔/.test(t));
    expect(plan.join('\n')).toContain('_Steps 2–3 run in parallel:_');
    expect(plan.join('\n')).toContain(
      "⛔ *5. Promote west's database — point of no return*\n• fence east again, let west replay its final position and check nothing committed on east since\n• promote PostgreSQL on west and prove it accepts writes\n_⛔ Point of no return",
    );
  });
});
