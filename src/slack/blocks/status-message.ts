/**
 * The one status message of a run, updated in place as it progresses: its state and elapsed time, every step with
 * its icon, duration and what it did, and — when a person must act — the buttons for it.
 */
import type { KnownBlock } from '@slack/types';
import type { Run } from '../../core/model.js';
import { TERMINAL_STATES, allSteps } from '../../core/model.js';
import { segmentVoters, splitBrainFailures } from '../../core/policy/break-glass-votes.js';
import { ACTION_IDS, encodeActionValue } from '../action-ids.js';
import { actions, button, context, header, section } from './elements.js';
import {
  STATE_ICONS,
  actorText,
  actorsText,
  approversText,
  formatDuration,
  lastEvent,
  plural,
  runLabelTitle,
  runElapsed,
  runStartedAt,
  slackDate,
} from './format.js';
import type { SlackMessage } from './limits.js';
import { escapeText, fitMessage, truncateText } from './limits.js';
import { pastPointOfNoReturn } from '../../core/runs/point-of-no-return.js';
import { abortEffect, splitBrainConsequence, stepRecord, stepStatusGroups } from './run-lines.js';

export interface StatusMessageInput {
  run: Run;
  now: number;
  /** Approvals a Skip needs (the topology's `breakGlass.required`); without it the text says "break-glass approvals". */
  breakGlassApprovals?: number;
  /** The site's home cluster: a failover that went home offers no failback. */
  homeCluster?: string;
}

/** Builds the run's status message for its current state. */
export function buildStatusMessage(input: StatusMessageInput): SlackMessage {
  const { run, now } = input;
  const finished = TERMINAL_STATES.has(run.state);
  const elapsed = runElapsed(run, now, finished);
  const started = runStartedAt(run);

  const overview = [
    `*${escapeText(run.from)} → ${escapeText(run.to)}* · run \`${escapeText(run.id)}\`` +
      (started === undefined ? '' : ` · started ${slackDate(started)}`),
    `Requested by ${actorText(run.requestedBy)} · approved by ${approversText(run)}`,
  ];
  // Elapsed time sits in the header: the message is updated in place, so it is the first thing a reader checks.
  const time = elapsed === undefined ? '' : ` · ${finished ? 'took ' : ''}${formatDuration(elapsed)}`;
  const blocks: KnownBlock[] = [
    header(`${STATE_ICONS[run.state]} ${runLabelTitle(run)} · ${run.site}: ${run.state}${time}`),
    section(overview),
    ...stepStatusGroups(run, now).map((lines) => section(lines)),
  ];
  return fitMessage({ text: fallbackText(run, elapsed), blocks, footer: footer(input) });
}

const reasonText = (run: Run): string =>
  run.stateReason ? truncateText(escapeText(run.stateReason), 1500) : 'no reason recorded';

function footer(input: StatusMessageInput): KnownBlock[] {
  const { run } = input;
  // The segment, not the version: see ActionValue. A click from an older segment's message is refused as stale.
  const value = encodeActionValue({ runId: run.id, site: run.site, segment: run.segment });
  const cancel = `To stop it: \`/${run.kind} cancel ${escapeText(run.id)}\` (aborts the run)`;
  switch (run.state) {
    case 'paused': {
      const required = input.breakGlassApprovals;
      const needs = required === undefined ? 'break-glass approvals' : plural(required, 'approval');
      const of = (count: number) => (required === undefined ? '' : ` (${count} of ${required})`);
      const skipVoters = segmentVoters(run, 'skip');
      const splitBrain = splitBrainFailures(run).length > 0;
      const lines = [
        `⏸️ *Paused:* ${reasonText(run)}`,
        `*Retry step* runs the failed step again. *Skip step* is break-glass: it continues as if the step succeeded, ` +
          `once ${needs} ask for it.`,
      ];
      if (splitBrain) {
        lines.push(
          `🔀 *Split-brain guard:* ${escapeText(run.from)}'s database may still take writes, so ${escapeText(run.to)} ` +
            `was not promoted. Fix it (fence ${escapeText(run.from)}, or make sure it is down), then *Retry step*; ` +
            `or, break-glass, *Accept split-brain risk* once ${needs} ask for it.`,
        );
      }
      lines.push(abortEffect(run));
      if (skipVoters.length)
        lines.push(`Skip requested by ${actorsText(skipVoters)}${of(skipVoters.length)}`);
      const riskVoters = splitBrain ? segmentVoters(run, 'accept-risk') : [];
      if (riskVoters.length)
        lines.push(`Split-brain risk accepted by ${actorsText(riskVoters)}${of(riskVoters.length)}`);
      const acceptRisk = button({
        actionId: ACTION_IDS.acceptRisk,
        text: `Accept split-brain risk (break-glass, ${needs})`,
        value,
        style: 'danger',
        confirm: {
          title: 'Accept the split-brain risk?',
          text: `${splitBrainConsequence(run)}. Break-glass: it takes effect once ${needs} ask for it.`,
          confirm: 'Accept the risk',
          deny: 'Keep paused',
        },
      });
      return [
        section(lines),
        actions(`status-${run.id}-v${run.version}`, [
          button({ actionId: ACTION_IDS.retryStep, text: 'Retry step', value, style: 'primary' }),
          button({
            actionId: ACTION_IDS.skipStep,
            text: `Skip step (break-glass, ${needs})`,
            value,
            confirm: {
              title: 'Skip the failed step?',
              text: `The run continues as if the failed step had succeeded. Break-glass: it takes effect once ${needs} ask for it.`,
              confirm: 'Ask to skip',
            },
          }),
          ...(splitBrain ? [acceptRisk] : []),
          // Past the point of no return Abort would undo nothing: the run can only finish, so no button.
          ...(pastPointOfNoReturn(run)
            ? []
            : [
                button({
                  actionId: ACTION_IDS.abortRun,
                  text: 'Abort',
                  value,
                  style: 'danger',
                  confirm: {
                    title: 'Abort the run?',
                    text: abortEffect(run),
                    confirm: 'Abort',
                    deny: 'Keep paused',
                  },
                }),
              ]),
        ]),
      ];
    }
    case 'running':
      return [context([`${STATE_ICONS.running} Running`, cancel])];
    case 'approved':
      return [context(['👍 Approved — waiting for a worker to start it', cancel])];
    case 'aborting': {
      const by = lastEvent(run, 'aborting')?.actor;
      return [section(`↩️ *Aborting*${by ? ` (asked by ${actorText(by)})` : ''}: ${abortEffect(run)}`)];
    }
    case 'aborted':
      return [section(`↩️ *Aborted:* ${reasonText(run)}`)];
    case 'failed':
      return [section(`❌ *Failed:* ${reasonText(run)}`)];
    case 'succeeded': {
      const lines = [
        `✅ *Succeeded:* ${escapeText(run.to)} serves ${escapeText(run.site)}. ${reasonText(run)}.`,
      ];
      const offerFailback = run.kind === 'failover' && input.homeCluster !== run.to;
      if (!offerFailback) return [section(lines)];
      if (openedFenceDebt(run)) {
        // Failback onto an unfenced side is refused: say what comes first instead of offering a button.
        lines.push(
          `${escapeText(run.from)} still owes its fence: Baton fences it the moment it answers. Then rebuild it as a ` +
            `standby of ${escapeText(run.to)} and \`/failback ${escapeText(run.site)}\`.`,
        );
        return [section(lines)];
      }
      lines.push(`When ${escapeText(run.from)} is healthy again, fail back (planned, zero data loss):`);
      return [
        section(lines),
        actions(`status-${run.id}-v${run.version}`, [
          button({ actionId: ACTION_IDS.startFailback, text: 'Start failback', value }),
        ]),
      ];
    }
    case 'proposed':
      return [context(['🗳️ Waiting for approval — see the proposal message'])];
    case 'rejected':
    case 'expired':
    case 'cancelled':
      return [context([`${STATE_ICONS[run.state]} Not started: the proposal was ${run.state}`])];
  }
}

/** The run left its old side unfenced (a fence debt), as its timeline says. */
const openedFenceDebt = (run: Pick<Run, 'timeline'>): boolean =>
  run.timeline.some((e) => e.event === 'fence-debt-opened');

function fallbackText(run: Run, elapsed: number | undefined): string {
  const steps = allSteps(run.plan);
  const what = `${runLabelTitle(run)} of ${escapeText(run.site)} (${escapeText(run.id)}, ${escapeText(run.from)} → ${escapeText(run.to)})`;
  const titles = (status: string) =>
    steps.filter((s) => stepRecord(run, s.id).status === status).map((s) => escapeText(s.title));
  const done = steps.filter((s) => ['succeeded', 'skipped'].includes(stepRecord(run, s.id).status)).length;
  switch (run.state) {
    case 'running': {
      const current = titles('running');
      return `${what}: running, ${done}/${steps.length} steps done${current.length ? ` — now: ${current.join(', ')}` : ''}.`;
    }
    case 'paused':
      return `${what} PAUSED at ${titles('failed').join(', ') || 'a step'}: ${reasonText(run)} — ${pausedChoices(run)}.`;
    case 'succeeded':
      return `${what} succeeded: ${escapeText(run.to)} serves ${escapeText(run.site)}${elapsed === undefined ? '' : ` after ${formatDuration(elapsed)}`}.`;
    case 'aborted':
    case 'failed':
      return `${what} ${run.state}: ${reasonText(run)}`;
    default:
      return `${what}: ${run.state}.`;
  }
}

/** What a person can click on a paused run, as in its buttons. */
export function pausedChoices(run: Pick<Run, 'plan' | 'steps'>): string {
  const choices = ['Retry', 'Skip'];
  if (splitBrainFailures(run).length) choices.push('Accept split-brain risk (break-glass)');
  // Past the point of no return the run can only finish: Abort is not offered.
  if (!pastPointOfNoReturn(run)) choices.push('Abort');
  return `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}`;
}
