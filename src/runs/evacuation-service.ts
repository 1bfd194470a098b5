/**
 * Evacuations (DESIGN §2, `/failover --cluster east`, `/failback --cluster east`, an alert rule with
 * `action: propose-evacuation`): the one place that proposes, approves and rejects them. A proposal is one record
 * and one Slack message for every site the cluster serves now; its preflight runs as a worker job. One approval,
 * with the rules of any proposal, starts one ordinary run per site through the run service, each carrying the
 * approvals; from then on every site has its own lock, state, steps, Retry, Skip and Abort, and the evacuation's
 * message follows them as a live table. While it waits, each site pre-warms as a single proposal does (its record in
 * its own key, shown in the table); the approval hands each started site's record to its run.
 *
 * Repeats propose nothing new: a cluster has at most one open evacuation per kind (a Redis marker, claimed in one
 * script), and one firing of an alert proposes at most once, however many sites' rules match it.
 */
import type { Queue } from 'bullmq';
import type { ClusterId, Topology } from '../config/topology.js';
import type { Evacuation, EvacuationChoice, EvacuationSite } from '../core/evacuation/evacuation.js';
import { approveEvacuation, closeEvacuation, siteDecision } from '../core/evacuation/decide-evacuation.js';
import { selectSites } from '../core/evacuation/select-sites.js';
import type { Actor, ProposalPreflight, Run, RunKind, RunMode, RunTrigger } from '../core/model.js';
import { SYSTEM_ACTOR, TERMINAL_STATES } from '../core/model.js';
import type { Clock, Log } from '../core/ports.js';
import { newRun } from '../core/runs/new-run.js';
import { BatonError, describeError } from '../errors.js';
import type { EvacuationJobData } from '../queue/evacuation-jobs.js';
import { enqueueEvacuationExpiry, enqueueEvacuationPreflight } from '../queue/evacuation-jobs.js';
import type { AlertFiring, EvacuationStore } from '../store/evacuation-store.js';
import type { SitePrewarmStore } from '../store/site-prewarm-store.js';
import type { SitePrewarm } from '../core/prewarm/evacuation-site-prewarm.js';
import type { Prewarm } from '../core/prewarm/prewarm-record.js';
import type { RunService } from './run-service.js';

export interface EvacuationRequest {
  kind: RunKind;
  cluster: string;
  /** Failover only: the planned, zero-data-loss switchover for every site (failback is always planned). */
  planned?: boolean;
  reason: string;
  actor: Actor;
  trigger?: RunTrigger;
  /** The alert firing behind it: a repeat returns the evacuation it proposed. */
  alert?: AlertFiring;
}

/** The evacuation and the runs its table shows (the sites' started or open runs), read together. */
export interface EvacuationView {
  evacuation: Evacuation;
  runs: Map<string, Run>;
  /** Each site's pre-warm record, by site (sites that never warmed have none; absent: none read). */
  prewarms?: Map<string, SitePrewarm>;
}

export interface EvacuationServiceOptions {
  store: EvacuationStore;
  /** Each site's pre-warm (src/queue/prewarm/): read for the table, handed to the site's run by the approval. */
  prewarms: SitePrewarmStore;
  runs: RunService;
  queue: Queue<EvacuationJobData>;
  /** Queues the evacuation's message anew (never throws, never waits on Slack). */
  publish(evacuationId: string): Promise<void>;
  topology: Topology;
  clock: Clock;
  log: Log;
}

const CREATE_ATTEMPTS = 10;

/**
 * How long after its approval an evacuation's approving process is taken to have died if some site still has
 * neither a run nor the reason it has none: starting 50 runs takes that process well under a second.
 */
export const START_GRACE_MS = 10_000;

/** The plan in short form, one line per group: `fence-source ∥ scale-up-target`. */
const shortPlan = (groups: { id: string }[][]): string[] => groups.map((g) => g.map((s) => s.id).join(' ∥ '));

export class EvacuationService {
  /** Preflight results per evacuation waiting for their save, and the save in flight (recordPreflight). */
  private readonly preflightBatches = new Map<
    string,
    { results: Map<string, ProposalPreflight>; written: Promise<void> }
  >();
  private preflightWrite: Promise<void> = Promise.resolve();

  constructor(private readonly options: EvacuationServiceOptions) {}

  get(id: string): Promise<Evacuation | null> {
    return this.options.store.get(id);
  }

  /** The evacuation with its sites' runs (for its message and the site detail). */
  async view(id: string): Promise<EvacuationView | null> {
    const evacuation = await this.options.store.get(id);
    if (!evacuation) return null;
    const ids = evacuation.sites.flatMap((s) => [s.runId, s.openRun]).filter((x): x is string => !!x);
    const sites = evacuation.sites.map((s) => s.site);
    const [runs, prewarms] = await Promise.all([
      Promise.all([...new Set(ids)].map((runId) => this.options.runs.get(runId))),
      this.options.prewarms.getAll(id, sites),
    ]);
    const found = runs.filter((r): r is Run => r !== null);
    return { evacuation, runs: new Map(found.map((r) => [r.id, r])), prewarms };
  }

  /**
   * Proposes the evacuation of `cluster`, or returns the open one (`created: false`): the cluster's proposal that
   * has not been decided, or the approved one whose runs are still going, or the one this alert firing proposed.
   */
  async propose(request: EvacuationRequest): Promise<{ created: boolean; evacuation: Evacuation }> {
    const { store, runs, topology, clock } = this.options;
    await runs.authorizer.require(
      request.actor,
      'request',
      `request a ${request.kind} of every site of ${request.cluster}`,
    );
    const clusters = [...new Set(topology.sites.flatMap((s) => Object.keys(s.clusters)))];
    if (!clusters.includes(request.cluster)) {
      throw new BatonError(
        'unknown-cluster',
        `No cluster "${request.cluster}". Clusters: ${clusters.join(', ')}. Use /failover --cluster <cluster>.`,
      );
    }
    // A repeated alert is answered before anything is planned (the script checks again, atomically).
    const seen = request.alert ? await store.proposedFor(request.alert) : '';
    const earlier = seen ? await store.get(seen) : null;
    if (earlier) return { created: false, evacuation: earlier };
    for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt += 1) {
      const openId = await store.openId(request.kind, request.cluster);
      const open = openId ? await this.stillOpen(openId) : null;
      if (open) return { created: false, evacuation: open };
      const draft = await this.draft(request);
      const result = await store.create(draft, openId, request.alert);
      if (result.outcome === 'marker-moved') continue;
      if (result.outcome === 'alert-seen')
        return { created: false, evacuation: await store.require(result.id) };
      const created = await store.require(result.id);
      await enqueueEvacuationPreflight(this.options.queue, created.id);
      await enqueueEvacuationExpiry(this.options.queue, created.id, created.expiresAt - clock.now());
      await this.options.publish(created.id);
      this.options.log.info(
        { evacuationId: created.id, cluster: created.cluster, sites: created.sites.length },
        'evacuation proposed',
      );
      return { created: true, evacuation: created };
    }
    throw new BatonError('evacuation-conflict', `evacuations of ${request.cluster} are changing too fast`, {
      retriable: true,
    });
  }

  /**
   * One approval. When it completes the count, one run per site starts through the run service (all sites, or
   * only those whose preflight passed), carrying the approvals; a site with an open run is not started twice.
   */
  async approve(
    id: string,
    actor: Actor,
    choice: EvacuationChoice,
  ): Promise<{ evacuation: Evacuation; complete: boolean; count: number; required: number }> {
    const { store, runs, topology, clock } = this.options;
    await runs.authorizer.require(actor, 'approve', `approve evacuation ${id}`);
    let outcome: { complete: boolean; count: number; required: number } = {
      complete: false,
      count: 0,
      required: 0,
    };
    let evacuation: Evacuation;
    try {
      evacuation = await store.mutate(id, (current) => {
        const decision = approveEvacuation(current, actor, {
          config: topology.approvals,
          choice,
          now: clock.now(),
        });
        if (!decision.ok) throw new BatonError(decision.code, decision.reason);
        outcome = decision;
        return { evacuation: decision.evacuation };
      });
    } catch (error) {
      if (error instanceof BatonError && error.code === 'expired') await this.expire(id);
      // An approved evacuation whose sites were not all started (a crash in between) is finished by the next click.
      const current = await store.get(id);
      if (error instanceof BatonError && error.code === 'not-proposed' && current && unstarted(current)) {
        return { evacuation: await this.startSites(current), complete: true, count: 0, required: 0 };
      }
      throw error;
    }
    if (outcome.complete) evacuation = await this.startSites(evacuation);
    await this.options.publish(id);
    return { evacuation, ...outcome };
  }

  /**
   * Finishes what an interrupted approval left (the periodic `evacuation-starts` pass, src/queue/periodic.ts): every
   * cluster's open evacuation that was approved at least {@link START_GRACE_MS} ago with sites not yet started gets
   * them started, as the approving process would have. Safe to run anywhere, any number of times at once: a site's
   * run is created under its site lock, and a run this evacuation already started is recorded, not started again.
   * Returns the evacuations it finished.
   */
  async resumeStarts(): Promise<string[]> {
    const { store, topology, clock, log } = this.options;
    const clusters = [...new Set(topology.sites.flatMap((site) => Object.keys(site.clusters)))];
    const resumed: string[] = [];
    for (const kind of ['failover', 'failback'] as const) {
      for (const cluster of clusters) {
        const id = await store.openId(kind, cluster);
        const evacuation = id ? await store.get(id) : null;
        if (!evacuation || !unstarted(evacuation)) continue;
        if (clock.now() - evacuation.updatedAt < START_GRACE_MS) continue;
        log.warn(
          { evacuationId: evacuation.id, sites: evacuation.sites.filter(siteUnstarted).map((s) => s.site) },
          'approved evacuation has sites not started (its approval was interrupted); starting them',
        );
        await this.startSites(evacuation);
        await this.options.publish(evacuation.id);
        resumed.push(evacuation.id);
      }
    }
    return resumed;
  }

  async reject(id: string, actor: Actor): Promise<Evacuation> {
    await this.options.runs.authorizer.require(actor, 'approve', `reject evacuation ${id}`);
    return this.close(id, 'rejected', actor);
  }

  /** Marks a proposal past its expiry as expired (and frees its cluster). */
  async expire(id: string): Promise<Evacuation | null> {
    const current = await this.options.store.get(id);
    if (!current || current.state !== 'proposed' || this.options.clock.now() < current.expiresAt)
      return current;
    return this.close(id, 'expired', SYSTEM_ACTOR).catch(() => this.options.store.get(id));
  }

  /** The sites whose preflight is stored (for the worker, to start their pre-warm again); none once decided. */
  async measuredSites(id: string): Promise<string[]> {
    const evacuation = await this.options.store.get(id);
    if (!evacuation || evacuation.state !== 'proposed') return [];
    return evacuation.sites.filter((s) => s.preflight && !s.openRun).map((s) => s.site);
  }

  /** Draft runs of the sites still waiting for their preflight (for the worker); none once decided. */
  async preflightDrafts(id: string): Promise<Run[]> {
    const evacuation = await this.options.store.get(id);
    if (!evacuation || evacuation.state !== 'proposed') return [];
    const drafts: Run[] = [];
    for (const site of evacuation.sites) {
      if (site.preflight || site.openRun) continue;
      const plan = await this.options.runs.plan(evacuation.kind, site.site, site.mode === 'planned');
      drafts.push(
        newRun({
          id: `${id}-${site.site}`,
          plan,
          force: false,
          reason: evacuation.reason,
          requestedBy: evacuation.requestedBy,
          now: this.options.clock.now(),
          expiresAfterMs: 0,
        }),
      );
    }
    return drafts;
  }

  /**
   * Stores one site's measured preflight. The worker measures every site at once, and fifty saves of one record at
   * once mostly lose their optimistic race (the 50-site benchmark's evacuation once never finished its preflight):
   * so within a process the results that arrive while a save is in flight are written together by the next one.
   */
  async recordPreflight(id: string, site: string, preflight: ProposalPreflight): Promise<void> {
    let batch = this.preflightBatches.get(id);
    if (!batch) {
      const results = new Map<string, ProposalPreflight>();
      const created = { results, written: this.writePreflights(id, results) };
      this.preflightBatches.set(id, created);
      batch = created;
    }
    batch.results.set(site, preflight);
    await batch.written;
  }

  /** Writes the batch once the save before it is done, so every result that came meanwhile goes in one save. */
  private async writePreflights(id: string, results: Map<string, ProposalPreflight>): Promise<void> {
    const before = this.preflightWrite;
    let done!: () => void;
    this.preflightWrite = new Promise<void>((resolve) => (done = resolve));
    try {
      await before;
      // From here on, results go to the next batch.
      this.preflightBatches.delete(id);
      await this.options.store.mutate(id, (current) => ({
        evacuation:
          current.state === 'proposed'
            ? {
                ...current,
                sites: current.sites.map((s) => {
                  const preflight = results.get(s.site);
                  return preflight ? { ...s, preflight } : s;
                }),
              }
            : current,
      }));
      await this.options.publish(id);
    } finally {
      done();
    }
  }

  // -------------------------------------------------------------------------------------------------------------

  /** The evacuation `id` if it still holds its cluster: undecided and unexpired, or approved with a run going. */
  private async stillOpen(id: string): Promise<Evacuation | null> {
    const evacuation = await this.expire(id);
    if (!evacuation) return null;
    if (evacuation.state === 'proposed') return evacuation;
    if (evacuation.state !== 'approved') return null;
    const { runs } = (await this.view(id)) ?? { runs: new Map<string, Run>() };
    const going = evacuation.sites.some((s) => {
      const run = s.runId ? runs.get(s.runId) : undefined;
      return run !== undefined && !TERMINAL_STATES.has(run.state);
    });
    return going || unstarted(evacuation) ? evacuation : null;
  }

  private async draft(request: EvacuationRequest): Promise<Evacuation> {
    const { runs, topology, clock, store } = this.options;
    const serving = await Promise.all(
      topology.sites.map(async (site) => ({
        site: site.name,
        homeCluster: site.homeCluster,
        clusters: Object.keys(site.clusters),
        serving: await runs.serving(site),
      })),
    );
    const moves = selectSites(request.kind, request.cluster, serving);
    if (moves.length === 0) {
      const record = serving.map((s) => `${s.site}: ${s.serving}`).join(', ');
      throw new BatonError(
        'nothing-to-evacuate',
        request.kind === 'failover'
          ? `No site is served by ${request.cluster} per Baton's record (${record}); nothing to evacuate.`
          : `No site whose home is ${request.cluster} is served elsewhere (${record}); nothing to bring home.`,
      );
    }
    const mode: RunMode = request.kind === 'failback' || request.planned ? 'planned' : 'emergency';
    const sites: EvacuationSite[] = await Promise.all(
      moves.map(async (move) => {
        const [plan, open] = await Promise.all([
          runs.plan(request.kind, move.site, mode === 'planned'),
          runs.openRun(move.site),
        ]);
        return {
          site: move.site,
          from: move.from as ClusterId,
          to: move.to as ClusterId,
          mode,
          plan: shortPlan(plan.groups),
          ...(open && { openRun: open.id }),
        };
      }),
    );
    const now = clock.now();
    return {
      id: await store.nextId(),
      kind: request.kind,
      cluster: request.cluster,
      reason: request.reason,
      requestedBy: request.actor,
      createdAt: now,
      updatedAt: now,
      expiresAt: now + topology.approvals.expiresAfterMs,
      state: 'proposed',
      sites,
      approvals: [],
      ...(request.trigger && { trigger: request.trigger }),
      version: 1,
    };
  }

  /** Starts the run of every site the decision takes and records each site's run, or why it has none. */
  private async startSites(evacuation: Evacuation): Promise<Evacuation> {
    const choice = evacuation.choice ?? 'all';
    const results = await Promise.all(
      evacuation.sites.map(async (site): Promise<Partial<EvacuationSite>> => {
        if (site.runId || site.notStarted) return {};
        const decision = siteDecision(site, choice);
        if (decision !== 'start') return { notStarted: decision };
        try {
          // The site's pre-warm goes to its run (it stops changing anything from here on); pre-warm gives back a
          // site the decision leaves out.
          const prewarm = await this.handOverPrewarm(evacuation.id, site.site);
          const { created, run } = await this.options.runs.startApproved({
            site: site.site,
            kind: evacuation.kind,
            from: site.from,
            mode: site.mode,
            reason: `evacuation ${evacuation.id}: ${evacuation.reason}`,
            requestedBy: evacuation.requestedBy,
            approvals: evacuation.approvals.map(({ actor, at, breakGlass }) => ({ actor, at, breakGlass })),
            evacuation: evacuation.id,
            ...(evacuation.trigger && { trigger: evacuation.trigger }),
            ...(prewarm && !prewarm.released && { prewarm }),
          });
          // A run this evacuation started before an interruption is its own, not another's open run.
          return created || run.evacuation === evacuation.id
            ? { runId: run.id, openRun: undefined }
            : { openRun: run.id, notStarted: `already has open run ${run.id}` };
        } catch (error) {
          this.options.log.warn(
            { evacuationId: evacuation.id, site: site.site, err: describeError(error) },
            'evacuation site not started',
          );
          return { notStarted: describeError(error) };
        }
      }),
    );
    const bySite = new Map(evacuation.sites.map((s, i) => [s.site, results[i] ?? {}]));
    return this.options.store.mutate(evacuation.id, (current) => ({
      evacuation: {
        ...current,
        updatedAt: this.options.clock.now(),
        sites: current.sites.map((s) => ({ ...s, ...bySite.get(s.site) })),
      },
    }));
  }

  /** Takes the site's pre-warm for its run; a failure never keeps the site from starting (the run goes without). */
  private async handOverPrewarm(id: string, site: string): Promise<Prewarm | undefined> {
    try {
      return (await this.options.prewarms.handOver(id, site, this.options.clock.now())).prewarm;
    } catch (error) {
      this.options.log.warn(
        { evacuationId: id, site, err: describeError(error) },
        'could not hand the site’s pre-warm to its run; the run starts without it',
      );
      return undefined;
    }
  }

  private async close(id: string, state: 'rejected' | 'expired', actor: Actor): Promise<Evacuation> {
    const saved = await this.options.store.mutate(id, (current) => {
      const decision = closeEvacuation(current, state, actor, this.options.clock.now());
      if (!decision.ok) throw new BatonError(decision.code, decision.reason);
      return { evacuation: decision.evacuation, release: true };
    });
    await this.options.publish(id);
    return saved;
  }
}

/** A site with neither its run nor the reason it has none. */
const siteUnstarted = (s: EvacuationSite): boolean => !s.runId && !s.notStarted;

/** Approved, but some site has neither its run nor the reason it has none (the starting was interrupted). */
const unstarted = (evacuation: Evacuation): boolean =>
  evacuation.state === 'approved' && evacuation.sites.some(siteUnstarted);
