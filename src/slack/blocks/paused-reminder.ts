/**
 * The thread reply that reminds the channel of a paused run (a paused run holds its site until someone decides):
 * how long, at which step, why, and what the approvers can do.
 */
import type { Principals } from '../../config/topology.js';
import type { Run } from '../../core/model.js';
import { principalsText } from './ephemeral.js';
import { section } from './elements.js';
import { STATE_ICONS, formatMinutes } from './format.js';
import type { SlackMessage } from './limits.js';
import { escapeText, fitMessage, truncateText } from './limits.js';
import { pausedChoices } from './status-message.js';

export interface PausedReminderInput {
  run: Run;
  /** When the run paused (its last `paused` timeline entry). */
  pausedAt: number;
  now: number;
  /** Who can Retry, Skip or Abort it. */
  approvers: Principals;
}

/** "⏸️ production: run r3 has been paused for 45 min at promote-target-db — <why>. Retry, Skip or Abort (approvers: …)" */
export function buildPausedReminder(input: PausedReminderInput): SlackMessage {
  const { run, pausedAt, now } = input;
  const failed = Object.values(run.steps).filter((s) => s.status === 'failed');
  const at = failed.length ? ` at ${failed.map((s) => escapeText(s.id)).join(', ')}` : '';
  // One failed step: its own error (the state reason repeats the step id); several: the state reason lists each.
  const why =
    failed.length === 1 && failed[0]?.error ? failed[0].error : (run.stateReason ?? 'no reason recorded');
  const text =
    `${STATE_ICONS.paused} ${escapeText(run.site)}: run ${escapeText(run.id)} has been paused for ` +
    `${formatMinutes(now - pausedAt)}${at} — ${truncateText(escapeText(why).replace(/[.\s]+$/, ''), 1500)}. ` +
    `${pausedChoices(run)} (approvers: ${principalsText(input.approvers)})`;
  return fitMessage({ text, blocks: [section(text)] });
}
