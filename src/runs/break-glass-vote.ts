/**
 * One vote of a break-glass act on a paused run (skip the failed step, or accept the split-brain risk): authorized
 * as an approver, counted by the one identity rule (core/policy/break-glass-votes.ts), saved atomically with its
 * audit entry. It takes effect when `breakGlass.required` distinct approvers have asked.
 */
import type { Topology } from '../config/topology.js';
import type { Actor, Run } from '../core/model.js';
import { requiredApprovals } from '../core/policy/approvals.js';
import type { BreakGlassAct, VoteOutcome } from '../core/policy/break-glass-votes.js';
import { voteAcceptRisk, voteSkip } from '../core/policy/break-glass-votes.js';
import type { Clock } from '../core/ports.js';
import { refuseStale } from '../core/runs/decide-run.js';
import type { AuditEvent } from '../core/runs/run-event.js';
import { BatonError, isBatonError } from '../errors.js';
import type { RunStore } from '../store/run-store.js';
import type { Authorizer } from './authorizer.js';

/** One vote of a break-glass act: whether it took effect, and how many distinct approvers have asked. */
export interface BreakGlassVoteResult {
  run: Run;
  applied: boolean;
  count: number;
  required: number;
}

export interface BreakGlassVote {
  runId: string;
  actor: Actor;
  act: BreakGlassAct;
  /** The segment of the message the vote was cast on; a vote on an older one is refused as out of date. */
  expectedSegment?: number | undefined;
}

export async function castBreakGlassVote(
  deps: { store: RunStore; clock: Clock; topology: Topology; authorizer: Authorizer },
  { runId, actor, act, expectedSegment }: BreakGlassVote,
): Promise<BreakGlassVoteResult> {
  const { store, clock, topology, authorizer } = deps;
  await authorizer.require(
    actor,
    'approve',
    act === 'skip' ? 'ask to skip a step (break-glass)' : 'accept the split-brain risk (break-glass)',
  );
  const required = requiredApprovals({ force: true }, topology.approvals);
  let outcome: Extract<VoteOutcome, { ok: true }> | undefined;
  let refused: Run | undefined;
  const vote = store.mutate(
    runId,
    (current) => {
      refuseStale(current, expectedSegment);
      const context = { required, now: clock.now() };
      const result =
        act === 'skip' ? voteSkip(current, actor, context) : voteAcceptRisk(current, actor, context);
      if (!result.ok) {
        refused = current;
        throw new BatonError(result.code, result.reason);
      }
      outcome = result;
      return result.run;
    },
    (next): AuditEvent => {
      const votes = { count: outcome?.count ?? 0, required };
      if (act === 'skip')
        return { event: { type: outcome?.applied ? 'run-skip' : 'skip-requested', ...votes }, actor };
      const risk = next.acceptedRisks?.at(-1)?.detail ?? '';
      return outcome?.applied
        ? { event: { type: 'split-brain-risk-accepted', ...votes, risk }, actor }
        : { event: { type: 'split-brain-risk-vote', ...votes }, actor };
    },
  );
  const run = await vote.catch(async (error: unknown) => {
    // A second vote from one OS account is worth keeping: the audit shows who tried it.
    if (refused && isBatonError(error) && error.code === 'same-os-account') {
      await store.recordAudit(
        refused,
        { event: { type: 'break-glass-vote-refused', act, code: error.code }, actor },
        clock.now(),
      );
    }
    throw error;
  });
  return { run, applied: outcome?.applied ?? false, count: outcome?.count ?? 0, required };
}
