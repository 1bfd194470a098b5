/**
 * Packs thread replies, in the order they were asked for, into the first message Slack will take: each reply whole,
 * texts one per line, blocks one after another. Pure; reply-coalescer.ts decides which replies may be packed.
 */
import type { NotifyMessage } from './notify-jobs.js';

/** Slack truncates `text` past 40,000 characters (chat.postMessage, "Truncating content"). */
export const SLACK_TEXT_LIMIT = 40_000;
/** A message takes at most 50 blocks (Block Kit reference, "Blocks": "up to 50 blocks in each message"). */
export const SLACK_MAX_BLOCKS = 50;

/** One waiting reply and its content. */
export interface PendingReply {
  dedupeId: string;
  message: NotifyMessage;
}

/** The first message to send: the replies it carries (a prefix of those given) and its content. */
export interface PackedReplies {
  dedupeIds: string[];
  message: NotifyMessage;
}

const blockIds = (blocks: unknown[]) =>
  blocks.flatMap((block) => {
    const id = (block as { block_id?: unknown } | null)?.block_id;
    return typeof id === 'string' ? [id] : [];
  });

/**
 * The longest prefix of `replies` that fits one message (always at least the first reply, whatever its size).
 * Replies with blocks and replies without are not mixed (a message with blocks shows only its blocks), and block_ids
 * must stay unique within a message (Slack refuses the message otherwise).
 */
export function packReplies(replies: readonly PendingReply[]): PackedReplies {
  const [first, ...rest] = replies;
  if (!first) throw new Error('packReplies needs at least one reply');
  const withBlocks = first.message.blocks !== undefined;
  const dedupeIds = [first.dedupeId];
  const texts = [first.message.text];
  const blocks = [...(first.message.blocks ?? [])];
  const ids = new Set(blockIds(blocks));
  let length = first.message.text.length;
  for (const reply of rest) {
    const more = reply.message.blocks;
    if ((more !== undefined) !== withBlocks) break;
    if (length + 1 + reply.message.text.length > SLACK_TEXT_LIMIT) break;
    if (more && blocks.length + more.length > SLACK_MAX_BLOCKS) break;
    const moreIds = more ? blockIds(more) : [];
    if (moreIds.some((id) => ids.has(id))) break;
    moreIds.forEach((id) => ids.add(id));
    dedupeIds.push(reply.dedupeId);
    texts.push(reply.message.text);
    if (more) blocks.push(...more);
    length += 1 + reply.message.text.length;
  }
  return { dedupeIds, message: { text: texts.join('\n'), ...(withBlocks && { blocks }) } };
}
