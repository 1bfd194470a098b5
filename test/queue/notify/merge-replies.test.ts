/** Packing waiting thread replies into one Slack message: order kept, each reply whole, Slack's limits respected. */
import { describe, expect, it } from 'vitest';
import { SLACK_MAX_BLOCKS, SLACK_TEXT_LIMIT, packReplies } from '../../../src/queue/notify/merge-replies.js';

const section = (text: string, blockId?: string) => ({
  type: 'section',
  ...(blockId && { block_id: blockId }),
  text: { type: 'mrkdwn', text },
});

describe('packReplies', () => {
  it('joins texts one per line, in the order given', () => {
    const packed = packReplies(['a', 'b', 'c'].map((t) => ({ dedupeId: t, message: { text: `${t} done` } })));
    expect(packed).toEqual({ dedupeIds: ['a', 'b', 'c'], message: { text: 'a done\nb done\nc done' } });
  });

  it(`stops before ${SLACK_TEXT_LIMIT} characters and ${SLACK_MAX_BLOCKS} blocks, never splitting a reply`, () => {
    const long = (id: string) => ({ dedupeId: id, message: { text: id.repeat(20_000) } });
    expect(packReplies([long('a'), long('b')]).dedupeIds).toEqual(['a']);
    const tall = (id: string, n: number) => ({
      dedupeId: id,
      message: { text: id, blocks: Array.from({ length: n }, (_, i) => section(`${id}${i}`)) },
    });
    const packed = packReplies([tall('a', 30), tall('b', 20), tall('c', 1)]);
    expect(packed.dedupeIds).toEqual(['a', 'b']);
    expect(packed.message.blocks).toHaveLength(50);
    expect(packed.message.text).toBe('a\nb');
    // A reply past the limits on its own still goes (alone), as it would have unmerged.
    expect(packReplies([tall('x', 60), tall('y', 1)]).dedupeIds).toEqual(['x']);
  });

  it('does not mix replies with and without blocks, nor repeat a block_id', () => {
    const plain = { dedupeId: 'p', message: { text: 'plain' } };
    const rich = (id: string, blockId?: string) => ({
      dedupeId: id,
      message: { text: id, blocks: [section(id, blockId)] },
    });
    expect(packReplies([plain, rich('r')]).dedupeIds).toEqual(['p']);
    expect(packReplies([rich('r'), plain]).dedupeIds).toEqual(['r']);
    expect(packReplies([rich('r1', 'step'), rich('r2', 'other'), rich('r3', 'step')]).dedupeIds).toEqual([
      'r1',
      'r2',
    ]);
  });
});
