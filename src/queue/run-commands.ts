/**
 * What people (Slack, the CLI) and alerts can do to runs: propose, approve, reject, cancel, retry, skip, abort.
 * Each command changes the run in Redis atomically, then enqueues its next execution segment with a
 * deterministic job id, so a double click or a retried request never starts anything twice.
 */
import type { Queue } from 'bullmq';
import type { SiteConfig, Topology } from '../config/topology.js';
import type { Actor, Run, RunMode, RunTrigger } from '../core/model.js';
import { sameActor } from '../core/model.js';
import { newRun } from '../core/runs/new-run.js';
import type { StepTuning } from '../core/plans/build-plan.js';
import { buildPlan } from '../core/plans/build-plan.js';
import { approveRun, requiredApprovals } from '../core/policy/approvals.js';
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

export interface RunCommandsOptions {
  store: RunStore;
  queue: Queue<RunJobData>;
  topology: Topology;
  clock: Clock;
  /** Whether an actor may approve; user groups are resolved by the Slack layer. Default: listed users only. */
  isApprover?: (actor: Actor) => Promise<boolean>;
  tuning?: StepTuning;
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
        if (outcome.code === 'not-approver' || outcome.code === 'self-approval') {
          await store.recordAudit(
            current,
            { action: 'approval-refused', actor, detail: outcome.code },
            clock.now(),
          );
        }
        throw new BatonError(outcome.code, outcome.reason);
      }
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
  retry(runId: string, actor: Actor): Promise<Run> {
    return this.resume(runId, actor, 'retry', (run) => {
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
  async skip(
    runId: string,
    actor: Actor,
  ): Promise<{ run: Run; applied: boolean; count: number; required: number }> {
    const { store, clock, topology } = this.options;
    if (!(await this.isApprover(actor))) {
      throw new BatonError('not-approver', 'Skipping a step is break-glass: only approvers can ask for it');
    }
    const required = requiredApprovals({ force: true }, topology.approvals);
    let applied = false;
    let count = 0;
    const run = await store.mutate(
      runId,
      (current) => {
        if (current.state !== 'paused')
          throw new BatonError('not-paused', `Run ${runId} is ${current.state}, not paused`);
        const now = clock.now();
        const skips = current.timeline.filter(
          (e) => e.event === 'skip-requested' && e.detail === `segment ${current.segment}`,
        );
        const voters = new Set(skips.map((e) => `${e.actor?.type}:${e.actor?.id}`));
        voters.add(`${actor.type}:${actor.id}`);
        count = voters.size;
        const requested = {
          ...current,
          updatedAt: now,
          timeline: [
            ...current.timeline,
            { at: now, event: 'skip-requested', actor, detail: `segment ${current.segment}` },
          ],
        };
        applied = count >= required;
        if (!applied) return requested;
        const steps = { ...current.steps };
        for (const step of Object.values(steps)) {
          if (step.status === 'failed') steps[step.id] = { ...step, status: 'skipped', skippedBy: actor };
        }
        return {
          ...transitionRun(requested, 'running', { at: now, actor, reason: 'skip' }),
          steps,
          segment: current.segment + 1,
        };
      },
      () => ({ action: applied ? 'run-skip' : 'skip-requested', actor, detail: `${count} of ${required}` }),
    );
    if (applied) await this.enqueue(run);
    return { run, applied, count, required };
  }

  /**
   * Paused or running run: undo reversible steps (up to the point of no return) and stop. Only approvers may,
   * from any surface (button, `/failover cancel` of a running run, the CLI).
   */
  async abort(runId: string, actor: Actor): Promise<Run> {
    const { store, clock } = this.options;
    if (!(await this.isApprover(actor))) {
      throw new BatonError('not-approver', 'Only approvers can abort a run');
    }
    const run = await store.mutate(
      runId,
      (current) => ({
        ...transitionRun(current, 'aborting', { at: clock.now(), actor, reason: 'abort requested' }),
        segment: current.segment + 1,
      }),
      () => ({ action: 'run-abort', actor }),
    );
    await this.enqueue(run);
    return run;
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
    steps: (run: Run) => Run['steps'],
  ): Promise<Run> {
    const { store, clock } = this.options;
    if (!(await this.isApprover(actor))) {
      throw new BatonError('not-approver', `Only approvers can ${action} a paused run`);
    }
    const run = await store.mutate(
      runId,
      (current) => {
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
