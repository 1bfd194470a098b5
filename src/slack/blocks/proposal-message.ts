/**
 * The proposal posted to the incident channel: what will happen, why, what preflight found, what data may be lost,
 * and Approve / Reject. Once the run is decided the same builder renders the decision without buttons; posting that
 * with chat.update is how a double click is prevented from acting twice.
 */
import type { KnownBlock } from '@slack/types';
import type { Run } from '../../core/model.js';
import { allSteps } from '../../core/model.js';
import type { PreflightCheck } from '../../core/steps/preflight.js';
import { formatBytes } from '../../core/steps/step.js';
import { ACTION_IDS, encodeActionValue } from '../action-ids.js';
import { actions, button, context, header, section } from './elements.js';
import {
  actorText,
  approversText,
  lastEvent,
  plural,
  runIcon,
  runLabel,
  runLabelTitle,
  slackDate,
} from './format.js';
import type { SlackMessage } from './limits.js';
import { escapeText, fitMessage, truncateText } from './limits.js';
import { planGroupLines } from './run-lines.js';
import { prewarmLines } from './prewarm-lines.js';

/** The Alertmanager alert that triggered an incident proposal. */
export interface ProposalTrigger {
  alertname: string;
  summary?: string;
  /** When the alert started firing: epoch ms, or Alertmanager's RFC 3339 `startsAt`. */
  startsAt?: number | string;
  /** A link to the alert (Alertmanager's `generatorURL` or the silence page). */
  url?: string;
  /** When the alert resolved (epoch ms); the proposal stays usable but says so. */
  resolvedAt?: number;
}

export interface ProposalMessageInput {
  run: Run;
  /** Preflight results, or `pending` while the proposal job still runs them. */
  preflight: PreflightCheck[] | 'pending';
  /** The target standby's measured replication lag; null when it could not be measured. */
  lagBytes: number | null;
  /** Why it could not be measured, and what the standby had received. */
  lagUnknown?: string;
  approvalsRequired: number;
  /** The approvals are break-glass approvals (--force). */
  breakGlassRequired: boolean;
  trigger?: ProposalTrigger;
  /** `--dry-run`: show the plan and preflight, no buttons, nothing will run. */
  dryRun?: boolean;
  now: number;
}

/** Longest reason or alert summary shown; the audit keeps the full text. */
const REASON_LENGTH = 500;
const CHECK_ICONS: Readonly<Record<PreflightCheck['status'], string>> = {
  failed: '❌',
  warning: '⚠️',
  passed: '✅',
};

/** Builds the proposal message for `run` in its current state (DESIGN §2, §6). */
export function buildProposalMessage(input: ProposalMessageInput): SlackMessage {
  const { run, now } = input;
  const label = runLabel(run);
  const expired =
    run.state === 'expired' ||
    (run.state === 'proposed' && run.expiresAt !== undefined && now >= run.expiresAt);
  const open = run.state === 'proposed' && !expired && !input.dryRun;

  const blocks: KnownBlock[] = [
    header(`${input.dryRun ? '🧪 Dry run: ' : `${runIcon(run)} `}${runLabelTitle(run)} · ${run.site}`),
    section([
      `*${escapeText(run.from)} → ${escapeText(run.to)}* · run \`${escapeText(run.id)}\``,
      ...triggerLines(input),
    ]),
  ];
  if (run.force) {
    blocks.push(
      section(
        `🔥 *--force (break-glass)*: failing preflight gates will *not* stop this run. ` +
          `It needs ${plural(input.approvalsRequired, 'break-glass approval')}.`,
      ),
    );
  }
  blocks.push(section([dataLossLine(input), ...preflightLines(input)]));
  const warming = prewarmLines(run.prewarm, run.state);
  if (warming.length > 0 && !input.dryRun) blocks.push(section(warming));
  planGroupLines(run.plan).forEach((lines, i) =>
    blocks.push(section(i === 0 ? ['*Plan*', ...lines] : lines)),
  );

  const footer: KnownBlock[] = [];
  if (input.dryRun) {
    footer.push(
      context([
        `🧪 *Dry run — nothing will run* and nothing was proposed. It would need ${plural(input.approvalsRequired, 'approval')}. ` +
          `To act, run the command again without --dry-run.`,
      ]),
    );
  } else if (open) {
    blocks.push(section(approvalLine(input)));
    footer.push(
      context([
        run.expiresAt === undefined ? 'No expiry' : `Expires at ${slackDate(run.expiresAt)}`,
        `Proposed at ${slackDate(run.createdAt)}`,
        'Preflight runs again when the last approval lands',
      ]),
      actions(`proposal-${run.id}-v${run.version}`, [
        button({
          actionId: ACTION_IDS.approve,
          text: run.force ? 'Approve (break-glass)' : 'Approve',
          value: encodeActionValue({ runId: run.id, site: run.site, segment: run.segment }),
          style: 'primary',
          confirm: {
            title: `Approve ${label}?`,
            text: approveConfirmText(input),
            confirm: 'Approve',
            deny: 'Not yet',
          },
        }),
        button({
          actionId: ACTION_IDS.reject,
          text: 'Reject',
          value: encodeActionValue({ runId: run.id, site: run.site, segment: run.segment }),
          style: 'danger',
        }),
      ]),
    );
  } else {
    footer.push(section(decisionLine(run, expired)));
  }

  return fitMessage({ text: fallbackText(input, open, expired), blocks, footer });
}

function triggerLines(input: ProposalMessageInput): string[] {
  const { run, trigger } = input;
  const reason = run.reason.trim()
    ? truncateText(escapeText(run.reason.trim()), REASON_LENGTH)
    : '_no reason given_';
  const lines = [`*Requested by* ${actorText(run.requestedBy)}: ${reason}`];
  if (trigger) {
    const started = typeof trigger.startsAt === 'string' ? Date.parse(trigger.startsAt) : trigger.startsAt;
    const parts = [`*Alert* \`${truncateText(escapeText(trigger.alertname.replace(/`/g, "'")), 100)}\``];
    if (started !== undefined && Number.isFinite(started)) parts.push(`firing since ${slackDate(started)}`);
    let line = parts.join(' ');
    if (trigger.summary) line += `: ${truncateText(escapeText(trigger.summary), REASON_LENGTH)}`;
    const link = linkTo(trigger.url, 'open alert');
    if (link) line += ` · ${link}`;
    lines.push(line);
    if (trigger.resolvedAt !== undefined && Number.isFinite(trigger.resolvedAt)) {
      lines.push(resolvedLine(run, trigger.resolvedAt));
    }
  }
  return lines;
}

/** The alert behind the proposal has resolved: the buttons still work, so say what that means for the decision. */
function resolvedLine(run: Run, resolvedAt: number): string {
  const still =
    run.state === 'proposed'
      ? ' — the proposal stays open: approve only if the failover is still needed, otherwise reject it'
      : '';
  return `✅ *The alert resolved* at ${slackDate(resolvedAt)}${still}.`;
}

/** A mrkdwn link for an http(s) URL without characters that would break the `<url|label>` token; else nothing. */
function linkTo(url: string | undefined, label: string): string | undefined {
  if (!url || url.length > 2000 || !/^https?:\/\/[^\s<>|]+$/.test(url)) return undefined;
  return `<${url.replace(/&/g, '&amp;')}|${label}>`;
}

function dataLossLine(input: ProposalMessageInput): string {
  const { run, lagBytes } = input;
  const hasDatabase = allSteps(run.plan).some((s) => s.id === 'promote-target-db');
  let loss: string;
  if (!hasDatabase) loss = 'none from a database (this site has no database)';
  else if (run.mode === 'planned') loss = 'none (planned switchover waits for the standby)';
  else if (lagBytes === null) {
    loss = `*unknown* — ${input.lagUnknown ? escapeText(input.lagUnknown) : `${escapeText(run.to)}'s standby lag could not be measured`}`;
  } else loss = `up to *${formatBytes(lagBytes)}* of WAL (${escapeText(run.to)}'s standby lag when measured)`;
  return `*Expected data loss:* ${loss}`;
}

function preflightLines(input: ProposalMessageInput): string[] {
  const { preflight, run } = input;
  if (preflight === 'pending') return ['*Preflight:* ⏳ running — results will appear here'];
  const order: PreflightCheck['status'][] = ['failed', 'warning', 'passed'];
  const sorted = order.flatMap((status) => preflight.filter((c) => c.status === status));
  const count = (status: PreflightCheck['status']) => preflight.filter((c) => c.status === status).length;
  const totals = order.filter((s) => count(s) > 0).map((s) => `${CHECK_ICONS[s]} ${count(s)} ${s}`);
  const lines = [`*Preflight:* ${totals.join(' · ') || 'no checks ran'}`];
  if (count('failed') > 0 && !run.force && run.state === 'proposed') {
    lines.push(
      '_Approving will stop at preflight unless the failures are fixed first (or proposed again with --force)._',
    );
  }
  for (const check of sorted) {
    lines.push(
      `${CHECK_ICONS[check.status]} *${escapeText(check.id)}*: ${truncateText(escapeText(check.detail), 300)}`,
    );
  }
  return lines;
}

function approvalLine(input: ProposalMessageInput): string {
  const { run, approvalsRequired, breakGlassRequired } = input;
  const kind = breakGlassRequired ? ' break-glass' : '';
  const who = run.approvals.length ? ` — approved by ${approversText(run)}` : '';
  return `*Approvals:* ${run.approvals.length} of ${approvalsRequired}${kind}${who}`;
}

function approveConfirmText(input: ProposalMessageInput): string {
  const { run, lagBytes } = input;
  const move = `${escapeText(run.site)} moves from ${escapeText(run.from)} to ${escapeText(run.to)}.`;
  if (run.mode === 'planned')
    return `${move} Planned: zero data loss. The database promotion cannot be undone.`;
  const loss = lagBytes === null ? 'an unknown amount' : `up to ${formatBytes(lagBytes)}`;
  return (
    `${move} Emergency: ${loss} of writes not yet on ${escapeText(run.to)} may be lost. ` +
    `The database promotion cannot be undone.${run.force ? ' --force: failing gates will not stop it.' : ''}`
  );
}

/** Who decided and when, replacing the buttons. */
function decisionLine(run: Run, expired: boolean): string {
  if (expired) {
    const at = lastEvent(run, 'expired')?.at ?? run.expiresAt;
    return (
      `⌛ *Expired*${at === undefined ? '' : ` at ${slackDate(at)}`}: nobody decided in time. ` +
      `To try again: \`/${run.kind} ${escapeText(run.site)} &lt;reason&gt;\``
    );
  }
  const decided = (event: string) => {
    const entry = lastEvent(run, event);
    const by = entry?.actor ? ` by ${actorText(entry.actor)}` : '';
    const at = entry ? ` at ${slackDate(entry.at)}` : '';
    return `${by}${at}`;
  };
  switch (run.state) {
    case 'rejected':
      return `🚫 *Rejected*${decided('rejected')}. Nothing will run.`;
    case 'cancelled':
      return `🚫 *Cancelled*${decided('cancelled')}. Nothing will run.`;
    case 'proposed':
      return '⏳ Waiting for approval';
    default: {
      const at = lastEvent(run, 'approved')?.at;
      return (
        `✅ *Approved* by ${approversText(run)}${at === undefined ? '' : ` at ${slackDate(at)}`}` +
        (run.state === 'approved'
          ? ' — starting now; progress follows in the status message.'
          : ` — the run is *${run.state}*; progress is in the status message.`)
      );
    }
  }
}

function fallbackText(input: ProposalMessageInput, open: boolean, expired: boolean): string {
  const { run, preflight } = input;
  const what = `${runLabelTitle(run)} of ${escapeText(run.site)} (${escapeText(run.from)} → ${escapeText(run.to)}, ${escapeText(run.id)})`;
  const failed = preflight === 'pending' ? 0 : preflight.filter((c) => c.status === 'failed').length;
  const preflightNote = failed ? ` Preflight: ${failed} failed.` : '';
  if (input.dryRun) return `Dry run: ${what} — nothing will run.${preflightNote}`;
  if (open) {
    const reason = run.reason.trim() ? `: ${truncateText(escapeText(run.reason.trim()), 300)}` : '';
    const resolvedNote = input.trigger?.resolvedAt !== undefined ? ' The alert has resolved.' : '';
    return (
      `${what} proposed by ${actorText(run.requestedBy)}${reason}. ` +
      `Needs ${plural(input.approvalsRequired, input.breakGlassRequired ? 'break-glass approval' : 'approval')} ` +
      `(${run.approvals.length} so far).${preflightNote}${resolvedNote}`
    );
  }
  if (expired) return `${what} expired without a decision.`;
  const entry = lastEvent(
    run,
    run.state === 'rejected' || run.state === 'cancelled' ? run.state : 'approved',
  );
  const by = entry?.actor ? ` by ${actorText(entry.actor)}` : '';
  return run.state === 'rejected' || run.state === 'cancelled'
    ? `${what} ${run.state}${by}.`
    : `${what} approved${run.approvals.length ? ` by ${approversText(run)}` : by}` +
        (run.state === 'approved' ? ' — starting now.' : `; it is ${run.state}.`);
}
