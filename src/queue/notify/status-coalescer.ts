/**
 * The state of status messages (one Slack message per key, e.g. `run:<site>:<id>`, posted once then updated in
 * place), kept in Redis so any worker can update it. Updates are coalesced: a producer stores the newest content
 * under a higher version and starts a new generation (a new job) only when no job for the key is waiting; the
 * worker claims the key just before it posts and posts whatever is newest. An update that lands while v3 is being
 * posted therefore starts generation n+1 instead of being swallowed by the active job.
 *
 * Nothing here reads a clock: versions and generations order everything, and Redis expires what is left.
 */
import type { Redis } from 'ioredis';
import { Script } from '../../store/script.js';
import { STATE_TTL_MS, notifyStateKeys } from './notify-jobs.js';
import type { NotifyMessage, NotifyStateKeys } from './notify-jobs.js';

// --- Lua (KEYS[1] is the key's hash: channel, text, blocks, version, posted, ts, gen, queued) ---

/**
 * Producer side. ARGV: channel, text, blocks (JSON or ''), ttl. Stores the newest content, bumps the version and
 * returns {version, generation whose job carries it}; generation 0 when the same content is already posted and
 * nothing is queued. A new generation starts only when no job is waiting (`queued` = 0). A key moved to another
 * channel starts a new message there.
 */
const UPDATE_STATUS = new Script(`
local h = KEYS[1]
local current = redis.call('HMGET', h, 'channel', 'text', 'blocks', 'version', 'posted', 'queued')
-- The same content, already posted and nothing queued: no change, no job (callers may publish often).
if current[1] == ARGV[1] and current[2] == ARGV[2] and current[3] == ARGV[3] and current[6] ~= '1'
   and tonumber(current[5] or '0') >= tonumber(current[4] or '0') and tonumber(current[4] or '0') > 0 then
  redis.call('PEXPIRE', h, ARGV[4])
  return {tonumber(current[4]), 0}
end
local previous = current[1]
if previous and previous ~= ARGV[1] then redis.call('HDEL', h, 'ts', 'posted') end
redis.call('HSET', h, 'channel', ARGV[1], 'text', ARGV[2], 'blocks', ARGV[3])
local version = redis.call('HINCRBY', h, 'version', 1)
local gen
if redis.call('HGET', h, 'queued') == '1' then
  gen = tonumber(redis.call('HGET', h, 'gen') or '1')
else
  redis.call('HSET', h, 'queued', '1')
  gen = redis.call('HINCRBY', h, 'gen', 1)
end
redis.call('PEXPIRE', h, ARGV[4])
return {version, gen}
`);

/**
 * Worker side, just before posting. ARGV: the job's generation. A job of an older generation is superseded;
 * otherwise the job takes the key (`queued` = 0, so the next update starts a new job) and reads the newest content.
 */
const CLAIM_STATUS = new Script(`
local h = KEYS[1]
local gen = tonumber(redis.call('HGET', h, 'gen') or '0')
if gen == 0 then return {'missing'} end
if tonumber(ARGV[1]) < gen then return {'superseded'} end
redis.call('HSET', h, 'queued', '0')
local f = redis.call('HMGET', h, 'channel', 'text', 'blocks', 'version', 'posted', 'ts')
return {'claimed', f[1] or '', f[2] or '', f[3] or '', f[4] or '0', f[5] or '0', f[6] or ''}
`);

/** ARGV: the job's generation. Gives the key back to a job that will run again, unless a newer job exists. */
const UNCLAIM_STATUS = new Script(`
local gen = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
if tonumber(ARGV[1]) == gen then redis.call('HSET', KEYS[1], 'queued', '1') return 1 end
return 0
`);

/** ARGV: the version posted, the message's ts ('' when unchanged). */
const RECORD_POSTED = new Script(`
local h = KEYS[1]
if redis.call('EXISTS', h) == 0 then return 0 end
local posted = tonumber(redis.call('HGET', h, 'posted') or '0')
if tonumber(ARGV[1]) > posted then redis.call('HSET', h, 'posted', ARGV[1]) end
if ARGV[2] ~= '' then redis.call('HSET', h, 'ts', ARGV[2]) end
return 1
`);

/** KEYS[1] is the key's lock; ARGV: the holder's token. */
const RELEASE_LOCK = new Script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

// --- The coalescer ---

/** A claimed key holds a post for a lost worker this long (Redis-side expiry). */
const KEY_LOCK_MS = 30_000;

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
  | { outcome: 'pending'; channel: string; posted: boolean };

/** What a status job claimed: the newest content, to post (no ts) or to update in place. */
export type StatusClaim =
  | { outcome: 'missing' | 'superseded' | 'up-to-date' }
  | { outcome: 'claimed'; channel: string; ts: string; version: number; message: NotifyMessage };

export class StatusCoalescer {
  private readonly keys: NotifyStateKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = notifyStateKeys(prefix);
  }

  /**
   * Stores the newest content of `key`; returns the generation whose job will post it, or 0 when that content is
   * already in Slack and nothing needs queueing.
   */
  async update(key: string, channel: string, message: NotifyMessage): Promise<number> {
    const blocks = message.blocks ? JSON.stringify(message.blocks) : '';
    const args = [channel, message.text, blocks, STATE_TTL_MS];
    const [, gen] = (await UPDATE_STATUS.run(this.redis, [this.keys.status(key)], args)) as [number, number];
    return gen;
  }

  /** Whether generation `gen` of `key` has anything to post, and in which channel (read only). */
  async check(key: string, gen: number): Promise<StatusCheck> {
    const [current, channel, queued, version, posted, ts] = await this.redis.hmget(
      this.keys.status(key),
      'gen',
      'channel',
      'queued',
      'version',
      'posted',
      'ts',
    );
    if (!current || !channel) return { outcome: 'missing' };
    if (gen < Number(current)) return { outcome: 'superseded' };
    if (queued !== '1' && Number(posted ?? 0) >= Number(version ?? 0)) return { outcome: 'up-to-date' };
    return { outcome: 'pending', channel, posted: Boolean(ts) };
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
      await RELEASE_LOCK.run(this.redis, [lockKey], [holder]);
    };
  }

  /** Takes the key for generation `gen`, so updates from now on start a new job; returns the newest content. */
  async claim(key: string, gen: number): Promise<StatusClaim> {
    const claim = (await CLAIM_STATUS.run(this.redis, [this.keys.status(key)], [gen])) as string[];
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
    await UNCLAIM_STATUS.run(this.redis, [this.keys.status(key)], [gen]);
  }

  /** `version` is in Slack; `newTs` is the message's ts when it was posted anew (omitted: updated in place). */
  async recordPosted(key: string, version: number, newTs?: string): Promise<void> {
    await RECORD_POSTED.run(this.redis, [this.keys.status(key)], [version, newTs ?? '']);
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
