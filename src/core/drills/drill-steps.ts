/**
 * How a game day moves, as pure functions the drill scheduler saves atomically: an occurrence starts (with the
 * failover run it starts, already approved by the drill's approvals), holds, fails back, waits, or ends; and the
 * drill then waits for its next occurrence or finishes.
 */
import type { Plan, Run } from '../model.js';
import { newRun } from '../runs/new-run.js';
import { transitionRun } from '../runs/transition-run.js';
import type { Drill, DrillOccurrence, DrillOutcome } from './drill.js';
import { DRILL_ACTOR, DRILL_LIMITS } from './drill.js';
import { nextOccurrence } from './drill-schedule.js';

/** The drill with an occurrence under way: its failover run `runId` (created right after this is saved). */
export function startOccurrence(drill: Drill, now: number, runId: string): Drill {
  const n = drill.occurrence + 1;
  const dueAt = drill.nextAt ?? now;
  const { nextAt: _due, ...rest } = drill;
  return {
    ...rest,
    state: 'active',
    occurrence: n,
    current: { n, phase: 'failover', dueAt, startedAt: now, failoverRunId: runId },
    updatedAt: now,
  };
}

/** The drill with its current occurrence moved on (hold, failback, wait). */
export function moveOccurrence(drill: Drill, now: number, change: Partial<DrillOccurrence>): Drill {
  if (!drill.current) return drill;
  return { ...drill, current: { ...drill.current, ...change }, updatedAt: now };
}

/**
 * The occurrence `n` (the current one, or one skipped before it started) ended with `outcome`: the drill waits for
 * its next occurrence, or finishes when it does not repeat.
 */
export function endOccurrence(
  drill: Drill,
  now: number,
  outcome: Omit<DrillOutcome, 'at'>,
  dueAt: number,
): Drill {
  const { current: _done, nextAt: _due, ...rest } = drill;
  const outcomes = [...drill.outcomes, { ...outcome, at: now }].slice(-DRILL_LIMITS.keepOutcomes);
  const nextAt = nextOccurrence(drill, dueAt, now);
  if (nextAt === undefined) {
    return { ...rest, outcomes, state: 'finished', stateReason: outcome.detail, updatedAt: now };
  }
  return { ...rest, outcomes, state: 'scheduled', nextAt, updatedAt: now };
}

/**
 * The run an occurrence starts: planned, requested by the person who proposed the drill, approved by the drill's
 * approvers (each approval keeps its person and time; the transition names the game-day policy that used them).
 */
export function drillRun(input: {
  id: string;
  plan: Plan;
  drill: Drill;
  occurrence: number;
  now: number;
  expiresAfterMs: number;
}): Run {
  const { id, plan, drill, occurrence, now } = input;
  const reason = `Game day ${drill.id} #${occurrence}: ${drill.reason}`;
  const proposed = newRun({
    id,
    plan,
    force: false,
    reason,
    requestedBy: drill.requestedBy,
    now,
    expiresAfterMs: input.expiresAfterMs,
  });
  const approved = transitionRun({ ...proposed, approvals: drill.approvals }, 'approved', {
    at: now,
    actor: DRILL_ACTOR,
    reason: `approved with game day ${drill.id}`,
  });
  return {
    ...approved,
    stateReason: undefined,
    segment: 1,
    drill: { id: drill.id, occurrence },
  };
}

/** Whether the run is a game day's (its messages say so). */
export const isDrillRun = (run: Pick<Run, 'drill'>): boolean => run.drill !== undefined;
