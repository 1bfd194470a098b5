/**
 * Messages only the person who acted sees: usage help, a refused request, an explanation for a click that did not
 * count, and errors. Each says what happened and what to do next.
 */
import type { KnownBlock } from '@slack/types';
import type { Principals } from '../../config/topology.js';
import type { Run, RunKind } from '../../core/model.js';
import { segmentVoters } from '../../core/policy/break-glass-votes.js';
import { movedOnText } from '../../core/policy/stale-segment.js';
import type { ErrorCodeSubset } from '../../error-codes.js';
import { describeError, hintFor, isBatonError } from '../../errors.js';
import { context, section } from './elements.js';
import { actorText, approversText, formatMinutes, lastEvent, plural, runLabel, slackDate } from './format.js';
import type { SlackMessage } from './limits.js';
import { escapeText, fitMessage, truncateText } from './limits.js';

const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;
const SLACK_GROUP = /^S[A-Z0-9]{2,}$/;

/** `<@U1>, <@U2> or members of <!subteam^S1>`; ids are mentions, so each reader sees names. */
export function principalsText(principals: Principals): string {
  const users = principals.users.map((id) => (SLACK_USER.test(id) ? `<@${id}>` : escapeText(id)));
  const groups = principals.userGroups.map((id) =>
    SLACK_GROUP.test(id) ? `<!subteam^${id}>` : escapeText(id),
  );
  const parts = [...users, ...(groups.length ? [`members of ${groups.join(', ')}`] : [])];
  if (!parts.length)
    return 'nobody is configured (ask whoever runs Baton to fill in the approvals section of its topology file)';
  return parts.length === 1 ? (parts[0] ?? '') : `${parts.slice(0, -1).join(', ')} or ${parts.at(-1) ?? ''}`;
}

export interface UsageInput {
  /** Configured site names; the examples use the first. */
  sites: readonly string[];
  /** Why the command was not understood (a parse error), shown first. */
  error?: string;
  /** The topology's `breakGlass.required`, to say what --force needs. */
  breakGlassApprovals?: number;
}

/** The usage help for both commands: sub-commands, flags and examples, with a parse error on top when there is one. */
export function buildUsageMessage(input: UsageInput): SlackMessage {
  const site = escapeText(input.sites[0] ?? 'production');
  const sites = input.sites.length ? input.sites.map(escapeText).join(', ') : 'none configured';
  const force =
    input.breakGlassApprovals === undefined
      ? 'break-glass approvals'
      : plural(input.breakGlassApprovals, 'break-glass approval');
  const blocks: KnownBlock[] = [];
  if (input.error) blocks.push(section(`⚠️ ${truncateText(escapeText(input.error), 500)}`));
  blocks.push(
    section([
      '*Propose* (posted to the incident channel for approval):',
      '`/failover [site] [reason…]` — move a site away from the cluster serving it now',
      '`/failback [site] [reason…]` — bring it back to its home cluster (always planned, zero data loss)',
      '`/failover --cluster east [reason…]` — one evacuation of every site east serves: one message, one ' +
        'approval, one run per site; `/failback --cluster east` brings every site home to east',
      `The site can be left out when there is only one. Sites: ${sites}`,
    ]),
    section([
      '*Flags* (anywhere in the command):',
      '`--dry-run` — show the plan and preflight only; nothing runs',
      '`--planned` — both sides are healthy: zero-data-loss switchover',
      `\`--force\` — break-glass: failing preflight gates do not stop the run; needs ${force} (not for /failback)`,
    ]),
    section([
      '*Look and cancel* (only you see the answer; same with /failback):',
      '`status [site]` — who serves per Baton and Route 53, the database primary, any open run',
      '`history [site]` — the last 10 runs, with their RTO and RPO',
      '`plan [site]` — the steps a failover would take now (add `--planned` for the switchover)',
      '`readiness [site]` — would a failover work now: the last readiness evaluation and its age',
      '`cancel &lt;run&gt;` — cancel a proposal, or abort a running run, e.g. `cancel r12`',
      '`help` — this message',
    ]),
    section([
      '*Game days* (a practice run, not an incident; /failover only):',
      '`drill [site] [--at 14:00] [--every 7d] [--hold 30m] [reason…]` — propose a planned failover, traffic held ' +
        'on the standby, then an automatic failback; `--at` is UTC (HH:MM or an ISO time), omitted: once approved',
      '`drill list` — scheduled game days · `drill cancel &lt;id&gt;` — cancel one (the requester or an approver)',
    ]),
    section([
      '*Examples*',
      `\`/failover ${site} east is down since 02:50, INC-123\``,
      `\`/failover ${site} --planned --dry-run rehearsal before maintenance\``,
      `\`/failback ${site} east is healthy again\``,
      '`/failover status`',
    ]),
  );
  const text = input.error
    ? `Baton did not understand that: ${truncateText(escapeText(input.error), 500)} — /failover help shows how to use it.`
    : 'How to use /failover and /failback';
  return fitMessage({ text, blocks });
}

export interface RefusalInput {
  kind: RunKind;
  site?: string;
  /** Who may request runs. */
  requesters: Principals;
}

/** The answer to someone who may not request a failover or failback. */
export function buildRefusalMessage(input: RefusalInput): SlackMessage {
  const what = `a ${input.kind}${input.site ? ` of ${escapeText(input.site)}` : ''}`;
  const text =
    `🚫 You are not allowed to request ${what}. Who may: ${principalsText(input.requesters)}. ` +
    'Ask one of them in the incident channel. Read-only commands (status, history, plan) work for everyone.';
  return fitMessage({ text, blocks: [section(text)] });
}

/**
 * Why a button click did not count: the codes of approveRun, and the run service's `not-paused`, `stale-message` (the
 * button's segment is not the run's), `already-voted` and `no-split-brain-risk` (break-glass votes).
 */
export type ClickRefusalCode = ErrorCodeSubset<
  | 'not-approver'
  | 'self-approval'
  | 'already-approved'
  | 'not-proposed'
  | 'expired'
  | 'not-paused'
  | 'stale-message'
  | 'already-voted'
  | 'no-split-brain-risk'
>;

/** What a click tries to do, as the verb of "Only approvers can … run r1". */
export type ClickAction =
  | 'approve'
  | 'reject'
  | 'retry'
  | 'skip'
  | 'abort'
  | 'start a failback for'
  | 'accept the split-brain risk of';

export interface ClickRefusalInput {
  code: ClickRefusalCode;
  run: Run;
  /** Who may approve, named when the clicker is not one of them. */
  approvers: Principals;
  /** What the click tried to do (default `approve`). */
  action?: ClickAction;
  /** Approvals a break-glass act needs (the topology's `breakGlass.required`), for "1 of 2". */
  breakGlassApprovals?: number;
}

/** The ephemeral explanation for a click that changed nothing. */
export function buildClickRefusalMessage(input: ClickRefusalInput): SlackMessage {
  const { run, code } = input;
  const action = input.action ?? 'approve';
  const id = `\`${escapeText(run.id)}\``;
  let text: string;
  switch (code) {
    case 'not-approver':
      text =
        `🚫 Only approvers can ${action} run ${id}. Approvers: ${principalsText(input.approvers)}. ` +
        'Ask one of them in the incident channel.';
      break;
    case 'self-approval':
      text =
        `🚫 You requested run ${id}, so another approver must approve it (self-approval is off). ` +
        `Approvers: ${principalsText(input.approvers)}.`;
      break;
    case 'already-approved':
      text = `👍 Your approval of run ${id} is already counted (${plural(run.approvals.length, 'approval')} so far). Another approver must add theirs.`;
      break;
    case 'not-proposed':
      text = `Run ${id} is already *${run.state}*${decidedBy(run)} — your click changed nothing.`;
      break;
    case 'expired': {
      const at = lastEvent(run, 'expired')?.at ?? run.expiresAt;
      text =
        `⌛ Run ${id} expired${at === undefined ? '' : ` at ${slackDate(at)}`} without a decision; nothing will run. ` +
        `To try again: \`/${run.kind} ${escapeText(run.site)} &lt;reason&gt;\``;
      break;
    }
    case 'not-paused':
      text = `Run ${id} is *${run.state}*, not paused: Retry, Skip and Abort act only on a paused run. Nothing changed.`;
      break;
    case 'stale-message':
      text =
        `This message is out of date: run ${id} has moved on since ` +
        `(${movedOnText(run, { state: (state) => `*${state}*`, actor: actorText })}). ` +
        'Use the newest message in the thread.';
      break;
    case 'already-voted': {
      const risk = action === 'accept the split-brain risk of';
      const count = segmentVoters(run, risk ? 'accept-risk' : 'skip').length;
      const of =
        input.breakGlassApprovals === undefined
          ? `${count} so far`
          : `${count} of ${input.breakGlassApprovals}`;
      text =
        `👍 Your request to ${risk ? 'accept the split-brain risk' : 'skip the failed step'} of run ${id} is already ` +
        `counted (${of}). Another approver must ask too.`;
      break;
    }
    case 'no-split-brain-risk': {
      const failed = Object.values(run.steps).filter((s) => s.status === 'failed');
      const where = failed.length
        ? ` at ${failed.map((s) => `${escapeText(s.id)}${s.errorCode ? ` (\`${escapeText(s.errorCode)}\`)` : ''}`).join(', ')}`
        : '';
      text =
        `Run ${id} is ${run.state === 'paused' ? 'paused' : `*${run.state}*`}${where}, not by the split-brain guard: ` +
        'there is no split-brain risk to accept. Retry, Skip or Abort it instead.';
      break;
    }
  }
  return fitMessage({ text, blocks: [section(text)] });
}

function decidedBy(run: Run): string {
  if (run.state === 'rejected' || run.state === 'cancelled') {
    const entry = lastEvent(run, run.state);
    return entry ? `${entry.actor ? ` by ${actorText(entry.actor)}` : ''} at ${slackDate(entry.at)}` : '';
  }
  if (run.state === 'expired') return '';
  return run.approvals.length ? ` (approved by ${approversText(run)})` : '';
}

export interface ErrorInput {
  /** What Baton was doing, as a verb phrase: "approve run r12", "read the history of production". */
  action: string;
  error: unknown;
  /** What the person should do now; otherwise the error code's hint (when the message does not say) and a default. */
  next?: string;
}

const TRY_AGAIN =
  'Try again in a moment. If it keeps failing, check Baton with `/failover status`, or use the break-glass CLI (`baton status`).';

/** "Baton could not …: why. What to do." For errors a person caused or can work around. */
export function buildErrorMessage(input: ErrorInput): SlackMessage {
  const message = truncateText(escapeText(describeError(input.error).trim() || 'unknown error'), 1500);
  // The code's hint when the message does not say what to do; "Try again" only for what may pass.
  const mayPass = !isBatonError(input.error) || input.error.retriable;
  const next =
    input.next ?? [hintFor(input.error), mayPass ? TRY_AGAIN : undefined].filter(Boolean).join(' ');
  const text =
    `⚠️ Baton could not ${escapeText(input.action)}: ${message}${/[.!?]$/.test(message) ? '' : '.'}` +
    (next ? ` ${escapeText(next)}` : '');
  const blocks: KnownBlock[] = [section(text)];
  if (isBatonError(input.error)) blocks.push(context([`error code \`${escapeText(input.error.code)}\``]));
  return fitMessage({ text, blocks });
}

export interface OpenRunInput {
  run: Run;
  /** Who may cancel besides the requester. */
  approvers: Principals;
  incidentChannel: string;
  now: number;
}

/**
 * A request for a site that already has an open run: one message naming that run, what holds it (a paused run says
 * what paused it and for how long), who can cancel it, and the commands to go on.
 */
export function buildOpenRunMessage(input: OpenRunInput): SlackMessage {
  const { run, now } = input;
  const id = escapeText(run.id);
  const since =
    run.state === 'paused'
      ? ` for ${formatMinutes(now - (lastEvent(run, 'paused')?.at ?? run.updatedAt))}`
      : '';
  const why = run.stateReason
    ? `: ${truncateText(escapeText(run.stateReason.replace(/[.\s]+$/, '')), 600)}`
    : '';
  const next =
    run.state === 'paused'
      ? `Decide it in <#${input.incidentChannel}> (Retry, Skip or Abort), or cancel it with \`/failover cancel ${id}\``
      : run.state === 'proposed'
        ? `Approve or reject it in <#${input.incidentChannel}>, or cancel it with \`/failover cancel ${id}\``
        : `Follow it in <#${input.incidentChannel}>; \`/failover status\` shows where it is`;
  const text =
    `⛔ ${escapeText(run.site)} already has an open run, so nothing new was started: \`${id}\`, ` +
    `${runLabel(run)} ${escapeText(run.from)} → ${escapeText(run.to)}, *${run.state}*${since}${why}. ` +
    `${next}. Who can cancel: ${actorText(run.requestedBy)} (the requester) or ${principalsText(input.approvers)}.`;
  return fitMessage({ text, blocks: [section(text)] });
}
