/**
 * Where a pre-warmed proposal stands (DESIGN §6), for the job that follows it (src/queue/prewarm/): still open (warm
 * it, show its Ready count), decided but not yet handed over (wait), taken by its run (done), or ended without a run
 * (give back what pre-warm changed). A single proposal is one run; an evacuation's site is one more kind of proposal
 * (evacuation-site-prewarm.ts). Pure.
 */
import type { StepContext } from '../steps/step.js';
import type { Run } from '../model.js';
import type { Prewarm, PrewarmRelease } from './prewarm-record.js';

/** What pre-warm needs of a proposal: a run's identity for the scaling helpers, its site and its preflight. */
export type PrewarmTarget = StepContext['run'] & Pick<Run, 'site' | 'preflight'>;

export type PrewarmPhase =
  /** Waiting for its decision: warm the target, show its Ready count. */
  | { phase: 'open' }
  /** Never pre-warmed (an evacuation's site that already had an open run). */
  | { phase: 'off' }
  /** Approved, and its run not yet started or its record not yet handed over: change nothing, look again. */
  | { phase: 'deciding' }
  /** Its run has pre-warm's record: nothing left to do. */
  | { phase: 'left-for-run' }
  /** Ended without a run that took the record: scale back what pre-warm changed. */
  | { phase: 'give-back'; because: PrewarmRelease['because'] };

/** A single proposal: rejected, expired or cancelled gives back; any other end (an approval) leaves it to the run. */
export function runPrewarmPhase(run: Pick<Run, 'state'>): PrewarmPhase {
  switch (run.state) {
    case 'proposed':
      return { phase: 'open' };
    case 'rejected':
    case 'expired':
    case 'cancelled':
      return { phase: 'give-back', because: run.state };
    default:
      return { phase: 'left-for-run' };
  }
}

/** Whether pre-warm recorded any change it may have to give back. */
export const prewarmTouched = (p: Prewarm): boolean =>
  Object.keys((p.progress.before as object | undefined) ?? {}).length > 0 ||
  ((p.progress.autoscalersBefore as unknown[] | undefined) ?? []).length > 0;
