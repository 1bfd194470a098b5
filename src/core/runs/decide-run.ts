/**
 * What a person decides about a run, as pure transitions: retry the failed steps, abort, reject, cancel. Each checks
 * that the decision still applies (the run's state, the segment the person saw) and returns the run as it is to be
 * saved; the caller saves it atomically and enqueues the next segment. Approvals and break-glass votes live beside
 * these in core/policy. Refusals are BatonErrors whose message says what was refused, why, and what to do.
 */
import { BatonError } from '../../errors.js';
import type { Actor, Run } from '../model.js';
import { isStaleSegment, movedOnText } from '../policy/stale-segment.js';
import { pastPointOfNoReturn } from './point-of-no-return.js';
import { transitionRun } from './transition-run.js';

export interface Decision {
  actor: Actor;
  now: number;
  /** The segment the decision was made on (a button's); undefined: not tied to a message. */
  expectedSegment?: number | undefined;
  /** Why, when not a person's click (a game day's abortOn alert: "HighErrorRate fired"); the run's stateReason. */
  reason?: string | undefined;
}

/** A decision made on a message the run has moved on from. */
export function refuseStale(run: Run, expectedSegment: number | undefined): void {
  if (!isStaleSegment(run, expectedSegment)) return;
  throw new BatonError(
    'stale-message',
    `This message is out of date: run ${run.id} has moved on since ` +
      `(${movedOnText(run, { state: (state) => state, actor: (actor) => actor.id })}). ` +
      'Use the newest message in the thread.',
  );
}

/** Paused run: the failed steps go back to pending, the run runs again in a new segment. */
export function retryRun(run: Run, decision: Decision): Run {
  refuseStale(run, decision.expectedSegment);
  if (run.state !== 'paused') {
    throw new BatonError(
      'not-paused',
      `Run ${run.id} is ${run.state}, not paused: there is nothing to retry`,
    );
  }
  const steps = { ...run.steps };
  for (const step of Object.values(steps)) {
    if (step.status === 'failed') steps[step.id] = { ...step, status: 'pending', error: undefined };
  }
  return {
    ...transitionRun(run, 'running', { at: decision.now, actor: decision.actor, reason: 'retry' }),
    steps,
    segment: run.segment + 1,
  };
}

/**
 * Paused or running run: undo the reversible steps and stop. Refused past the point of no return — promotion was
 * requested, so nothing can be undone and the run can only finish.
 */
export function abortRun(run: Run, decision: Decision): Run {
  refuseStale(run, decision.expectedSegment);
  const step = pastPointOfNoReturn(run);
  if (step) {
    throw new BatonError(
      'past-point-of-no-return',
      `Run ${run.id} is past the point of no return (${step.title.replace(/ — .*$/, '')} was requested), so Abort ` +
        'would undo nothing. Retry the failed step to finish the run, or Skip it with break-glass approvals.',
    );
  }
  return {
    ...transitionRun(run, 'aborting', {
      at: decision.now,
      actor: decision.actor,
      reason: decision.reason ?? 'abort requested',
    }),
    segment: run.segment + 1,
  };
}

/** A proposal turned down. */
export function rejectRun(run: Run, decision: Decision & { reason?: string }): Run {
  return transitionRun(run, 'rejected', {
    at: decision.now,
    actor: decision.actor,
    reason: decision.reason ?? 'rejected',
  });
}

/** A proposal, or an approved run no worker has started, withdrawn. (A running run is aborted instead.) */
export function cancelRun(run: Run, decision: Decision): Run {
  return transitionRun(run, 'cancelled', { at: decision.now, actor: decision.actor, reason: 'cancelled' });
}
