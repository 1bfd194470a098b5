/**
 * Runs the game days (DESIGN §2): a periodic pass in the workers (src/queue/drill-job.ts) moves every open drill one
 * step. A due occurrence is checked (approvals still fresh, not inside a blocked window, the site at home with no
 * open run, out of cooldown, and ready by the continuous readiness evaluation) and skipped, saying why and when the
 * next one is, when any check fails. Otherwise it starts a planned failover already approved by the drill's
 * approvals; after the failover, traffic is held on the standby for the hold; then a planned failback starts on its
 * own (once the site is ready for it). A failover that pauses or fails ends the occurrence without a failback.
 *
 * At-least-once safe across workers: an occurrence is claimed by a compare-and-set save of the drill that names the
 * run id it will start (reserved before the save), and the run is created with that id by the one-run-per-site
 * script. A worker that loses the save starts nothing; one that crashes after it leaves the id on the drill, and the
 * next pass creates that same run (a second create of one id finds it open and returns it).
 */
import type { SiteConfig, Topology } from '../config/topology.js';
import type { Drill, DrillOutcome } from '../core/drills/drill.js';
import { DRILL_ACTOR } from '../core/drills/drill.js';
import { decideDue, formatDrillDuration } from '../core/drills/drill-schedule.js';
import { drillRun, endOccurrence, moveOccurrence, startOccurrence } from '../core/drills/drill-steps.js';
import type { ClusterId } from '../config/topology.js';
import type { Run } from '../core/model.js';
import type { StepTuning } from '../core/plans/build-plan.js';
import { buildPlan } from '../core/plans/build-plan.js';
import type { Clock, Log } from '../core/ports.js';
import type { ReadinessEvaluation } from '../core/readiness/readiness-types.js';
import { describeError } from '../errors.js';
import type { RunStore } from '../store/run-store.js';
import type { DrillReporter, DrillService } from './drill-service.js';
import { refuseDuringCooldown, refuseOntoUnfencedSide } from './refuse-proposal.js';
import type { RunService } from './run-service.js';

/** How a move of traffic from `from` to `to` would fare now (the continuous readiness evaluation). */
export type ReadinessCheck = (
  site: SiteConfig,
  from: ClusterId,
  to: ClusterId,
) => Promise<ReadinessEvaluation>;

export interface DrillSchedulerOptions {
  service: DrillService;
  runs: RunService;
  store: RunStore;
  reporter: DrillReporter;
  readiness: ReadinessCheck;
  topology: Topology;
  clock: Clock;
  log: Log;
  tuning?: StepTuning;
  /** A failback waiting for the site to become ready checks again this often (default 1 min). */
  recheckEveryMs?: number;
}

const ACTIVE_RUN = new Set<Run['state']>(['proposed', 'approved', 'running', 'aborting']);
const when = (ms: number | undefined): string =>
  ms === undefined
    ? 'no further game day (it does not repeat)'
    : `next game day ${new Date(ms).toISOString().slice(0, 16)}Z`;

export class DrillScheduler {
  constructor(private readonly options: DrillSchedulerOptions) {}

  /** One pass over every open drill; one drill's error does not stop the others. Returns the drills it moved. */
  async tick(): Promise<string[]> {
    const moved: string[] = [];
    for (const drill of await this.options.service.list()) {
      try {
        if (await this.advance(drill)) moved.push(drill.id);
      } catch (error) {
        this.options.log.warn({ drill: drill.id, err: describeError(error) }, 'game day pass failed');
      }
    }
    return moved;
  }

  private async advance(drill: Drill): Promise<boolean> {
    const now = this.options.clock.now();
    if (drill.state === 'proposed' && now >= drill.expiresAt) {
      await this.save(
        drill,
        (d) =>
          d.state === 'proposed'
            ? { ...d, state: 'expired', stateReason: 'not approved in time', updatedAt: now }
            : null,
        'expired',
      );
      return true;
    }
    if (drill.state === 'scheduled' && drill.nextAt !== undefined && now >= drill.nextAt)
      return this.due(drill, drill.nextAt);
    if (drill.state === 'active' && drill.current) return this.progress(drill);
    return false;
  }

  // ---- a due occurrence ----------------------------------------------------------------------------------------

  private async due(drill: Drill, dueAt: number): Promise<boolean> {
    const { clock, runs, store, topology } = this.options;
    const now = clock.now();
    const decision = decideDue(drill, now, this.options.service.blockedWindows());
    if (decision.kind === 'expire') {
      const saved = await this.save(
        drill,
        (d) =>
          d.state === 'scheduled' && d.nextAt === dueAt
            ? { ...d, state: 'expired', stateReason: decision.reason, updatedAt: now }
            : null,
        'expired',
      );
      if (saved) await this.note(saved, `expired: ${decision.reason}.`, `expired`);
      return true;
    }
    if (decision.kind === 'skip') return this.skip(drill, dueAt, decision.reason);
    const site = runs.site(drill.site);
    const serving = (await runs.serving(site)) as ClusterId;
    if (serving !== site.homeCluster)
      return this.skip(
        drill,
        dueAt,
        `${site.name} is served by ${serving}, not its home ${site.homeCluster}; a game day starts from home`,
      );
    const open = await runs.openRun(site.name);
    if (open)
      return this.skip(drill, dueAt, `run ${open.id} (${open.kind}, ${open.state}) is open for ${site.name}`);
    try {
      await refuseDuringCooldown({ store, clock, topology }, site, false);
    } catch (error) {
      return this.skip(drill, dueAt, `cooldown: ${describeError(error).split('; ')[0]}`);
    }
    const alert = await this.options.service.firingAbortAlert();
    if (alert) return this.skip(drill, dueAt, `${alert} is firing (drills.abortOn)`);
    const to = otherCluster(site, serving);
    const evaluation = await this.options.readiness(site, serving, to);
    if (!evaluation.ready)
      return this.skip(
        drill,
        dueAt,
        `not ready: ${evaluation.problems.join('; ') || 'a readiness check failed'}`,
      );

    // Claim the occurrence: only the worker whose save lands starts it, with the run id it saved.
    const runId = await store.nextRunId();
    const claimed = await this.save(
      drill,
      (d) => (d.state === 'scheduled' && d.nextAt === dueAt ? startOccurrence(d, clock.now(), runId) : null),
      'occurrence-started',
    );
    if (!claimed || claimed.current?.failoverRunId !== runId) return false;
    await this.startRun(claimed, 'failover');
    return true;
  }

  private async skip(drill: Drill, dueAt: number, reason: string): Promise<boolean> {
    const now = this.options.clock.now();
    const n = drill.occurrence + 1;
    const outcome = { n, result: 'skipped' as const, detail: `skipped: ${reason}`, runIds: [] };
    const saved = await this.save(
      drill,
      (d) =>
        d.state === 'scheduled' && d.nextAt === dueAt
          ? { ...endOccurrence(d, now, outcome, dueAt), occurrence: n }
          : null,
      'occurrence-skipped',
    );
    if (saved) await this.note(saved, `#${n} SKIPPED — ${reason}. ${when(saved.nextAt)}.`, `skip-${n}`);
    return saved !== null;
  }

  // ---- an occurrence under way ---------------------------------------------------------------------------------

  private async progress(drill: Drill): Promise<boolean> {
    const occurrence = drill.current;
    if (!occurrence) return false;
    const { store, clock } = this.options;
    const now = clock.now();
    switch (occurrence.phase) {
      case 'failover': {
        const run = await store.get(occurrence.failoverRunId);
        // An abortOn alert fired before the claimed run was created: it is not started at all.
        if (!run && occurrence.waitingOn === 'alert')
          return this.end(drill, {
            n: occurrence.n,
            result: 'aborted',
            detail: occurrence.waiting ?? 'aborted',
            runIds: [],
          });
        if (!run) return this.startRun(drill, 'failover');
        if (ACTIVE_RUN.has(run.state)) return false;
        if (run.state === 'succeeded') {
          if (occurrence.waiting) {
            const saved = await this.save(
              drill,
              (d) => this.same(d, drill) && moveOccurrence(d, now, { phase: 'failback-waiting' }),
              'failback-held',
            );
            if (saved)
              await this.note(
                saved,
                `#${occurrence.n}: failover ${run.id} finished; ${run.site} is served by ${run.to}. The failback waits: ${occurrence.waiting}.`,
                `failover-done-${occurrence.n}`,
              );
            return true;
          }
          const holdUntil = now + drill.holdMs;
          const saved = await this.save(
            drill,
            (d) => this.same(d, drill) && moveOccurrence(d, now, { phase: 'holding', holdUntil }),
            'holding',
          );
          if (saved)
            await this.note(
              saved,
              `#${occurrence.n}: failover ${run.id} done — ${run.site} is served by ${run.to}. Holding for ${formatDrillDuration(drill.holdMs)}; the failback starts on its own at ${new Date(holdUntil).toISOString().slice(11, 16)}Z.`,
              `holding-${occurrence.n}`,
            );
          return true;
        }
        const why = abortReason(run) ?? run.stateReason ?? run.state;
        const result = run.state === 'aborted' || run.state === 'cancelled' ? 'aborted' : 'ended';
        const text =
          run.state === 'paused'
            ? `failover ${run.id} PAUSED (${why}); the game day ends without a failback — decide on the run (Retry / Abort)`
            : `failover ${run.id} ${run.state} (${why}); no failback is needed or started`;
        return this.end(drill, { n: occurrence.n, result, detail: text, runIds: [run.id] });
      }
      case 'holding':
        if (occurrence.holdUntil !== undefined && now >= occurrence.holdUntil) return this.failBack(drill);
        return false;
      case 'failback-waiting': {
        const site = this.options.runs.site(drill.site);
        const open = await this.options.runs.openRun(site.name);
        if (!open && (await this.options.runs.serving(site)) === site.homeCluster) {
          return this.end(drill, {
            n: occurrence.n,
            result: 'failback-by-hand',
            detail: `${site.name} is back on ${site.homeCluster} (failed back by hand)`,
            runIds: [occurrence.failoverRunId],
          });
        }
        const every = this.options.recheckEveryMs ?? 60_000;
        if (occurrence.waitingOn === 'readiness' && !open && now - (occurrence.checkedAt ?? 0) >= every)
          return this.failBack(drill);
        return false;
      }
      case 'failback': {
        const id = occurrence.failbackRunId;
        const run = id ? await store.get(id) : null;
        if (!run) return this.startRun(drill, 'failback');
        if (ACTIVE_RUN.has(run.state)) return false;
        const runIds = [occurrence.failoverRunId, run.id];
        if (run.state === 'succeeded') {
          const held = formatDrillDuration(drill.holdMs);
          return this.end(drill, {
            n: occurrence.n,
            result: 'completed',
            detail: `failover ${occurrence.failoverRunId}, held ${held}, failback ${run.id}: ${run.site} is back on ${run.to}`,
            runIds,
          });
        }
        const why = run.stateReason ?? run.state;
        return this.end(drill, {
          n: occurrence.n,
          result: 'ended',
          detail: `failback ${run.id} ${run.state} (${why}); ${run.site} is still served by ${run.from} — decide on the run, or \`/failback ${run.site}\``,
          runIds,
        });
      }
    }
  }

  /** Hold is over (or the site became ready): start the failback, or wait, saying why, until the site is ready. */
  private async failBack(drill: Drill): Promise<boolean> {
    const { runs, store, clock } = this.options;
    const occurrence = drill.current;
    if (!occurrence) return false;
    const now = clock.now();
    const site = runs.site(drill.site);
    const serving = (await runs.serving(site)) as ClusterId;
    let problem: string | null = null;
    if (await runs.openRun(site.name)) problem = 'a run is open for the site';
    if (!problem) {
      try {
        await refuseOntoUnfencedSide(store, site.name, site.homeCluster);
      } catch (error) {
        problem = describeError(error);
      }
    }
    if (!problem) {
      const evaluation = await this.options.readiness(site, serving, site.homeCluster);
      if (!evaluation.ready) problem = evaluation.problems.join('; ') || 'a readiness check failed';
    }
    if (problem) {
      const waiting = `not ready to fail back: ${problem} — fix it and the failback starts on its own, or run \`/failback ${site.name}\``;
      const first = occurrence.waiting !== waiting;
      const saved = await this.save(
        drill,
        (d) =>
          this.same(d, drill) &&
          moveOccurrence(d, now, {
            phase: 'failback-waiting',
            waitingOn: 'readiness',
            waiting,
            checkedAt: now,
          }),
        'failback-waiting',
      );
      if (saved && first)
        await this.note(
          saved,
          `#${occurrence.n}: the failback WAITS — ${waiting}.`,
          `wait-${occurrence.n}-${now}`,
        );
      return saved !== null;
    }
    const runId = await store.nextRunId();
    const { waiting: _w, waitingOn: _o, checkedAt: _c, ...rest } = occurrence;
    const claimed = await this.save(
      drill,
      (d) =>
        this.same(d, drill) && {
          ...d,
          current: { ...rest, phase: 'failback', failbackRunId: runId },
          updatedAt: now,
        },
      'failback-started',
    );
    if (!claimed || claimed.current?.failbackRunId !== runId) return false;
    return this.startRun(claimed, 'failback');
  }

  /** Creates and enqueues the occurrence's run with the id the drill saved (idempotent: see the file comment). */
  private async startRun(drill: Drill, kind: Run['kind']): Promise<boolean> {
    const { runs, store, clock, topology } = this.options;
    const occurrence = drill.current;
    const id = kind === 'failover' ? occurrence?.failoverRunId : occurrence?.failbackRunId;
    if (!occurrence || !id) return false;
    const site = runs.site(drill.site);
    const serving = await runs.serving(site);
    const plan = buildPlan({ kind, mode: 'planned', force: false }, site, { serving }, this.options.tuning);
    const run = drillRun({
      id,
      plan,
      drill,
      occurrence: occurrence.n,
      now: clock.now(),
      expiresAfterMs: topology.approvals.expiresAfterMs,
    });
    const result = await store.create(run, {
      event: { type: 'run-approved', count: run.approvals.length, required: run.approvals.length },
      actor: DRILL_ACTOR,
    });
    if (result.run.id !== id) {
      // Someone's run opened first: this occurrence does not start (or its failback waits for people).
      if (kind === 'failover')
        return this.end(drill, {
          n: occurrence.n,
          result: 'skipped',
          detail: `skipped: run ${result.run.id} opened first`,
          runIds: [],
        });
      const waiting = `run ${result.run.id} is open for ${site.name}; the failback waits for it`;
      await this.save(
        drill,
        (d) =>
          this.same(d, drill) &&
          moveOccurrence(d, clock.now(), {
            phase: 'failback-waiting',
            waitingOn: 'readiness',
            waiting,
            checkedAt: clock.now(),
          }),
        'failback-waiting',
      );
      return true;
    }
    await runs.enqueue(result.run);
    await runs.publish(result.run);
    const text =
      kind === 'failover'
        ? `#${occurrence.n} STARTED: planned failover ${id} (${plan.from} → ${plan.to}), then a hold of ${formatDrillDuration(drill.holdMs)} and the failback. An \`abortOn\` alert aborts it before the point of no return.`
        : `#${occurrence.n}: hold over — failback ${id} (${plan.from} → ${plan.to}) started.`;
    await this.note(drill, text, `${kind}-${occurrence.n}`);
    return true;
  }

  private async end(drill: Drill, outcome: Omit<DrillOutcome, 'at'>): Promise<boolean> {
    const occurrence = drill.current;
    if (!occurrence) return false;
    const now = this.options.clock.now();
    const saved = await this.save(
      drill,
      (d) => this.same(d, drill) && endOccurrence(d, now, outcome, occurrence.dueAt),
      `occurrence-${outcome.result}`,
    );
    if (saved)
      await this.note(
        saved,
        `#${outcome.n} ${outcome.result.toUpperCase()}: ${outcome.detail}. ${saved.state === 'scheduled' ? when(saved.nextAt) : 'No further game day.'}`,
        `end-${outcome.n}`,
      );
    return saved !== null;
  }

  /** The drill is still in the occurrence and phase `seen` was read in (another worker has not moved it). */
  private same(current: Drill, seen: Drill): boolean {
    return (
      current.state === 'active' &&
      current.current?.n === seen.current?.n &&
      current.current?.phase === seen.current?.phase
    );
  }

  /** A compare-and-set move of the drill by the game-day policy; null when another worker moved it first. */
  private async save(
    drill: Drill,
    change: (d: Drill) => Drill | null | false,
    action: string,
  ): Promise<Drill | null> {
    let moved = false;
    const saved = await this.options.service.change(drill.id, (current) => {
      const next = change(current);
      moved = Boolean(next);
      if (!next) return null;
      return {
        drill: next,
        audit: { action, actor: DRILL_ACTOR, detail: next.current?.waiting ?? next.stateReason ?? '' },
      };
    });
    return moved ? saved : null;
  }

  private note(drill: Drill, text: string, dedupeId: string): Promise<void> {
    return this.options.reporter.note(drill, text, dedupeId);
  }
}

function otherCluster(site: SiteConfig, cluster: ClusterId): ClusterId {
  const other = (Object.keys(site.clusters) as ClusterId[]).find((c) => c !== cluster);
  return other ?? cluster;
}

/** Why a run was aborted: the reason given with the abort (the alert), not the undo's summary. */
function abortReason(run: Run): string | undefined {
  return run.timeline.findLast((entry) => entry.event === 'aborting')?.detail;
}
