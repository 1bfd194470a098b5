/**
 * Thread replies are coalesced per thread. In a whole-cluster evacuation one approval starts dozens of runs in one
 * channel, each posting a reply per step, and Slack takes about one chat.postMessage a second per channel: one
 * message per reply would take minutes to drain. So when a reply's send slot comes, the text replies of its thread
 * that wait behind it (asked for, not yet posted) go with it as one message — in the order they were asked for,
 * each whole (texts one per line, blocks one after another), split where a message would pass Slack's 40,000
 * characters or 50 blocks (merge-replies.ts) — and the jobs of the replies it carried then post nothing.
 *
 * The state lives in Redis beside the thread's order (thread-order.ts), changed only by Lua, so every notify worker
 * process sees the same: the content of each waiting reply, which reply's job claimed it, and which replies were
 * posted within another's message. A reply claims when its turn comes (before it waits for its slot) and again at
 * the slot, taking what was queued meanwhile; a reply held by another, or with an elder holding claims, takes no
 * slot of its own (reserved slots nobody uses would leave the channel idle) and waits until that one is posted or
 * gives it back. Like the status coalescer's claims:
 * - a retriable failure (429, 5xx) keeps the claims, and the claimer's next attempt takes them again (with any
 *   reply queued since); a worker that dies between claiming and posting leaves its job to BullMQ's stalled-job
 *   recovery, and the rerun finds its claims;
 * - a claimer that gives up frees its claims, so the replies it held post themselves; a claim older than the retry
 *   budget is free too (its claimer is gone);
 * - a merged message Slack refuses frees its claims and marks each of its replies to go alone, so only the one at
 *   fault is dropped.
 * Files (a run's report) are never merged: a file stops a merge, so it keeps its place after the replies asked for
 * before it. As with a single reply, a worker killed after Slack accepted the message but before it was recorded
 * posts it again.
 */
import type { Redis } from 'ioredis';
import { NotifyKeys } from '../../store/keys.js';
import { loadScript } from '../../store/script.js';
import { REPLY_MARKER_TTL_MS, STATE_TTL_MS } from './notify-jobs.js';
import type { NotifyMessage } from './notify-jobs.js';
import type { PendingReply } from './merge-replies.js';
import type { ThreadReply } from './thread-order.js';

// --- Lua (`thread` is the thread's order, `bodies` the waiting replies' content, `claims` who posts each,
// `posted` the replies posted within another's message) ---

/** Producer side: the reply takes its place in the thread, with its content. */
const JOIN_REPLY = loadScript('join-reply', {
  keys: ['thread', 'reply', 'posted', 'bodies'],
  args: ['askedAt', 'dedupeId', 'body', 'ttl'],
});

/** Worker side, at the send slot: the reply claims itself and the text replies waiting behind it. */
const CLAIM_REPLIES = loadScript('claim-replies', {
  keys: ['thread', 'bodies', 'claims', 'posted'],
  args: ['dedupeId', 'now', 'staleMs', 'ttl'],
});

/** The replies sent in one message are posted; the claimer's other claims are freed. */
const FINISH_REPLIES = loadScript('finish-replies', {
  keys: ['thread', 'bodies', 'claims', 'posted'],
  args: ['claimer', 'ids', 'markerTtl'],
});

/** Frees a claimer's claims (optionally: each of those replies goes alone from now on). */
const RELEASE_REPLIES = loadScript('release-replies', { keys: ['claims'], args: ['claimer', 'solo'] });

/** What a reply's job finds at its send slot. */
export type ReplyClaim =
  | { outcome: 'posted' }
  | { outcome: 'merged'; claimer: string }
  /** `replies` starts with the claimer's own (content '' when the producer stored none: read it from the job). */
  | { outcome: 'claimed'; replies: PendingReply[] };

type Reply = Pick<ThreadReply, 'threadKey' | 'dedupeId'>;

export class ReplyCoalescer {
  private readonly keys: NotifyKeys;

  /** `staleMs`: a claim this old is free (more than a claimer's whole retry budget; producers never read it). */
  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly staleMs = 16 * 60_000,
  ) {
    this.keys = new NotifyKeys(prefix);
  }

  private threadKeys(threadKey: string) {
    return {
      thread: this.keys.thread(threadKey),
      bodies: this.keys.replyBodies(threadKey),
      claims: this.keys.replyClaims(threadKey),
      posted: this.keys.repliesPosted(threadKey),
    };
  }

  /** Producer side: the reply takes its place in its thread (a repeat keeps the first place and content). */
  async join(reply: ThreadReply & { message: NotifyMessage }): Promise<void> {
    const { text, blocks } = reply.message;
    await JOIN_REPLY.run(this.redis, {
      keys: {
        thread: this.keys.thread(reply.threadKey),
        reply: this.keys.reply(reply.threadKey, reply.dedupeId),
        posted: this.keys.repliesPosted(reply.threadKey),
        bodies: this.keys.replyBodies(reply.threadKey),
      },
      args: {
        askedAt: reply.createdAt,
        dedupeId: reply.dedupeId,
        body: JSON.stringify({ text, ...(blocks && { blocks }) }),
        ttl: STATE_TTL_MS,
      },
    });
  }

  /** Whether the reply went out within another reply's message. */
  async mergedAway(reply: Reply): Promise<boolean> {
    return (await this.redis.hexists(this.keys.repliesPosted(reply.threadKey), reply.dedupeId)) === 1;
  }

  /**
   * The reply that will carry this one, so it must not take a slot of its own (read only): its claimer, or an elder
   * in the thread's order holding a claim (it takes this one too when its slot comes). Undefined when free.
   */
  async heldBy(reply: Reply, now: number): Promise<string | undefined> {
    const claims = await this.redis.hgetall(this.keys.replyClaims(reply.threadKey));
    const live = new Set<string>();
    for (const [id, value] of Object.entries(claims)) {
      const match = /^(.*)\|(\d+)$/s.exec(value);
      if (!match?.[1] || match[1] === reply.dedupeId || now - Number(match[2]) >= this.staleMs) continue;
      if (id === reply.dedupeId) return match[1];
      live.add(match[1]);
    }
    if (live.size === 0) return undefined;
    const thread = this.keys.thread(reply.threadKey);
    const mine = await this.redis.zscore(thread, reply.dedupeId);
    for (const claimer of live) {
      const theirs = await this.redis.zscore(thread, claimer);
      if (mine === null || (theirs !== null && Number(theirs) <= Number(mine))) return claimer;
    }
    return undefined;
  }

  /** At the send slot: claims the reply and those that may go with it. */
  async claim(reply: Reply, now: number): Promise<ReplyClaim> {
    const answer = (await CLAIM_REPLIES.run(this.redis, {
      keys: this.threadKeys(reply.threadKey),
      args: { dedupeId: reply.dedupeId, now, staleMs: this.staleMs, ttl: STATE_TTL_MS },
    })) as string[];
    if (answer[0] === 'posted') return { outcome: 'posted' };
    if (answer[0] === 'merged') return { outcome: 'merged', claimer: answer[1] ?? '' };
    const replies: PendingReply[] = [];
    for (let i = 1; i + 1 < answer.length; i += 2) {
      const body = answer[i + 1] ?? '';
      const message = body ? (JSON.parse(body) as NotifyMessage) : { text: '' };
      replies.push({ dedupeId: answer[i] ?? '', message });
    }
    return { outcome: 'claimed', replies };
  }

  /** `claimer` posted `dedupeIds` (its own first) in one message; what else it claimed is free again. */
  async finish(claimer: Reply, dedupeIds: string[]): Promise<void> {
    await FINISH_REPLIES.run(this.redis, {
      keys: this.threadKeys(claimer.threadKey),
      args: { claimer: claimer.dedupeId, ids: JSON.stringify(dedupeIds), markerTtl: REPLY_MARKER_TTL_MS },
    });
  }

  /** `claimer` will not post what it claimed; with `solo`, each of those replies goes alone from now on. */
  async release(claimer: Reply, solo: boolean): Promise<void> {
    await RELEASE_REPLIES.run(this.redis, {
      keys: { claims: this.keys.replyClaims(claimer.threadKey) },
      args: { claimer: claimer.dedupeId, solo: solo ? '1' : '' },
    });
  }
}
