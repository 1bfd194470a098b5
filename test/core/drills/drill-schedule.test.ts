import { describe, expect, it } from 'vitest';
import type { Drill } from '../../../src/core/drills/drill.js';
import {
  approveDrill,
  decideDue,
  nextOccurrence,
  parseDrillAt,
} from '../../../src/core/drills/drill-schedule.js';
import { parseBlockedWindow } from '../../../src/core/policy/blocked-windows.js';
import type { ApprovalsConfig } from '../../../src/config/topology.js';

const NOW = Date.UTC(2026, 11, 3, 15, 0); // Thursday
const DAY = 86_400_000;
const ALICE = { type: 'slack-user' as const, id: 'U0ALICE' };
const BOB = { type: 'slack-user' as const, id: 'U0BOB' };
const DAVE = { type: 'slack-user' as const, id: 'U0DAVE' };
const CONFIG: ApprovalsConfig = {
  approvers: { users: ['U0ALICE', 'U0BOB'], userGroups: [] },
  requesters: { users: [], userGroups: [] },
  required: 2,
  allowSelfApproval: false,
  expiresAfterMs: 15 * 60_000,
  breakGlass: { required: 2 },
};

const drill = (overrides: Partial<Drill> = {}): Drill => ({
  id: 'd1',
  site: 'production',
  reason: 'practice',
  requestedBy: DAVE,
  createdAt: NOW,
  updatedAt: NOW,
  expiresAt: NOW + 15 * 60_000,
  holdMs: 30 * 60_000,
  approvals: [],
  state: 'proposed',
  occurrence: 0,
  outcomes: [],
  version: 1,
  ...overrides,
});

describe('drill schedule', () => {
  it('reads --at as the next HH:MM in UTC, or an ISO time', () => {
    expect(parseDrillAt('16:30', NOW)).toEqual({ ok: true, at: Date.UTC(2026, 11, 3, 16, 30) });
    expect(parseDrillAt('14:00', NOW)).toEqual({ ok: true, at: Date.UTC(2026, 11, 4, 14, 0) });
    expect(parseDrillAt('2026-12-08T14:00', NOW)).toEqual({ ok: true, at: Date.UTC(2026, 11, 8, 14, 0) });
    expect(parseDrillAt('2026-12-08T14:00+01:00', NOW)).toEqual({
      ok: true,
      at: Date.UTC(2026, 11, 8, 13, 0),
    });
    expect(parseDrillAt('2026-12-01T14:00Z', NOW)).toMatchObject({ ok: false, error: /in the past/ });
    expect(parseDrillAt('2027-06-01T14:00Z', NOW)).toMatchObject({ ok: false, error: /more than 90 days/ });
  });

  it('repeats on its rhythm, skipping occurrences that are already past', () => {
    expect(nextOccurrence({}, NOW, NOW)).toBeUndefined();
    expect(nextOccurrence({ everyMs: 7 * DAY }, NOW, NOW + DAY)).toBe(NOW + 7 * DAY);
    expect(nextOccurrence({ everyMs: DAY }, NOW, NOW + 2.5 * DAY)).toBe(NOW + 3 * DAY);
  });

  it('skips inside a blocked window and expires approvals older than 30 days', () => {
    const fridays = [parseBlockedWindow('Fri 00:00-24:00')];
    expect(decideDue({ approvedAt: NOW }, NOW, fridays)).toEqual({ kind: 'start' });
    expect(decideDue({ approvedAt: NOW }, NOW + DAY, fridays)).toMatchObject({
      kind: 'skip',
      reason: 'inside blocked window Fri 00:00-24:00',
    });
    expect(decideDue({ approvedAt: NOW - 31 * DAY }, NOW, [])).toMatchObject({
      kind: 'expire',
      reason: /more than 30 days old; propose the drill again/,
    });
  });

  it('approves with the run rules: distinct approvers, not the requester, then scheduled', () => {
    const context = { config: CONFIG, now: NOW + 1000 };
    expect(approveDrill(drill(), DAVE, context)).toMatchObject({ ok: false, code: 'self-approval' });
    const first = approveDrill(drill(), ALICE, context);
    if (!first.ok) throw new Error(first.reason);
    expect(first).toMatchObject({ complete: false, count: 1, required: 2 });
    expect(approveDrill(first.drill, ALICE, context)).toMatchObject({ ok: false, code: 'already-approved' });
    const second = approveDrill(first.drill, BOB, context);
    expect(second).toMatchObject({
      ok: true,
      complete: true,
      drill: { state: 'scheduled', approvedAt: NOW + 1000, nextAt: NOW + 1000 },
    });
    expect(approveDrill(drill(), ALICE, { config: CONFIG, now: NOW + DAY })).toMatchObject({
      ok: false,
      code: 'expired',
    });
  });
});
