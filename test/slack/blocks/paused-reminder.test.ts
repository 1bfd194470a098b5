import { describe, expect, it } from 'vitest';
import type { Run } from '../../../src/core/model.js';
import { buildPausedReminder } from '../../../src/slack/blocks/paused-reminder.js';
import { exampleTopology } from '../../support/core-fixtures.js';
import { at, move, pausedAfterPromotion, runningRun, step } from './run-fixtures.js';

const approvers = exampleTopology().approvals.approvers;

describe('buildPausedReminder', () => {
  it('how long, at which step, why, and who can do what', () => {
    const run = pausedAfterPromotion(); // paused at +150 s
    const message = buildPausedReminder({
      run,
      pausedAt: at(150),
      now: at(150) + 45 * 60_000 + 30_000,
      approvers,
    });
    expect(message).toMatchSnapshot();
    expect(message.text).toBe(
      '⏸️ production: run r1 has been paused for 45 min at switch-dns — Route 53 throttled ' +
        'ChangeResourceRecordSets (Throttling): Rate exceeded. Retry or Skip ' +
        '(approvers: <@U0ALICE>, <@U0BOB> or members of <!subteam^S0SRE>)',
    );
  });

  it('a run the split-brain guard paused also names Accept split-brain risk', () => {
    let run: Run = runningRun();
    run = step(run, 'switch-dns', { status: 'pending', attempts: 0 });
    run = step(run, 'promote-target-db', {
      status: 'failed',
      attempts: 1,
      error: "east's database still answers and is writable",
      errorCode: 'source-refuses-baton',
    });
    run = move(
      run,
      'paused',
      100,
      undefined,
      "promote-target-db: east's database still answers and is writable",
    );
    const message = buildPausedReminder({ run, pausedAt: at(100), now: at(100) + 15 * 60_000, approvers });
    expect(message.text).toBe(
      "⏸️ production: run r1 has been paused for 15 min at promote-target-db — east's database still answers " +
        'and is writable. Retry, Skip, Accept split-brain risk (break-glass) or Abort ' +
        '(approvers: <@U0ALICE>, <@U0BOB> or members of <!subteam^S0SRE>)',
    );
  });
});
