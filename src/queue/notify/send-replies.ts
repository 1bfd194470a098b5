/**
 * A thread reply's send, once its slot has come: it claims itself and the replies of its thread that wait behind it
 * (reply-coalescer.ts), posts as many as fit one message (merge-replies.ts), and records them posted. Throws
 * SlackApiError like a single post would; a retriable failure keeps the claims for the job's next attempt.
 */
import { SlackApiError, toSlackApiError } from '../../adapters/slack-web.js';
import { packReplies } from './merge-replies.js';
import type { ReplyJobData } from './notify-jobs.js';
import type { NotifySlack } from './notify-policy.js';
import type { ReplyCoalescer } from './reply-coalescer.js';

/** `held`: another reply's job holds this one (it will post it, or give it back); wait and look again. */
export type SendRepliesOutcome = 'posted' | 'held';

export async function sendReplies(
  replies: ReplyCoalescer,
  postMessage: NotifySlack['chat']['postMessage'],
  reply: ReplyJobData,
  to: { channel: string; parentTs: string; now: number },
): Promise<SendRepliesOutcome> {
  const claim = await replies.claim(reply, to.now);
  if (claim.outcome === 'posted') return 'posted';
  if (claim.outcome === 'merged') return 'held';
  // Its own content comes from the job (a job queued before replies kept their content in Redis has none there).
  const own = { text: reply.text, ...(reply.blocks && { blocks: reply.blocks }) };
  const { dedupeIds, message } = packReplies([
    { dedupeId: reply.dedupeId, message: own },
    ...claim.replies.slice(1),
  ]);
  try {
    await postMessage({
      channel: to.channel,
      thread_ts: to.parentTs,
      text: message.text,
      ...(message.blocks && { blocks: message.blocks }),
    });
  } catch (error) {
    const failure = toSlackApiError(error, 'chat.postMessage', to.channel);
    if (failure.retriable) throw failure;
    // Refused: the replies it carried go one by one, so only the one at fault is dropped.
    const merged = dedupeIds.length > 1;
    await replies.release(reply, merged);
    if (!merged) throw failure;
    throw new SlackApiError(
      failure.code,
      `${failure.message}; the ${dedupeIds.length} replies merged into it go one by one`,
      { method: failure.method, retriable: true, cause: failure },
    );
  }
  await replies.finish(reply, dedupeIds);
  return 'posted';
}
