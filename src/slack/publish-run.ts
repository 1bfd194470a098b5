/**
 * Turns a run's newest state into Slack messages on the notify queue: one message per run in the incident channel
 * (the proposal, which becomes the live status once approved), a thread reply per finished or failed step, and a
 * summary when the run ends (a new message; in its thread for a run of an evacuation). Called after every change by
 * the web role, the preflight job and the run worker; the notify queue coalesces, so calling it often is cheap. It
 * never throws and never waits on Slack.
 */
import type { Topology } from '../config/topology.js';
import type { Run, StepStatus } from '../core/model.js';
import { TERMINAL_STATES, allSteps } from '../core/model.js';
import { isReportable } from '../core/runs/run-report.js';
import { requiredApprovals } from '../core/policy/approvals.js';
import type { Clock, Log } from '../core/ports.js';
import { describeError } from '../errors.js';
import type { Notifier } from '../queue/notify/index.js';
import { buildProposalMessage } from './blocks/proposal-message.js';
import { ANNOUNCED, buildRunAnnouncement } from './blocks/run-announcement.js';
import { buildStatusMessage } from './blocks/status-message.js';
import { buildStepReply } from './blocks/step-reply.js';
import { buildRunSummary } from './blocks/summary-message.js';

/** Run states shown as the proposal (with or without its buttons) rather than as step progress. */
const PROPOSAL_STATES = new Set<Run['state']>(['proposed', 'rejected', 'expired', 'cancelled']);
/** Step states worth a thread reply: what an operator reads when something went wrong, or to audit it. */
const REPLY_STATUSES = new Set<StepStatus>(['succeeded', 'failed', 'skipped', 'undone', 'undo-failed']);

export const runMessageKey = (run: Pick<Run, 'id'>): string => `run:${run.id}`;

/**
 * The dedupeId of an evacuation run's summary in its thread. A thread's replies go out by when they were asked for,
 * and replies asked for in the same millisecond by dedupeId (a Redis sorted set orders equal scores by member): this
 * one sorts before 'run-report', so the report file, asked for just after it, stays the last reply.
 */
const SUMMARY_REPLY_ID = 'outcome-summary';

export class RunPublisher {
  constructor(private readonly options: { notifier: Notifier; topology: Topology; clock: Clock; log: Log }) {}

  /** Publishes `run`'s messages; errors are logged, never thrown (Slack must not slow a failover). */
  async publish(run: Run): Promise<void> {
    try {
      await this.publishUnsafe(run);
    } catch (error) {
      this.options.log.warn({ runId: run.id, err: describeError(error) }, 'could not queue Slack update');
    }
  }

  private async publishUnsafe(run: Run): Promise<void> {
    const { notifier, topology, clock } = this.options;
    const channel = topology.slack.incidentChannel;
    const now = clock.now();
    const key = runMessageKey(run);
    const site = topology.sites.find((s) => s.name === run.site);
    const message = PROPOSAL_STATES.has(run.state)
      ? buildProposalMessage({
          run,
          preflight: run.preflight?.checks ?? 'pending',
          lagBytes: run.preflight?.lagBytes ?? null,
          ...(run.preflight?.lagUnknown && { lagUnknown: run.preflight.lagUnknown }),
          approvalsRequired: requiredApprovals(run, topology.approvals),
          breakGlassRequired: run.force,
          ...(run.trigger && {
            trigger: {
              alertname: run.trigger.alertname,
              ...(run.trigger.summary && { summary: run.trigger.summary }),
              ...(run.trigger.firedAt && { startsAt: run.trigger.firedAt }),
              ...(run.trigger.url && { url: run.trigger.url }),
              ...(run.trigger.resolvedAt && { resolvedAt: run.trigger.resolvedAt }),
            },
          }),
          now,
        })
      : buildStatusMessage({
          run,
          now,
          breakGlassApprovals: topology.approvals.breakGlass.required,
          ...(site && { homeCluster: site.homeCluster }),
        });
    await notifier.postStatus({ channel, key, message });

    for (const planned of allSteps(run.plan)) {
      const step = run.steps[planned.id];
      if (!step || !REPLY_STATUSES.has(step.status)) continue;
      await notifier.postReply({
        channel,
        threadKey: key,
        message: buildStepReply({ run, stepId: planned.id, now }),
        dedupeId: `${planned.id}-${step.status}-${step.attempts}`,
      });
    }

    for (const entry of run.timeline) {
      if (!ANNOUNCED.has(entry.event)) continue;
      await notifier.postStatus({
        channel,
        key: `announce:${run.id}:${entry.event}:${entry.at}`,
        message: buildRunAnnouncement({ run, entry }),
      });
    }

    if (TERMINAL_STATES.has(run.state) && !PROPOSAL_STATES.has(run.state)) {
      const summary = buildRunSummary({
        run,
        ...(run.trigger?.firedAt && { alertFiredAt: run.trigger.firedAt }),
        now,
      });
      // A run of an evacuation sums up in its own thread: the evacuation's closing summary speaks for every site at
      // the top level, and fifty top-level summaries would hold the channel (about 1 post/s) for a minute.
      if (run.evacuation)
        await notifier.postReply({ channel, threadKey: key, message: summary, dedupeId: SUMMARY_REPLY_ID });
      else await notifier.postStatus({ channel, key: `summary:${run.id}`, message: summary });
    }

    // The run's report (written with its final save) as a file in its thread, once: the last reply it gets.
    if (isReportable(run)) {
      await notifier.attachFile({
        channel,
        threadKey: key,
        dedupeId: 'run-report',
        file: { kind: 'run-report', runId: run.id },
      });
    }
  }
}
