/**
 * What a run's record proves about its speed and its data loss: the recovery time (RTO) from the last approval, and
 * from the alert behind it, to the moment `verify` proved users reach the new side; each step's duration; and the
 * RPO the promotion and verify measured. Pure: it reads only the record, so a report, a metric and `/failover
 * history` all give the same numbers for the same run.
 */
import type { Run, StepId, StepStatus } from '../model.js';
import { allSteps } from '../model.js';
import type { Rpo } from '../rpo.js';
import { rpoOf } from '../rpo.js';

/** One planned step as its record ended. */
export interface StepTiming {
  id: StepId;
  status: StepStatus;
  attempts: number;
  /**
   * finishedAt − startedAt (ms), null when it never finished. The record's startedAt survives a pause and Retry, so
   * a step that failed and was retried includes the time people took to decide.
   */
  durationMs: number | null;
}

export interface RunTimings {
  /** When the last approval completed the run (ms), null if it was never approved. */
  approvedAt: number | null;
  /**
   * When the alert the run recovered from started firing (ms): the trigger's `firedAt`, or, when the alerts
   * resolved and fired again before the run was approved, when Baton recorded them firing again. Null for a
   * person's request, or an alert without a start time.
   */
  alertFiredAt: number | null;
  /** When `verify` succeeded (ms), null when it did not (not reached, failed, or skipped: nothing was proved). */
  verifiedAt: number | null;
  /** RTO from the last approval: approvedAt → verifiedAt (ms). */
  approvalToVerifiedMs: number | null;
  /** RTO from the alert: alertFiredAt → verifiedAt (ms). */
  alertToVerifiedMs: number | null;
  /** Every planned step, in plan order. */
  steps: StepTiming[];
  /** The RPO the run measured (verify's re-reading, else the promotion's), null without a promotion. */
  rpo: Rpo | null;
}

const span = (from: number | null, to: number | null): number | null =>
  from !== null && to !== null ? Math.max(0, to - from) : null;

/** When the run became approved: the `approved` transition, else the newest approval. */
function approvedAt(run: Pick<Run, 'timeline' | 'approvals'>): number | null {
  const entry = run.timeline.findLast((e) => e.event === 'approved');
  if (entry) return entry.at;
  const times = run.approvals.map((a) => a.at);
  return times.length ? Math.max(...times) : null;
}

/** The start of the firing the run answered (see {@link RunTimings.alertFiredAt}). */
function alertFiredAt(run: Pick<Run, 'trigger' | 'timeline'>, approved: number | null): number | null {
  if (run.trigger?.source !== 'alert') return null;
  const before = run.timeline.filter((e) => approved === null || e.at <= approved);
  const resolved = before.findLastIndex((e) => e.event === 'alert-resolved');
  const again = before.findLastIndex((e) => e.event === 'alert-firing');
  if (resolved >= 0 && again > resolved) return before[again]?.at ?? null;
  return run.trigger.firedAt ?? null;
}

/** Measures a run from its record (any state; the numbers it cannot prove yet are null). */
export function measureRun(run: Run): RunTimings {
  const approved = approvedAt(run);
  const fired = alertFiredAt(run, approved);
  const verify = run.steps.verify;
  const verified = verify?.status === 'succeeded' ? (verify.finishedAt ?? null) : null;
  return {
    approvedAt: approved,
    alertFiredAt: fired,
    verifiedAt: verified,
    approvalToVerifiedMs: span(approved, verified),
    alertToVerifiedMs: span(fired, verified),
    steps: allSteps(run.plan).map((planned) => {
      const record = run.steps[planned.id];
      return {
        id: planned.id,
        status: record?.status ?? 'pending',
        attempts: record?.attempts ?? 0,
        durationMs: span(record?.startedAt ?? null, record?.finishedAt ?? null),
      };
    }),
    rpo: rpoOf(run),
  };
}
