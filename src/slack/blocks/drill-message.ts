/**
 * Game day messages (`/failover drill`): the drill's one message in the incident channel (the proposal with Approve /
 * Reject, then its schedule and state, edited in place), its thread notes (skipped, started, holding, failing back,
 * aborted, waiting), and the `drill list` view. Pure builders; the text fallback is always set.
 */
import type { Drill } from '../../core/drills/drill.js';
import { formatDrillDuration } from '../../core/drills/drill-schedule.js';
import { actions, button, context, header, section } from './elements.js';
import { actorText, actorsText, isoTime, slackDate } from './format.js';
import type { SlackMessage } from './limits.js';
import { escapeText, fitMessage, truncateText } from './limits.js';

/** The buttons of a drill proposal; their value is the drill id. */
export const DRILL_ACTION_IDS = { approve: 'approve-drill', reject: 'reject-drill' } as const;

export const drillMessageKey = (drill: Pick<Drill, 'id'>): string => `drill:${drill.id}`;

const STATE_ICONS: Record<Drill['state'], string> = {
  proposed: '🗳️',
  scheduled: '📅',
  active: '🎯',
  finished: '🏁',
  cancelled: '🚫',
  rejected: '🚫',
  expired: '⌛',
};

/** `every 7d, hold 30m` / `once, hold 30m`. */
export function drillRhythm(drill: Pick<Drill, 'everyMs' | 'holdMs'>): string {
  const every = drill.everyMs === undefined ? 'once' : `every ${formatDrillDuration(drill.everyMs)}`;
  return `${every}, hold ${formatDrillDuration(drill.holdMs)}`;
}

/** What the drill does now, in one line. */
export function drillStateLine(drill: Drill): string {
  const current = drill.current;
  switch (drill.state) {
    case 'proposed':
      return `waiting for approval (until ${slackDate(drill.expiresAt)})`;
    case 'scheduled':
      return drill.nextAt === undefined
        ? 'scheduled'
        : `next game day ${slackDate(drill.nextAt, 'datetime')}`;
    case 'active':
      if (!current) return 'under way';
      switch (current.phase) {
        case 'failover':
          return `#${current.n}: failing over (run ${current.failoverRunId})`;
        case 'holding':
          return `#${current.n}: traffic held on the standby until ${slackDate(current.holdUntil ?? 0)}, then the failback starts on its own`;
        case 'failback':
          return `#${current.n}: failing back (run ${current.failbackRunId ?? '?'})`;
        case 'failback-waiting':
          return `#${current.n}: the failback WAITS — ${escapeText(current.waiting ?? 'see the thread')}`;
      }
      return 'under way';
    default:
      return `${drill.state}${drill.stateReason ? `: ${escapeText(drill.stateReason)}` : ''}`;
  }
}

/** The drill's message: proposal (with buttons while it waits), then its schedule and state. */
export function buildDrillMessage(input: { drill: Drill; approvalsRequired: number }): SlackMessage {
  const { drill } = input;
  const first = drill.at === undefined ? 'as soon as approved' : slackDate(drill.at, 'datetime');
  const lines = [
    `*Game day ${drill.id}* — a practice run of *${escapeText(drill.site)}*, not an incident: a planned failover, ` +
      `traffic held on the standby, then an automatic planned failback.`,
    `*When:* ${first}, ${drillRhythm(drill)}`,
    `*Reason:* ${escapeText(truncateText(drill.reason, 300))}`,
    `*Requested by:* ${actorText(drill.requestedBy)} · *Approvals:* ${drill.approvals.length} of ${input.approvalsRequired}` +
      (drill.approvals.length ? ` (${actorsText(drill.approvals.map((a) => a.actor))})` : ''),
    `*State:* ${drillStateLine(drill)}`,
  ];
  const last = drill.outcomes[drill.outcomes.length - 1];
  if (last) lines.push(`*Last:* #${last.n} ${last.result} — ${escapeText(last.detail)}`);
  const text = `${STATE_ICONS[drill.state]} Game day ${drill.id} · ${drill.site}: ${drillStateLine(drill)}`;
  const footer =
    drill.state === 'proposed'
      ? [
          actions(`drill-${drill.id}`, [
            button({
              actionId: DRILL_ACTION_IDS.approve,
              text: 'Approve game day',
              value: drill.id,
              style: 'primary',
              confirm: {
                title: 'Approve the game day?',
                text:
                  `Your approval starts every occurrence of ${drill.id}: a planned failover of ` +
                  `${escapeText(drill.site)} and its failback.`,
                confirm: 'Approve',
              },
            }),
            button({ actionId: DRILL_ACTION_IDS.reject, text: 'Reject', value: drill.id, style: 'danger' }),
          ]),
        ]
      : [];
  return fitMessage({
    text,
    blocks: [
      header(`${STATE_ICONS[drill.state]} Game day ${drill.id} · ${drill.site}: ${drill.state}`),
      section(lines),
      context([`Cancel: \`/failover drill cancel ${drill.id}\` (the requester or an approver)`]),
    ],
    footer,
  });
}

/** A note in the drill's thread ("🎯 Game day d1 #2 skipped: …"). */
export function buildDrillNote(drill: Pick<Drill, 'id' | 'site'>, text: string): SlackMessage {
  const line = `🎯 Game day ${drill.id} (${escapeText(drill.site)}): ${text}`;
  return fitMessage({ text: line, blocks: [section(line)] });
}

/** `/failover drill list`. */
export function buildDrillList(input: { drills: Drill[]; approvalsRequired: number }): SlackMessage {
  if (!input.drills.length) {
    const text =
      'No game days are scheduled. Propose one: `/failover drill [site] [--at 14:00] [--every 7d] [--hold 30m]`';
    return fitMessage({ text, blocks: [section(text)] });
  }
  const lines = input.drills.map((drill) => {
    const next =
      drill.nextAt !== undefined ? slackDate(drill.nextAt, 'datetime') : drill.at ? isoTime(drill.at) : '—';
    const approvers = drill.approvals.length ? actorsText(drill.approvals.map((a) => a.actor)) : 'none yet';
    return (
      `• *${drill.id}* ${escapeText(drill.site)} · next ${next} · ${drillRhythm(drill)} · approved by ${approvers} · ` +
      drillStateLine(drill)
    );
  });
  const text = `Game days (${input.drills.length}):\n${lines.join('\n')}`;
  return fitMessage({
    text,
    blocks: [section(`*Game days*`), section(lines), context(['Cancel one: `/failover drill cancel <id>`'])],
  });
}
