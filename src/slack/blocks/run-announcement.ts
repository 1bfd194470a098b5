/**
 * What a run says at once, as its own message in the incident channel rather than a thread reply: writes lost at the
 * promotion, a split-brain risk taken, an old side left unfenced. These are the lines an incident commander must not
 * miss, so each is a new message (Slack notifies on a new message, not on an edit).
 */
import type { Run, StepEvent, TimelineEntry } from '../../core/model.js';
import { section } from './elements.js';
import type { SlackMessage } from './limits.js';
import { escapeText, fitMessage } from './limits.js';

/** Timeline events that become an announcement. */
export const ANNOUNCED: ReadonlySet<string> = new Set<StepEvent['kind']>([
  'data-loss-detected',
  'split-brain-risk-taken',
  'fence-debt-opened',
]);

const ICONS: Record<string, string> = {
  'data-loss-detected': ':rotating_light:',
  'split-brain-risk-taken': ':warning:',
  'fence-debt-opened': ':warning:',
};

const NEXT: Record<string, string> = {
  'data-loss-detected':
    'Those writes exist only on the old primary: look at them there before it is rebuilt (do not rebuild it yet).',
  'split-brain-risk-taken': 'Watch the old side: Baton fences it the moment it answers, and says so here.',
  'fence-debt-opened': 'Failback is refused until it is fenced; `/failover status` shows what it still owes.',
};

export function buildRunAnnouncement(input: { run: Run; entry: TimelineEntry }): SlackMessage {
  const { run, entry } = input;
  const icon = ICONS[entry.event] ?? ':warning:';
  const text =
    `${icon} *${escapeText(entry.detail ?? entry.event)}* (run \`${escapeText(run.id)}\`, ${escapeText(run.kind)} ` +
    `${escapeText(run.from)} → ${escapeText(run.to)}). ${NEXT[entry.event] ?? ''}`.trim();
  return fitMessage({ text: text.replace(/\*/g, ''), blocks: [section(text)] });
}
