/**
 * An evacuation's closing summary (src/core/evacuation/summarize-evacuation.ts decides when, and what): one top-level
 * message under the evacuation's live table — how many sites serve from the target, each site that needs a person
 * with the next thing to do, and the spread of the recovery times. The runs' own summaries are in their threads.
 * Pure and snapshot-tested; the text fallback says the same in one paragraph.
 */
import type { KnownBlock } from '@slack/types';
import type {
  EvacuationSummary,
  RtoSpread,
  SiteNeedingYou,
} from '../../core/evacuation/summarize-evacuation.js';
import { context, section } from './elements.js';
import { formatDuration, plural } from './format.js';
import type { SlackMessage } from './limits.js';
import { escapeText, fitMessage } from './limits.js';

/** Sites listed per section (each line is well under 150 characters; a section holds 3000). */
const LINES_PER_SECTION = 15;

const ICONS: Readonly<Record<EvacuationSummary['state'], string>> = {
  finished: '✅',
  waiting: '⏸️',
  running: '⏳',
};

const VERBS: Readonly<Record<EvacuationSummary['state'], string>> = {
  finished: 'finished',
  waiting: 'waits for you',
  running: 'is running again',
};

/** One site that needs a person: who, what happened, what to do (mrkdwn parts, escaped). */
interface Item {
  who: string;
  what: string;
  next: string;
}

function item(summary: EvacuationSummary, site: SiteNeedingYou): Item {
  const name = escapeText(site.site);
  const alone = `\`/${summary.kind} ${name}\` to move it alone`;
  if (site.state === 'not-started') {
    // siteDecision's reasons end in "; not started": said once here.
    return {
      who: name,
      what: `not started: ${escapeText(site.reason.replace(/; not started$/, ''))}`,
      next: alone,
    };
  }
  const who = `${name} (${escapeText(site.runId)})`;
  const at = site.step ? ` at ${escapeText(site.step)}` : '';
  switch (site.state) {
    case 'paused':
      return { who, what: `paused${at}`, next: 'open its thread: Retry, Skip or Abort' };
    case 'failed':
      return { who, what: `failed${at}`, next: 'open its thread for the error' };
    case 'aborted':
      return {
        who,
        what: `aborted${at}`,
        next: `its thread says what was undone; \`/${summary.kind} ${name}\` to try again`,
      };
    case 'cancelled':
    case 'rejected':
    case 'expired':
      return { who, what: `${site.state}${at}`, next: alone };
  }
}

function headline(summary: EvacuationSummary): string {
  const to = escapeText(summary.to);
  const count =
    summary.moved === summary.sites
      ? summary.sites === 1
        ? `its site serves from ${to}`
        : `all ${summary.sites} sites serve from ${to}`
      : `${summary.moved} of ${plural(summary.sites, 'site')} serve from ${to}`;
  return `Evacuation ${escapeText(summary.id)} (${escapeText(summary.from)} → ${to}) ${VERBS[summary.state]}: ${count}.`;
}

function rtoText(rto: RtoSpread, separator: string): string {
  const head = `Approval → verified (${plural(rto.sites, 'site')}): `;
  if (rto.sites === 1) return head + formatDuration(rto.medianMs);
  return (
    head +
    [
      `min ${formatDuration(rto.minMs)}`,
      `median ${formatDuration(rto.medianMs)}`,
      `max ${formatDuration(rto.maxMs)}`,
    ].join(separator)
  );
}

export function buildEvacuationSummary(summary: EvacuationSummary): SlackMessage {
  const items = summary.needsYou.map((site) => item(summary, site));
  const running = summary.running.map(
    (r) => `${escapeText(r.site)} (${escapeText(r.runId)})${r.step ? ` at ${escapeText(r.step)}` : ''}`,
  );
  const icon = summary.state === 'finished' && summary.moved < summary.sites ? '⚠️' : ICONS[summary.state];

  const blocks: KnownBlock[] = [section(`${icon} *${headline(summary)}*`)];
  const lines = items.map((i) => `• *${i.who}* ${i.what} — ${i.next}`);
  for (let start = 0; start < lines.length; start += LINES_PER_SECTION) {
    const chunk = lines.slice(start, start + LINES_PER_SECTION);
    blocks.push(section(start === 0 ? ['*Needs you:*', ...chunk] : chunk));
  }
  if (running.length) blocks.push(section(`*Running again:* ${running.join(', ')}`));
  if (summary.rto) blocks.push(context([rtoText(summary.rto, ' · ')]));

  const text = [
    headline(summary),
    items.length ? `Needs you: ${items.map((i) => `${i.who} ${i.what} (${i.next})`).join('; ')}.` : '',
    running.length ? `Running again: ${running.join(', ')}.` : '',
    summary.rto ? `${rtoText(summary.rto, ', ')}.` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return fitMessage({ text, blocks });
}
