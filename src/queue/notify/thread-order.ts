/**
 * Thread replies go out in the order they were asked for. Replies racing for a paced channel's slots would
 * otherwise land as they happen to be picked up, so each thread keeps its waiting replies in Redis by when they
 * were asked for, and only the oldest may take a slot. A reply whose elders are stuck goes anyway after a while.
 * A posted reply leaves a marker, so a repeat of its dedupeId (a retried step, a redelivered job) posts nothing.
 */
import type { Redis } from 'ioredis';
import type { Clock } from '../../core/ports.js';
import { NotifyKeys } from '../../store/keys.js';
import { loadScript } from '../../store/script.js';
import { REPLY_MARKER_TTL_MS, STATE_TTL_MS } from './notify-jobs.js';

// --- Lua (`thread` is the thread's sorted set of waiting dedupeIds, `reply` the reply's posted marker) ---

/** Puts a reply in its thread's order, unless it was posted already. */
const JOIN_THREAD = loadScript('join-thread', {
  keys: ['thread', 'reply'],
  args: ['askedAt', 'dedupeId', 'ttl'],
});

/** The reply leaves the order; if posted, it is marked. */
const LEAVE_THREAD = loadScript('leave-thread', {
  keys: ['thread', 'reply'],
  args: ['dedupeId', 'markerTtl'],
});

// --- The order ---

/** A reply waits at most this long (from when it was asked for) for older replies of its thread to go first. */
export const THREAD_ORDER_WAIT_MS = 20_000;

/** One reply: `threadKey` is its parent status message's key; `createdAt` is when it was asked for. */
export interface ThreadReply {
  threadKey: string;
  dedupeId: string;
  createdAt: number;
}

export class ThreadOrder {
  private readonly keys: NotifyKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly clock: Clock,
  ) {
    this.keys = new NotifyKeys(prefix);
  }

  /** Producer side: the reply takes its place in the thread (a repeat keeps the first place). */
  async join(reply: ThreadReply): Promise<void> {
    await JOIN_THREAD.run(this.redis, {
      keys: {
        thread: this.keys.thread(reply.threadKey),
        reply: this.keys.reply(reply.threadKey, reply.dedupeId),
      },
      args: { askedAt: reply.createdAt, dedupeId: reply.dedupeId, ttl: STATE_TTL_MS },
    });
  }

  /** Whether a reply with this dedupeId is in Slack already. */
  async posted(reply: Pick<ThreadReply, 'threadKey' | 'dedupeId'>): Promise<boolean> {
    return (await this.redis.exists(this.keys.reply(reply.threadKey, reply.dedupeId))) === 1;
  }

  /** Whether the reply may take a send slot now: no older reply of its thread waits, or it has waited long enough. */
  async isTurn(reply: ThreadReply): Promise<boolean> {
    if (this.clock.now() - reply.createdAt >= THREAD_ORDER_WAIT_MS) return true;
    const [oldest] = await this.redis.zrange(this.keys.thread(reply.threadKey), 0, 0);
    return oldest === undefined || oldest === reply.dedupeId;
  }

  /** The reply is done: posted (and marked, so a repeat posts nothing) or given up. */
  async leave(reply: Pick<ThreadReply, 'threadKey' | 'dedupeId'>, posted: boolean): Promise<void> {
    await LEAVE_THREAD.run(this.redis, {
      keys: {
        thread: this.keys.thread(reply.threadKey),
        reply: this.keys.reply(reply.threadKey, reply.dedupeId),
      },
      args: { dedupeId: reply.dedupeId, markerTtl: posted ? REPLY_MARKER_TTL_MS : '' },
    });
  }
}
