/**
 * Optional auto-approval of alert proposals (DESIGN §6), off unless a `propose-failover` rule sets
 * `autoApprove: { after: 5m }`. A proposal an alert raised is approved by the policy only when all of these hold:
 * nobody has approved or rejected it for the quiet period (counted from the proposal, or from the alert firing
 * again after it had resolved), its alerts still fire, it has not expired, and the witness agrees that the serving
 * cluster is down (Alertmanager alone never moves traffic):
 *
 * - Baton's own probes of the cluster's `healthUrl`: every pass of every worker probes each open alert proposal,
 *   from the moment it is raised, and counts the result in the incident record in Redis (so any worker's probe
 *   counts and a restart forgets nothing). They agree only after at least `witness.probes` failures in a row that
 *   cover the whole quiet period, with no success and no long gap among them ({@link judgeProbes}).
 * - Optionally a second vantage point, `witness.prometheus`: an instant query that must return series that are all
 *   0 ({@link queryPrometheusWitness}).
 *
 * A probe from where Baton runs cannot tell "the cluster is down" from "Baton is cut off from it"; the operator
 * guide's "Auto-approval and partitions" says what these two reduce and what they cannot. The audit names the
 * policy (`{ type: 'policy', id: 'auto-approval' }`) as the approver; it counts as one approval like a person's.
 *
 * `autoApproveDue` is one pass and safe to run in every worker at once: probes are counted atomically and
 * approvals are saved atomically, so a second worker finds the run already approved. `startAutoApproval` runs it on
 * a timer.
 */
import type { PrometheusWitnessConfig, SiteConfig, Topology } from '../config/topology.js';
import type { Actor, Run } from '../core/model.js';
import type { Clock, HealthPort, Log } from '../core/ports.js';
import type { ErrorCode } from '../error-codes.js';
import { BatonError, describeError } from '../errors.js';
import type { Notifier } from '../queue/notify/index.js';
import type { PeriodicJob } from '../queue/periodic.js';
import type { RunService } from '../runs/run-service.js';
import { runMessageKey } from '../slack/publish-run.js';
import type { WithheldWhy } from './alert-messages.js';
import {
  buildAutoApprovalWithheldReply,
  buildAutoApprovedReply,
  describeWithheld,
} from './alert-messages.js';
import type { IncidentState } from '../store/incidents/incident-record.js';
import type { IncidentStore } from '../store/incidents/incident-store.js';
import { judgeProbes } from './judge-probes.js';
import { queryPrometheusWitness } from './query-prometheus-witness.js';

/** The audit's approver when the policy approves. */
export const AUTO_APPROVAL_ACTOR: Actor = { type: 'policy', id: 'auto-approval' };

/** How often workers look for due proposals (default). */
export const AUTO_APPROVE_EVERY_MS = 5_000;

/**
 * How late the first probe of the quiet period may be, how old the newest, and the longest gap between two failed
 * probes that still count as one run of failures: a few passes, so that a slow pass or a worker restart does not
 * reset the count, and never less than 30 s.
 */
export const probeSlackMs = (everyMs: number): number => Math.max(3 * everyMs, 30_000);

/** Approval codes that mean another worker (or a person) got there first. */
const SETTLED_CODES: ReadonlySet<ErrorCode> = new Set(['not-proposed', 'already-approved', 'expired']);

/** When the quiet period began: the proposal, or the alert firing again after it had resolved. */
export const quietPeriodStart = (
  run: Pick<Run, 'createdAt'>,
  state: Pick<IncidentState, 'firingSince'>,
): number => Math.max(run.createdAt, state.firingSince ?? run.createdAt);

/** When the policy may approve: the quiet period after the proposal, or after the alert fired again. */
export function autoApprovalDueAt(
  run: Pick<Run, 'createdAt'>,
  state: Pick<IncidentState, 'firingSince' | 'autoApproveAfterMs'>,
): number {
  return quietPeriodStart(run, state) + (state.autoApproveAfterMs ?? Infinity);
}

/** The witness a proposal of `site` answers to: failed probes needed, and the Prometheus queries that must agree. */
export interface Witness {
  probes: number;
  prometheus: PrometheusWitnessConfig[];
}

/**
 * The witness for a proposal whose quiet period is `afterMs`: that of the site's auto-approving rules with that
 * period (the incident keeps the shortest period of the rules its alerts matched), or of all of them if the
 * configuration changed since; where several apply, the strictest (most probes, every Prometheus). Undefined when
 * the configuration no longer enables auto-approval for the site.
 */
export function witnessFor(site: SiteConfig, afterMs: number): Witness | undefined {
  const rules = site.alerts.filter((rule) => rule.action === 'propose-failover' && rule.autoApprove);
  if (rules.length === 0) return undefined;
  const same = rules.filter((rule) => rule.autoApprove?.afterMs === afterMs);
  const witness: Witness = { probes: 0, prometheus: [] };
  for (const rule of same.length ? same : rules) {
    const config = rule.autoApprove?.witness;
    if (!config) continue;
    witness.probes = Math.max(witness.probes, config.probes);
    const p = config.prometheus;
    if (p && !witness.prometheus.some((q) => q.url === p.url && q.query === p.query))
      witness.prometheus.push(p);
  }
  return witness;
}

export interface AutoApproveOptions {
  /** The run service: open proposals, the approval (the authorizer admits the policy), publishing, the audit. */
  service: Pick<RunService, 'openRuns' | 'approve' | 'publish' | 'note'>;
  incidents: IncidentStore;
  notifier: Pick<Notifier, 'postReply'>;
  health: HealthPort;
  topology: Topology;
  clock: Clock;
  log: Log;
  /** See {@link probeSlackMs} (default: for passes every {@link AUTO_APPROVE_EVERY_MS}). */
  slackMs?: number;
}

export type AutoApprovalOutcome =
  'approved' | 'withheld' | 'not-due' | 'resolved' | 'not-enabled' | 'already-decided';

/** One pass over open proposals; returns what it decided for each proposal an alert raised. */
export async function autoApproveDue(
  options: AutoApproveOptions,
): Promise<{ runId: string; outcome: AutoApprovalOutcome }[]> {
  const { service, incidents, topology, clock, log } = options;
  const slackMs = options.slackMs ?? probeSlackMs(AUTO_APPROVE_EVERY_MS);
  const out: { runId: string; outcome: AutoApprovalOutcome }[] = [];
  for (const run of await service.openRuns(['proposed'])) {
    if (run.requestedBy.type !== 'alert') continue;
    const outcome = await decide(run).catch((error: unknown) => {
      log.warn({ runId: run.id, site: run.site, err: describeError(error) }, 'auto-approval check failed');
      return undefined;
    });
    if (outcome) out.push({ runId: run.id, outcome });
  }
  return out;

  async function decide(run: Run): Promise<AutoApprovalOutcome> {
    const state = await incidents.runState(run.id);
    if (!state || state.autoApproveAfterMs === undefined) return 'not-enabled';
    if (state.firing === 0) return 'resolved';
    const now = clock.now();
    if (run.expiresAt !== undefined && now >= run.expiresAt) return 'already-decided';
    if (run.approvals.some((a) => a.actor.type === 'policy')) return 'already-decided';
    const site = topology.sites.find((s) => s.name === run.site);
    const healthUrl = site?.clusters[run.from]?.healthUrl;
    const witness = site && witnessFor(site, state.autoApproveAfterMs);
    if (!site || !healthUrl || !witness) return 'not-enabled';

    // Every pass probes, from the proposal on: the witness needs failures spread over the whole quiet period.
    const probe = await options.health.check(healthUrl);
    const detail = probe.ok
      ? String(probe.status ?? 'ok')
      : (probe.error ?? (probe.status === undefined ? 'no answer' : `HTTP ${probe.status}`));
    const recorded = await incidents.recordProbe(run.id, {
      createdAt: run.createdAt,
      at: now,
      ok: probe.ok,
      detail,
      maxGapMs: slackMs,
    });
    if (!recorded || recorded.autoApproveAfterMs === undefined) return 'not-enabled';
    if (recorded.firing === 0) return 'resolved';
    if (now < autoApprovalDueAt(run, recorded)) return 'not-due';

    const runLog = log.child({ runId: run.id, site: run.site });
    const afterMs = recorded.autoApproveAfterMs;
    const since = quietPeriodStart(run, recorded);
    const verdict = judgeProbes(recorded.probes, { afterMs, required: witness.probes, slackMs, now });
    if (!verdict.agrees) {
      await withhold(run, { witness: 'probes', verdict, afterMs, since }, now);
      return 'withheld';
    }
    const agreed: string[] = [];
    for (const prometheus of witness.prometheus) {
      const answer = await queryPrometheusWitness(prometheus, { site: site.name, cluster: run.from });
      if (!answer.agrees) {
        const why = {
          witness: 'prometheus',
          url: prometheus.url,
          query: answer.query,
          reason: answer.reason,
        } as const;
        await withhold(run, why, now);
        return 'withheld';
      }
      agreed.push(answer.reason);
    }

    let approved: { run: Run; complete: boolean };
    try {
      approved = await service.approve(run.id, AUTO_APPROVAL_ACTOR);
    } catch (error) {
      if (error instanceof BatonError && SETTLED_CODES.has(error.code)) return 'already-decided';
      throw error;
    }
    runLog.warn(
      {
        probes: verdict.streak,
        since: verdict.since,
        probe: verdict.detail,
        prometheus: agreed,
        complete: approved.complete,
      },
      'auto-approval policy approved the proposal: the alert still fires and the witness agrees the serving cluster is down',
    );
    await options.notifier.postReply({
      channel: topology.slack.incidentChannel,
      threadKey: runMessageKey(run),
      dedupeId: 'auto-approved',
      message: buildAutoApprovedReply({
        run,
        afterMs,
        probes: verdict,
        prometheus: agreed,
        now,
        complete: approved.complete,
      }),
    });
    await service.publish(approved.run);
    return 'approved';
  }

  /** Says why, once per proposal and kind of witness; later passes keep probing quietly. */
  async function withhold(run: Run, why: WithheldWhy, now: number): Promise<void> {
    const flag = why.witness === 'probes' ? 'auto-approval-withheld' : 'auto-approval-withheld-prometheus';
    if (!(await incidents.claim(run.id, flag))) return;
    const reason = describeWithheld(run, why);
    log
      .child({ runId: run.id, site: run.site })
      .info({ witness: why.witness, reason }, 'auto-approval withheld: the witness does not agree');
    await service.note(run, {
      event: { type: 'auto-approval-withheld', reason },
      actor: AUTO_APPROVAL_ACTOR,
    });
    await options.notifier.postReply({
      channel: topology.slack.incidentChannel,
      threadKey: runMessageKey(run),
      dedupeId: flag,
      message: buildAutoApprovalWithheldReply({ run, why, now }),
    });
  }
}

/** Whether any rule of the topology turns auto-approval on. */
export const autoApprovalEnabled = (topology: Topology): boolean =>
  topology.sites.some((site) => site.alerts.some((rule) => rule.autoApprove !== undefined));

export interface AutoApprovalJobOptions {
  /** Where alert incidents and the witness's probes are recorded. */
  incidents: IncidentStore;
  service: AutoApproveOptions['service'];
  notifier: Pick<Notifier, 'postReply'>;
  health: HealthPort;
  topology: Topology;
  clock: Clock;
  log: Log;
  everyMs?: number;
  /** See {@link probeSlackMs} (default: for `everyMs`). */
  probeSlackMs?: number;
}

/**
 * The periodic job of the auto-approval policy (once per deployment: src/queue/periodic.ts), passing over open alert
 * proposals every `everyMs` (default 5 s). Null when no rule enables auto-approval: then nothing runs at all.
 */
export function autoApprovalJob(options: AutoApprovalJobOptions): PeriodicJob | null {
  if (!autoApprovalEnabled(options.topology)) return null;
  const everyMs = options.everyMs ?? AUTO_APPROVE_EVERY_MS;
  const log = options.log.child({ component: 'auto-approval' });
  log.info({ everyMs }, 'auto-approval policy active');
  return {
    id: 'auto-approval',
    everyMs,
    // A proposal is never due at once: the first pass comes one interval in.
    firstAfterMs: everyMs,
    run: () =>
      autoApproveDue({
        service: options.service,
        incidents: options.incidents,
        notifier: options.notifier,
        health: options.health,
        topology: options.topology,
        clock: options.clock,
        log,
        slackMs: options.probeSlackMs ?? probeSlackMs(everyMs),
      }),
  };
}
