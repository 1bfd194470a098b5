/**
 * What a message's text and blocks must look like before Slack accepts them: the text limit, `no_text` when a
 * message says nothing, and Block Kit's schema checks for the block types Baton sends, with Slack's own error
 * messages (`response_metadata.messages`).
 */
import type { Answer, Params } from './web-api-wire.js';
import { asString, fail } from './web-api-wire.js';

/** Slack truncates past 40,000 characters and refuses longer text with `msg_too_long`. */
export const SLACK_TEXT_LIMIT = 40_000;
/** Blocks per message (modals allow 100). */
export const SLACK_MAX_BLOCKS = 50;

/** One schema problem, in Slack's own `response_metadata.messages` form. */
export const schemaError = (message: string, pointer: string) =>
  `[ERROR] ${message} [json-pointer:${pointer}]`;

export function textObjectError(
  value: unknown,
  pointer: string,
  max: number,
  plainOnly = false,
): string | null {
  if (typeof value !== 'object' || value === null) return schemaError('must provide an object', pointer);
  const object = value as Params;
  if (object.type !== 'plain_text' && (plainOnly || object.type !== 'mrkdwn'))
    return schemaError(`must be ${plainOnly ? 'plain_text' : 'plain_text or mrkdwn'}`, `${pointer}/type`);
  if (typeof object.text !== 'string' || object.text.length === 0)
    return schemaError('must be more than 0 characters', `${pointer}/text`);
  if (object.text.length > max)
    return schemaError(`must be less than ${max + 1} characters`, `${pointer}/text`);
  return null;
}

function elementError(value: unknown, pointer: string): string | null {
  if (typeof value !== 'object' || value === null) return schemaError('must provide an object', pointer);
  const element = value as Params;
  if (typeof element.type !== 'string') return schemaError('must provide a type', `${pointer}/type`);
  if (
    element.action_id !== undefined &&
    (typeof element.action_id !== 'string' || element.action_id.length > 255)
  )
    return schemaError('must be a string of at most 255 characters', `${pointer}/action_id`);
  if (element.type === 'button') {
    const textError = textObjectError(element.text, `${pointer}/text`, 75, true);
    if (textError) return textError;
    if (element.value !== undefined && (typeof element.value !== 'string' || element.value.length > 2000))
      return schemaError('must be a string of at most 2000 characters', `${pointer}/value`);
    if (element.style !== undefined && element.style !== 'primary' && element.style !== 'danger')
      return schemaError('must be primary or danger', `${pointer}/style`);
  }
  return null;
}

/**
 * Checks a message's blocks the way Slack's Block Kit validation does for the block types Baton sends (section,
 * header, context, actions, divider), returning the first problem or null. Other known types pass unchecked.
 */
export function blocksError(blocks: unknown[], maxBlocks = SLACK_MAX_BLOCKS): string | null {
  if (blocks.length > maxBlocks) return schemaError(`no more than ${maxBlocks} items allowed`, '/blocks');
  const blockIds = new Set<string>();
  for (const [index, value] of blocks.entries()) {
    const pointer = `/blocks/${index}`;
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return schemaError('must provide an object', pointer);
    const block = value as Params;
    if (block.block_id !== undefined) {
      if (typeof block.block_id !== 'string' || block.block_id.length === 0 || block.block_id.length > 255)
        return schemaError('must be a string of 1 to 255 characters', `${pointer}/block_id`);
      if (blockIds.has(block.block_id)) return schemaError('block_id must be unique', `${pointer}/block_id`);
      blockIds.add(block.block_id);
    }
    switch (block.type) {
      case 'section': {
        if (block.text === undefined && block.fields === undefined)
          return schemaError('must provide text or fields', pointer);
        if (block.text !== undefined) {
          const error = textObjectError(block.text, `${pointer}/text`, 3000);
          if (error) return error;
        }
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields) || block.fields.length === 0 || block.fields.length > 10)
            return schemaError('must provide 1 to 10 items', `${pointer}/fields`);
          for (const [i, field] of block.fields.entries()) {
            const error = textObjectError(field, `${pointer}/fields/${i}`, 2000);
            if (error) return error;
          }
        }
        if (block.accessory !== undefined) {
          const error = elementError(block.accessory, `${pointer}/accessory`);
          if (error) return error;
        }
        break;
      }
      case 'header': {
        const error = textObjectError(block.text, `${pointer}/text`, 150, true);
        if (error) return error;
        break;
      }
      case 'context': {
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > 10)
          return schemaError('must provide 1 to 10 items', `${pointer}/elements`);
        for (const [i, element] of block.elements.entries()) {
          const elementType = (element as Params | null)?.type;
          if (elementType === 'image') continue;
          const error = textObjectError(element, `${pointer}/elements/${i}`, 3000);
          if (error) return error;
        }
        break;
      }
      case 'actions': {
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > 25)
          return schemaError('must provide 1 to 25 items', `${pointer}/elements`);
        const actionIds = new Set<string>();
        for (const [i, element] of block.elements.entries()) {
          const error = elementError(element, `${pointer}/elements/${i}`);
          if (error) return error;
          const actionId = (element as Params).action_id;
          if (typeof actionId === 'string') {
            if (actionIds.has(actionId))
              return schemaError('action_id must be unique', `${pointer}/elements/${i}/action_id`);
            actionIds.add(actionId);
          }
        }
        break;
      }
      case 'markdown':
        if (typeof block.text !== 'string' || block.text.length === 0 || block.text.length > 12_000)
          return schemaError('must be 1 to 12000 characters', `${pointer}/text`);
        break;
      case 'divider':
      case 'image':
      case 'input':
      case 'rich_text':
      case 'file':
      case 'video':
        break;
      default:
        return schemaError('failed to match all allowed schemas', pointer);
    }
  }
  return null;
}

/** `blocks` as sent: a JSON string (form bodies) or an array (JSON bodies). */
function parseBlocks(value: unknown): { blocks?: unknown[]; error?: Answer } {
  if (value === undefined || value === null || value === '') return {};
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      return { error: fail('invalid_blocks_format') };
    }
  }
  if (!Array.isArray(parsed)) return { error: fail('invalid_blocks_format') };
  const problem = blocksError(parsed);
  if (problem) return { error: fail('invalid_blocks', { response_metadata: { messages: [problem] } }) };
  return { blocks: parsed };
}

/** A message's text and blocks as a method or a response_url got them. */
export interface MessageContent {
  text?: string;
  blocks?: unknown[];
  error?: Answer;
}

/** text and blocks of a message call: `no_text` when neither, `msg_too_long` past the limit. */
export function readContent(params: Params, requireContent: boolean): MessageContent {
  const parsed = parseBlocks(params.blocks);
  if (parsed.error) return { error: parsed.error };
  const text = asString(params.text);
  const hasAttachments = params.attachments !== undefined && params.attachments !== '';
  if (requireContent && !text && !(parsed.blocks && parsed.blocks.length > 0) && !hasAttachments)
    return { error: fail('no_text') };
  if (text && text.length > SLACK_TEXT_LIMIT) return { error: fail('msg_too_long') };
  return { ...(text !== undefined && { text }), ...(parsed.blocks && { blocks: parsed.blocks }) };
}
