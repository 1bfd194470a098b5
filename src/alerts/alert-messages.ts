/**
 * Slack messages about alerts that are not the proposal itself (pure builders, like src/slack/blocks): the notice
 * for `notify` alerts, the thread replies that link alerts to a run that was already open, and what the
 * auto-approval policy says and does.
 */
import type { KnownBlock } from '@slack/types';
import { formatDuration as formatPeriod } from '../config/duration.js';
import type { Run } from '../core/model.js';
import { context, header, section } from '../slack/blocks/elements.js';
import { isoTime, plural, slackDate } from '../slack/blocks/format.js';
import type { SlackMessage } from '../slack/blocks/limits.js';
import { escapeText, fitMessage, truncateText } from '../slack/blocks/limits.js';
import type { IncidentState } from '../store/incidents/incident-record.js';
import type { ProbeVerdict } from './judge-probes.js';

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

/** What the auto-approval witness needs (see `witnessFor` in auto-approve.ts). */
export interface WitnessView {
  /** Failed probes needed, spread over the quiet period. */
  probes: number;
  /** Second vantage points, each of which must agree. */
  prometheus: readonly { url: string; query: string }[];
}

export interface AutoApprovalView {
  run: Pick<Run, 'id' | 'site' | 'from'>;
  afterMs: number;
  /** When the policy may approve (the quiet period's end). */
  dueAt: number;
  healthUrl: string;
  witness: WitnessView;
}

const inline = (text: string, max = 300) => `\`${truncateText(escapeText(text.replace(/`/g, "'")), max)}\``;

/** Thread reply on a proposal that the auto-approval policy may approve: when, and on what condition. */
export function buildAutoApprovalNotice(view: AutoApprovalView): SlackMessage {
  const { run, witness } = view;
  const from = escapeText(run.from);
  const prometheus = witness.prometheus.length
    ? `, and only if ${witness.prometheus.length === 1 ? 'Prometheus' : 'every Prometheus below'} (a second ` +
      `vantage point) says ${from} is down too`
    : '';
  const sources = [
    `Witness: ${inline(view.healthUrl)}`,
    ...witness.prometheus.map((p) => `Prometheus ${inline(p.url)}: ${inline(p.query)}`),
  ];
  return fitMessage({
    text: `Auto-approval is on for run ${escapeText(run.id)}: it may be approved at ${slackDate(view.dueAt)} unless someone decides first.`,
    blocks: [
      section([
        `🤖 *Auto-approval is on for this alert.* If nobody approves or rejects by ${slackDate(view.dueAt)} ` +
          `(${formatPeriod(view.afterMs)} quiet period) while the alert still fires, the auto-approval policy may ` +
          `approve: only if Baton's own probes of ${from}'s health URL, taken every few seconds from now on, all ` +
          `fail (at least ${witness.probes}, spread over the quiet period, none answering)${prometheus}.`,
        `Reject or cancel the proposal to stop it. ${sources.join(' · ')}`,
      ]),
    ],
  });
}

/** Why the policy did not approve: its own probes, or a second vantage point, do not agree. */
export type WithheldWhy =
  | { witness: 'probes'; verdict: Exclude<ProbeVerdict, { agrees: true }>; afterMs: number; since: number }
  | { witness: 'prometheus'; url: string; query: string; reason: string };

/** How a reason is written: mrkdwn for Slack, plain text for the audit and the log. */
interface ReasonStyle {
  date(ms: number): string;
  text(text: string, max: number): string;
  code(text: string): string;
}
const MRKDWN: ReasonStyle = {
  date: (ms) => slackDate(ms),
  text: (text, max) => truncateText(escapeText(text), max),
  code: (text) => inline(text),
};
const PLAIN: ReasonStyle = {
  date: (ms) => isoTime(ms),
  text: (text, max) => truncateText(text, max),
  code: (text) => truncateText(text, 300),
};

/** The reason in one sentence. */
function withheldReason(run: Pick<Run, 'from'>, why: WithheldWhy, style: ReasonStyle): string {
  const { date, text } = style;
  const from = text(run.from, 100);
  if (why.witness === 'prometheus') {
    return (
      `Baton's own probes of ${from} fail, but the second witness does not agree: ` +
      `${text(why.reason, 300)} (${style.code(why.query)} at ${style.code(why.url)})`
    );
  }
  const v = why.verdict;
  switch (v.reason) {
    case 'answered':
      return (
        `${v.failed} of ${plural(v.total, 'probe')} of ${from} since ${date(why.since)} failed; ` +
        (v.status === undefined
          ? `one at ${date(v.okAt)} got an answer`
          : `the last one, at ${date(v.okAt)}, answered ${text(v.status, 100)}`)
      );
    case 'too-few':
      return v.streak === 0
        ? `no probe of ${from} has failed yet (${v.required} in a row are needed)`
        : `only ${v.streak} of the ${v.required} failed probes of ${from} needed so far (since ${date(v.since ?? why.since)})`;
    case 'too-short':
      return (
        `${from}'s probes have failed only since ${date(v.since)}, ` +
        (v.okAt === undefined ? 'after a gap in probing' : `after it answered at ${date(v.okAt)}`) +
        `: the failures must cover a whole quiet period (${formatPeriod(why.afterMs)}), so the earliest ` +
        `approval is ${date(v.earliestAt)} if they keep failing`
      );
    case 'stale':
      return `no probe of ${from} since ${date(v.lastAt)}`;
  }
}

/** Why the policy withheld its approval, as plain text (the audit's detail, the log). */
export const describeWithheld = (run: Pick<Run, 'from'>, why: WithheldWhy): string =>
  withheldReason(run, why, PLAIN);

/** Thread reply: the quiet period is over, but the witness does not agree that the serving cluster is down. */
export function buildAutoApprovalWithheldReply(view: {
  run: Pick<Run, 'id' | 'site' | 'from'>;
  why: WithheldWhy;
  now: number;
}): SlackMessage {
  const { run } = view;
  const reason = withheldReason(run, view.why, MRKDWN);
  return fitMessage({
    text: `Auto-approval withheld for run ${escapeText(run.id)}: ${reason}.`,
    blocks: [
      section(
        `✋ *Auto-approval withheld* at ${slackDate(view.now)}: ${reason}. Baton does not agree that ` +
          `${escapeText(run.from)} is down, so the proposal waits for a person; Baton keeps probing and approves ` +
          'only if the witness agrees while the alert still fires.',
      ),
    ],
  });
}

/** Thread reply: the policy approved, and why. */
export function buildAutoApprovedReply(
  view: Pick<AutoApprovalView, 'run' | 'afterMs'> & {
    /** Failed probes in a row, since when, and the newest one's error. */
    probes: { streak: number; since: number; detail: string };
    /** What each Prometheus said. */
    prometheus: readonly string[];
    now: number;
    complete: boolean;
  },
): SlackMessage {
  const { run, probes } = view;
  const next = view.complete
    ? 'The run starts now.'
    : 'It counts as one approval; the run still needs a person to approve.';
  const prometheus = view.prometheus.length
    ? `, and ${view.prometheus.map((reason) => truncateText(escapeText(reason), 200)).join('; ')}`
    : '';
  return fitMessage({
    text: `Run ${escapeText(run.id)} approved by the auto-approval policy.`,
    blocks: [
      section(
        `🤖 *Approved by the auto-approval policy* at ${slackDate(view.now)}: no decision after ` +
          `${formatPeriod(view.afterMs)}, the alert still fires, ${plural(probes.streak, 'probe')} of ` +
          `${escapeText(run.from)} in a row since ${slackDate(probes.since)} failed, none answered ` +
          `(last: ${truncateText(escapeText(probes.detail), 300)})${prometheus}. ${next}`,
      ),
    ],
  });
}

/** What the cooldown notice says: the alert that could not propose, and the refusal's facts. */
export interface CooldownNoticeView {
  site: string;
  alertname: string;
  /** The site's last failover, which started the cooldown. */
  lastFailover: { runId: string; to: string; finishedAt: number };
  /** When the cooldown ends. */
  until: number;
  url?: string;
}

/**
 * The one message of an alert that wanted a failover during the site's cooldown: Baton did not propose one, why,
 * and what a person can do. It states absolute times only, so repeated deliveries leave it unchanged.
 */
export function buildCooldownNotice(view: CooldownNoticeView): SlackMessage {
  const site = escapeText(view.site);
  const { runId, to, finishedAt } = view.lastFailover;
  const lines = [
    `*${code(view.alertname)} is firing, but Baton did not propose a failover:* ${site} failed over to ` +
      `${escapeText(to)} at ${slackDate(finishedAt)} (run \`${escapeText(runId)}\`), and a new failover is refused ` +
      `until ${slackDate(view.until)} (cooldown), so that a flapping alert cannot bounce it between clusters.`,
  ];
  const link = alertLink(view.url);
  if (link) lines.push(link);
  return fitMessage({
    text:
      `Alert ${escapeText(view.alertname)} firing for ${site}: no failover proposed, ${site} is in its cooldown ` +
      `after run ${escapeText(runId)} (until ${isoTime(view.until)}).`,
    blocks: [header(`⏸ Cooldown: ${view.alertname} · ${view.site}`), section(lines)],
    footer: [
      context([
        `Failback is not affected: \`/failback ${site}\`. To fail over now, an approver proposes break-glass: ` +
          `\`/failover ${site} &lt;reason&gt; --force\`. After the cooldown, the alert's next notification proposes again.`,
      ]),
    ],
  });
}
