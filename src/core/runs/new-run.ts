import type { Actor, Plan, Run } from '../model.js';
import { allSteps } from '../model.js';

/** A fresh proposal for `plan`: every step pending, segment 0 (approval starts segment 1). */
export function newRun(input: {
  id: string;
  plan: Plan;
  force: boolean;
  reason: string;
  requestedBy: Actor;
  now: number;
  expiresAfterMs: number;
}): Run {
  const { id, plan, force, reason, requestedBy, now } = input;
  return {
    id,
    site: plan.site,
    kind: plan.kind,
    mode: plan.mode,
    force,
    from: plan.from,
    to: plan.to,
    state: 'proposed',
    reason,
    requestedBy,
    createdAt: now,
    updatedAt: now,
    expiresAt: now + input.expiresAfterMs,
    approvals: [],
    plan,
    steps: Object.fromEntries(
      allSteps(plan).map((s) => [s.id, { id: s.id, status: 'pending', attempts: 0 }]),
    ),
    segment: 0,
    version: 1,
    timeline: [{ at: now, event: 'proposed', actor: requestedBy, detail: reason }],
  };
}
