/**
 * Break-glass acts on a paused run (DESIGN §6 and its safety rules): skipping a failed step, and accepting the
 * split-brain risk the promote step's guard refused. Each takes effect only when `breakGlass.required` distinct
 * approvers have asked in the run's current segment; until then each ask is recorded in the timeline (an event with
 * detail `segment N`) and counted. Distinct means Baton's one identity rule: the CLI acting as a Slack user is that
 * user, and one OS account is one approver. Pure: the caller saves the run and enqueues the next segment.
 */
import type { ErrorCodeSubset } from '../../error-codes.js';
import type { AcceptedRisk, Actor, Run, StepRecord } from '../model.js';
import { allSteps, isSplitBrainCode } from '../model.js';
import { transitionRun } from '../runs/transition-run.js';
import { distinctApprovers, findSameApprover, sameOsAccountReason } from './identity.js';

export const BREAK_GLASS_ACTS = {
  skip: {
    /** The timeline event of one ask. */
    event: 'skip-requested',
    /** "U0ALICE already asked to …" */
    asked: 'skip the failed step',
    /** The `running` transition's reason once it takes effect. */
    reason: 'skip',
  },
  'accept-risk': {
    event: 'split-brain-risk-vote',
    asked: 'accept the split-brain risk',
    reason: 'split-brain risk accepted',
  },
} as const;

export type BreakGlassAct = keyof typeof BREAK_GLASS_ACTS;

export type VoteOutcome =
  | { ok: true; run: Run; applied: boolean; count: number; required: number; voters: Actor[] }
  | {
      ok: false;
      /** Thrown as a BatonError with this code by the run service. */
      code: ErrorCodeSubset<'not-paused' | 'already-voted' | 'same-os-account' | 'no-split-brain-risk'>;
      reason: string;
    };

export interface VoteContext {
  /** `breakGlass.required` (at least `required`): see `requiredApprovals({ force: true }, …)`. */
  required: number;
  now: number;
}

/** Distinct approvers who asked for `act` in the run's current segment, first ask of each, in order. */
export function segmentVoters(run: Pick<Run, 'timeline' | 'segment'>, act: BreakGlassAct): Actor[] {
  const { event } = BREAK_GLASS_ACTS[act];
  const detail = `segment ${run.segment}`;
  return distinctApprovers(
    run.timeline.flatMap((e) => (e.event === event && e.detail === detail && e.actor ? [e.actor] : [])),
  );
}

/**
 * One ask for `act`. Refused when the run is not paused or this approver (by the identity rule) already asked.
 * When the ask completes the count, `effect` changes the run (already `running`, in its new segment) as the act
 * says; otherwise the run only records the ask.
 */
function castVote(
  run: Run,
  actor: Actor,
  act: BreakGlassAct,
  context: VoteContext,
  effect: (resumed: Run, voters: Actor[]) => Run,
): VoteOutcome {
  const { required, now } = context;
  const spec = BREAK_GLASS_ACTS[act];
  if (run.state !== 'paused') {
    return { ok: false, code: 'not-paused', reason: `Run ${run.id} is ${run.state}, not paused` };
  }
  const before = segmentVoters(run, act);
  const earlier = findSameApprover(before, actor);
  if (earlier?.match === 'same-person') {
    return {
      ok: false,
      code: 'already-voted',
      reason:
        `Your request to ${spec.asked} of run ${run.id} is already counted (${before.length} of ${required}); ` +
        'another approver must ask too',
    };
  }
  if (earlier) {
    return {
      ok: false,
      code: 'same-os-account',
      reason: sameOsAccountReason(
        actor,
        `${earlier.earlier.id} already asked to ${spec.asked} from it (${before.length} of ${required})`,
        'Another approver must ask',
      ),
    };
  }
  const voters = [...before, actor];
  const asked: Run = {
    ...run,
    updatedAt: now,
    timeline: [...run.timeline, { at: now, event: spec.event, actor, detail: `segment ${run.segment}` }],
  };
  if (voters.length < required) {
    return { ok: true, run: asked, applied: false, count: voters.length, required, voters };
  }
  const resumed: Run = {
    ...transitionRun(asked, 'running', { at: now, actor, reason: spec.reason }),
    segment: run.segment + 1,
  };
  return { ok: true, run: effect(resumed, voters), applied: true, count: voters.length, required, voters };
}

/** Skip: the failed steps count as skipped and the run continues after them. */
export function voteSkip(run: Run, actor: Actor, context: VoteContext): VoteOutcome {
  return castVote(run, actor, 'skip', context, (resumed) => {
    const steps = { ...resumed.steps };
    for (const step of Object.values(steps)) {
      if (step.status === 'failed') steps[step.id] = { ...step, status: 'skipped', skippedBy: actor };
    }
    return { ...resumed, steps };
  });
}

/** The failed steps of a paused run that the split-brain guard stopped. */
export function splitBrainFailures(run: Pick<Run, 'plan' | 'steps'>): StepRecord[] {
  return allSteps(run.plan).flatMap((planned) => {
    const step = run.steps[planned.id];
    return step && step.status === 'failed' && isSplitBrainCode(step.errorCode) ? [step] : [];
  });
}

/**
 * Accepting the split-brain risk: the guard's failed steps go back to pending, and the run records the acceptance
 * (who, when, from which segment, and what the guard said) so the promote step honours it from then on.
 */
export function voteAcceptRisk(run: Run, actor: Actor, context: VoteContext): VoteOutcome {
  if (run.state === 'paused') {
    const guarded = splitBrainFailures(run);
    if (!guarded.length) {
      const failed = Object.values(run.steps).filter((s) => s.status === 'failed');
      const where = failed.length
        ? ` at ${failed.map((s) => `${s.id}${s.errorCode ? ` (${s.errorCode})` : ''}`).join(', ')}`
        : '';
      return {
        ok: false,
        code: 'no-split-brain-risk',
        reason:
          `Run ${run.id} is paused${where}, not by the split-brain guard: there is no split-brain risk to ` +
          'accept. Retry, Skip or Abort it instead.',
      };
    }
  }
  return castVote(run, actor, 'accept-risk', context, (resumed, voters) => {
    const guarded = splitBrainFailures(run);
    const steps = { ...resumed.steps };
    for (const step of guarded) {
      const { error: _error, errorCode: _code, ...rest } = step;
      steps[step.id] = { ...rest, status: 'pending' };
    }
    const accepted: AcceptedRisk = {
      risk: 'split-brain',
      by: voters,
      at: context.now,
      segment: resumed.segment,
      detail: guarded.map((s) => s.error ?? s.errorCode ?? s.id).join('; '),
    };
    return { ...resumed, steps, acceptedRisks: [...(run.acceptedRisks ?? []), accepted] };
  });
}
