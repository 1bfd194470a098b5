import { describe, expect, it } from 'vitest';
import type { Drill } from '../../../src/core/drills/drill.js';
import {
  DRILL_ACTION_IDS,
  buildDrillList,
  buildDrillMessage,
  buildDrillNote,
} from '../../../src/slack/blocks/drill-message.js';
import { findButtonValue } from '../../support/slack-harness.js';

const AT = Date.UTC(2026, 11, 8, 14, 0);
const drill: Drill = {
  id: 'd3',
  site: 'production',
  reason: 'quarterly <practice>',
  requestedBy: { type: 'slack-user', id: 'U0DAVE', name: 'dave' },
  createdAt: AT - 86_400_000,
  updatedAt: AT - 86_400_000,
  expiresAt: AT,
  at: AT,
  everyMs: 7 * 86_400_000,
  holdMs: 30 * 60_000,
  approvals: [],
  state: 'proposed',
  occurrence: 0,
  outcomes: [],
  version: 1,
};

describe('game day messages', () => {
  it('a proposal says it is a practice run, when, and carries Approve / Reject with the drill id', () => {
    const message = buildDrillMessage({ drill, approvalsRequired: 1 });
    expect(message).toMatchSnapshot();
    expect(message.text).toContain('Game day d3 · production');
    expect(findButtonValue(message, DRILL_ACTION_IDS.approve)).toBe('d3');
    expect(findButtonValue(message, DRILL_ACTION_IDS.reject)).toBe('d3');
    expect(JSON.stringify(message.blocks)).toContain('quarterly &lt;practice&gt;');
  });

  it('a scheduled drill has no buttons and shows its approvers and the waiting failback', () => {
    const holding: Drill = {
      ...drill,
      state: 'active',
      approvals: [{ actor: { type: 'slack-user', id: 'U0ALICE' }, at: AT - 1000, breakGlass: false }],
      occurrence: 1,
      current: {
        n: 1,
        phase: 'failback-waiting',
        dueAt: AT,
        startedAt: AT,
        failoverRunId: 'r7',
        waiting: 'HighErrorRate fired; run `/failback production`',
        waitingOn: 'alert',
      },
    };
    const message = buildDrillMessage({ drill: holding, approvalsRequired: 1 });
    expect(findButtonValue(message, DRILL_ACTION_IDS.approve)).toBeUndefined();
    expect(message.text).toMatch(/#1: the failback WAITS — HighErrorRate fired/);
    expect(JSON.stringify(message.blocks)).toContain('<@U0ALICE>');
    expect(buildDrillList({ drills: [holding], approvalsRequired: 1 }).text).toMatch(
      /d3\* production · next .* · every 7d, hold 30m · approved by <@U0ALICE>/,
    );
    expect(buildDrillNote(holding, '#1 SKIPPED — inside blocked window Fri 00:00-24:00').text).toBe(
      '🎯 Game day d3 (production): #1 SKIPPED — inside blocked window Fri 00:00-24:00',
    );
  });
});
