import { describe, expect, it } from 'vitest';
import { buildRunSummary } from '../../../src/slack/blocks/summary-message.js';
import { ALICE, BOB, abortedRun, approve, at, move, proposal, succeededRun } from './run-fixtures.js';

const texts = (message: ReturnType<typeof buildRunSummary>): string =>
  message.blocks.map((b) => (b.type === 'section' ? (b.text?.text ?? '') : '')).join('\n');

describe('buildRunSummary', () => {
  it('succeeded failover: timeline from the alert, recovery time, approvers, failback available', () => {
    const message = buildRunSummary({ run: succeededRun(), alertFiredAt: at(-120), now: at(200) });
    expect(message).toMatchSnapshot();
    const body = texts(message);
    expect(body).toContain('*Recovery time:* *4 m 20 s* from the alert firing to verified');
    expect(body).toContain('*Approved by:* <@U0ALICE> (1 m 0 s after the proposal)');
    expect(body).toContain('*Failback is available:* `/failback production` once east is healthy');
    const timeline = body.slice(body.indexOf('*Timeline*')).split('\n');
    expect(timeline.slice(1, 4)).toEqual([
      '<!date^1699999880^{time_secs}|2023-11-14T22:11:20Z>  🔔 Alert fired',
      '<!date^1700000000^{time_secs}|2023-11-14T22:13:20Z>  🗳️ Proposed by <@U0CAROL>: active cluster down',
      '<!date^1700000060^{time_secs}|2023-11-14T22:14:20Z>  👍 Approval by <@U0ALICE>',
    ]);
    expect(body).toContain(
      '<!date^1700000130^{time_secs}|2023-11-14T22:15:30Z>  🌐 DNS switched to west (DNS change C0123456789ABC INSYNC after 30 s)',
    );
    expect(body).toContain('✅ Verified: users reach west (resolves to 203.0.113.20; health 200)');
    expect(message.text).toBe(
      'EMERGENCY failover of production (r1) succeeded: west serves production; recovered in 4 m 20 s from the alert firing. ' +
        'Failback is available.',
    );
  });

  it('without the alert time, recovery is measured from the proposal', () => {
    const body = texts(buildRunSummary({ run: succeededRun(), now: at(200) }));
    expect(body).toContain('*Recovery time:* *2 m 20 s* from the proposal to verified');
    expect(body).not.toContain('Alert fired');
  });

  it('two approvals are two lines; the completing one is not repeated', () => {
    const run = approve(approve(proposal(), ALICE, 30, false), BOB, 45);
    const body = texts(buildRunSummary({ run, now: at(50) }));
    expect(body).toContain('👍 Approval by <@U0ALICE>');
    expect(body).toContain('👍 Approval by <@U0BOB>');
    expect(body).not.toContain('👍 Approved\n');
  });

  it('aborted run: not recovered, what was undone, no failback', () => {
    const message = buildRunSummary({ run: abortedRun(), now: at(800) });
    expect(message).toMatchSnapshot();
    const body = texts(message);
    expect(body).toContain('*Recovery time:* not recovered — the run is aborted');
    expect(body).toContain('↩️ Scale up west undone');
    expect(body).toContain('↩️ Abort requested by <@U0BOB>');
    expect(body).not.toContain('Failback is available');
    expect(message.text).toBe('EMERGENCY failover of production (r1) aborted.');
  });

  it('the split-brain risk: each vote and the resumption it caused are in the timeline, by whom', () => {
    const run = succeededRun();
    const votes = [
      { at: at(96), event: 'split-brain-risk-vote', actor: ALICE, detail: 'segment 1' },
      { at: at(97), event: 'split-brain-risk-vote', actor: BOB, detail: 'segment 1' },
      { at: at(97), event: 'running', actor: BOB, detail: 'split-brain risk accepted' },
    ];
    const body = texts(
      buildRunSummary({ run: { ...run, timeline: [...run.timeline, ...votes] }, now: at(200) }),
    );
    expect(body).toContain('🔀 Accepting the split-brain risk asked by <@U0ALICE>');
    expect(body).toContain('🔀 Accepting the split-brain risk asked by <@U0BOB>');
    expect(body).toContain('▶️ Resumed by <@U0BOB>: split-brain risk accepted');
  });

  it('a rejected proposal reads as such', () => {
    const run = move(proposal(), 'rejected', 45, BOB, 'rejected');
    const body = texts(buildRunSummary({ run, now: at(50) }));
    expect(body).toContain('*Approved by:* nobody');
    expect(body).toContain('🚫 Run rejected by <@U0BOB>: rejected');
  });
});
