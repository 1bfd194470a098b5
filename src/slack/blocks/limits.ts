/**
 * Slack's size limits for messages and Block Kit, and the helpers every builder uses to stay inside them.
 * Builders never fail on big input: they cut text with `…` and say how much was left out ("… (12 more)").
 */
import type { KnownBlock } from '@slack/types';

/** The limits Baton's messages must respect (Slack rejects a message that breaks any of them). */
export const SLACK_LIMITS = {
  /** Blocks in one message. */
  blocksPerMessage: 50,
  /** `text` of a section block. */
  sectionText: 3000,
  /** Each of a section's `fields`, and at most 10 of them. */
  sectionFieldText: 2000,
  sectionFields: 10,
  /** plain_text of a header block. */
  headerText: 150,
  /** Elements of a context block. */
  contextElements: 10,
  /** One text element of a context block (Slack's general text-object limit). */
  contextText: 3000,
  /** Elements of an actions block. */
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  blockId: 255,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  /**
   * The top-level `text` (notification and fallback). Slack truncates messages beyond 40 000 characters; 4 000 keeps
   * the notification readable and well inside every limit.
   */
  fallbackText: 4000,
} as const;

/** A Slack message as Baton posts it: `text` is the notification and fallback, always set. */
export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

export const ELLIPSIS = '…';

/** Escapes user-provided text for mrkdwn and message text, as Slack requires: `&`, `<` and `>` only. */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** `at`, or one less when cutting there would split an emoji (a UTF-16 surrogate pair) in half. */
function wholeCharacters(text: string, at: number): number {
  const cut = Math.max(0, Math.min(at, text.length));
  const code = text.charCodeAt(cut - 1);
  return cut > 0 && code >= 0xd800 && code <= 0xdbff ? cut - 1 : cut;
}

/**
 * A cut position at or below `at` that does not split a surrogate pair, an HTML entity (`&amp;`) or a Slack token
 * (`<@U123>`, `<!date^…>`), so a truncated text never renders as garbage.
 */
function safeCut(text: string, at: number): number {
  let cut = wholeCharacters(text, at);
  const head = text.slice(0, cut);
  const openToken = head.lastIndexOf('<');
  if (openToken > head.lastIndexOf('>')) cut = openToken;
  const amp = head.lastIndexOf('&', cut - 1);
  if (amp >= 0 && amp < cut && !head.slice(amp, cut).includes(';') && cut - amp <= 8) cut = amp;
  return cut;
}

/** Escaped mrkdwn `text` cut to at most `max` characters, ending in `…` when it was cut. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= ELLIPSIS.length) return ELLIPSIS.slice(0, max);
  return text.slice(0, safeCut(text, max - ELLIPSIS.length)).trimEnd() + ELLIPSIS;
}

/** Plain (unescaped) `text` cut to at most `max` characters with `…`; only surrogate pairs are kept whole. */
export function truncatePlainText(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= ELLIPSIS.length) return ELLIPSIS.slice(0, max);
  return text.slice(0, wholeCharacters(text, max - ELLIPSIS.length)).trimEnd() + ELLIPSIS;
}

/** The note that stands for `count` left-out items. */
export const moreNote = (count: number, noun = 'more'): string => `${ELLIPSIS} (${count} ${noun})`;

/**
 * Joins `lines` with newlines in at most `max` characters. When they do not fit, whole lines are dropped from the
 * end and a last line says how many ("… (12 more)"); a single line that is too long is itself cut with `…`.
 */
export function joinLines(lines: readonly string[], max: number): string {
  const fitted = lines.map((line) => truncateText(line, max));
  const total = (upTo: number) =>
    fitted.slice(0, upTo).reduce((sum, line) => sum + line.length, 0) + Math.max(0, upTo - 1);
  if (total(fitted.length) <= max) return fitted.join('\n');
  for (let keep = fitted.length - 1; keep >= 0; keep -= 1) {
    const note = moreNote(fitted.length - keep);
    if (total(keep) + (keep > 0 ? 1 : 0) + note.length <= max) {
      return [...fitted.slice(0, keep), note].join('\n');
    }
  }
  return truncateText(moreNote(fitted.length), max);
}

/** At most `max` items; when some are left out, `hidden` says how many (for a "(n more)" note). */
export function capList<T>(items: readonly T[], max: number): { shown: T[]; hidden: number } {
  return { shown: items.slice(0, max), hidden: Math.max(0, items.length - max) };
}

/**
 * The finished message. `blocks` may be trimmed to fit Slack's block count (a context block then says how many were
 * left out); `footer` blocks (buttons, expiry) always survive, so the next action stays on screen.
 */
export function fitMessage(input: {
  text: string;
  blocks: KnownBlock[];
  footer?: KnownBlock[];
}): SlackMessage {
  const footer = (input.footer ?? []).slice(0, SLACK_LIMITS.blocksPerMessage);
  const room = SLACK_LIMITS.blocksPerMessage - footer.length;
  let body = input.blocks;
  if (body.length > room) {
    const keep = Math.max(0, room - 1);
    const note: KnownBlock = {
      type: 'context',
      elements: [
        { type: 'mrkdwn', text: `${moreNote(body.length - keep)} — not shown, Slack allows 50 blocks` },
      ],
    };
    body = [...body.slice(0, keep), ...(room > 0 ? [note] : [])];
  }
  const text = truncateText(input.text.trim() || 'Baton', SLACK_LIMITS.fallbackText);
  return { text, blocks: [...body, ...footer] };
}
