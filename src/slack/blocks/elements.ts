/**
 * Block constructors that clamp every field to Slack's limits, so no builder can produce a block Slack rejects.
 * Text passed in is mrkdwn that the caller has already escaped (see `escapeText`).
 */
import type { ActionsBlock, Button, ContextBlock, HeaderBlock, KnownBlock, SectionBlock } from '@slack/types';
import { BatonError } from '../../errors.js';
import { SLACK_LIMITS, joinLines, truncateText } from './limits.js';

/** A header: plain text, at most 150 characters, emoji shortcodes allowed. */
export function header(text: string): HeaderBlock {
  return {
    type: 'header',
    text: { type: 'plain_text', text: truncateText(text, SLACK_LIMITS.headerText), emoji: true },
  };
}

/** A mrkdwn section of `lines`, cut to 3000 characters with a "(n more)" note. Empty input gives a dash. */
export function section(lines: string | readonly string[]): SectionBlock {
  const text =
    typeof lines === 'string'
      ? truncateText(lines, SLACK_LIMITS.sectionText)
      : joinLines(lines, SLACK_LIMITS.sectionText);
  return { type: 'section', text: { type: 'mrkdwn', text: text.trim() ? text : '—' } };
}

/** A context line: at most 10 mrkdwn elements; the rest are folded into the tenth. */
export function context(parts: readonly string[]): ContextBlock {
  const max = SLACK_LIMITS.contextElements;
  const texts =
    parts.length > max ? [...parts.slice(0, max - 1), parts.slice(max - 1).join(' · ')] : [...parts];
  return {
    type: 'context',
    elements: (texts.length ? texts : ['—']).map((text) => ({
      type: 'mrkdwn' as const,
      text: truncateText(text || '—', SLACK_LIMITS.contextText),
    })),
  };
}

export const divider = (): KnownBlock => ({ type: 'divider' });

export interface ButtonSpec {
  actionId: string;
  text: string;
  /** Carried back in the click payload; never cut (a cut value would name another run), so it must fit. */
  value: string;
  style?: 'primary' | 'danger';
  /** A confirmation dialog before the click counts. */
  confirm?: { title: string; text: string; confirm: string; deny?: string };
}

/** A button with its text, dialog and ids clamped; a value over 2000 characters is a bug and throws. */
export function button(spec: ButtonSpec): Button {
  if (spec.value.length > SLACK_LIMITS.buttonValue) {
    throw new BatonError(
      'button-value-too-long',
      `button value for ${spec.actionId} is ${spec.value.length} characters; Slack allows ${SLACK_LIMITS.buttonValue}`,
    );
  }
  const result: Button = {
    type: 'button',
    action_id: truncateText(spec.actionId, SLACK_LIMITS.actionId),
    text: { type: 'plain_text', text: truncateText(spec.text, SLACK_LIMITS.buttonText), emoji: true },
    value: spec.value,
  };
  if (spec.style) result.style = spec.style;
  if (spec.confirm) {
    result.confirm = {
      title: { type: 'plain_text', text: truncateText(spec.confirm.title, SLACK_LIMITS.confirmTitle) },
      text: { type: 'mrkdwn', text: truncateText(spec.confirm.text, SLACK_LIMITS.confirmText) },
      confirm: { type: 'plain_text', text: truncateText(spec.confirm.confirm, SLACK_LIMITS.confirmButton) },
      deny: {
        type: 'plain_text',
        text: truncateText(spec.confirm.deny ?? 'Cancel', SLACK_LIMITS.confirmButton),
      },
      ...(spec.style === 'danger' && { style: 'danger' as const }),
    };
  }
  return result;
}

/** An actions block of at most 25 buttons, with a stable block id so listeners can tell messages apart. */
export function actions(blockId: string, buttons: readonly Button[]): ActionsBlock {
  return {
    type: 'actions',
    block_id: truncateText(blockId, SLACK_LIMITS.blockId),
    elements: buttons.slice(0, SLACK_LIMITS.actionsElements),
  };
}
