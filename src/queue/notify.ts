/**
 * The notify queue (DESIGN §4): everything Baton says in Slack goes through it, so a slow or absent Slack never
 * delays a failover step.
 *
 * - Status messages are coalesced. A producer stores the newest content of key K in Redis with a higher version
 *   and enqueues "K changed" only when no job for K is waiting; the worker posts whatever is newest when it runs,
 *   once with chat.postMessage, then in place with chat.update (the ts lives in Redis, so any worker can update).
 *   Job ids carry a generation: the worker claims K before it posts, so an update that lands while v3 is being
 *   posted starts generation n+1 (a new job) instead of being swallowed by the active job's id.
 * - Posting is paced per channel (about one message a second, Slack's limit) by a Lua script that hands out send
 *   slots shared by every worker process; a job whose slot is in the future moves itself to delayed instead of
 *   sleeping. A 429 blocks the channel for Retry-After; 5xx and network errors retry with capped exponential
 *   backoff for a time budget (15 min for status and thread replies), then the job is dropped and logged; Slack's
 *   refusals (channel_not_found, invalid_auth, …) are not retried.
 * - Producers never throw and give up after a short time box: the caller's next step never waits on Slack.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Job, MinimalJob } from 'bullmq';
import { DelayedError, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { postToResponseUrl, toSlackApiError } from '../adapters/slack-web.js';
import type { SlackApiError } from '../adapters/slack-web.js';
import type { Log } from '../core/ports.js';
import { describeError } from '../errors.js';
import type { BatonMetrics } from '../metrics.js';

export const NOTIFY_QUEUE = 'notify';

/** What Baton posts: `text` is always set (notifications and screen readers use it), `blocks` optional. */
export interface NotifyMessage {
  text: string;
  blocks?: unknown[];
}

/** The Slack calls the notify worker makes; `createSlackWebClient()` satisfies it. */
export interface NotifySlack {
  chat: {
    postMessage(args: {
      channel: string;
      text: string;
      blocks?: unknown[];
      thread_ts?: string;
    }): Promise<{ ts?: string; channel?: string }>;
    update(args: { channel: string; ts: string; text: string; blocks?: unknown[] }): Promise<unknown>;
    postEphemeral(args: {
      channel: string;
      user: string;
      text: string;
      blocks?: unknown[];
    }): Promise<unknown>;
  };
}

/** Posts a body to a response_url; throws SlackApiError. */
export type RespondFn = (responseUrl: string, body: Record<string, unknown>) => Promise<void>;

/** BullMQ lock settings: a killed notify worker's jobs resume within seconds. */
export const NOTIFY_WORKER_SETTINGS = {
  lockDuration: 15_000,
  stalledInterval: 5_000,
  maxStalledCount: 5,
} as const;

/** Retry pacing of failed Slack calls: capped exponential backoff within a time budget per job. */
export interface NotifyRetryPolicy {
  baseMs: number;
  maxMs: number;
  /** Status updates and thread replies: give up this long after the job was created. */
  giveUpAfterMs: number;
  /** Ephemerals and response_url replies answer a click; late, they only confuse. */
  interactiveGiveUpAfterMs: number;
}

export const DEFAULT_NOTIFY_RETRY: NotifyRetryPolicy = {
  baseMs: 1_000,
  maxMs: 60_000,
  giveUpAfterMs: 15 * 60_000,
  interactiveGiveUpAfterMs: 60_000,
};

const BACKOFF_TYPE = 'baton-notify';
/** Attempts are bounded by time (the retry policy), not by count. */
const MAX_ATTEMPTS = 10_000;
const STATE_TTL_MS = 30 * 24 * 3600_000;
const REPLY_MARKER_TTL_MS = 7 * 24 * 3600_000;
const KEY_LOCK_MS = 30_000;
const LOCK_RETRY_MS = 200;
const PARENT_POLL_MS = 500;
/** A reply waits at most this long (from when it was asked for) for older replies of its thread to go first. */
const THREAD_ORDER_WAIT_MS = 20_000;

const b64 = (value: string) => Buffer.from(value, 'utf8').toString('base64url');

/** Redis keys of the notify state, beside (never inside) BullMQ's `<prefix>:notify:*` keys. */
const stateKeys = (prefix: string) => {
  const base = `${prefix}:notify-state`;
  return {
    status: (key: string) => `${base}:status:${key}`,
    lock: (key: string) => `${base}:lock:${key}`,
    channel: (channel: string) => `${base}:channel:${channel}`,
    reply: (threadKey: string, dedupeId: string) => `${base}:reply:${b64(threadKey)}:${b64(dedupeId)}`,
    /** The thread's replies not yet posted, by when they were asked for: only the oldest may take a slot. */
    thread: (threadKey: string) => `${base}:thread:${b64(threadKey)}`,
  };
};

/** Deterministic job ids (no `:`): one per generation of a status key, one per thread reply. */
export const statusJobId = (key: string, generation: number) => `status-${b64(key)}-${generation}`;
export const replyJobId = (threadKey: string, dedupeId: string) =>
  `reply-${createHash('sha256').update(`${threadKey}\n${dedupeId}`).digest('base64url').slice(0, 32)}`;

const messageSchema = { text: z.string(), blocks: z.array(z.unknown()).optional() };
// A reserved send slot is valid for the attempt that reserved it; a retry after a failure reserves a new one.
const slotSchema = {
  slot: z.number().optional(),
  slotAttempt: z.number().optional(),
  slotLane: z.string().optional(),
};
const statusJobSchema = z.object({ key: z.string().min(1), gen: z.number().int().positive(), ...slotSchema });
const replyJobSchema = z.object({
  channel: z.string().min(1),
  threadKey: z.string().min(1),
  dedupeId: z.string().min(1),
  createdAt: z.number(),
  ...messageSchema,
  ...slotSchema,
});
const ephemeralJobSchema = z.object({
  channel: z.string().min(1),
  user: z.string().min(1),
  ...messageSchema,
});
const respondJobSchema = z.object({ responseUrl: z.url(), body: z.record(z.string(), z.unknown()) });

type StatusJobData = z.infer<typeof statusJobSchema>;
type ReplyJobData = z.infer<typeof replyJobSchema>;
type NotifyJobData =
  StatusJobData | ReplyJobData | z.infer<typeof ephemeralJobSchema> | z.infer<typeof respondJobSchema>;

/** A Lua script run by sha, loaded on first use (or after a Redis restart forgot it). */
class Script {
  private readonly sha: string;
  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!describeError(error).includes('NOSCRIPT')) throw error;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

/**
 * Producer side of a status update: store the newest content, bump the version, and tell the caller which
 * generation's job carries it. A new generation starts only when no job is waiting for the key (`queued` = 0).
 * A key moved to another channel starts a new message there.
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
 * Worker side, just before posting: a job of an older generation is superseded; otherwise the job takes the key
 * (`queued` = 0, so the next update starts a new job) and reads the newest content.
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

/** Gives the key back to a job that will run again (429, retriable failure) unless a newer job exists. */
const UNCLAIM_STATUS = new Script(`
local gen = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
if tonumber(ARGV[1]) == gen then redis.call('HSET', KEYS[1], 'queued', '1') return 1 end
return 0
`);

const RECORD_POSTED = new Script(`
local h = KEYS[1]
if redis.call('EXISTS', h) == 0 then return 0 end
local posted = tonumber(redis.call('HGET', h, 'posted') or '0')
if tonumber(ARGV[1]) > posted then redis.call('HSET', h, 'posted', ARGV[1]) end
if ARGV[2] ~= '' then redis.call('HSET', h, 'ts', ARGV[2]) end
return 1
`);

/**
 * The per-channel pacer. Returns the job's send slot (ms): its reserved one while valid, else the next free one
 * (never before a 429's Retry-After), advancing the channel's next free slot by one interval.
 */
const TAKE_SLOT = new Script(`
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local reserved = tonumber(ARGV[3])
local blocked = tonumber(redis.call('HGET', KEYS[1], 'blockedUntil') or '0')
if reserved >= 0 and reserved >= blocked then return reserved end
local nextFree = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
local slot = math.max(now, nextFree, blocked)
redis.call('HSET', KEYS[1], 'next', slot + interval)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return slot
`);

/**
 * The last check before a send: a slot is reserved ahead of time, and a job that started late would otherwise send
 * closer than one interval after the send before it. Records the send (0), or returns a fresh slot to wait for.
 */
const CLAIM_SEND = new Script(`
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local last = tonumber(redis.call('HGET', KEYS[1], 'lastSent') or '0')
local blocked = tonumber(redis.call('HGET', KEYS[1], 'blockedUntil') or '0')
local earliest = math.max(last + interval, blocked)
if now >= earliest then
  redis.call('HSET', KEYS[1], 'lastSent', now)
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 0
end
local nextFree = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
local slot = math.max(earliest, nextFree)
redis.call('HSET', KEYS[1], 'next', slot + interval)
return slot
`);

/** Puts a reply in its thread's order, unless it was posted already (a re-publish of a finished step). */
const QUEUE_IN_THREAD = new Script(`
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`);

/** The reply is done (posted, or given up): it leaves the thread's order; `posted` also marks it for dedupe. */
const LEAVE_THREAD = new Script(`
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], '1', 'PX', ARGV[2]) end
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
`);

const BLOCK_CHANNEL = new Script(`
local untilMs = tonumber(ARGV[1])
local current = tonumber(redis.call('HGET', KEYS[1], 'blockedUntil') or '0')
if untilMs > current then redis.call('HSET', KEYS[1], 'blockedUntil', untilMs) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`);

const RELEASE_LOCK = new Script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

export interface NotifierOptions {
  /** Any Baton connection; the time box below keeps a stuck Redis from holding the caller. */
  connection: Redis;
  /** BullMQ prefix; the notify state lives under `<prefix>:notify-state:*`. */
  prefix: string;
  log: Log;
  /** Longest a producer call may take before it gives up and logs (default 250 ms). */
  timeoutMs?: number;
}

/** The stored state of a status message, as the notify worker sees it. */
export interface StatusMessageState {
  channel: string;
  /** ts of the Slack message once posted. */
  ts?: string;
  version: number;
  postedVersion: number;
}

/**
 * The producer: fire-and-forget posting to Slack. Every method resolves `true` when the message was queued and
 * `false` when it could not be (logged) — it never throws and never waits longer than `timeoutMs`.
 */
export class Notifier {
  private readonly queue: Queue<NotifyJobData>;
  private readonly keys: ReturnType<typeof stateKeys>;
  private readonly timeoutMs: number;

  constructor(private readonly options: NotifierOptions) {
    this.queue = new Queue<NotifyJobData>(NOTIFY_QUEUE, {
      connection: options.connection,
      prefix: options.prefix,
    });
    this.queue.on('error', (error) => options.log.warn({ err: describeError(error) }, 'notify queue error'));
    this.keys = stateKeys(options.prefix);
    this.timeoutMs = options.timeoutMs ?? 250;
  }

  /** Posts the status message of `key` (e.g. `run:<site>:<id>`) once, then keeps it updated with the newest content. */
  postStatus(input: { channel: string; key: string; message: NotifyMessage }): Promise<boolean> {
    return this.guard('status', { key: input.key, channel: input.channel }, async () => {
      const [, gen] = (await UPDATE_STATUS.run(
        this.options.connection,
        [this.keys.status(input.key)],
        [
          input.channel,
          input.message.text,
          input.message.blocks ? JSON.stringify(input.message.blocks) : '',
          STATE_TTL_MS,
        ],
      )) as [number, number];
      if (gen === 0) return; // unchanged and already in Slack
      // Re-adding the current generation is a no-op while its job exists, and heals a lost add otherwise.
      await this.queue.add(
        'status',
        { key: input.key, gen },
        {
          jobId: statusJobId(input.key, gen),
          attempts: MAX_ATTEMPTS,
          backoff: { type: BACKOFF_TYPE },
          removeOnComplete: true,
          removeOnFail: true,
        },
      );
    });
  }

  /**
   * A reply in the thread of status message `threadKey`, posted once that message exists. `dedupeId` makes
   * repeats (a retried step, a redelivered job) post nothing more.
   */
  postReply(input: {
    channel: string;
    threadKey: string;
    message: NotifyMessage;
    dedupeId: string;
  }): Promise<boolean> {
    return this.guard('reply', { threadKey: input.threadKey, channel: input.channel }, async () => {
      const data: ReplyJobData = {
        channel: input.channel,
        threadKey: input.threadKey,
        dedupeId: input.dedupeId,
        createdAt: Date.now(),
        text: input.message.text,
        ...(input.message.blocks && { blocks: input.message.blocks }),
      };
      await QUEUE_IN_THREAD.run(
        this.options.connection,
        [this.keys.thread(input.threadKey), this.keys.reply(input.threadKey, input.dedupeId)],
        [data.createdAt, input.dedupeId, STATE_TTL_MS],
      );
      await this.queue.add('reply', data, {
        jobId: replyJobId(input.threadKey, input.dedupeId),
        attempts: MAX_ATTEMPTS,
        backoff: { type: BACKOFF_TYPE },
        removeOnComplete: { age: 24 * 3600 },
        removeOnFail: true,
      });
    });
  }

  /** A message only `user` sees in `channel`. */
  postEphemeral(input: { channel: string; user: string; message: NotifyMessage }): Promise<boolean> {
    return this.guard('ephemeral', { channel: input.channel }, async () => {
      await this.queue.add(
        'ephemeral',
        {
          channel: input.channel,
          user: input.user,
          text: input.message.text,
          ...(input.message.blocks && { blocks: input.message.blocks }),
        },
        {
          attempts: MAX_ATTEMPTS,
          backoff: { type: BACKOFF_TYPE },
          removeOnComplete: true,
          removeOnFail: true,
        },
      );
    });
  }

  /**
   * A reply through a slash command's or a click's response_url: ephemeral by default, `replaceOriginal` swaps
   * the clicked message, `deleteOriginal` removes it.
   */
  respond(input: {
    responseUrl: string;
    message: NotifyMessage;
    replaceOriginal?: boolean;
    deleteOriginal?: boolean;
    responseType?: 'ephemeral' | 'in_channel';
  }): Promise<boolean> {
    return this.guard('respond', {}, async () => {
      const body: Record<string, unknown> = {
        text: input.message.text,
        ...(input.message.blocks && { blocks: input.message.blocks }),
        ...(input.replaceOriginal !== undefined && { replace_original: input.replaceOriginal }),
        ...(input.deleteOriginal && { delete_original: true }),
        ...(input.responseType && { response_type: input.responseType }),
      };
      await this.queue.add(
        'respond',
        { responseUrl: input.responseUrl, body },
        {
          attempts: MAX_ATTEMPTS,
          backoff: { type: BACKOFF_TYPE },
          removeOnComplete: true,
          removeOnFail: true,
        },
      );
    });
  }

  /** Where status message `key` stands (null when it was never posted to, or has expired). */
  async statusMessage(key: string): Promise<StatusMessageState | null> {
    const [channel, ts, version, posted] = await this.options.connection.hmget(
      this.keys.status(key),
      'channel',
      'ts',
      'version',
      'posted',
    );
    if (!channel) return null;
    return { channel, ...(ts && { ts }), version: Number(version ?? 0), postedVersion: Number(posted ?? 0) };
  }

  async close(): Promise<void> {
    await this.queue.close();
  }

  private async guard(
    kind: string,
    context: Record<string, unknown>,
    work: () => Promise<void>,
  ): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const attempt = work().then(
      () => true,
      (error: unknown) => {
        this.options.log.warn(
          { kind, ...context, err: describeError(error) },
          'could not queue a Slack message',
        );
        return false;
      },
    );
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => {
        this.options.log.warn(
          { kind, ...context, timeoutMs: this.timeoutMs },
          'queueing a Slack message timed out',
        );
        resolve(false);
      }, this.timeoutMs);
    });
    try {
      return await Promise.race([attempt, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface NotifyWorkerOptions {
  /** A connection with maxRetriesPerRequest: null (BullMQ requires it for workers). */
  connection: Redis;
  /** BullMQ prefix, the same as the Notifier's. */
  prefix: string;
  slack: NotifySlack;
  log: Log;
  /**
   * Minimum spacing of messages per channel, across all workers (default 1050 ms: Slack allows about one per second;
   * the margin absorbs network jitter so Slack never sees two inside one second).
   */
  perChannelIntervalMs?: number;
  /** Posts to response_urls (default: postToResponseUrl). */
  respond?: RespondFn;
  retry?: Partial<NotifyRetryPolicy>;
  concurrency?: number;
  name?: string;
  /** Counts Retry-After waits, and failed response_url posts (Web API failures are counted by the Slack client). */
  metrics?: Pick<BatonMetrics, 'slackApiError' | 'slackRateLimitWait'>;
}

export interface NotifyWorker {
  worker: Worker<NotifyJobData>;
  close(): Promise<void>;
}

/** Marks a job moved to delayed by the processor itself: BullMQ must leave it alone. */
async function delayJob(job: Job, token: string | undefined, until: number): Promise<never> {
  await job.moveToDelayed(Math.max(until, Date.now() + 1), token);
  throw new DelayedError();
}

export function startNotifyWorker(options: NotifyWorkerOptions): NotifyWorker {
  const { connection, log } = options;
  const keys = stateKeys(options.prefix);
  const interval = options.perChannelIntervalMs ?? 1050;
  const retry: NotifyRetryPolicy = { ...DEFAULT_NOTIFY_RETRY, ...options.retry };
  const respond: RespondFn = options.respond ?? ((url, body) => postToResponseUrl(url, body));

  /**
   * Waits (as a delayed job) for the next send slot of `lane` (a channel, or its updates lane); returns when it is
   * this job's turn.
   */
  const awaitSlot = async (
    job: Job,
    token: string | undefined,
    lane: string,
    fresh = false,
  ): Promise<void> => {
    const data = job.data as { slot?: number; slotAttempt?: number; slotLane?: string };
    const reserved =
      !fresh &&
      data.slot !== undefined &&
      data.slotAttempt === job.attemptsMade &&
      (data.slotLane ?? lane) === lane
        ? data.slot
        : -1;
    const now = Date.now();
    const slot = Number(
      await TAKE_SLOT.run(connection, [keys.channel(lane)], [now, interval, reserved, STATE_TTL_MS]),
    );
    if (slot !== reserved)
      await job.updateData({ ...job.data, slot, slotAttempt: job.attemptsMade, slotLane: lane });
    if (slot > now) await delayJob(job, token, slot);
    const later = Number(
      await CLAIM_SEND.run(connection, [keys.channel(lane)], [Date.now(), interval, STATE_TTL_MS]),
    );
    if (later > 0) {
      await job.updateData({ ...job.data, slot: later, slotAttempt: job.attemptsMade, slotLane: lane });
      await delayJob(job, token, later);
    }
  };

  /**
   * chat.update is not under chat.postMessage's one-message-a-second-per-channel limit (it is a Tier 3 method), so
   * updates of a message already posted take a lane of their own, paced alike: a run's status never waits behind
   * the thread replies queued in its channel.
   */
  const updatesLane = (channel: string) => `${channel}:updates`;

  /** 429: the whole channel waits Retry-After, and this job queues for the first slot after it. */
  const onRateLimited = async (job: Job, token: string | undefined, lane: string, failure: SlackApiError) => {
    const until = Date.now() + (failure.retryAfterMs ?? interval);
    options.metrics?.slackRateLimitWait(failure.method, (failure.retryAfterMs ?? interval) / 1000);
    await BLOCK_CHANNEL.run(connection, [keys.channel(lane)], [until, STATE_TTL_MS]);
    log.warn(
      { lane, retryAfterMs: failure.retryAfterMs, method: failure.method },
      'Slack rate-limited the channel',
    );
    await awaitSlot(job, token, lane, true);
  };

  /** Retriable failures go back to BullMQ's backoff; Slack's refusals fail the job for good. */
  const rethrow = (failure: SlackApiError): never => {
    if (failure.retriable) throw failure;
    throw new UnrecoverableError(`${failure.code}: ${failure.message}`);
  };

  const processStatus = async (job: Job, token: string | undefined) => {
    const data = statusJobSchema.parse(job.data);
    const statusKey = keys.status(data.key);
    const [gen, channel, queued, version, posted, postedTs] = await connection.hmget(
      statusKey,
      'gen',
      'channel',
      'queued',
      'version',
      'posted',
      'ts',
    );
    if (!gen || !channel) return 'missing';
    if (data.gen < Number(gen)) return 'superseded';
    if (queued !== '1' && Number(posted ?? 0) >= Number(version ?? 0)) return 'up-to-date';

    const lane = postedTs ? updatesLane(channel) : channel;
    await awaitSlot(job, token, lane);
    const lockKey = keys.lock(data.key);
    const lockToken = `${job.id ?? ''}:${randomUUID()}`;
    if ((await connection.set(lockKey, lockToken, 'PX', KEY_LOCK_MS, 'NX')) !== 'OK')
      return delayJob(job, token, Date.now() + LOCK_RETRY_MS);
    try {
      const claim = (await CLAIM_STATUS.run(connection, [statusKey], [data.gen])) as string[];
      if (claim[0] !== 'claimed') return claim[0] ?? 'missing';
      const [
        ,
        claimedChannel = channel,
        text = '',
        blocksJson = '',
        claimedVersion = '0',
        claimedPosted = '0',
        ts = '',
      ] = claim;
      if (Number(claimedPosted) >= Number(claimedVersion)) return 'up-to-date';
      const blocks = blocksJson ? (JSON.parse(blocksJson) as unknown[]) : undefined;
      let postedTs = ts;
      try {
        postedTs = await sendStatus(claimedChannel, ts, text, blocks);
      } catch (error) {
        const failure = toSlackApiError(error, ts ? 'chat.update' : 'chat.postMessage', claimedChannel);
        if (failure.retriable) await UNCLAIM_STATUS.run(connection, [statusKey], [data.gen]);
        if (failure.status === 429) {
          await RELEASE_LOCK.run(connection, [lockKey], [lockToken]);
          await onRateLimited(job, token, ts ? updatesLane(claimedChannel) : claimedChannel, failure);
        }
        return rethrow(failure);
      }
      await RECORD_POSTED.run(connection, [statusKey], [claimedVersion, postedTs === ts ? '' : postedTs]);
      return ts ? 'updated' : 'posted';
    } finally {
      await RELEASE_LOCK.run(connection, [lockKey], [lockToken]);
    }
  };

  /** Updates the message in place; posts a new one when it is gone (deleted in Slack, or someone else's). */
  const sendStatus = async (channel: string, ts: string, text: string, blocks: unknown[] | undefined) => {
    if (ts) {
      try {
        // An empty blocks array removes blocks the previous version had; omitting it would keep them.
        await options.slack.chat.update({ channel, ts, text, blocks: blocks ?? [] });
        return ts;
      } catch (error) {
        const failure = toSlackApiError(error, 'chat.update', channel);
        if (failure.slackError !== 'message_not_found' && failure.slackError !== 'cant_update_message')
          throw failure;
        log.warn(
          { channel, ts, slackError: failure.slackError },
          'status message is gone; posting a new one',
        );
      }
    }
    const result = await options.slack.chat.postMessage({ channel, text, ...(blocks && { blocks }) });
    if (!result.ts) throw new UnrecoverableError('chat.postMessage answered without a ts');
    return result.ts;
  };

  /** The reply leaves its thread's order: posted (and marked, so a repeat posts nothing) or given up. */
  const leaveThread = (data: { threadKey: string; dedupeId: string }, posted: boolean) =>
    LEAVE_THREAD.run(
      connection,
      [keys.thread(data.threadKey), keys.reply(data.threadKey, data.dedupeId)],
      [data.dedupeId, posted ? REPLY_MARKER_TTL_MS : ''],
    );

  const processReply = async (job: Job, token: string | undefined) => {
    const data = replyJobSchema.parse(job.data);
    const marker = keys.reply(data.threadKey, data.dedupeId);
    if (await connection.exists(marker)) {
      await leaveThread(data, false);
      return 'duplicate';
    }
    const [parentTs, parentChannel] = await connection.hmget(keys.status(data.threadKey), 'ts', 'channel');
    if (!parentTs) {
      if (Date.now() - data.createdAt > retry.giveUpAfterMs) {
        await leaveThread(data, false);
        throw new UnrecoverableError(
          `status message ${data.threadKey} was never posted; dropping the thread reply`,
        );
      }
      return delayJob(job, token, Date.now() + PARENT_POLL_MS);
    }
    // Replies of one thread go out in the order they were asked for: only the oldest waiting one takes a slot
    // (replies racing for a paced channel's slots would otherwise land as they happen to be picked up). A reply
    // whose elders are stuck goes anyway after THREAD_ORDER_WAIT_MS.
    const [oldest] = await connection.zrange(keys.thread(data.threadKey), 0, 0);
    if (
      oldest !== undefined &&
      oldest !== data.dedupeId &&
      Date.now() - data.createdAt < THREAD_ORDER_WAIT_MS
    )
      return delayJob(job, token, Date.now() + Math.ceil(interval / 2));
    // A thread lives in its parent's channel.
    const channel = parentChannel ?? data.channel;
    await awaitSlot(job, token, channel);
    try {
      await options.slack.chat.postMessage({
        channel,
        thread_ts: parentTs,
        text: data.text,
        ...(data.blocks && { blocks: data.blocks }),
      });
    } catch (error) {
      const failure = toSlackApiError(error, 'chat.postMessage', channel);
      if (failure.status === 429) await onRateLimited(job, token, channel, failure);
      if (!failure.retriable) await leaveThread(data, false);
      return rethrow(failure);
    }
    await leaveThread(data, true);
    return 'posted';
  };

  const processEphemeral = async (job: Job, token: string | undefined) => {
    const data = ephemeralJobSchema.parse(job.data);
    try {
      await options.slack.chat.postEphemeral({
        channel: data.channel,
        user: data.user,
        text: data.text,
        ...(data.blocks && { blocks: data.blocks }),
      });
    } catch (error) {
      const failure = toSlackApiError(error, 'chat.postEphemeral', data.channel);
      if (failure.status === 429) {
        options.metrics?.slackRateLimitWait(failure.method, (failure.retryAfterMs ?? interval) / 1000);
        return delayJob(job, token, Date.now() + (failure.retryAfterMs ?? interval));
      }
      return rethrow(failure);
    }
    return 'posted';
  };

  const processRespond = async (job: Job, token: string | undefined) => {
    const data = respondJobSchema.parse(job.data);
    try {
      await respond(data.responseUrl, data.body);
    } catch (error) {
      const failure = toSlackApiError(error, 'response_url');
      options.metrics?.slackApiError(failure.method, failure.slackError ?? failure.code);
      if (failure.status === 429) {
        options.metrics?.slackRateLimitWait(failure.method, (failure.retryAfterMs ?? interval) / 1000);
        return delayJob(job, token, Date.now() + (failure.retryAfterMs ?? interval));
      }
      return rethrow(failure);
    }
    return 'posted';
  };

  const processor = async (job: Job<NotifyJobData>, token?: string): Promise<string> => {
    switch (job.name) {
      case 'status':
        return processStatus(job, token);
      case 'reply':
        return processReply(job, token);
      case 'ephemeral':
        return processEphemeral(job, token);
      case 'respond':
        return processRespond(job, token);
      default:
        throw new UnrecoverableError(`unknown notify job ${job.name}`);
    }
  };

  /** Capped exponential backoff with jitter, at least Retry-After; -1 (give up) once the time budget is spent. */
  const backoffStrategy = (attemptsMade: number, _type?: string, error?: Error, job?: MinimalJob): number => {
    const exponential = Math.min(retry.maxMs, retry.baseMs * 2 ** Math.max(0, attemptsMade - 1));
    const jittered = exponential * (0.8 + Math.random() * 0.4);
    const asked = (error as Partial<SlackApiError> | undefined)?.retryAfterMs ?? 0;
    const delay = Math.round(Math.max(jittered, asked));
    const interactive = job?.name === 'ephemeral' || job?.name === 'respond';
    const budget = interactive ? retry.interactiveGiveUpAfterMs : retry.giveUpAfterMs;
    const createdAt = job?.timestamp ?? Date.now();
    return Date.now() + delay - createdAt > budget ? -1 : delay;
  };

  const worker = new Worker<NotifyJobData>(NOTIFY_QUEUE, processor, {
    connection,
    prefix: options.prefix,
    concurrency: options.concurrency ?? 16,
    ...(options.name && { name: options.name }),
    ...NOTIFY_WORKER_SETTINGS,
    settings: { backoffStrategy },
  });
  worker.on('error', (error) => log.error({ err: describeError(error) }, 'notify worker error'));
  worker.on('failed', (job, error) => {
    const context = {
      jobId: job?.id,
      kind: job?.name,
      attemptsMade: job?.attemptsMade,
      err: describeError(error),
    };
    // BullMQ reports every failed attempt; finishedOn is set only when it gave up.
    if (job?.finishedOn) {
      log.error(context, 'gave up posting to Slack');
      const reply = job.name === 'reply' ? replyJobSchema.safeParse(job.data) : null;
      if (reply?.success) void leaveThread(reply.data, false).catch(() => undefined);
    } else log.warn(context, 'posting to Slack failed; will retry');
  });

  return {
    worker,
    async close() {
      await worker.close();
    },
  };
}
