import type { ApprovalsConfig } from '../../config/topology.js';
import type { Actor, Run } from '../model.js';
import { sameActor } from '../model.js';
import { transitionRun } from '../runs/transition-run.js';

export type ApprovalOutcome =
  | { ok: true; run: Run; complete: boolean; count: number; required: number }
  | {
      ok: false;
      code: 'not-proposed' | 'expired' | 'not-approver' | 'self-approval' | 'already-approved';
      reason: string;
    };

/** Approvals a run needs: break-glass runs (--force) need the break-glass count. */
export function requiredApprovals(run: Pick<Run, 'force'>, config: ApprovalsConfig): number {
  return run.force ? Math.max(config.breakGlass.required, config.required) : config.required;
}

/**
 * One approval click (DESIGN §6): only approvers, never the requester unless allowed, distinct approvers, before
 * expiry. Completes the run's approval when enough have landed.
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
  if (!config.allowSelfApproval && sameActor(actor, run.requestedBy)) {
    return {
      ok: false,
      code: 'self-approval',
      reason: 'You requested this run; another approver must approve it',
    };
  }
  if (run.approvals.some((a) => sameActor(a.actor, actor))) {
    return { ok: false, code: 'already-approved', reason: 'Your approval is already counted' };
  }
  const required = requiredApprovals(run, config);
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
