/**
 * What people (Slack, the CLI) and alerts can do to runs: propose, approve, reject, cancel, retry, skip, abort, and
 * accept the split-brain risk. Each command changes the run in Redis atomically, then enqueues its next execution
 * segment with a deterministic job id, so a double click or a retried request never starts anything twice.
 *
 * Retry, Skip, Abort and acceptRisk take the segment the person saw (a button carries it): a command decided on a
 * message the run has moved on from is refused as out of date (see core/policy/stale-segment.ts).
 */
import type { Queue } from 'bullmq';
import type { SiteConfig, Topology } from '../config/topology.js';
import type { Actor, Run, RunMode, RunTrigger } from '../core/model.js';
import { sameActor } from '../core/model.js';
import { newRun } from '../core/runs/new-run.js';
import type { StepTuning } from '../core/plans/build-plan.js';
import { buildPlan } from '../core/plans/build-plan.js';
import { approveRun, requiredApprovals } from '../core/policy/approvals.js';
import type { BreakGlassAct, VoteOutcome } from '../core/policy/break-glass-votes.js';
import { voteAcceptRisk, voteSkip } from '../core/policy/break-glass-votes.js';
import { isStaleSegment, movedOnText } from '../core/policy/stale-segment.js';
import { pastPointOfNoReturn } from '../core/runs/point-of-no-return.js';
import { transitionRun } from '../core/runs/transition-run.js';
import type { Clock } from '../core/ports.js';
import { BatonError, isBatonError } from '../errors.js';
import type { RunStore } from '../store/run-store.js';
import { expireIfDue } from './expire-proposal.js';
import type { RunJobData } from './queues.js';
import { enqueueRun } from './queues.js';

export interface ProposeRequest {
  site?: string;
  kind: Run['kind'];
  mode?: RunMode;
  force?: boolean;
  reason: string;
  actor: Actor;
  /** The alert behind an incident proposal. */
  trigger?: RunTrigger;
}

/** One vote of a break-glass act: whether it took effect, and how many distinct approvers have asked. */
export interface BreakGlassVoteResult {
  run: Run;
  applied: boolean;
  count: number;
  required: number;
}

export interface RunCommandsOptions {
  store: RunStore;
  queue: Queue<RunJobData>;
  topology: Topology;
  clock: Clock;
  /** Whether an actor may approve; user groups are resolved by the Slack layer. Default: listed users only. */
  isApprover?: (actor: Actor) => Promise<boolean>;
  tuning?: StepTuning;
}

/** Abort undoes nothing once promotion was requested: say so, and what to do instead. */
function refuseAbortPastPointOfNoReturn(run: Run): void {
  const step = pastPointOfNoReturn(run);
  if (!step) return;
  throw new BatonError(
    'past-point-of-no-return',
    `Run ${run.id} is past the point of no return (${step.title.replace(/ — .*$/, '')} was requested), so Abort ` +
      'would undo nothing. Retry the failed step to finish the run, or Skip it with break-glass approvals.',
  );
}

export class RunCommands {
  constructor(private readonly options: RunCommandsOptions) {}

  site(name?: string): SiteConfig {
    const { sites } = this.options.topology;
    if (name === undefined) {
      if (sites.length === 1 && sites[0]) return sites[0];
      throw new BatonError('site-required', `Name a site: ${sites.map((s) => s.name).join(', ')}`);
    }
    const site = sites.find((s) => s.name === name);
    if (!site)
      throw new BatonError(
        'unknown-site',
        `No site "${name}". Sites: ${sites.map((s) => s.name).join(', ')}`,
      );
    return site;
  }

  /** The cluster Baton believes serves the site (its home until a run has moved it). */
  async serving(site: SiteConfig): Promise<string> {
    return (await this.options.store.site(site.name)).serving ?? site.homeCluster;
  }

  /** Creates a proposal, or returns the site's open run (`created: false`) instead of queueing a second one. */
  async propose(request: ProposeRequest): Promise<{ created: boolean; run: Run }> {
    const { store, clock, topology, tuning } = this.options;
    const site = this.site(request.site);
    const open = await store.openRun(site.name);
    if (open) return { created: false, run: open };
    const plan = buildPlan(
      { kind: request.kind, ...(request.mode && { mode: request.mode }), force: request.force ?? false },
      site,
      { serving: await this.serving(site) },
      tuning,
    );
    await this.refuseOntoUnfencedSide(site.name, plan.to);
    const run = {
      ...newRun({
        id: await store.nextRunId(),
        plan,
        force: request.force ?? false,
        reason: request.reason,
        requestedBy: request.actor,
        now: clock.now(),
        expiresAfterMs: topology.approvals.expiresAfterMs,
      }),
      ...(request.trigger && { trigger: request.trigger }),
    };
    return store.create(run, { action: 'run-proposed', actor: request.actor, detail: request.reason });
  }

  /** One approval; when it completes the count, the run is approved and enqueued. */
  async approve(
    runId: string,
    actor: Actor,
  ): Promise<{ run: Run; complete: boolean; count: number; required: number }> {
    const { store, clock, topology } = this.options;
    const isApprover = await this.isApprover(actor);
    // The proposal changes under a click (its preflight result, an alert update, another approval): re-read and
    // re-apply on a version conflict, so a click never fails for someone else's write.
    for (let attempt = 0; ; attempt += 1) {
      const current = await store.require(runId);
      const outcome = approveRun(current, actor, {
        config: topology.approvals,
        isApprover,
        now: clock.now(),
      });
      if (!outcome.ok) {
        if (outcome.code === 'expired') await this.expire(runId);
        if (
          outcome.code === 'not-approver' ||
          outcome.code === 'self-approval' ||
          outcome.code === 'same-os-account'
        ) {
          await store.recordAudit(
            current,
            { action: 'approval-refused', actor, detail: outcome.code },
            clock.now(),
          );
        }
        throw new BatonError(outcome.code, outcome.reason);
      }
      // The last approval starts the run: a debt may have opened since it was proposed.
      if (outcome.complete) await this.refuseOntoUnfencedSide(current.site, current.to);
      let saved: Run;
      try {
        saved = await store.save(outcome.run, {
          action: outcome.complete ? 'run-approved' : 'approval-added',
          actor,
          detail: `${outcome.count} of ${outcome.required}`,
        });
      } catch (error) {
        if (isBatonError(error) && error.code === 'run-conflict' && attempt < 20) continue;
        throw error;
      }
      if (outcome.complete) await this.enqueue(saved);
      return { run: saved, complete: outcome.complete, count: outcome.count, required: outcome.required };
    }
  }

  reject(runId: string, actor: Actor, reason = 'rejected'): Promise<Run> {
    return this.decide(runId, actor, 'rejected', reason, { approverOnly: true });
  }

  /** Cancels a proposal or an approved run that has not started; a running run is aborted instead. */
  async cancel(runId: string, actor: Actor): Promise<Run> {
    const run = await this.options.store.require(runId);
    if (run.state === 'running' || run.state === 'paused') return this.abort(runId, actor);
    if (!sameActor(run.requestedBy, actor) && !(await this.isApprover(actor))) {
      throw new BatonError('not-allowed', 'Only the requester or an approver can cancel this run');
    }
    return this.decide(runId, actor, 'cancelled', 'cancelled', { approverOnly: false });
  }

  /** Marks proposals past their expiry as expired (idempotent). */
  expire(runId: string): Promise<Run | null> {
    return expireIfDue(this.options.store, runId, this.options.clock.now());
  }

  /** Paused run: try the failed step(s) again. */
  retry(runId: string, actor: Actor, expectedSegment?: number): Promise<Run> {
    return this.resume(runId, actor, 'retry', expectedSegment, (run) => {
      const steps = { ...run.steps };
      for (const step of Object.values(steps)) {
        if (step.status === 'failed') steps[step.id] = { ...step, status: 'pending', error: undefined };
      }
      return steps;
    });
  }

  /**
   * Paused run: skip the failed step(s). Break-glass: takes effect when `breakGlass.required` distinct approvers
   * have asked for it; until then each request is recorded and counted.
   */
  skip(runId: string, actor: Actor, expectedSegment?: number): Promise<BreakGlassVoteResult> {
    return this.breakGlassVote(runId, actor, 'skip', expectedSegment);
  }

  /**
   * Paused run that the split-brain guard stopped (a failed step's code is a split-brain code): accept the risk that
   * the old primary still takes writes. Break-glass like Skip: takes effect when `breakGlass.required` distinct
   * approvers have asked in this segment; then the run records the accepted risk, the guarded step goes back to
   * pending and the run resumes.
   */
  acceptRisk(runId: string, actor: Actor, expectedSegment?: number): Promise<BreakGlassVoteResult> {
    return this.breakGlassVote(runId, actor, 'accept-risk', expectedSegment);
  }

  /**
   * Paused or running run: undo reversible steps (up to the point of no return) and stop. Only approvers may,
   * from any surface (button, `/failover cancel` of a running run, the CLI).
   */
  async abort(runId: string, actor: Actor, expectedSegment?: number): Promise<Run> {
    const { store, clock } = this.options;
    if (!(await this.isApprover(actor))) {
      throw new BatonError('not-approver', 'Only approvers can abort a run');
    }
    const run = await store.mutate(
      runId,
      (current) => {
        assertCurrentSegment(current, expectedSegment);
        refuseAbortPastPointOfNoReturn(current);
        return {
          ...transitionRun(current, 'aborting', { at: clock.now(), actor, reason: 'abort requested' }),
          segment: current.segment + 1,
        };
      },
      () => ({ action: 'run-abort', actor }),
    );
    await this.enqueue(run);
    return run;
  }

  /**
   * A run onto a cluster that still owes its fence is refused: its database may be a writable primary that was never
   * fenced, and its data may have diverged. The reconciler pays the debt the moment the cluster answers.
   */
  private async refuseOntoUnfencedSide(site: string, to: string): Promise<void> {
    const debt = await this.options.store.debts.get(site);
    if (!debt || debt.cluster !== to) return;
    throw new BatonError(
      'fence-debt-open',
      `${site} cannot move to ${to}: ${to} still owes its fence (fence debt from run ${debt.runId}: ${debt.reason}). ` +
        `Baton fences ${to} the moment it answers and says so in the incident channel; if ${to} is gone for good, ` +
        `rebuild it as a standby of the serving side — the debt is paid when it answers as one. /failover status ` +
        'shows the debt.',
    );
  }

  /** Adds the run's current segment job; BullMQ ignores a second add with the same id. */
  enqueue(run: Run): Promise<void> {
    return enqueueRun(this.options.queue, run);
  }

  private async isApprover(actor: Actor): Promise<boolean> {
    if (this.options.isApprover) return this.options.isApprover(actor);
    return this.options.topology.approvals.approvers.users.includes(actor.id);
  }

  private async resume(
    runId: string,
    actor: Actor,
    action: string,
    expectedSegment: number | undefined,
    steps: (run: Run) => Run['steps'],
  ): Promise<Run> {
    const { store, clock } = this.options;
    if (!(await this.isApprover(actor))) {
      throw new BatonError('not-approver', `Only approvers can ${action} a paused run`);
    }
    const run = await store.mutate(
      runId,
      (current) => {
        assertCurrentSegment(current, expectedSegment);
        if (current.state !== 'paused')
          throw new BatonError('not-paused', `Run ${runId} is ${current.state}, not paused`);
        return {
          ...transitionRun(current, 'running', { at: clock.now(), actor, reason: action }),
          steps: steps(current),
          segment: current.segment + 1,
        };
      },
      () => ({ action: `run-${action}`, actor }),
    );
    await this.enqueue(run);
    return run;
  }

  /** One vote of a break-glass act (core/policy/break-glass-votes.ts); enqueues the run when it takes effect. */
  private async breakGlassVote(
    runId: string,
    actor: Actor,
    act: BreakGlassAct,
    expectedSegment: number | undefined,
  ): Promise<BreakGlassVoteResult> {
    const { store, clock, topology } = this.options;
    if (!(await this.isApprover(actor))) {
      throw new BatonError(
        'not-approver',
        act === 'skip'
          ? 'Skipping a step is break-glass: only approvers can ask for it'
          : 'Accepting the split-brain risk is break-glass: only approvers can ask for it',
      );
    }
    const required = requiredApprovals({ force: true }, topology.approvals);
    let outcome: Extract<VoteOutcome, { ok: true }> | undefined;
    let refused: Run | undefined;
    const vote = store.mutate(
      runId,
      (current) => {
        assertCurrentSegment(current, expectedSegment);
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
      (next) => {
        const count = `${outcome?.count ?? 0} of ${required}`;
        if (act === 'skip')
          return { action: outcome?.applied ? 'run-skip' : 'skip-requested', actor, detail: count };
        const accepted = next.acceptedRisks?.at(-1);
        return outcome?.applied
          ? { action: 'split-brain-risk-accepted', actor, detail: `${count}: ${accepted?.detail ?? ''}` }
          : { action: 'split-brain-risk-vote', actor, detail: count };
      },
    );
    const run = await vote.catch(async (error: unknown) => {
      // A second vote from one OS account is worth keeping: the audit shows who tried it.
      if (refused && isBatonError(error) && error.code === 'same-os-account') {
        await store.recordAudit(
          refused,
          { action: 'break-glass-vote-refused', actor, detail: `${act}: ${error.code}` },
          clock.now(),
        );
      }
      throw error;
    });
    const applied = outcome?.applied ?? false;
    if (applied) await this.enqueue(run);
    return { run, applied, count: outcome?.count ?? 0, required };
  }

  private async decide(
    runId: string,
    actor: Actor,
    to: 'rejected' | 'cancelled',
    reason: string,
    options: { approverOnly: boolean },
  ): Promise<Run> {
    const { store, clock } = this.options;
    if (options.approverOnly && !(await this.isApprover(actor))) {
      throw new BatonError('not-approver', 'Only approvers can reject a proposal');
    }
    return store.mutate(
      runId,
      (current) => transitionRun(current, to, { at: clock.now(), actor, reason }),
      () => ({ action: `run-${to}`, actor, detail: reason }),
    );
  }
}

/** Refuses a command decided on a message the run has moved on from (`stale-message`). */
function assertCurrentSegment(run: Run, expectedSegment: number | undefined): void {
  if (!isStaleSegment(run, expectedSegment)) return;
  throw new BatonError(
    'stale-message',
    `This message is out of date: run ${run.id} has moved on since ` +
      `(${movedOnText(run, { state: (state) => state, actor: (actor) => actor.id })}). ` +
      'Use the newest message in the thread.',
  );
}
