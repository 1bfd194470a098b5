/**
 * The state of status messages (one Slack message per key, e.g. `run:<site>:<id>`, posted once then updated in
 * place), kept in Redis so any worker can update it. Updates are coalesced: a producer stores the newest content
 * under a higher version and starts a new generation (a new job) only when no job for the key is waiting; the
 * worker claims the key just before it posts and posts whatever is newest. An update that lands while v3 is being
 * posted therefore starts generation n+1 instead of being swallowed by the active job.
 *
 * New messages of a channel go out in the order they were asked for: a key not yet in Slack waits in its channel's
 * `posts` until those asked for before it are posted. Jobs picked up together by a worker of concurrency 16 would
 * otherwise race for the channel's send slots, and each Slack request takes its own time to arrive, so the fence-debt
 * reconciler's "east is back and writable" could land above "east fenced". Updates of posted messages skip this.
 *
 * Nothing here reads a clock: versions, generations and arrival order order everything, times are passed in, and
 * Redis expires what is left.
 */
import type { Redis } from 'ioredis';
import { NotifyKeys } from '../../store/keys.js';
import { loadScript } from '../../store/script.js';
import { STATE_TTL_MS } from './notify-jobs.js';
import type { NotifyMessage } from './notify-jobs.js';

// --- Lua (`status` is the key's hash: channel, text, blocks, version, posted, ts, gen, queued) ---

/** Producer side: stores the newest content; returns {version, generation whose job carries it (0: none)}. */
const UPDATE_STATUS = loadScript('update-status', {
  keys: ['status', 'posts'],
  args: ['channel', 'text', 'blocks', 'ttl', 'key', 'askedAt'],
});

/** Worker side, just before posting: {'claimed', …newest content}, {'superseded'} or {'missing'}. */
const CLAIM_STATUS = loadScript('claim-status', { keys: ['status'], args: ['gen'] });

/** Gives the key back to a job that will run again, unless a newer job exists. */
const UNCLAIM_STATUS = loadScript('unclaim-status', { keys: ['status'], args: ['gen'] });

/** Records the version posted and the message's ts ('' when unchanged). */
const RECORD_POSTED = loadScript('record-posted', {
  keys: ['status', 'posts?'],
  args: ['version', 'ts', 'key'],
});

/** Releases the key's lock, only for its holder. */
const RELEASE_LOCK = loadScript('release-lock', { keys: ['lock'], args: ['holder'] });

// --- The coalescer ---

/** A claimed key holds a post for a lost worker this long (Redis-side expiry). */
const KEY_LOCK_MS = 30_000;

/** A new message waits at most this long (from when it was asked for) for those asked for before it to be posted. */
export const POST_ORDER_WAIT_MS = 20_000;

/** The stored state of a status message, as the notify worker sees it. */
export interface StatusMessageState {
  channel: string;
  /** ts of the Slack message once posted. */
  ts?: string;
  version: number;
  postedVersion: number;
}

/** What a status job finds before it waits for a send slot. */
export type StatusCheck =
  | { outcome: 'missing' | 'superseded' | 'up-to-date' }
  | { outcome: 'pending'; channel: string; posted: boolean; askedAt?: number };

/** What a status job claimed: the newest content, to post (no ts) or to update in place. */
export type StatusClaim =
  | { outcome: 'missing' | 'superseded' | 'up-to-date' }
  | { outcome: 'claimed'; channel: string; ts: string; version: number; message: NotifyMessage };

export class StatusCoalescer {
  private readonly keys: NotifyKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new NotifyKeys(prefix);
  }

  /**
   * Stores the newest content of `key`; returns the generation whose job will post it, or 0 when that content is
   * already in Slack and nothing needs queueing.
   */
  async update(key: string, channel: string, message: NotifyMessage, askedAt?: number): Promise<number> {
    const blocks = message.blocks ? JSON.stringify(message.blocks) : '';
    const [, gen] = (await UPDATE_STATUS.run(this.redis, {
      keys: { status: this.keys.status(key), posts: this.keys.posts(channel) },
      args: { channel, text: message.text, blocks, ttl: STATE_TTL_MS, key, askedAt: askedAt ?? '' },
    })) as [number, number];
    return gen;
  }

  /** Whether generation `gen` of `key` has anything to post, and in which channel (read only). */
  async check(key: string, gen: number): Promise<StatusCheck> {
    const [current, channel, queued, version, posted, ts, askedAt] = await this.redis.hmget(
      this.keys.status(key),
      'gen',
      'channel',
      'queued',
      'version',
      'posted',
      'ts',
      'askedAt',
    );
    if (!current || !channel) return { outcome: 'missing' };
    if (gen < Number(current)) return { outcome: 'superseded' };
    if (queued !== '1' && Number(posted ?? 0) >= Number(version ?? 0)) return { outcome: 'up-to-date' };
    return { outcome: 'pending', channel, posted: Boolean(ts), ...(askedAt && { askedAt: Number(askedAt) }) };
  }

  /**
   * Whether new message `key` may be posted in `channel` now: nothing asked for before it waits there, or it has
   * waited POST_ORDER_WAIT_MS (an elder that keeps failing does not hold the channel for its whole retry budget).
   */
  async isTurn(key: string, channel: string, askedAt: number | undefined, now: number): Promise<boolean> {
    if (askedAt === undefined || now - askedAt >= POST_ORDER_WAIT_MS) return true;
    const [first] = await this.redis.zrange(this.keys.posts(channel), 0, 0);
    return first === undefined || first === key;
  }

  /** The message of `key` will not be posted (its job gave up): the channel's next new message may go. */
  async leavePosts(key: string): Promise<void> {
    const channel = await this.redis.hget(this.keys.status(key), 'channel');
    if (channel) await this.redis.zrem(this.keys.posts(channel), key);
  }

  /**
   * Takes the key's lock (one post of a key at a time, across workers); returns its release, or undefined when
   * another job holds it.
   */
  async lock(key: string, holder: string): Promise<(() => Promise<void>) | undefined> {
    const lockKey = this.keys.lock(key);
    if ((await this.redis.set(lockKey, holder, 'PX', KEY_LOCK_MS, 'NX')) !== 'OK') return undefined;
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      await RELEASE_LOCK.run(this.redis, { keys: { lock: lockKey }, args: { holder } });
    };
  }

  /** Takes the key for generation `gen`, so updates from now on start a new job; returns the newest content. */
  async claim(key: string, gen: number): Promise<StatusClaim> {
    const claim = (await CLAIM_STATUS.run(this.redis, {
      keys: { status: this.keys.status(key) },
      args: { gen },
    })) as string[];
    if (claim[0] !== 'claimed') return { outcome: claim[0] === 'superseded' ? 'superseded' : 'missing' };
    const [, channel = '', text = '', blocks = '', version = '0', posted = '0', ts = ''] = claim;
    if (Number(posted) >= Number(version)) return { outcome: 'up-to-date' };
    return {
      outcome: 'claimed',
      channel,
      ts,
      version: Number(version),
      message: { text, ...(blocks && { blocks: JSON.parse(blocks) as unknown[] }) },
    };
  }

  /** Gives the key back to generation `gen`, which will run again (429, retriable failure). */
  async unclaim(key: string, gen: number): Promise<void> {
    await UNCLAIM_STATUS.run(this.redis, { keys: { status: this.keys.status(key) }, args: { gen } });
  }

  /**
   * `version` is in Slack; `newTs` is the message's ts when it was posted anew (omitted: updated in place), and
   * then the message leaves `channel`'s new posts.
   */
  async recordPosted(key: string, version: number, newTs?: string, channel?: string): Promise<void> {
    await RECORD_POSTED.run(this.redis, {
      keys: { status: this.keys.status(key), ...(channel && { posts: this.keys.posts(channel) }) },
      args: { version, ts: newTs ?? '', key },
    });
  }

  /** Where status message `key` stands (null when it was never posted to, or has expired). */
  async state(key: string): Promise<StatusMessageState | null> {
    const [channel, ts, version, posted] = await this.redis.hmget(
      this.keys.status(key),
      'channel',
      'ts',
      'version',
      'posted',
    );
    if (!channel) return null;
    return { channel, ...(ts && { ts }), version: Number(version ?? 0), postedVersion: Number(posted ?? 0) };
  }
}
