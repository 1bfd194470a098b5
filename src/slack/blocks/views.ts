/**
 * The read-only answers to `/failover status`, `history` and `plan`, sent ephemerally. Status shows Baton's own
 * record beside the sources of truth, so a disagreement is visible before anyone acts on it; history shows each
 * run's measured RTO and RPO, so a team sees its trend.
 */
import type { KnownBlock } from '@slack/types';
import type { Plan, Run } from '../../core/model.js';
import type { Reading } from '../../core/reading.js';
import type { SourcesOfTruth } from '../../runs/observe-site.js';
import { TERMINAL_STATES, allSteps } from '../../core/model.js';
import { formatRpo } from '../../core/rpo.js';
import { measureRun } from '../../core/runs/measure-run.js';
import { context, header, section } from './elements.js';
import {
  STATE_ICONS,
  actorText,
  formatDuration,
  formatMinutes,
  lastEvent,
  runElapsed,
  runLabel,
  runLabelTitle,
  slackDate,
} from './format.js';
import type { SlackMessage } from './limits.js';
import { capList, escapeText, fitMessage, moreNote, truncateText } from './limits.js';
import { planGroupLines, stepRecord } from './run-lines.js';

/** One site as `/failover status` reports it. */
export interface SiteStatus {
  site: string;
  /** The cluster Baton's own record says serves. */
  servingPerBaton: string;
  /** What Route 53 and PostgreSQL say now; absent in the first answer, while a worker reads them. */
  truth?: SourcesOfTruth;
  openRun?: Run;
  /** What the old side of a run still owes (it could not be fenced); Baton fences it the moment it answers. */
  fenceDebt?: FenceDebtView;
}

/** An open fence debt, as status shows it. */
export interface FenceDebtView {
  cluster: string;
  runId: string;
  since: number;
  database: boolean;
  workloads: boolean;
  reason: string;
  lastError?: string;
}

/** Runs shown by history. */
export const HISTORY_LENGTH = 10;

/** A source's answer in the status line: the cluster, what "none" means there, or that it could not be read. */
const shown = (reading: Reading<string | null>, none: string): string =>
  !reading.ok ? '_unreadable_' : reading.value === null ? `_${none}_` : `*${escapeText(reading.value)}*`;

/** Baton's record, then each source of truth as read (or "reading…" while a worker reads them). */
function servingLine(s: SiteStatus): string {
  const head = `*${escapeText(s.site)}* — serving: *${escapeText(s.servingPerBaton)}* per Baton`;
  if (!s.truth) return `${head} · Route 53 and PostgreSQL: _reading…_`;
  const database = s.truth.databasePrimary
    ? ` · database primary: ${shown(s.truth.databasePrimary, 'none writable')}`
    : '';
  return `${head} · ${shown(s.truth.route53, 'neither cluster')} per Route 53${database}`;
}

/**
 * The answer to `/failover status`: per site, who serves according to Baton, Route 53 and PostgreSQL, and any open
 * run. With `now`, a paused run says how long it has been paused (a paused run holds its site).
 */
export function buildStatusView(input: { sites: readonly SiteStatus[]; now?: number }): SlackMessage {
  const blocks: KnownBlock[] = [header('Baton status')];
  const summaries: string[] = [];
  for (const s of input.sites) {
    const lines = [servingLine(s)];
    for (const line of s.truth?.unreadable ?? [])
      lines.push(`❓ Could not read ${truncateText(escapeText(line), 300)}`);
    const disagreement = s.truth?.disagreement;
    if (disagreement) lines.push(`⚠️ ${truncateText(escapeText(disagreement), 500)}`);
    if (s.truth?.exposure) lines.push(`⚠️ ${truncateText(escapeText(s.truth.exposure), 500)}`);
    if (s.fenceDebt) lines.push(fenceDebtLine(s.fenceDebt));
    lines.push(s.openRun ? openRunLine(s.openRun, input.now) : 'No open run.');
    blocks.push(section(lines));
    const route53 = s.truth?.route53;
    const serves = route53?.ok && route53.value ? route53.value : s.servingPerBaton;
    summaries.push(
      `${escapeText(s.site)}: ${escapeText(serves)} serves` +
        (disagreement ? ' (disagreement!)' : '') +
        (s.truth?.unreadable.length
          ? ` (could not read ${s.truth.unreadable.map((line) => escapeText(line.split(':')[0] ?? line)).join(', ')})`
          : '') +
        (s.fenceDebt ? `, ${escapeText(s.fenceDebt.cluster)} owes its fence` : '') +
        (s.openRun
          ? `, run ${escapeText(s.openRun.id)} ${s.openRun.state}${pausedFor(s.openRun, input.now)}`
          : ''),
    );
  }
  if (!input.sites.length) blocks.push(section('No sites are configured.'));
  return fitMessage({ text: summaries.join('; ') || 'Baton status: no sites', blocks });
}

function fenceDebtLine(debt: FenceDebtView): string {
  const owes = [debt.database && 'its database read-only', debt.workloads && 'its workloads at standby size']
    .filter(Boolean)
    .join(' and ');
  return (
    `🚧 *Fence debt:* ${escapeText(debt.cluster)} still owes ${owes} (run \`${escapeText(debt.runId)}\`, since ` +
    `${slackDate(debt.since, 'datetime')}: ${truncateText(escapeText(debt.reason), 300)}). Baton fences it the moment ` +
    `it answers${debt.lastError ? ` — last try: ${truncateText(escapeText(debt.lastError), 200)}` : ''}. ` +
    `Failback to ${escapeText(debt.cluster)} is refused until then.`
  );
}

/** ` for 45 min` while `run` is paused and the time is known, else nothing. */
function pausedFor(run: Run, now: number | undefined): string {
  if (run.state !== 'paused' || now === undefined) return '';
  return ` for ${formatMinutes(now - (lastEvent(run, 'paused')?.at ?? run.updatedAt))}`;
}

function openRunLine(run: Run, now: number | undefined): string {
  const current = allSteps(run.plan).filter((s) =>
    ['running', 'failed'].includes(stepRecord(run, s.id).status),
  );
  return (
    `${STATE_ICONS[run.state]} Open run \`${escapeText(run.id)}\`: ${runLabel(run)} ${escapeText(run.from)} → ${escapeText(run.to)}, ` +
    `*${run.state}*${pausedFor(run, now)}${current.length ? ` at ${current.map((s) => escapeText(s.title)).join(', ')}` : ''}` +
    ` — requested by ${actorText(run.requestedBy)} at ${slackDate(run.createdAt, 'datetime')}`
  );
}

/**
 * ` · RTO 1 m 20 s (alert 6 m 2 s) · RPO 0 B (proved)`: approval → verified, and alert → verified for an alert's
 * run; the RPO once a promotion measured one. A succeeded run whose verify was skipped says it proved none.
 */
function evidenceText(run: Run): string {
  const timings = measureRun(run);
  const parts: string[] = [];
  if (timings.approvalToVerifiedMs !== null) {
    const alert = timings.alertToVerifiedMs;
    parts.push(
      `RTO ${formatDuration(timings.approvalToVerifiedMs)}${alert === null ? '' : ` (alert ${formatDuration(alert)})`}`,
    );
  } else if (run.state === 'succeeded') parts.push('RTO unproved (verify skipped)');
  const rpo = timings.rpo;
  if (rpo) parts.push(`RPO ${rpo.kind === 'lost' ? '🚨 ' : ''}${formatRpo(rpo)}`);
  return parts.map((part) => ` · ${part}`).join('');
}

/**
 * The answer to `/failover history`: the newest runs of a site, one line each, with the RTO measured from the
 * approval (and from the alert) to verified, and the RPO.
 */
export function buildHistoryView(input: { site: string; runs: readonly Run[] }): SlackMessage {
  const site = escapeText(input.site);
  const sorted = [...input.runs].sort((a, b) => b.createdAt - a.createdAt);
  const { shown, hidden } = capList(sorted, HISTORY_LENGTH);
  const lines = shown.map((run) => {
    const finished = TERMINAL_STATES.has(run.state);
    const took = finished ? runElapsed(run, run.updatedAt, true) : undefined;
    return (
      `\`${escapeText(run.id)}\` ${runLabel(run)} ${escapeText(run.from)} → ${escapeText(run.to)} · ` +
      `${STATE_ICONS[run.state]} ${run.state} · ${actorText(run.requestedBy)} · ${slackDate(run.createdAt, 'datetime')} · ` +
      (finished ? (took === undefined ? 'did not run' : `took ${formatDuration(took)}`) : 'open') +
      evidenceText(run)
    );
  });
  if (hidden) lines.push(moreNote(hidden, 'older'));
  const blocks: KnownBlock[] = [
    header(`History of ${input.site}`),
    section(lines.length ? lines : [`No runs yet for ${site}.`]),
    ...(lines.length
      ? [
          context([
            'RTO: last approval → verified (alert → verified). RPO: writes the old primary had that the new one lacks.',
          ]),
        ]
      : []),
  ];
  const newest = shown[0];
  const text = newest
    ? `History of ${site}: ${shown.length} runs, newest ${escapeText(newest.id)} ${newest.state}.`
    : `History of ${site}: no runs yet.`;
  return fitMessage({ text, blocks });
}

/** The answer to `/failover plan`: the steps a run would take now, with their concrete actions. Nothing runs. */
export function buildPlanView(input: { plan: Plan }): SlackMessage {
  const { plan } = input;
  const run = { kind: plan.kind, mode: plan.mode, force: false };
  const site = escapeText(plan.site);
  const blocks: KnownBlock[] = [
    header(`Plan: ${runLabelTitle(run)} of ${plan.site}`),
    section(`*${escapeText(plan.from)} → ${escapeText(plan.to)}* · ${allSteps(plan).length} steps`),
  ];
  if (plan.warnings.length) blocks.push(section(plan.warnings.map((w) => `⚠️ ${escapeText(w)}`)));
  for (const lines of planGroupLines(plan)) blocks.push(section(lines));
  const footer = [
    context([
      `Preview only: nothing runs. To propose it: \`/${plan.kind} ${site}${plan.mode === 'planned' && plan.kind === 'failover' ? ' --planned' : ''} &lt;reason&gt;\``,
    ]),
  ];
  const text = `Plan: ${runLabel(run)} of ${site}, ${escapeText(plan.from)} → ${escapeText(plan.to)}, ${allSteps(plan).length} steps. Nothing runs.`;
  return fitMessage({ text, blocks, footer });
}
