/**
 * The proposal's pre-warm lines (DESIGN §6): "🔥 Warming west: web 3/5 Ready" while the proposal is open, what was
 * given back after a reject, an expiry or a cancel, and why nothing was warmed when it could not be; and the same in
 * one cell of an evacuation's table row. Pure.
 */
import type { Run } from '../../core/model.js';
import type { Prewarm } from '../../core/prewarm/prewarm-record.js';
import { escapeText, truncatePlainText, truncateText } from './limits.js';

/** A workload's short name ("web"), or its label when two warmed workloads share a name. */
function names(prewarm: Prewarm): Map<string, string> {
  const labels = Object.keys(prewarm.workloads);
  const short = (label: string) => label.slice(label.indexOf('/') + 1);
  return new Map(
    labels.map((label) => [
      label,
      labels.filter((l) => short(l) === short(label)).length > 1 ? label : short(label),
    ]),
  );
}

/** "web 3/5 Ready, worker 2/2 Ready": plain text, also the audit's line. */
export function warmthText(prewarm: Prewarm): string {
  const shown = names(prewarm);
  return Object.entries(prewarm.workloads)
    .map(([label, w]) => `${shown.get(label) ?? label} ${Math.min(w.ready, w.to)}/${w.to} Ready`)
    .join(', ');
}

/** The lines for the proposal in `state`; none when there is no pre-warm to speak of. */
export function prewarmLines(prewarm: Prewarm | undefined, state: Run['state']): string[] {
  if (!prewarm) return [];
  const cluster = escapeText(prewarm.cluster);
  const lines: string[] = [];
  if (prewarm.released) {
    const { restored, leftAlone, because } = prewarm.released;
    lines.push(
      `↩️ *Pre-warm given back on ${cluster}* (${because}): ` +
        (restored.length ? escapeText(restored.join(', ')) : 'nothing had changed'),
    );
    for (const line of leftAlone) lines.push(`⚠️ ${truncateText(escapeText(line), 300)}`);
    return lines;
  }
  if (state !== 'proposed') return [];
  const warmth = warmthText(prewarm);
  if (prewarm.scaledAt !== undefined && warmth) {
    const held = prewarm.autoscalers.length
      ? ` · ${prewarm.autoscalers.length === 1 ? 'its HPA' : `${prewarm.autoscalers.length} HPAs`} held at the serving count`
      : '';
    lines.push(
      prewarm.readyAt !== undefined
        ? `✅ *Warm on ${cluster}:* ${escapeText(warmth)} — approval starts with the pods up${held}`
        : `🔥 *Warming ${cluster}:* ${escapeText(warmth)}${held}`,
    );
  } else if (prewarm.failed === undefined) {
    lines.push(`🔥 *Warming ${cluster}:* scaling up`);
  }
  if (prewarm.failed !== undefined) {
    lines.push(
      `⚠️ *Not warming ${cluster}:* ${truncateText(escapeText(prewarm.failed), 300)} — ` +
        'approval works as usual; the run scales it up',
    );
  }
  return lines;
}

/**
 * The pre-warm cell of an evacuation's table row (plain text; the table escapes it): "warming web 3/5 Ready",
 * "warm web 5/5 Ready", "not warming: <why>", "pre-warm given back". Empty when there is nothing to say.
 */
export function prewarmCell(prewarm: Prewarm): string {
  if (prewarm.released) {
    const left = prewarm.released.leftAlone.length;
    return `pre-warm given back${left ? ` (${left} left alone)` : ''}`;
  }
  if (prewarm.failed !== undefined) return `not warming: ${truncatePlainText(prewarm.failed, 60)}`;
  const warmth = truncatePlainText(warmthText(prewarm), 60);
  if (prewarm.scaledAt === undefined || !warmth) return 'warming…';
  return `${prewarm.readyAt !== undefined ? 'warm' : 'warming'} ${warmth}`;
}
