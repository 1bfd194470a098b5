/**
 * Slack messages about alerts that are not the proposal itself (pure builders, like src/slack/blocks): the notice
 * for `notify` alerts, the thread replies that link alerts to a run that was already open, and what the
 * auto-approval policy says and does.
 */
import type { KnownBlock } from '@slack/types';
import { formatDuration as formatPeriod } from '../config/duration.js';
import type { Run } from '../core/model.js';
import { context, header, section } from '../slack/blocks/elements.js';
import { plural, slackDate } from '../slack/blocks/format.js';
import type { SlackMessage } from '../slack/blocks/limits.js';
import { escapeText, fitMessage, truncateText } from '../slack/blocks/limits.js';
import type { IncidentState } from './incident-store.js';

/** Longest alert summary shown; Alertmanager keeps the full text. */
const SUMMARY_LENGTH = 500;

/** What the messages need of an incident: its totals and how to reach Alertmanager. */
export interface AlertView {
  site: string;
  state: IncidentState;
  /** A link to the alerts in Alertmanager (or Prometheus), shown when it is an http(s) URL. */
  url?: string;
}

const code = (text: string) => `\`${truncateText(escapeText(text.replace(/`/g, "'")), 100)}\``;
const namesText = (names: readonly string[]) => (names.length ? names.map(code).join(', ') : 'an alert');
const plainNames = (names: readonly string[]) => (names.length ? names.join(', ') : 'alert');

/** A mrkdwn link for an http(s) URL without characters that would break the `<url|label>` token; else nothing. */
export function alertLink(url: string | undefined, label = 'open in Alertmanager'): string | undefined {
  if (!url || url.length > 2000 || !/^https?:\/\/[^\s<>|]+$/.test(url)) return undefined;
  return `<${url.replace(/&/g, '&amp;')}|${label}>`;
}

function summaryLine(view: AlertView): string | undefined {
  const parts: string[] = [];
  if (view.state.summary) parts.push(truncateText(escapeText(view.state.summary), SUMMARY_LENGTH));
  const link = alertLink(view.url);
  if (link) parts.push(link);
  return parts.length ? parts.join(' · ') : undefined;
}

/**
 * The one message of a `notify` incident: which alerts fire for the site, since when, and that Baton will not act
 * on its own. Updated in place as alerts join and resolve; once all have resolved it says so.
 */
export function buildAlertNotice(view: AlertView): SlackMessage {
  const { site, state } = view;
  const resolved = state.firing === 0;
  const names = namesText(state.names);
  const title = `${resolved ? '✅ Resolved' : '🔔 Alert'}: ${plainNames(state.names)} · ${site}`;
  const lines: string[] = [];
  if (resolved) {
    const at = state.resolvedAt === undefined ? '' : ` at ${slackDate(state.resolvedAt)}`;
    lines.push(`*${plural(state.alerts, 'alert')} resolved*${at} (${names}).`);
  } else {
    const since = state.firstStartsAt === undefined ? '' : ` since ${slackDate(state.firstStartsAt)}`;
    lines.push(`*${plural(state.firing, 'alert')} firing*${since} (${names}).`);
  }
  const summary = summaryLine(view);
  if (summary) lines.push(summary);
  const blocks: KnownBlock[] = [header(title), section(lines)];
  const footer: KnownBlock[] = [
    context([
      resolved
        ? 'Nothing to do.'
        : `Baton only reports this alert (rule action *notify*). To move traffic anyway: \`/failover ${escapeText(site)} &lt;reason&gt;\``,
    ]),
  ];
  const text = resolved
    ? `Resolved: ${plainNames(state.names)} for ${escapeText(site)} (${plural(state.alerts, 'alert')}).`
    : `Alert ${escapeText(plainNames(state.names))} firing for ${escapeText(site)} (${plural(state.firing, 'alert')}). ` +
      'Baton takes no action on its own.';
  return fitMessage({ text, blocks, footer });
}

/** Thread reply: alerts fire for a site whose run was already open, so they joined that run instead of a new one. */
export function buildAlertLinkedReply(view: AlertView & { run: Pick<Run, 'id' | 'state'> }): SlackMessage {
  const { state, run } = view;
  const lines = [
    `🔔 *${namesText(state.names)} firing* for ${escapeText(view.site)} (${plural(state.firing, 'alert')}` +
      `${state.firstStartsAt === undefined ? '' : `, since ${slackDate(state.firstStartsAt)}`}). ` +
      `Run \`${escapeText(run.id)}\` is already open (${run.state}), so Baton linked the alert here instead of proposing another.`,
  ];
  const summary = summaryLine(view);
  if (summary) lines.push(summary);
  return fitMessage({
    text: `Alert ${escapeText(plainNames(state.names))} firing for ${escapeText(view.site)}; linked to open run ${escapeText(run.id)}.`,
    blocks: [section(lines)],
  });
}

/** Thread reply: every alert linked to the run has resolved. */
export function buildAlertResolvedReply(view: AlertView & { run: Pick<Run, 'id'> }): SlackMessage {
  const { state } = view;
  const at = state.resolvedAt === undefined ? '' : ` at ${slackDate(state.resolvedAt)}`;
  return fitMessage({
    text: `The alerts behind run ${escapeText(view.run.id)} resolved.`,
    blocks: [
      section(
        `✅ *The alerts resolved*${at}: ${namesText(state.names)} (${plural(state.alerts, 'alert')}) no longer fire.`,
      ),
    ],
  });
}

export interface AutoApprovalView {
  run: Pick<Run, 'id' | 'site' | 'from'>;
  afterMs: number;
  /** When the policy may approve (the quiet period's end). */
  dueAt: number;
  healthUrl: string;
}

/** Thread reply on a proposal that the auto-approval policy may approve: when, and on what condition. */
export function buildAutoApprovalNotice(view: AutoApprovalView): SlackMessage {
  const { run } = view;
  return fitMessage({
    text: `Auto-approval is on for run ${escapeText(run.id)}: it may be approved at ${slackDate(view.dueAt)} unless someone decides first.`,
    blocks: [
      section([
        `🤖 *Auto-approval is on for this alert.* If nobody approves or rejects by ${slackDate(view.dueAt)} ` +
          `(${formatPeriod(view.afterMs)} quiet period) while the alert still fires, Baton probes ` +
          `${escapeText(run.from)}'s health URL itself; only if that fails too does the auto-approval policy approve.`,
        `Reject or cancel the proposal to stop it. Witness: \`${truncateText(escapeText(view.healthUrl), 300)}\``,
      ]),
    ],
  });
}

/** Thread reply: the quiet period is over, but Baton's own probe says the serving cluster answers. */
export function buildAutoApprovalWithheldReply(
  view: Omit<AutoApprovalView, 'afterMs' | 'dueAt'> & { status?: number; now: number },
): SlackMessage {
  const { run } = view;
  const answer = view.status === undefined ? 'answers' : `answers ${view.status}`;
  return fitMessage({
    text: `Auto-approval withheld for run ${escapeText(run.id)}: ${escapeText(run.from)} still answers Baton's probe.`,
    blocks: [
      section(
        `✋ *Auto-approval withheld* at ${slackDate(view.now)}: ${escapeText(run.from)}'s health URL ${answer} ` +
          `to Baton's own probe, so Baton does not agree that it is down. The proposal waits for a person; ` +
          'Baton keeps probing and approves only if the probe fails while the alert still fires.',
      ),
    ],
  });
}

/** Thread reply: the policy approved, and why. */
export function buildAutoApprovedReply(
  view: Omit<AutoApprovalView, 'dueAt'> & { probe: string; now: number; complete: boolean },
): SlackMessage {
  const { run } = view;
  const next = view.complete
    ? 'The run starts now.'
    : 'It counts as one approval; the run still needs a person to approve.';
  return fitMessage({
    text: `Run ${escapeText(run.id)} approved by the auto-approval policy.`,
    blocks: [
      section(
        `🤖 *Approved by the auto-approval policy* at ${slackDate(view.now)}: no decision after ` +
          `${formatPeriod(view.afterMs)}, the alert still fires, and Baton's own probe of ${escapeText(run.from)} ` +
          `failed (${truncateText(escapeText(view.probe), 300)}). ${next}`,
      ),
    ],
  });
}
