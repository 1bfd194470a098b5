/**
 * The summary a finished run posts (DESIGN §6): its timeline from the alert to verification, the measured recovery
 * time and who approved — what the postmortem needs, and for a succeeded failover, that failback is available.
 */
import type { KnownBlock } from '@slack/types';
import type { PlannedStep, Run, TimelineEntry } from '../../core/model.js';
import { allSteps } from '../../core/model.js';
import type { Rpo } from '../../core/rpo.js';
import { formatRpo, rpoOf } from '../../core/rpo.js';
import { formatBytes } from '../../core/steps/step.js';
import { header, section } from './elements.js';
import {
  STATE_ICONS,
  actorText,
  approversText,
  formatDuration,
  lastEvent,
  runLabelTitle,
  slackDate,
} from './format.js';
import type { SlackMessage } from './limits.js';
import { escapeText, fitMessage, truncateText } from './limits.js';
import { errorLine, stepRecord, stepSummary } from './run-lines.js';

export interface RunSummaryInput {
  run: Run;
  /** When the alert that led to this run started firing (epoch ms); recovery is measured from it when known. */
  alertFiredAt?: number;
  now: number;
}

const DETAIL_LENGTH = 200;

/** "Data loss (RPO): 0 B (proved) — …", loud when writes were lost. */
export function rpoLine(rpo: Rpo): string {
  const detail = truncateText(escapeText(rpo.detail), DETAIL_LENGTH);
  return rpo.kind === 'lost'
    ? `:rotating_light: *Data loss (RPO): ${formatRpo(rpo)}* — ${detail}`
    : `*Data loss (RPO):* ${formatRpo(rpo)} — ${detail}`;
}

/** Builds the finished run's summary. */
export function buildRunSummary(input: RunSummaryInput): SlackMessage {
  const { run, alertFiredAt } = input;
  const recovery = recoveryTime(run, alertFiredAt);
  const approved = lastEvent(run, 'approved');

  const facts = [
    `*${escapeText(run.from)} → ${escapeText(run.to)}* · run \`${escapeText(run.id)}\` · requested by ${actorText(run.requestedBy)}`,
    `*Approved by:* ${approversText(run)}` +
      (approved ? ` (${formatDuration(approved.at - run.createdAt)} after the proposal)` : ''),
    recovery
      ? `*Recovery time:* *${formatDuration(recovery.ms)}* from ${recovery.from} to verified`
      : `*Recovery time:* not recovered — the run ${run.state === 'succeeded' ? 'did not verify' : `is ${run.state}`}`,
  ];
  const rpo = rpoOf(run);
  if (rpo) facts.push(rpoLine(rpo));
  if (run.state === 'succeeded' && run.kind === 'failover') {
    facts.push(
      run.timeline.some((e) => e.event === 'fence-debt-opened')
        ? `*Failback waits:* ${escapeText(run.from)} still owes its fence (Baton fences it the moment it answers); ` +
            `then rebuild it as a standby and \`/failback ${escapeText(run.site)}\`.`
        : `*Failback is available:* \`/failback ${escapeText(run.site)}\` once ${escapeText(run.from)} is healthy ` +
            '(planned, zero data loss), or *Start failback* on the status message.',
    );
  }
  const blocks: KnownBlock[] = [
    header(`${STATE_ICONS[run.state]} ${runLabelTitle(run)} of ${run.site} ${run.state}`),
    section(facts),
    section(['*Timeline*', ...timelineLines(run, alertFiredAt)]),
  ];

  const text =
    `${runLabelTitle(run)} of ${escapeText(run.site)} (${escapeText(run.id)}) ${run.state}` +
    (run.state === 'succeeded' ? `: ${escapeText(run.to)} serves ${escapeText(run.site)}` : '') +
    (recovery ? `; recovered in ${formatDuration(recovery.ms)} from ${recovery.from}` : '') +
    (run.state === 'succeeded' && run.kind === 'failover' ? '. Failback is available.' : '.');
  return fitMessage({ text, blocks });
}

/** From the alert firing (or the proposal) until the verify step succeeded. */
function recoveryTime(run: Run, alertFiredAt: number | undefined): { ms: number; from: string } | undefined {
  const verify = run.steps.verify;
  if (verify?.status !== 'succeeded' || verify.finishedAt === undefined) return undefined;
  const from = alertFiredAt !== undefined && Number.isFinite(alertFiredAt) ? alertFiredAt : run.createdAt;
  return {
    ms: Math.max(0, verify.finishedAt - from),
    from: from === alertFiredAt ? 'the alert firing' : 'the proposal',
  };
}

/** One line per timeline event, in time order, each with its time (seconds) in the reader's time zone. */
function timelineLines(run: Run, alertFiredAt: number | undefined): string[] {
  const steps = new Map(allSteps(run.plan).map((s) => [s.id as string, s]));
  const entries = [...run.timeline].sort((a, b) => a.at - b.at);
  const lines: { at: number; text: string }[] = [];
  if (alertFiredAt !== undefined && Number.isFinite(alertFiredAt))
    lines.push({ at: alertFiredAt, text: '🔔 Alert fired' });
  let started = false;
  entries.forEach((entry, i) => {
    const previous = entries[i - 1];
    // The approval that completes the count and the `approved` transition land together: show one line.
    if (entry.event === 'approved' && previous?.event === 'approval' && previous.at === entry.at) return;
    const text = describeEntry(run, entry, steps, started);
    if (entry.event === 'running') started = true;
    if (text) lines.push({ at: entry.at, text });
  });
  lines.sort((a, b) => a.at - b.at);
  return lines.map((line) => `${slackDate(line.at, 'seconds')}  ${line.text}`);
}

const detail = (entry: TimelineEntry): string =>
  entry.detail ? `: ${truncateText(escapeText(entry.detail), DETAIL_LENGTH)}` : '';
/** Who did it, for people and policies; Baton's own transitions need no "by Baton". */
const by = (entry: TimelineEntry): string =>
  entry.actor && entry.actor.type !== 'system' ? ` by ${actorText(entry.actor)}` : '';

function describeEntry(
  run: Run,
  entry: TimelineEntry,
  steps: ReadonlyMap<string, PlannedStep>,
  started: boolean,
): string | undefined {
  const stepEvent = /^([a-z-]+) (succeeded|failed|undone|undo failed)(?:: (.*))?$/s.exec(entry.event);
  const step = stepEvent ? steps.get(stepEvent[1] ?? '') : undefined;
  if (stepEvent && step) {
    const title = escapeText(step.title);
    const message = stepEvent[3] ? `: ${errorLine(stepEvent[3])}` : '';
    switch (stepEvent[2]) {
      case 'succeeded':
        return succeededLine(run, step);
      case 'failed':
        return `❌ ${title} failed${message}`;
      case 'undone':
        return `↩️ ${title} undone`;
      default:
        return `⚠️ Undoing ${title} failed${message}`;
    }
  }
  switch (entry.event) {
    case 'proposed':
      return `🗳️ Proposed${by(entry)}${detail(entry)}`;
    case 'approval':
      return `👍 Approval${by(entry)}`;
    case 'approved':
      return '👍 Approved';
    case 'running':
      return started ? `▶️ Resumed${by(entry)}${detail(entry)}` : '▶️ Run started';
    case 'paused':
      return `⏸️ Paused${detail(entry)}`;
    case 'skip-requested':
      return `⏭️ Skip requested${by(entry)}`;
    case 'split-brain-risk-vote':
      return `🔀 Accepting the split-brain risk asked${by(entry)}`;
    case 'aborting':
      return `↩️ Abort requested${by(entry)}`;
    case 'succeeded':
    case 'aborted':
    case 'failed':
    case 'rejected':
    case 'expired':
    case 'cancelled':
      return `${STATE_ICONS[entry.event]} Run ${entry.event}${by(entry)}${detail(entry)}`;
    default:
      return `• ${truncateText(escapeText(entry.event), DETAIL_LENGTH)}${by(entry)}`;
  }
}

/** The milestones read as what happened to users: database promoted, DNS switched, verified. */
function succeededLine(run: Run, step: PlannedStep): string {
  const summary = stepSummary(run, step, stepRecord(run, step.id));
  const suffix = summary ? ` (${summary})` : '';
  const to = escapeText(run.to);
  switch (step.id) {
    case 'promote-target-db': {
      const lag = stepRecord(run, step.id).output?.lagBytes;
      const lagText = typeof lag === 'number' ? ` (lag ${formatBytes(lag)})` : '';
      return `⛔ ${to}'s database promoted — point of no return${lagText}`;
    }
    case 'switch-dns':
      return `🌐 DNS switched to ${to}${suffix}`;
    case 'verify':
      return `✅ Verified: users reach ${to}${suffix}`;
    default:
      return `✅ ${escapeText(step.title)}${suffix}`;
  }
}
