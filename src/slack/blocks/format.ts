/**
 * Small formatters shared by the builders: Slack dates, durations, actors and run labels. Everything returned is
 * mrkdwn with user-provided parts already escaped.
 */
import type { Actor, Run, RunState, StepStatus, TimelineEntry } from '../../core/model.js';
import { escapeText } from './limits.js';

/** Slack date formats used here: a time of day, with seconds (timelines), or a date and time (lists that span days). */
export type DateStyle = 'time' | 'seconds' | 'datetime';

const DATE_FORMATS: Readonly<Record<DateStyle, string>> = {
  time: '{time}',
  seconds: '{time_secs}',
  datetime: '{date_short_pretty} {time}',
};

/** `2023-11-14T22:13:20Z`: the fallback a client shows when it cannot localize a date. */
export function isoTime(ms: number): string {
  if (!Number.isFinite(ms)) return 'unknown time';
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** `<!date^1700000000^{time}|2023-11-14T22:13:20Z>`: each reader sees the time in their own time zone. */
export function slackDate(ms: number, style: DateStyle = 'time'): string {
  if (!Number.isFinite(ms)) return 'unknown time';
  return `<!date^${Math.floor(ms / 1000)}^${DATE_FORMATS[style]}|${isoTime(ms)}>`;
}

/** `<1 s`, `42 s`, `4 m 12 s`, `2 h 5 m`: the same style as the run's own "Finished in" text. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'under 1 s';
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} m ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} m`;
}

/** `under 1 min`, `45 min`, `2 h 5 min`: how long something has lasted, to the minute (reminders, paused runs). */
export function formatMinutes(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return 'under 1 min';
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

const SLACK_USER_ID = /^[UW][A-Z0-9]{2,}$/;

/** A Slack user as a mention (`<@U123>`), anyone else by what they are: the CLI, a policy, an alert, Baton. */
export function actorText(actor: Actor): string {
  const name = escapeText(actor.name ?? actor.id);
  switch (actor.type) {
    case 'slack-user':
      return SLACK_USER_ID.test(actor.id) ? `<@${actor.id}>` : name;
    case 'cli':
      // The CLI acts as a listed Slack user id: mention them, so readers see the person's name.
      return `${SLACK_USER_ID.test(actor.id) ? `<@${actor.id}>` : name} (break-glass CLI)`;
    case 'policy':
      return `auto-approval policy ${name}`;
    case 'alert':
      return `alert ${name}`;
    case 'system':
      return 'Baton';
  }
}

/** A list of actors: `<@U1>, <@U2>`, or `nobody`. */
export const actorsText = (actors: readonly Actor[]): string =>
  actors.length ? actors.map(actorText).join(', ') : 'nobody';

/**
 * `EMERGENCY failover`, `planned failover`, `failback`, with `BREAK-GLASS` for --force, and `Game day` for a drill's
 * runs, so nobody mistakes a practice for an incident.
 */
export function runLabel(run: Pick<Run, 'kind' | 'mode' | 'force'> & { drill?: Run['drill'] }): string {
  const base =
    run.kind === 'failback' ? 'failback' : run.mode === 'planned' ? 'planned failover' : 'EMERGENCY failover';
  if (run.drill) return `Game day ${run.drill.id}: ${base}`;
  return run.force ? `BREAK-GLASS ${base}` : base;
}

/** The same label starting with a capital, for the start of a sentence or a header. */
export const runLabelTitle = (
  run: Pick<Run, 'kind' | 'mode' | 'force'> & { drill?: Run['drill'] },
): string => {
  const label = runLabel(run);
  return label.charAt(0).toUpperCase() + label.slice(1);
};

/** The icon that tells the kind of run at a glance. */
export function runIcon(run: Pick<Run, 'kind' | 'mode' | 'force'>): string {
  if (run.force) return '🔥';
  if (run.kind === 'failback') return '🏠';
  return run.mode === 'planned' ? '🔁' : '🚨';
}

export const STATE_ICONS: Readonly<Record<RunState, string>> = {
  proposed: '🗳️',
  approved: '👍',
  running: '⏳',
  paused: '⏸️',
  aborting: '↩️',
  succeeded: '✅',
  rejected: '🚫',
  expired: '⌛',
  cancelled: '🚫',
  failed: '❌',
  aborted: '↩️',
};

export const STEP_ICONS: Readonly<Record<StepStatus, string>> = {
  pending: '◻️',
  running: '⏳',
  succeeded: '✅',
  skipped: '⏭️',
  failed: '❌',
  undone: '↩️',
  'undo-failed': '⚠️',
};

/** The newest timeline entry for `event` (e.g. the `approved` or `rejected` transition). */
export function lastEvent(run: Pick<Run, 'timeline'>, event: string): TimelineEntry | undefined {
  for (let i = run.timeline.length - 1; i >= 0; i -= 1) {
    const entry = run.timeline[i];
    if (entry?.event === event) return entry;
  }
  return undefined;
}

/** When execution first started (the first `running`), else when it was approved. */
export function runStartedAt(run: Pick<Run, 'timeline'>): number | undefined {
  return (run.timeline.find((e) => e.event === 'running') ?? run.timeline.find((e) => e.event === 'approved'))
    ?.at;
}

/** Time since execution started: up to now while open, up to the final transition once finished. */
export function runElapsed(
  run: Pick<Run, 'timeline' | 'state' | 'updatedAt'>,
  now: number,
  finished: boolean,
): number | undefined {
  const started = runStartedAt(run);
  if (started === undefined) return undefined;
  const end = finished ? (lastEvent(run, run.state)?.at ?? run.updatedAt) : now;
  return Math.max(0, end - started);
}

/** Approvers as mentions, in the order they approved. */
export const approversText = (run: Pick<Run, 'approvals'>): string =>
  actorsText(run.approvals.map((a) => a.actor));

/** `1 approval` / `2 approvals`. */
export const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;
