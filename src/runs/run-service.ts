/**
 * The only place that starts, approves, aborts and reports a run. Slack listeners, the Alertmanager route, the
 * auto-approval policy and the break-glass CLI call these and nothing below them.
 *
 * Every decision is the same sequence: authorize (one authorizer, by actor type), decide (pure, in core: approvals,
 * break-glass votes, retry/abort), save atomically (optimistic version, audit entry in the same script), enqueue the
 * run's next segment with a deterministic job id (a double click or a retried request never starts anything twice),
 * and publish the run's messages. Decisions made on a message the run has moved on from are refused as out of date.
 */
import type { Queue } from 'bullmq';
import type { SiteConfig, Topology } from '../config/topology.js';
import type { Actor, Plan, Run, RunMode, RunTrigger } from '../core/model.js';
import { sameActor } from '../core/model.js';
import type { StepTuning } from '../core/plans/build-plan.js';
import { buildPlan } from '../core/plans/build-plan.js';
import { approveRun } from '../core/policy/approvals.js';
import type { BreakGlassAct } from '../core/policy/break-glass-votes.js';
import type { Clock, Log } from '../core/ports.js';
import { abortRun, cancelRun, rejectRun, retryRun } from '../core/runs/decide-run.js';
import { newRun } from '../core/runs/new-run.js';
import { BatonError, isBatonError } from '../errors.js';
import type { CheckJobData } from '../queue/check-jobs.js';
import { enqueueCheck, enqueuePreflight } from '../queue/check-jobs.js';
import { expireIfDue } from '../queue/expire-proposal.js';
import type { RunJobData } from '../queue/queues.js';
import { enqueueRun } from '../queue/queues.js';
import type { AuditEvent, RunEvent } from '../core/runs/run-event.js';
import type { OpenFenceDebt } from '../store/fence-debts.js';
import type { RunStore } from '../store/run-store.js';
import type { Authorizer } from './authorizer.js';
import { refuseDuringCooldown, refuseOntoUnfencedSide } from './refuse-proposal.js';
import type { BreakGlassVoteResult } from './break-glass-vote.js';
import { castBreakGlassVote } from './break-glass-vote.js';
import type { ApprovedRunRequest } from './start-approved-run.js';
import { startApprovedRun } from './start-approved-run.js';

export type { BreakGlassVoteResult } from './break-glass-vote.js';

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

/** Where a run's messages go (Slack through the notify queue); never throws, never waits on Slack. */
export interface RunReporter {
  publish(run: Run): Promise<void>;
}

export interface RunServiceOptions {
  store: RunStore;
  queues: { runs: Queue<RunJobData>; checks: Queue<CheckJobData> };
  reporter: RunReporter;
  authorizer: Authorizer;
  topology: Topology;
  clock: Clock;
  log: Log;
  tuning?: StepTuning;
}

/** A dry run: the plan and a worker's preflight, answered on the response_url; nothing is recorded. */
export interface DryRunRequest {
  site: string;
  kind: Run['kind'];
  planned: boolean;
  force: boolean;
  reason: string;
  actor: Actor;
  responseUrl: string;
}

/** A site as Baton's own record has it (the sources of truth are read by a worker: `observe`). */
export interface SiteRecord {
  site: string;
  servingPerBaton: string;
  openRun?: Run;
  fenceDebt?: OpenFenceDebt;
}

/** Options of a decision: the segment of the message it was made on (a button's), when there is one. */
export interface DecisionOptions {
  expectedSegment?: number | undefined;
  /** Why, when a policy decides (a game day's abortOn alert): becomes the run's stateReason. */
  reason?: string | undefined;
}

export class RunService {
  constructor(private readonly options: RunServiceOptions) {}

  get topology(): Topology {
    return this.options.topology;
  }

  get authorizer(): Authorizer {
    return this.options.authorizer;
  }

  site(name?: string): SiteConfig {
    const { sites } = this.options.topology;
    if (name === undefined) {
      if (sites.length === 1 && sites[0]) return sites[0];
      throw new BatonError('site-required', `Name a site: ${sites.map((s) => s.name).join(', ')}`);
    }
    const site = sites.find((s) => s.name === name);
    if (!site) {
      throw new BatonError(
        'unknown-site',
        `No site "${name}". Sites: ${sites.map((s) => s.name).join(', ')}`,
      );
    }
    return site;
  }

  /** The cluster Baton believes serves the site (its home until a run has moved it). */
  async serving(site: SiteConfig): Promise<string> {
    return (await this.options.store.site(site.name)).serving ?? site.homeCluster;
  }

  /**
   * A proposal: authorized, planned from where the site is served now, created unless the site has an open run
   * (then that run comes back, `created: false`), its preflight queued for a worker, its message published.
   */
  async propose(request: ProposeRequest): Promise<{ created: boolean; run: Run }> {
    const { store, clock, topology, tuning, authorizer } = this.options;
    await authorizer.require(request.actor, 'request', `request a ${request.kind}`);
    const site = this.site(request.site);
    const open = await store.openRun(site.name);
    if (open) return { created: false, run: open };
    const plan = buildPlan(
      { kind: request.kind, ...(request.mode && { mode: request.mode }), force: request.force ?? false },
      site,
      { serving: await this.serving(site) },
      tuning,
    );
    await refuseOntoUnfencedSide(store, site.name, plan.to);
    if (plan.kind === 'failover') {
      await refuseDuringCooldown({ store, clock, topology }, site, request.force ?? false);
    }
    const proposed = {
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
    const result = await store.create(proposed, {
      event: { type: 'run-proposed', reason: request.reason },
      actor: request.actor,
    });
    if (result.created) {
      await enqueuePreflight(this.options.queues.checks, result.run);
      await this.publish(result.run);
    }
    return result;
  }

  /** One approval; when it completes the count, the run is approved and enqueued. */
  async approve(
    runId: string,
    actor: Actor,
  ): Promise<{ run: Run; complete: boolean; count: number; required: number }> {
    const { store, clock, topology, authorizer } = this.options;
    if (!(await authorizer.allows(actor, 'approve'))) {
      const current = await store.get(runId);
      if (current) {
        await store.recordAudit(
          current,
          { event: { type: 'approval-refused', reason: 'not-approver' }, actor },
          clock.now(),
        );
      }
      await authorizer.require(actor, 'approve', `approve run ${runId}`);
    }
    // The proposal changes under a click (its preflight result, an alert update, another approval): re-read and
    // re-apply on a version conflict, so a click never fails for someone else's write.
    for (let attempt = 0; ; attempt += 1) {
      const current = await store.require(runId);
      const outcome = approveRun(current, actor, {
        config: topology.approvals,
        isApprover: true,
        now: clock.now(),
      });
      if (!outcome.ok) {
        if (outcome.code === 'expired') await this.expire(runId);
        if (outcome.code === 'self-approval' || outcome.code === 'same-os-account') {
          await store.recordAudit(
            current,
            { event: { type: 'approval-refused', reason: outcome.code }, actor },
            clock.now(),
          );
        }
        throw new BatonError(outcome.code, outcome.reason);
      }
      // The last approval starts the run: a debt may have opened since it was proposed.
      if (outcome.complete) await refuseOntoUnfencedSide(store, current.site, current.to);
      let saved: Run;
      try {
        saved = await store.save(outcome.run, {
          event: {
            type: outcome.complete ? 'run-approved' : 'approval-added',
            count: outcome.count,
            required: outcome.required,
          },
          actor,
        });
      } catch (error) {
        if (isBatonError(error) && error.code === 'run-conflict' && attempt < 20) continue;
        throw error;
      }
      if (outcome.complete) await enqueueRun(this.options.queues.runs, saved);
      await this.publish(saved);
      return { run: saved, complete: outcome.complete, count: outcome.count, required: outcome.required };
    }
  }

  /**
   * A run recorded already approved, for one site of an evacuation (./start-approved-run.ts): the site's open run
   * comes back instead (`created: false`), never a second one.
   */
  startApproved(request: ApprovedRunRequest): Promise<{ created: boolean; run: Run }> {
    return startApprovedRun({ ...this.options, publish: (run) => this.publish(run) }, request);
  }

  async reject(runId: string, actor: Actor, reason = 'rejected'): Promise<Run> {
    await this.options.authorizer.require(actor, 'approve', 'reject a proposal');
    return this.decide(
      runId,
      actor,
      (run) => rejectRun(run, { actor, now: this.options.clock.now(), reason }),
      { type: 'run-rejected', reason },
    );
  }

  /** Cancels a proposal or an approved run that has not started; a running or paused run is aborted instead. */
  async cancel(runId: string, actor: Actor): Promise<Run> {
    const run = await this.options.store.require(runId);
    if (run.state === 'running' || run.state === 'paused') return this.abort(runId, actor);
    if (!sameActor(run.requestedBy, actor) && !(await this.options.authorizer.allows(actor, 'abort'))) {
      throw new BatonError(
        'not-allowed',
        `Only the requester (${run.requestedBy.name ?? run.requestedBy.id}) or an approver can cancel run ${run.id}.`,
      );
    }
    return this.decide(
      runId,
      actor,
      (current) => cancelRun(current, { actor, now: this.options.clock.now() }),
      { type: 'run-cancelled' },
    );
  }

  /** Marks a proposal past its expiry as expired (idempotent), and publishes it. */
  async expire(runId: string): Promise<Run | null> {
    const run = await expireIfDue(this.options.store, runId, this.options.clock.now());
    if (run?.state === 'expired') await this.publish(run);
    return run;
  }

  /** Paused run: try the failed step(s) again. */
  async retry(runId: string, actor: Actor, options: DecisionOptions = {}): Promise<Run> {
    await this.options.authorizer.require(actor, 'approve', 'retry a paused run');
    const now = this.options.clock.now();
    return this.decide(
      runId,
      actor,
      (run) => retryRun(run, { actor, now, ...options }),
      { type: 'run-retry' },
      { enqueue: true },
    );
  }

  /**
   * Paused or running run: undo the reversible steps and stop. Refused past the point of no return, where nothing
   * can be undone.
   */
  async abort(runId: string, actor: Actor, options: DecisionOptions = {}): Promise<Run> {
    await this.options.authorizer.require(actor, 'abort', 'abort a run');
    const now = this.options.clock.now();
    return this.decide(
      runId,
      actor,
      (run) => abortRun(run, { actor, now, ...options }),
      { type: 'run-abort' },
      { enqueue: true },
    );
  }

  /** Paused run: skip the failed step(s). Break-glass: takes effect when enough distinct approvers have asked. */
  skip(runId: string, actor: Actor, options: DecisionOptions = {}): Promise<BreakGlassVoteResult> {
    return this.breakGlassVote(runId, actor, 'skip', options);
  }

  /**
   * Paused run the split-brain guard stopped: accept the risk that the old primary still takes writes. Break-glass
   * like Skip; then the run records the accepted risk, the guarded step goes back to pending and the run resumes.
   */
  acceptRisk(runId: string, actor: Actor, options: DecisionOptions = {}): Promise<BreakGlassVoteResult> {
    return this.breakGlassVote(runId, actor, 'accept-risk', options);
  }

  // ---- reads and read-only checks ------------------------------------------------------------------------------

  get(runId: string): Promise<Run | null> {
    return this.options.store.get(runId);
  }

  /** The run, or `run-not-found` saying where to look. */
  require(runId: string): Promise<Run> {
    return this.options.store.require(runId);
  }

  /** Baton's record of a site: who serves since when, and its open run's id. */
  siteState(site: string): ReturnType<RunStore['site']> {
    return this.options.store.site(this.site(site).name);
  }

  /** The site's open run (not finished), if any. */
  openRun(site: string): Promise<Run | null> {
    return this.options.store.openRun(site);
  }

  /** Queues a proposal's preflight again (a no-op while its job exists: the job id is the run's). */
  async ensurePreflight(run: Run): Promise<void> {
    await enqueuePreflight(this.options.queues.checks, run);
  }

  /**
   * Records on an unapproved alert proposal that its alerts resolved (`at`) or fire again (undefined): the proposal
   * stays usable and says so. Returns the run as saved (unchanged when there was nothing to record).
   */
  async recordAlertResolved(runId: string, at: number | undefined, actor: Actor): Promise<Run> {
    const { store, clock } = this.options;
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const run = await store.require(runId);
      if (run.state !== 'proposed' || !run.trigger || run.trigger.resolvedAt === at) return run;
      const { resolvedAt: _old, ...rest } = run.trigger;
      const trigger: RunTrigger = at === undefined ? rest : { ...rest, resolvedAt: at };
      const now = clock.now();
      try {
        const saved = await store.save(
          {
            ...run,
            trigger,
            updatedAt: now,
            timeline: [
              ...run.timeline,
              { at: now, event: at === undefined ? 'alert-firing' : 'alert-resolved' },
            ],
          },
          { event: { type: at === undefined ? 'alert-firing-again' : 'alert-resolved' }, actor },
        );
        await this.publish(saved);
        return saved;
      } catch (error) {
        if (!(error instanceof BatonError) || error.code !== 'run-conflict') throw error;
      }
    }
    throw new BatonError('run-conflict', `run ${runId} kept changing while recording the alert; retrying`, {
      retriable: true,
    });
  }

  /** Baton's own record of each site (or one): who serves, the open run, the fence debt. */
  async records(siteName?: string): Promise<SiteRecord[]> {
    const { store, topology } = this.options;
    const sites = siteName === undefined ? topology.sites : [this.site(siteName)];
    return Promise.all(
      sites.map(async (site) => {
        const [openRun, fenceDebt, servingPerBaton] = await Promise.all([
          store.openRun(site.name),
          store.debts.get(site.name),
          this.serving(site),
        ]);
        return {
          site: site.name,
          servingPerBaton,
          ...(openRun && { openRun }),
          ...(fenceDebt && { fenceDebt }),
        };
      }),
    );
  }

  history(site: string, limit?: number): Promise<Run[]> {
    return this.options.store.history(this.site(site).name, limit);
  }

  /** The plan a run would follow now (from where the site is served), without recording anything. */
  async plan(kind: Run['kind'], siteName: string | undefined, planned: boolean): Promise<Plan> {
    const site = this.site(siteName);
    return buildPlan(
      { kind, ...(planned && { mode: 'planned' as const }), force: false },
      site,
      { serving: await this.serving(site) },
      this.options.tuning,
    );
  }

  /** A worker reads Route 53 and PostgreSQL for these sites and answers on the response_url. */
  async observe(sites: string[], responseUrl: string): Promise<void> {
    await enqueueCheck(this.options.queues.checks, { type: 'observe', sites, responseUrl });
  }

  /** A worker measures a dry run's preflight and answers on the response_url; refused for a non-requester. */
  async dryRun(request: DryRunRequest): Promise<void> {
    await this.options.authorizer.require(request.actor, 'request', `request a ${request.kind}`);
    await enqueueCheck(this.options.queues.checks, { type: 'dry-run', ...request });
  }

  /** An audit entry for a refused request that changed no run (who tried what). */
  async recordRefusal(run: Pick<Run, 'id' | 'site' | 'state'>, actor: Actor, detail: string): Promise<void> {
    await this.note(run, { event: { type: 'click-refused', reason: detail }, actor });
  }

  /** An audit entry about a run that changes nothing in it (a refusal, a withheld auto-approval). */
  async note(run: Pick<Run, 'id' | 'site' | 'state'>, event: AuditEvent): Promise<void> {
    await this.options.store.recordAudit(run, event, this.options.clock.now());
  }

  /**
   * The open runs in `states`, one per site at most (a site has one open run): read per site, not by scanning the
   * run history.
   */
  async openRuns(states: readonly Run['state'][]): Promise<Run[]> {
    const open = await Promise.all(this.options.topology.sites.map((site) => this.openRun(site.name)));
    return open.filter((run): run is Run => run !== null && states.includes(run.state));
  }

  /** Adds the run's current segment job (BullMQ ignores a second add with the same id). */
  enqueue(run: Run): Promise<void> {
    return enqueueRun(this.options.queues.runs, run);
  }

  /** Publishes the run's messages; never throws. */
  publish(run: Run): Promise<void> {
    return this.options.reporter.publish(run);
  }

  // -------------------------------------------------------------------------------------------------------------

  /** Read-modify-write of one decision, then the next segment's job (when it starts one) and the messages. */
  private async decide(
    runId: string,
    actor: Actor,
    change: (run: Run) => Run,
    event: RunEvent,
    { enqueue = false } = {},
  ): Promise<Run> {
    const run = await this.options.store.mutate(runId, change, () => ({ event, actor }));
    if (enqueue) await this.enqueue(run);
    await this.publish(run);
    return run;
  }

  /** One vote of a break-glass act (./break-glass-vote.ts); enqueues the run when it takes effect. */
  private async breakGlassVote(
    runId: string,
    actor: Actor,
    act: BreakGlassAct,
    options: DecisionOptions,
  ): Promise<BreakGlassVoteResult> {
    const result = await castBreakGlassVote(this.options, { runId, actor, act, ...options });
    if (result.applied) await this.enqueue(result.run);
    await this.publish(result.run);
    return result;
  }
}
