import type { ApprovalsConfig } from '../../config/topology.js';
import type { ErrorCodeSubset } from '../../error-codes.js';
import type { Actor, Run } from '../model.js';
import { approverMatch } from '../model.js';
import { transitionRun } from '../runs/transition-run.js';
import { findSameApprover, sameOsAccountReason } from './identity.js';

export type ApprovalOutcome =
  | { ok: true; run: Run; complete: boolean; count: number; required: number }
  | {
      ok: false;
      /** Thrown as a BatonError with this code by the run service. */
      code: ErrorCodeSubset<
        | 'not-proposed'
        | 'expired'
        | 'not-approver'
        | 'self-approval'
        | 'already-approved'
        /** Another `--as` typed from an OS account that already approved or proposed: it counts as one. */
        | 'same-os-account'
      >;
      reason: string;
    };

/** Approvals a run needs: break-glass runs (--force) need the break-glass count. */
export function requiredApprovals(run: Pick<Run, 'force'>, config: ApprovalsConfig): number {
  return run.force ? Math.max(config.breakGlass.required, config.required) : config.required;
}

/**
 * One approval click (DESIGN §6): only approvers, never the requester unless allowed, distinct approvers, before
 * expiry. Completes the run's approval when enough have landed. "Distinct" and "the requester" follow the one identity
 * rule (`approverMatch`): the CLI acting as a Slack user is that user, and one OS account is one approver.
 */
export function approveRun(
  run: Run,
  actor: Actor,
  context: { config: ApprovalsConfig; isApprover: boolean; now: number },
): ApprovalOutcome {
  const { config, isApprover, now } = context;
  if (run.state !== 'proposed') {
    return { ok: false, code: 'not-proposed', reason: `Run ${run.id} is already ${run.state}` };
  }
  if (run.expiresAt !== undefined && now >= run.expiresAt) {
    return { ok: false, code: 'expired', reason: `Run ${run.id} expired; propose it again` };
  }
  if (!isApprover) {
    return {
      ok: false,
      code: 'not-approver',
      reason: 'You are not an approver for failovers — ask someone on the SRE rota',
    };
  }
  const required = requiredApprovals(run, config);
  const asRequester = config.allowSelfApproval ? null : approverMatch(actor, run.requestedBy);
  if (asRequester === 'same-person') {
    return {
      ok: false,
      code: 'self-approval',
      reason: 'You requested this run; another approver must approve it',
    };
  }
  if (asRequester === 'same-os-account') {
    return {
      ok: false,
      code: 'same-os-account',
      reason: sameOsAccountReason(
        actor,
        `${run.requestedBy.id} proposed ${run.id} from it, and the requester may not approve ` +
          '(approvals.allowSelfApproval is off)',
        'Another approver must approve',
      ),
    };
  }
  const earlier = findSameApprover(
    run.approvals.map((a) => a.actor),
    actor,
  );
  if (earlier?.match === 'same-person') {
    return { ok: false, code: 'already-approved', reason: 'Your approval is already counted' };
  }
  if (earlier) {
    return {
      ok: false,
      code: 'same-os-account',
      reason: sameOsAccountReason(
        actor,
        `${earlier.earlier.id}'s approval from it is already counted (${run.approvals.length} of ${required})`,
        'Another approver must approve',
      ),
    };
  }
  const approvals = [...run.approvals, { actor, at: now, breakGlass: run.force }];
  let next: Run = {
    ...run,
    approvals,
    updatedAt: now,
    timeline: [...run.timeline, { at: now, event: 'approval', actor }],
  };
  const complete = approvals.length >= required;
  if (complete) next = { ...transitionRun(next, 'approved', { at: now, actor }), segment: next.segment + 1 };
  return { ok: true, run: next, complete, count: approvals.length, required };
}
