/**
 * A game day (DESIGN §2, `/failover drill`): a practice run of one site, approved once when it is scheduled. Each
 * occurrence is (1) a planned failover, (2) traffic held on the standby for `holdMs`, (3) an automatic planned
 * failback. Pure data; the scheduling decisions are in ./drill-schedule.ts, the state moves in ./drill-steps.ts.
 */
import type { Actor, Approval } from '../model.js';

export const DRILL_STATES = [
  /** Waiting for approvals (Approve / Reject on its message). */
  'proposed',
  /** Approved; its next occurrence starts at `nextAt`. */
  'scheduled',
  /** An occurrence is under way (`current`). */
  'active',
  /** No further occurrence: a one-off drill that ran or was skipped, or a drill that ended. */
  'finished',
  'cancelled',
  'rejected',
  /** The proposal was not approved in time, or a repeating drill's approvals grew too old. */
  'expired',
] as const;
export type DrillState = (typeof DRILL_STATES)[number];

export const DRILL_OPEN_STATES: ReadonlySet<DrillState> = new Set(['proposed', 'scheduled', 'active']);

/** Where an occurrence is: its failover runs, traffic is held on the standby, its failback runs, or it waits. */
export const DRILL_PHASES = ['failover', 'holding', 'failback', 'failback-waiting'] as const;
export type DrillPhase = (typeof DRILL_PHASES)[number];

/** The policy actor Baton acts as for a drill: starting its runs, aborting one when an `abortOn` alert fires. */
export const DRILL_POLICY = 'game-day';
export const DRILL_ACTOR: Actor = { type: 'policy', id: DRILL_POLICY, name: 'game day' };

/** Defaults and limits of `/failover drill` (DESIGN §2). */
export const DRILL_LIMITS = {
  defaultHoldMs: 30 * 60_000,
  minHoldMs: 60_000,
  maxHoldMs: 24 * 3_600_000,
  /** A drill every few hours is an outage, not a practice. */
  minEveryMs: 24 * 3_600_000,
  maxEveryMs: 90 * 24 * 3_600_000,
  /** `--at` at most this far ahead. */
  maxAheadMs: 90 * 24 * 3_600_000,
  /**
   * A repeating drill's approvals are reused for every occurrence for this long, then the drill expires and must be
   * proposed again: people, the topology and the team's risk appetite change; a month is one review cycle.
   */
  approvalsValidMs: 30 * 24 * 3_600_000,
  /** Outcomes kept on the drill (newest last). */
  keepOutcomes: 10,
} as const;

export interface DrillOccurrence {
  /** 1, 2, … */
  n: number;
  phase: DrillPhase;
  /** When it was due (the schedule's time; the next occurrence counts from it). */
  dueAt: number;
  startedAt: number;
  failoverRunId: string;
  failbackRunId?: string;
  /** Holding: when the failback is due. */
  holdUntil?: number;
  /** Failback waiting: why (an `abortOn` alert, the site not ready for it), as the channel was told. */
  waiting?: string;
  /** What the failback waits on: people (an `abortOn` alert fired) or the site becoming ready for it. */
  waitingOn?: 'alert' | 'readiness';
  /** Failback waiting on readiness: when it was last checked. */
  checkedAt?: number;
}

export type DrillResult = 'completed' | 'skipped' | 'aborted' | 'ended' | 'failback-by-hand' | 'cancelled';

export interface DrillOutcome {
  n: number;
  at: number;
  result: DrillResult;
  /** One line for people, e.g. "skipped: inside blocked window Fri 00:00-24:00". */
  detail: string;
  runIds: string[];
}

export interface Drill {
  /** `d1`, `d2`, … */
  id: string;
  site: string;
  reason: string;
  requestedBy: Actor;
  createdAt: number;
  updatedAt: number;
  /** The proposal expires unapproved at this time. */
  expiresAt: number;
  /** The first occurrence as asked (`--at`); absent: as soon as approved. */
  at?: number;
  /** Repeat interval (`--every`); absent: once. */
  everyMs?: number;
  holdMs: number;
  approvals: Approval[];
  /** When the last approval landed; a repeating drill reuses them until `approvedAt + approvalsValidMs`. */
  approvedAt?: number;
  state: DrillState;
  /** Scheduled: when the next occurrence starts. */
  nextAt?: number;
  /** The number of the current or last occurrence (0 before the first). */
  occurrence: number;
  current?: DrillOccurrence;
  outcomes: DrillOutcome[];
  /** Why it finished, was cancelled, rejected or expired. */
  stateReason?: string;
  endedBy?: Actor;
  /** Optimistic-concurrency version, bumped by every save. */
  version: number;
}

/** What a run started by a drill carries (`Run.drill`): the drill and the occurrence. */
export interface RunDrill {
  id: string;
  occurrence: number;
}
