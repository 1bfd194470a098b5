import { describe, expect, it } from 'vitest';
import type { Run, RunState } from '../../../src/core/model.js';
import { RUN_STATES, SYSTEM_ACTOR, TERMINAL_STATES } from '../../../src/core/model.js';
import { canTransition, isTerminal, transitionRun } from '../../../src/core/runs/transition-run.js';
import { ALICE, exampleSite, proposedRun, refusal } from '../../support/core-fixtures.js';

/** DESIGN §5, written out independently of the implementation's table. */
const LEGAL: Record<RunState, RunState[]> = {
  proposed: ['approved', 'rejected', 'expired', 'cancelled'],
  approved: ['running', 'cancelled', 'failed'],
  running: ['succeeded', 'paused', 'failed', 'aborting'],
  paused: ['running', 'aborting', 'failed'],
  aborting: ['aborted', 'failed', 'paused'],
  succeeded: [],
  rejected: [],
  expired: [],
  cancelled: [],
  failed: [],
  aborted: [],
};

const site = exampleSite();
const runIn = (state: RunState): Run => ({ ...proposedRun(site), state });
const legalPairs = RUN_STATES.flatMap((from) => LEGAL[from].map((to) => [from, to] as const));
const illegalPairs = RUN_STATES.flatMap((from) =>
  RUN_STATES.filter((to) => !LEGAL[from].includes(to)).map((to) => [from, to] as const),
);

describe('transitionRun', () => {
  it.each(legalPairs)('allows %s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
    const next = transitionRun(runIn(from), to, { at: 2_000 });
    expect(next.state).toBe(to);
    expect(next.updatedAt).toBe(2_000);
  });

  it.each(illegalPairs)('refuses %s → %s with illegal-transition', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
    const error = refusal(() => transitionRun(runIn(from), to, { at: 2_000 }));
    expect(error.code).toBe('illegal-transition');
    expect(error.retriable).toBe(false);
    expect(error.message).toContain(`Run r1 is ${from}; it cannot become ${to}`);
  });

  it('names the states a run can move to when it refuses', () => {
    const error = refusal(() => transitionRun(runIn('approved'), 'succeeded', { at: 1 }));
    expect(error.message).toBe(
      'Run r1 is approved; it cannot become succeeded (it can become: running, cancelled, failed)',
    );
  });

  it.each([...TERMINAL_STATES])('keeps the terminal state %s final', (state) => {
    expect(isTerminal(state)).toBe(true);
    for (const to of RUN_STATES) {
      const error = refusal(() => transitionRun(runIn(state), to, { at: 1 }));
      expect(error.code).toBe('illegal-transition');
      expect(error.message).toMatch(/\(it is finished\)$/);
    }
  });

  it('treats only the six end states as terminal', () => {
    expect(RUN_STATES.filter(isTerminal)).toEqual([
      'succeeded',
      'rejected',
      'expired',
      'cancelled',
      'failed',
      'aborted',
    ]);
  });

  it('appends a timeline entry with the actor and reason, and records the reason', () => {
    const run = runIn('running');
    const next = transitionRun(run, 'paused', {
      at: 5_000,
      actor: SYSTEM_ACTOR,
      reason: 'switch-dns: denied',
    });
    expect(next.timeline).toEqual([
      ...run.timeline,
      { at: 5_000, event: 'paused', actor: SYSTEM_ACTOR, detail: 'switch-dns: denied' },
    ]);
    expect(next.stateReason).toBe('switch-dns: denied');
  });

  it('omits actor and detail when none are given, and clears an earlier reason', () => {
    const paused = transitionRun(runIn('running'), 'paused', { at: 1, reason: 'verify failed' });
    const resumed = transitionRun(paused, 'running', { at: 2, actor: ALICE });
    expect(resumed.timeline.at(-1)).toEqual({ at: 2, event: 'running', actor: ALICE });
    expect(resumed.stateReason).toBeUndefined();
    const expired = transitionRun(runIn('proposed'), 'expired', { at: 3 });
    expect(expired.timeline.at(-1)).toEqual({ at: 3, event: 'expired' });
  });

  it('returns a new run and leaves the old one untouched', () => {
    const run = runIn('proposed');
    const before = structuredClone(run);
    const next = transitionRun(run, 'approved', { at: 9, actor: ALICE });
    expect(next).not.toBe(run);
    expect(run).toEqual(before);
    expect(next.version).toBe(run.version); // versions are the store's business
  });
});
