/**
 * What Baton does with one validated Alertmanager notification (DESIGN §2, §6):
 *
 * - Alerts a site's `propose-failover` rule matches open one incident per site: the first firing alert proposes a
 *   failover (one proposal however many alerts arrive — repeats, both Alertmanager replicas, other groups), and
 *   later alerts join that run. A run already open for the site (a person's /failover, a failover in progress)
 *   gets the alert linked in its thread instead of a second proposal. Alerts of an incident Baton already handled
 *   (the same alerts, still firing after the run ended) do not propose again.
 * - When every alert of the incident has resolved, an unapproved proposal says so and stays usable; a run past
 *   its proposal gets a thread reply.
 * - Alerts of a `notify` rule keep one notice message per site up to date until they have all resolved.
 *
 * Every effect is recorded in Redis before the caller answers 2xx, and Slack work that could not be queued leaves
 * a pending marker the next delivery finishes, so an error answers 5xx and Alertmanager's retry completes the job.
 */
import type { SiteConfig, Topology } from '../config/topology.js';
import type { Actor, Run, RunTrigger } from '../core/model.js';
import { TERMINAL_STATES } from '../core/model.js';
import { CooldownError } from '../core/policy/cooldown.js';
import type { Clock, Log } from '../core/ports.js';
import { BatonError } from '../errors.js';
import { runMessageKey } from '../slack/publish-run.js';
import type { Notifier } from '../queue/notify/index.js';
import type { RunService } from '../runs/run-service.js';
import {
  buildAlertLinkedReply,
  buildAlertNotice,
  buildAlertResolvedReply,
  buildAutoApprovalNotice,
  buildCooldownNotice,
} from './alert-messages.js';
import type { WebhookAlert, WebhookPayload } from './alertmanager-payload.js';
import type { IncidentState, RecordResult } from '../store/incidents/incident-record.js';
import type { IncidentStore } from '../store/incidents/incident-store.js';
import { autoApprovalDueAt, witnessFor } from './auto-approve.js';
import type { SiteAlerts } from './match-alerts.js';
import { routeAlerts } from './match-alerts.js';
import type { EvacuationService } from '../runs/evacuation-service.js';
import type { DrillService } from '../runs/drill-service.js';
import type { EvacuationOutcome } from './evacuation-alerts.js';
import { proposeEvacuations } from './evacuation-alerts.js';

/** What ingestion uses: the run service for runs, the notifier for the alerts' own messages. */
export interface IngestParts {
  service: RunService;
  notifier: Pick<Notifier, 'postReply' | 'postStatus'>;
  /** Evacuations, for `propose-evacuation` rules (without it those alerts are only logged). */
  evacuations?: EvacuationService;
  /** Game days: a firing `drills.abortOn` alert stops the drill under way (src/runs/drill-service.ts). */
  drills?: Pick<DrillService, 'noteAlerts' | 'onAlerts'>;
}

export interface IngestOptions {
  parts: IngestParts;
  incidents: IncidentStore;
  topology: Topology;
  clock: Clock;
  log: Log;
}

/** What happened for one site, as the webhook answers it (and logs it). */
export interface SiteOutcome {
  site: string;
  /** The run the site's `propose-failover` alerts belong to, and how. */
  run?: {
    id: string;
    state: Run['state'];
    /** proposed: this delivery created it; joined: the alert's own earlier proposal; linked: someone else's run. */
    how: 'proposed' | 'joined' | 'linked' | 'handled';
    firing: number;
  };
  /** The site's `notify` notice. */
  notice?: { id: string; firing: number };
  /** The alerts wanted a failover the run service refused (the channel was told): until when. */
  refused?: { code: 'cooldown'; until: number };
  /** The evacuations the site's `propose-evacuation` alerts belong to. */
  evacuations?: EvacuationOutcome[];
}

export interface IngestOutcome {
  /** Alerts no site's rule matched. */
  unmatched: number;
  /** Game days an `abortOn` alert stopped (aborted before the point of no return, or their failback held). */
  drills?: string[];
  sites: SiteOutcome[];
}

/** Versions of a run to re-publish when they moved while we published (another process saved meanwhile). */
const PUBLISH_ROUNDS = 3;

export const noticeMessageKey = (site: string, id: string): string => `alert-notice:${site}:${id}`;
/** The cooldown notice of `site`, one per failover that started a cooldown. */
export const cooldownMessageKey = (site: string, runId: string): string => `alert-cooldown:${site}:${runId}`;

/** Alertmanager's own page for the alerts of a name, when it told us its external URL. */
export function alertmanagerUrl(
  payload: Pick<WebhookPayload, 'externalURL'>,
  alertname: string,
): string | undefined {
  if (!/^https?:\/\//.test(payload.externalURL)) return undefined;
  const filter = `{alertname="${alertname.replace(/["\\]/g, '\\$&')}"}`;
  return `${payload.externalURL.replace(/\/+$/, '')}/#/alerts?filter=${encodeURIComponent(filter)}`;
}

const summaryOf = (alert: WebhookAlert, payload: WebhookPayload): string | undefined =>
  alert.annotations.summary ||
  alert.annotations.description ||
  payload.commonAnnotations.summary ||
  payload.commonAnnotations.description ||
  undefined;

/** The alert a proposal names: the one firing longest (the fingerprint breaks ties, so replicas agree). */
function firstFiring(alerts: readonly WebhookAlert[]): WebhookAlert | undefined {
  let first: WebhookAlert | undefined;
  for (const alert of alerts) {
    if (alert.status !== 'firing') continue;
    if (
      !first ||
      alert.startsAt < first.startsAt ||
      (alert.startsAt === first.startsAt && alert.fingerprint < first.fingerprint)
    )
      first = alert;
  }
  return first;
}

export class AlertIngest {
  constructor(private readonly options: IngestOptions) {}

  /** Applies one notification. Throws (→ 5xx, Alertmanager retries) when something could not be recorded. */
  async ingest(payload: WebhookPayload): Promise<IngestOutcome> {
    // A game day first: an `abortOn` alert must stop it before its promotion, whatever else the alerts do.
    await this.options.parts.drills?.noteAlerts(payload.alerts);
    const firing = payload.alerts.filter((alert) => alert.status === 'firing');
    const drills = firing.length ? ((await this.options.parts.drills?.onAlerts(firing)) ?? []) : [];
    const routed = routeAlerts(this.options.topology, payload.alerts);
    const sites: SiteOutcome[] = [];
    for (const siteAlerts of routed.sites) sites.push(await this.ingestSite(siteAlerts, payload));
    return { unmatched: routed.unmatched, sites, ...(drills.length > 0 && { drills }) };
  }

  private async ingestSite(alerts: SiteAlerts, payload: WebhookPayload): Promise<SiteOutcome> {
    const outcome: SiteOutcome = { site: alerts.site.name };
    if (alerts.propose.length > 0) {
      const result = await this.proposeOrJoin(alerts, payload);
      if (result && 'run' in result) outcome.run = result.run;
      if (result && 'refused' in result) outcome.refused = result.refused;
    }
    if (alerts.notify.length > 0) {
      const notice = await this.notice(alerts.site, alerts.notify, payload);
      if (notice) outcome.notice = notice;
    }
    const { evacuations } = this.options.parts;
    if (alerts.evacuate.length > 0 && evacuations) {
      const { topology, log } = this.options;
      outcome.evacuations = await proposeEvacuations({
        ...{ evacuations, service: this.options.parts.service, topology, log },
        ...{ site: alerts.site, alerts: alerts.evacuate, payload },
      });
    }
    return outcome;
  }

  private recordOptions(alerts: readonly WebhookAlert[], payload: WebhookPayload) {
    const first = firstFiring(alerts) ?? alerts[0];
    const summary = first && summaryOf(first, payload);
    return {
      groupKey: payload.groupKey,
      truncatedFiring: payload.truncatedAlerts > 0 && payload.status === 'firing',
      ...(summary && { summary }),
      now: this.options.clock.now(),
    };
  }

  private async proposeOrJoin(
    alerts: SiteAlerts,
    payload: WebhookPayload,
  ): Promise<
    { run: NonNullable<SiteOutcome['run']> } | { refused: NonNullable<SiteOutcome['refused']> } | undefined
  > {
    const { parts, incidents, log } = this.options;
    const site = alerts.site;
    const first = firstFiring(alerts.propose);

    const recordOptions = this.recordOptions(alerts.propose, payload);
    let run: Run | null = await parts.service.openRun(site.name);
    let created = false;
    if (!run && first) {
      const last = await incidents.lastRun(site.name, alerts.propose, recordOptions);
      // The same alerts still firing after their run ended (rejected, expired, done) do not propose again.
      if (!last.hasNew && last.runId) run = await parts.service.get(last.runId);
      if (!run) {
        try {
          ({ created, run } = await parts.service.propose({
            site: site.name,
            kind: 'failover',
            reason: `${first.labels.alertname ?? 'alert'} is firing`,
            actor: alertActor(first),
            trigger: this.trigger(first, payload),
          }));
        } catch (error) {
          if (!(error instanceof CooldownError)) throw error;
          return { refused: await this.tellCooldown(site, first, error, payload) };
        }
      }
    } else if (!run) {
      // Only resolved alerts: they matter to the run they were recorded against, if it still exists.
      const last = await incidents.lastRun(site.name, [], recordOptions);
      if (last.runId) run = await parts.service.get(last.runId);
    }
    if (!run) return undefined;

    const raisedByAlert = run.requestedBy.type === 'alert';
    const recorded = await incidents.recordRun(site.name, run.id, alerts.propose, {
      ...recordOptions,
      onlyIfKnown: !first,
      ...(raisedByAlert &&
        alerts.autoApproveAfterMs !== undefined && { autoApproveAfterMs: alerts.autoApproveAfterMs }),
    });
    if (created) {
      log.info(
        { site: site.name, runId: run.id, alerts: alerts.propose.length, groupKey: payload.groupKey },
        'alert proposed a failover',
      );
      await this.publish(run);
    } else if (raisedByAlert && run.state === 'proposed' && !run.preflight) {
      // The delivery that created it may have failed before queueing preflight; the job id makes this a no-op.
      await parts.service.ensurePreflight(run);
    }
    if (recorded?.state.pending !== undefined) await this.settleRun(site, run, recorded.state, payload);

    const handled = TERMINAL_STATES.has(run.state);
    return {
      run: {
        id: run.id,
        state: run.state,
        how: created ? 'proposed' : handled ? 'handled' : raisedByAlert ? 'joined' : 'linked',
        firing: recorded?.state.firing ?? 0,
      },
    };
  }

  /**
   * An alert that wanted a failover during the site's cooldown is not dropped silently: the incident channel gets one
   * message per cooldown (keyed by the failover that started it; repeated deliveries leave it unchanged).
   */
  private async tellCooldown(
    site: SiteConfig,
    alert: WebhookAlert,
    refusal: CooldownError,
    payload: WebhookPayload,
  ): Promise<NonNullable<SiteOutcome['refused']>> {
    const alertname = alert.labels.alertname ?? 'alert';
    const url = alertmanagerUrl(payload, alertname);
    const queued = await this.options.parts.notifier.postStatus({
      channel: this.options.topology.slack.incidentChannel,
      key: cooldownMessageKey(site.name, refusal.lastFailover.runId),
      message: buildCooldownNotice({
        site: site.name,
        alertname,
        lastFailover: refusal.lastFailover,
        until: refusal.until,
        ...(url && { url }),
      }),
    });
    if (!queued) throw slackQueueError();
    this.options.log.info(
      { site: site.name, runId: refusal.lastFailover.runId, until: refusal.until, alertname },
      'alert did not propose a failover: the site is in its cooldown',
    );
    return { code: 'cooldown', until: refusal.until };
  }

  /**
   * Makes Slack show the incident's state on its run, then clears the pending marker. Concurrent deliveries may
   * act in any order, so it repeats with the newest state until no newer version was recorded meanwhile.
   */
  private async settleRun(site: SiteConfig, initial: Run, recorded: IncidentState, payload: WebhookPayload) {
    const { incidents } = this.options;
    let run = initial;
    let state = recorded;
    for (let round = 0; round < PUBLISH_ROUNDS; round += 1) {
      run = await this.showOnRun(site, run, state, payload);
      if (state.pending !== undefined) await incidents.clearRunPending(run.id, state.pending);
      const latest = await incidents.runState(run.id);
      if (!latest || latest.version <= state.version) return;
      state = latest;
    }
  }

  private async showOnRun(site: SiteConfig, initial: Run, state: IncidentState, payload: WebhookPayload) {
    const { parts, incidents, topology } = this.options;
    const url = alertmanagerUrl(payload, state.names[0] ?? '');
    const view = { site: site.name, state, ...(url && { url }) };
    const proposal = (run: Run) =>
      run.requestedBy.type === 'alert' && run.state === 'proposed' && !!run.trigger;
    let run = initial;
    if (proposal(run)) run = await this.syncResolvedAt(run, state);
    // A finished run's message is final; its alerts stay recorded so that they do not propose again.
    if (TERMINAL_STATES.has(run.state)) return run;
    if (proposal(run)) {
      const witness =
        state.autoApproveAfterMs === undefined ? undefined : witnessFor(site, state.autoApproveAfterMs);
      if (
        state.autoApproveAfterMs !== undefined &&
        witness &&
        !state.flags.includes('auto-approval-notice')
      ) {
        const queued = await parts.notifier.postReply({
          channel: topology.slack.incidentChannel,
          threadKey: runMessageKey(run),
          dedupeId: 'auto-approval-notice',
          message: buildAutoApprovalNotice({
            run,
            afterMs: state.autoApproveAfterMs,
            dueAt: autoApprovalDueAt(run, state),
            healthUrl: site.clusters[run.from]?.healthUrl ?? '',
            witness,
          }),
        });
        if (!queued) throw slackQueueError();
        await incidents.claim(run.id, 'auto-approval-notice');
      }
      return run;
    }
    const resolved = state.firing === 0;
    const queued = await parts.notifier.postReply({
      channel: topology.slack.incidentChannel,
      threadKey: runMessageKey(run),
      dedupeId: `alert-${resolved ? 'resolved' : 'firing'}-${state.episode}`,
      message: resolved ? buildAlertResolvedReply({ ...view, run }) : buildAlertLinkedReply({ ...view, run }),
    });
    if (!queued) throw slackQueueError();
    return run;
  }

  /** Sets or clears `trigger.resolvedAt` on an unapproved alert proposal; returns the run as saved. */
  private syncResolvedAt(run: Run, state: IncidentState): Promise<Run> {
    const wanted = state.firing === 0 ? state.resolvedAt : undefined;
    return this.options.parts.service.recordAlertResolved(run.id, wanted, alertActorOf(run));
  }

  /** Publishes `run`, and again if it moved meanwhile, so the newest version is the last one queued. */
  private async publish(run: Run): Promise<void> {
    const { parts } = this.options;
    let published = run;
    for (let round = 0; round < PUBLISH_ROUNDS; round += 1) {
      await parts.service.publish(published);
      const latest = await parts.service.get(run.id);
      if (!latest || latest.version <= published.version) return;
      published = latest;
    }
  }

  private trigger(alert: WebhookAlert, payload: WebhookPayload): RunTrigger {
    const alertname = alert.labels.alertname ?? 'alert';
    const summary = summaryOf(alert, payload);
    const url =
      alertmanagerUrl(payload, alertname) ??
      (/^https?:\/\//.test(alert.generatorURL) ? alert.generatorURL : undefined);
    return {
      source: 'alert',
      alertname,
      ...(summary && { summary }),
      firedAt: alert.startsAt,
      fingerprint: alert.fingerprint,
      ...(url && { url }),
    };
  }

  private async notice(
    site: SiteConfig,
    alerts: readonly WebhookAlert[],
    payload: WebhookPayload,
  ): Promise<SiteOutcome['notice'] | undefined> {
    const { incidents } = this.options;
    const { notifier } = this.options.parts;
    const recorded: RecordResult | null = await incidents.recordNotice(
      site.name,
      alerts,
      this.recordOptions(alerts, payload),
    );
    if (!recorded) return undefined;
    let state = recorded.state;
    if (state.pending === undefined) return { id: state.id, firing: state.firing };
    // Another delivery may change the notice while we post: post again until what we posted is the newest.
    for (let round = 0; round < PUBLISH_ROUNDS; round += 1) {
      const url = alertmanagerUrl(payload, state.names[0] ?? '');
      const queued = await notifier.postStatus({
        channel: this.options.topology.slack.incidentChannel,
        key: noticeMessageKey(site.name, state.id),
        message: buildAlertNotice({ site: site.name, state, ...(url && { url }) }),
      });
      if (!queued) throw slackQueueError();
      if (state.pending !== undefined) await incidents.clearNoticePending(site.name, state.id, state.pending);
      const latest = await incidents.noticeState(site.name, state.id);
      if (!latest || latest.version <= state.version) break;
      state = latest;
    }
    return { id: state.id, firing: state.firing };
  }
}

function alertActor(alert: WebhookAlert): Actor {
  const name = alert.labels.alertname ?? 'alert';
  return { type: 'alert', id: name };
}

function alertActorOf(run: Run): Actor {
  return run.requestedBy.type === 'alert'
    ? run.requestedBy
    : { type: 'alert', id: run.trigger?.alertname ?? 'alert' };
}

function slackQueueError(): BatonError {
  return new BatonError(
    'slack-queue-unavailable',
    'could not queue the Slack update (Redis did not answer in time); Alertmanager will retry',
    { retriable: true },
  );
}
