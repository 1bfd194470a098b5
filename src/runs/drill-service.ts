/**
 * Game days (`/failover drill`, DESIGN §2): proposing, approving, rejecting, listing and cancelling drills, and the
 * `abortOn` alerts that stop one. The Slack listeners and the Alertmanager route call this; the drill scheduler
 * (./drill-scheduler.ts, in the workers) starts the occurrences. Approvals follow the runs' rules (one authorizer,
 * the same identity rule) and are carried to every run a drill starts, each still attributed to its person.
 */
import type { Topology } from '../config/topology.js';
import type { Drill } from '../core/drills/drill.js';
import { DRILL_ACTOR, DRILL_LIMITS, DRILL_OPEN_STATES } from '../core/drills/drill.js';
import { approveDrill, refuseFirstStartInWindow } from '../core/drills/drill-schedule.js';
import { endOccurrence, moveOccurrence } from '../core/drills/drill-steps.js';
import type { Actor } from '../core/model.js';
import { sameActor } from '../core/model.js';
import { parseBlockedWindow } from '../core/policy/blocked-windows.js';
import type { Clock, Log } from '../core/ports.js';
import { pastPointOfNoReturn } from '../core/runs/point-of-no-return.js';
import { BatonError, describeError, isBatonError } from '../errors.js';
import type { DrillAudit, DrillStore } from '../store/drill-store.js';
import type { RunService } from './run-service.js';

/** Where a drill's messages go (Slack through the notify queue); never throws, never waits on Slack. */
export interface DrillReporter {
  /** The drill's one message, edited in place. */
  publish(drill: Drill): Promise<void>;
  /** A note in its thread, posted once per `dedupeId`. */
  note(drill: Drill, text: string, dedupeId: string): Promise<void>;
}

export interface DrillServiceOptions {
  drills: DrillStore;
  runs: RunService;
  reporter: DrillReporter;
  topology: Topology;
  clock: Clock;
  log: Log;
}

export interface DrillRequest {
  site?: string;
  /** First start (ms); absent: as soon as approved. */
  at?: number;
  everyMs?: number;
  holdMs?: number;
  reason?: string;
  actor: Actor;
}

/** A firing alert's labels, as the Alertmanager route has them. */
export interface FiringAlert {
  labels: Record<string, string>;
}

/** An alert of a notification, firing or resolved. */
export interface NotifiedAlert extends FiringAlert {
  status: string;
  fingerprint?: string;
}

/**
 * How long an `abortOn` alert is taken to fire without news of it: Alertmanager repeats a firing alert every
 * repeat_interval (4 h by default) and says when it resolves; a lost resolution holds game days back a day at most.
 */
const ABORT_ALERT_FIRING_MS = 24 * 3_600_000;

/** The labels `abortOn` names, all equal (`{ alertname: HighErrorRate }`). */
export function matchesAbortOn(topology: Pick<Topology, 'drills'>, alert: FiringAlert): string | null {
  for (const match of topology.drills?.abortOn ?? []) {
    if (Object.entries(match).every(([name, value]) => alert.labels[name] === value))
      return alert.labels.alertname ?? Object.values(match).join(',');
  }
  return null;
}

export class DrillService {
  constructor(private readonly options: DrillServiceOptions) {}

  get topology(): Topology {
    return this.options.topology;
  }

  /** The blocked windows of the topology, parsed (the schema validated them at load). */
  blockedWindows() {
    return (this.options.topology.drills?.blockedWindows ?? []).map(parseBlockedWindow);
  }

  /** Proposes a game day: recorded, its message posted with Approve / Reject. */
  async propose(request: DrillRequest): Promise<Drill> {
    const { runs, drills, clock, topology } = this.options;
    await runs.authorizer.require(request.actor, 'request', 'propose a game day');
    const site = runs.site(request.site);
    const now = clock.now();
    refuseFirstStartInWindow(this.blockedWindows(), request.at ?? now, request.everyMs !== undefined);
    const drill: Drill = {
      id: await drills.nextId(),
      site: site.name,
      reason: request.reason?.trim() || 'game day',
      requestedBy: request.actor,
      createdAt: now,
      updatedAt: now,
      // A drill set for later stays open for approval until it starts (at most the usual expiry when immediate).
      expiresAt: Math.max(now + topology.approvals.expiresAfterMs, request.at ?? 0),
      ...(request.at !== undefined && { at: request.at }),
      ...(request.everyMs !== undefined && { everyMs: request.everyMs }),
      holdMs: request.holdMs ?? DRILL_LIMITS.defaultHoldMs,
      approvals: [],
      state: 'proposed',
      occurrence: 0,
      outcomes: [],
      version: 0,
    };
    const saved = await drills.create(drill, this.audit('proposed', request.actor, drill.reason));
    await this.options.reporter.publish(saved);
    return saved;
  }

  /** One approval; the last one schedules the drill. */
  async approve(drillId: string, actor: Actor): Promise<{ drill: Drill; complete: boolean }> {
    const { runs, topology, clock } = this.options;
    await runs.authorizer.require(actor, 'approve', `approve game day ${drillId}`);
    const drill = await this.change(drillId, (current) => {
      const outcome = approveDrill(current, actor, { config: topology.approvals, now: clock.now() });
      if (!outcome.ok) throw new BatonError(outcome.code, outcome.reason);
      const detail = `${outcome.count} of ${outcome.required}`;
      return {
        drill: outcome.drill,
        audit: this.audit(outcome.complete ? 'approved' : 'approval-added', actor, detail),
      };
    });
    return { drill, complete: drill.state === 'scheduled' };
  }

  async reject(drillId: string, actor: Actor): Promise<Drill> {
    await this.options.runs.authorizer.require(actor, 'approve', `reject game day ${drillId}`);
    return this.change(drillId, (drill) => {
      if (drill.state !== 'proposed')
        throw new BatonError('not-proposed', `Drill ${drill.id} is already ${drill.state}`);
      const next: Drill = {
        ...drill,
        state: 'rejected',
        stateReason: `rejected by ${actor.name ?? actor.id}`,
        endedBy: actor,
        updatedAt: this.options.clock.now(),
      };
      return { drill: next, audit: this.audit('rejected', actor, '') };
    });
  }

  /**
   * Cancels a drill: no further occurrence. One under way stops safely: a failover not yet past the point of no
   * return is aborted; after it, or while traffic is held, the traffic stays where it is and the canceller is told
   * how to bring it home (`/failback`); a failback already running finishes.
   */
  async cancel(drillId: string, actor: Actor): Promise<Drill> {
    const { drills, runs } = this.options;
    const current = await drills.require(drillId);
    if (!sameActor(current.requestedBy, actor) && !(await runs.authorizer.allows(actor, 'approve'))) {
      throw new BatonError(
        'not-allowed',
        `Only the requester (${current.requestedBy.name ?? current.requestedBy.id}) or an approver can cancel game day ${drillId}.`,
      );
    }
    const cancelled = await this.change(drillId, (drill) => {
      if (!DRILL_OPEN_STATES.has(drill.state))
        throw new BatonError(
          'not-allowed',
          `Game day ${drill.id} is already ${drill.state}; nothing to cancel.`,
        );
      const now = this.options.clock.now();
      const { nextAt: _next, ...rest } = drill;
      const next: Drill = {
        ...rest,
        state: 'cancelled',
        stateReason: `cancelled by ${actor.name ?? actor.id}`,
        endedBy: actor,
        updatedAt: now,
      };
      return { drill: next, audit: this.audit('cancelled', actor, '') };
    });
    const occurrence = current.current;
    if (occurrence) await this.stopOccurrence(cancelled, occurrence, actor);
    return cancelled;
  }

  /** The open game days, for `drill list`. */
  list(): Promise<Drill[]> {
    return this.options.drills.open();
  }

  get(drillId: string): Promise<Drill | null> {
    return this.options.drills.get(drillId);
  }

  /**
   * Firing alerts from Alertmanager: one that matches `drills.abortOn` stops every game day under way. Before the
   * point of no return its failover is aborted (as the game-day policy, with the alert as the reason), leaving the
   * site as it was. After it, the failover finishes (undoing a promotion is not possible) and the failback waits
   * for people. While traffic is held on the standby, the automatic failback is held too: the standby serves now
   * and the alert may be about it, so people decide (`/failback <site>`). A failback already running goes on: it
   * brings traffic home to the side that served before the drill. Returns the drills it acted on.
   */
  /**
   * Remembers which `abortOn` alerts fire, so that no game day starts while one does (the scheduler asks
   * {@link firingAbortAlert}); a resolved one is forgotten.
   */
  async noteAlerts(alerts: readonly NotifiedAlert[]): Promise<void> {
    const now = this.options.clock.now();
    for (const alert of alerts) {
      const name = matchesAbortOn(this.options.topology, alert);
      if (name === null) continue;
      const fingerprint = alert.fingerprint ?? JSON.stringify(Object.entries(alert.labels).sort());
      await this.options.drills.noteAbortAlert(
        fingerprint,
        alert.status === 'firing' ? { name, until: now + ABORT_ALERT_FIRING_MS } : null,
      );
    }
  }

  /** The name of an `abortOn` alert firing now, if any. */
  firingAbortAlert(): Promise<string | null> {
    return this.options.drills.firingAbortAlert(this.options.clock.now());
  }

  async onAlerts(alerts: readonly FiringAlert[]): Promise<string[]> {
    const fired = alerts.map((a) => matchesAbortOn(this.options.topology, a)).find((name) => name !== null);
    if (!fired) return [];
    const acted: string[] = [];
    for (const drill of await this.options.drills.open()) {
      if (drill.state !== 'active' || !drill.current) continue;
      try {
        if (await this.abortForAlert(drill, `${fired} fired`)) acted.push(drill.id);
      } catch (error) {
        this.options.log.warn(
          { drill: drill.id, err: describeError(error) },
          'could not stop a game day for an alert',
        );
        throw error;
      }
    }
    return acted;
  }

  private async abortForAlert(drill: Drill, reason: string): Promise<boolean> {
    const occurrence = drill.current;
    if (!occurrence) return false;
    const { runs } = this.options;
    if (occurrence.phase === 'failover') {
      const run = await runs.require(occurrence.failoverRunId).catch(() => null);
      if (run && !pastPointOfNoReturn(run) && ['approved', 'running', 'paused'].includes(run.state)) {
        try {
          if (run.state === 'approved') await runs.cancel(run.id, DRILL_ACTOR);
          else await runs.abort(run.id, DRILL_ACTOR, { reason });
          await this.options.reporter.note(
            drill,
            `#${occurrence.n} ABORTED before the point of no return: ${reason}. Run ${run.id} undoes what it did; ` +
              `${drill.site} stays where it was. No failback is needed.`,
            `abort-${occurrence.n}`,
          );
          return true;
        } catch (error) {
          // Promotion was requested meanwhile: the failover can only finish, so the failback waits (below).
          if (!isBatonError(error) || error.code !== 'past-point-of-no-return') throw error;
        }
      }
      if (run && ['aborting', 'aborted', 'cancelled', 'failed'].includes(run.state)) return false;
      return this.holdFailback(drill, reason, 'past the point of no return: the failover finishes');
    }
    if (occurrence.phase === 'holding')
      return this.holdFailback(drill, reason, 'traffic stays on the standby');
    return false;
  }

  /** The failback of the drill's occurrence waits for people; said once. */
  private async holdFailback(drill: Drill, reason: string, what: string): Promise<boolean> {
    const waiting = `${reason} (${what}); the automatic failback is held — when it is safe, run \`/failback ${drill.site}\``;
    const saved = await this.change(drill.id, (current) => {
      if (current.state !== 'active' || !current.current || current.current.waiting) return null;
      if (current.current.phase !== 'failover' && current.current.phase !== 'holding') return null;
      const next = moveOccurrence(current, this.options.clock.now(), {
        waiting,
        waitingOn: 'alert',
        ...(current.current.phase === 'holding' && { phase: 'failback-waiting' as const }),
      });
      return { drill: next, audit: this.audit('failback-held', DRILL_ACTOR, waiting) };
    });
    if (!saved.current?.waiting) return false;
    await this.options.reporter.note(saved, `#${saved.current.n}: ${waiting}`, `held-${saved.current.n}`);
    return true;
  }

  /** A cancelled drill's occurrence: stop what can be stopped safely, say what stays. */
  private async stopOccurrence(
    drill: Drill,
    occurrence: NonNullable<Drill['current']>,
    actor: Actor,
  ): Promise<void> {
    const { runs, reporter } = this.options;
    let text: string;
    if (occurrence.phase === 'failover') {
      const run = await runs.get(occurrence.failoverRunId);
      if (run && !pastPointOfNoReturn(run) && ['approved', 'running', 'paused'].includes(run.state)) {
        await (run.state === 'approved'
          ? runs.cancel(run.id, actor)
          : runs.abort(run.id, actor, { reason: 'game day cancelled' }));
        text = `cancelled: failover ${run.id} is being aborted; ${drill.site} stays where it was.`;
      } else {
        text = `cancelled after the point of no return: failover ${occurrence.failoverRunId} finishes; bring traffic home with \`/failback ${drill.site}\`.`;
      }
    } else if (occurrence.phase === 'failback') {
      text = `cancelled: failback ${occurrence.failbackRunId ?? ''} is already bringing traffic home and finishes.`;
    } else {
      text = `cancelled while traffic is on the standby: no automatic failback; run \`/failback ${drill.site}\` when ready.`;
    }
    await reporter.note(drill, text, `cancel-${occurrence.n}`);
  }

  /**
   * Read-modify-write of one drill with optimistic retries. `decide` returns null when there is nothing to change
   * (the drill comes back as it is) and throws to refuse.
   */
  async change(
    drillId: string,
    decide: (drill: Drill) => { drill: Drill; audit: DrillAudit } | null,
  ): Promise<Drill> {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const current = await this.options.drills.require(drillId);
      const decision = decide(current);
      if (!decision) return current;
      const saved = await this.options.drills.save(decision.drill, decision.audit);
      if (!saved) continue;
      await this.options.reporter.publish(saved);
      return saved;
    }
    throw new BatonError('run-conflict', `game day ${drillId} is changing too fast; try again`, {
      retriable: true,
    });
  }

  audit(action: string, actor: Actor, detail: string): DrillAudit {
    return { action, actor, detail };
  }

  /** Ends the current occurrence (used by the scheduler too). */
  endNow(drill: Drill, outcome: Parameters<typeof endOccurrence>[2], dueAt: number): Drill {
    return endOccurrence(drill, this.options.clock.now(), outcome, dueAt);
  }
}
