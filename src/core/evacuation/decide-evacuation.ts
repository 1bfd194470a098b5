/**
 * The decisions on an evacuation, with the rules of a single proposal (DESIGN §6, core/policy/approvals.ts): only
 * approvers (the caller's authorizer says), never the requester unless allowed, distinct approvers by Baton's one
 * identity rule, before expiry, `approvals.required` of them. Which sites the decision starts is decided here too.
 */
import type { ApprovalsConfig } from '../../config/topology.js';
import type { ErrorCodeSubset } from '../../error-codes.js';
import type { Actor } from '../model.js';
import { approverMatch } from '../model.js';
import { findSameApprover } from '../policy/identity.js';
import type { Evacuation, EvacuationChoice, EvacuationSite } from './evacuation.js';
import { isSiteReady } from './evacuation.js';

export type EvacuationDecision =
  | { ok: true; evacuation: Evacuation; complete: boolean; count: number; required: number }
  | {
      ok: false;
      code: ErrorCodeSubset<'not-proposed' | 'expired' | 'self-approval' | 'already-approved'>;
      reason: string;
    };

const refuse = (code: Extract<EvacuationDecision, { ok: false }>['code'], reason: string) =>
  ({ ok: false, code, reason }) as const;

function openForDecision(evacuation: Evacuation, now: number): EvacuationDecision | null {
  if (evacuation.state !== 'proposed') {
    return refuse('not-proposed', `Evacuation ${evacuation.id} is already ${evacuation.state}`);
  }
  if (now >= evacuation.expiresAt) {
    return refuse('expired', `Evacuation ${evacuation.id} expired; propose it again`);
  }
  return null;
}

/** One approval (the actor is an approver: the caller checked). Completes the decision at `required`. */
export function approveEvacuation(
  evacuation: Evacuation,
  actor: Actor,
  context: { config: ApprovalsConfig; choice: EvacuationChoice; now: number },
): EvacuationDecision {
  const { config, choice, now } = context;
  const closed = openForDecision(evacuation, now);
  if (closed) return closed;
  if (!config.allowSelfApproval && approverMatch(actor, evacuation.requestedBy)) {
    return refuse('self-approval', 'You requested this evacuation; another approver must approve it');
  }
  if (
    findSameApprover(
      evacuation.approvals.map((a) => a.actor),
      actor,
    )
  ) {
    return refuse('already-approved', 'Your approval is already counted');
  }
  const approvals = [...evacuation.approvals, { actor, at: now, breakGlass: false, choice }];
  const required = config.required;
  const complete = approvals.length >= required;
  const next: Evacuation = {
    ...evacuation,
    approvals,
    updatedAt: now,
    ...(complete && {
      state: 'approved' as const,
      choice: approvals.some((a) => a.choice === 'ready') ? ('ready' as const) : ('all' as const),
    }),
  };
  return { ok: true, evacuation: next, complete, count: approvals.length, required };
}

/** Reject (an approver) or expire (`actor` Baton): no site is started. */
export function closeEvacuation(
  evacuation: Evacuation,
  state: 'rejected' | 'expired',
  actor: Actor,
  now: number,
): EvacuationDecision {
  if (evacuation.state !== 'proposed') {
    return refuse('not-proposed', `Evacuation ${evacuation.id} is already ${evacuation.state}`);
  }
  return {
    ok: true,
    evacuation: { ...evacuation, state, decidedBy: actor, updatedAt: now },
    complete: true,
    count: evacuation.approvals.length,
    required: 0,
  };
}

/**
 * What the decision does with each site: try to start a run, or say why not. "ready" leaves out a site whose
 * preflight failed or has not been measured. An open run seen at the proposal is not a reason: it may have ended
 * since; the start itself (runs/start-approved-run.ts) finds a site's open run when there is one, and never starts
 * a site twice.
 */
export function siteDecision(site: EvacuationSite, choice: EvacuationChoice): 'start' | string {
  if (choice === 'ready' && !isSiteReady(site)) {
    // Its preflight was not measured because of that open run.
    if (site.openRun && !site.preflight) return `had open run ${site.openRun} when proposed; not started`;
    return site.preflight ? 'preflight failed; not started' : 'preflight not measured yet; not started';
  }
  return 'start';
}
