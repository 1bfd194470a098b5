import { describe, expect, it } from 'vitest';
import type { ProbeTally } from '../../src/store/incidents/incident-record.js';
import { judgeProbes } from '../../src/alerts/judge-probes.js';

const T = 1_700_000_000_000;
const QUIET = 300_000;
const rule = (now: number) => ({ afterMs: QUIET, required: 3, slackMs: 15_000, now });
const failing = (overrides: Partial<ProbeTally> = {}): ProbeTally => ({
  since: T,
  total: 61,
  failed: 61,
  streak: 61,
  streakSince: T + 2_000,
  streakLast: T + QUIET + 1_000,
  last: { at: T + QUIET + 1_000, ok: false, detail: 'connection refused' },
  ...overrides,
});

describe('judgeProbes', () => {
  it('agrees when failed probes, none answered, cover the quiet period up to the last pass', () => {
    expect(judgeProbes(failing(), rule(T + QUIET + 2_000))).toEqual({
      agrees: true,
      streak: 61,
      since: T + 2_000,
      detail: 'connection refused',
    });
  });

  it('one probe is not enough, nor are too few', () => {
    const one = failing({ total: 1, failed: 1, streak: 1, streakSince: T + QUIET + 1_000 });
    expect(judgeProbes(one, rule(T + QUIET + 2_000))).toMatchObject({
      agrees: false,
      reason: 'too-few',
      streak: 1,
      required: 3,
    });
    expect(judgeProbes(undefined, rule(T + QUIET))).toMatchObject({ agrees: false, reason: 'too-few' });
    // Few passes in a short quiet period: three are needed, however long they took.
    const short = { ...rule(T + 20_000), afterMs: 10_000 };
    expect(judgeProbes(failing({ streak: 2, streakLast: T + 19_000 }), short)).toMatchObject({
      reason: 'too-few',
    });
    expect(judgeProbes(failing({ streak: 3, streakLast: T + 19_000 }), short)).toMatchObject({
      agrees: true,
    });
  });

  it('does not agree while a probe answers: the newest, or one after the failures', () => {
    const answered = failing({
      failed: 2,
      total: 3,
      streak: 0,
      streakSince: undefined,
      streakLast: undefined,
      lastOkAt: T + QUIET,
      last: { at: T + QUIET, ok: true, detail: '200' },
    });
    expect(judgeProbes(answered, rule(T + QUIET + 1_000))).toEqual({
      agrees: false,
      reason: 'answered',
      failed: 2,
      total: 3,
      okAt: T + QUIET,
      status: '200',
    });
    // A failure that began before the newest success (another worker's slow probe) is not evidence.
    const late = { ...answered, last: { at: T + QUIET + 500, ok: false, detail: 'timeout' } };
    expect(judgeProbes(late, rule(T + QUIET + 1_000))).toMatchObject({ reason: 'answered', okAt: T + QUIET });
  });

  it('after a success (or a gap) the failures must again cover a whole quiet period', () => {
    const reset = failing({ streak: 20, streakSince: T + 200_000, lastOkAt: T + 195_000 });
    expect(judgeProbes(reset, rule(T + QUIET + 2_000))).toEqual({
      agrees: false,
      reason: 'too-short',
      streak: 20,
      since: T + 200_000,
      okAt: T + 195_000,
      earliestAt: T + 200_000 - 15_000 + QUIET,
    });
    const later = { ...reset, streakLast: T + 490_000, last: { at: T + 490_000, ok: false, detail: 'x' } };
    expect(judgeProbes(later, rule(T + 490_000))).toMatchObject({ agrees: true, since: T + 200_000 });
    // Nobody probed in the first minutes of the quiet period (every worker was down): not enough evidence yet.
    const gap = failing({ streakSince: T + 60_000 });
    expect(judgeProbes(gap, rule(T + QUIET + 2_000))).toMatchObject({
      reason: 'too-short',
      earliestAt: T + 45_000 + QUIET,
    });
    expect(judgeProbes(gap, rule(T + QUIET + 2_000)).agrees).toBe(false);
  });

  it('the last failure must be recent: within the last pass', () => {
    expect(judgeProbes(failing(), rule(T + QUIET + 60_000))).toEqual({
      agrees: false,
      reason: 'stale',
      lastAt: T + QUIET + 1_000,
    });
  });
});
