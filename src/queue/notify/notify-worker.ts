/**
 * The notify worker: posts what the Notifier queued. Status messages are posted once with chat.postMessage, then
 * updated in place with chat.update (the ts lives in Redis, so any worker can update). Every post waits for its
 * channel's send slot (channel-pacer.ts) as a delayed job. A 429 blocks the channel for Retry-After; 5xx and
 * network errors retry with capped exponential backoff for a time budget (15 min for status and thread replies),
 * then the job is dropped and logged; Slack's refusals (channel_not_found, invalid_auth, …) are not retried.
 */
import { randomUUID } from 'node:crypto';
import type { Job, MinimalJob } from 'bullmq';
import { DelayedError, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { postToResponseUrl, toSlackApiError } from '../../adapters/slack-web.js';
import type { SlackApiError } from '../../adapters/slack-web.js';
import { systemClock } from '../../core/clock.js';
import type { Clock, Log } from '../../core/ports.js';
import { describeError } from '../../errors.js';
import type { BatonMetrics } from '../../metrics.js';
import { ChannelPacer, reservedSlot, updatesLane } from './channel-pacer.js';
import {
  NOTIFY_QUEUE,
  ephemeralJobSchema,
  replyJobSchema,
  respondJobSchema,
  statusJobSchema,
} from './notify-jobs.js';
import type { NotifyJobData, SlotReservation } from './notify-jobs.js';
import { StatusCoalescer } from './status-coalescer.js';
import { ThreadOrder } from './thread-order.js';

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

const LOCK_RETRY_MS = 200;
const PARENT_POLL_MS = 500;

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
  /**
   * Send slots, Retry-After and time budgets are read on this clock (default: the wall clock); every worker and
   * Notifier sharing a prefix must use the same time.
   */
  clock?: Clock;
}

export interface NotifyWorker {
  worker: Worker<NotifyJobData>;
  close(): Promise<void>;
}

/** BullMQ stamps jobs and runs delayed ones on the wall clock, whatever clock the worker decides with. */
const bullmqClock = systemClock;

export function startNotifyWorker(options: NotifyWorkerOptions): NotifyWorker {
  const { connection, log } = options;
  const clock = options.clock ?? systemClock;
  const interval = options.perChannelIntervalMs ?? 1050;
  const retry: NotifyRetryPolicy = { ...DEFAULT_NOTIFY_RETRY, ...options.retry };
  const respond: RespondFn = options.respond ?? ((url, body) => postToResponseUrl(url, body));
  const pacer = new ChannelPacer({ redis: connection, prefix: options.prefix, intervalMs: interval, clock });
  const statuses = new StatusCoalescer(connection, options.prefix);
  const threads = new ThreadOrder(connection, options.prefix, clock);

  /** Moves the job to delayed until `until` (the worker's clock); BullMQ must leave it alone. */
  const delayJob = async (job: Job, token: string | undefined, until: number): Promise<never> => {
    const waitMs = Math.max(1, until - clock.now());
    await job.moveToDelayed(bullmqClock.now() + waitMs, token);
    throw new DelayedError();
  };

  /** Waits (as a delayed job) for the job's send slot in `lane`; returns when it is this job's turn. */
  const awaitSlot = async (job: Job, token: string | undefined, lane: string, fresh = false) => {
    const data = job.data as SlotReservation;
    const reserved = fresh ? undefined : reservedSlot(data, job.attemptsMade, lane);
    const slot = await pacer.reserve(lane, reserved);
    if (slot !== reserved)
      await job.updateData({ ...job.data, slot, slotAttempt: job.attemptsMade, slotLane: lane });
    if (slot > clock.now()) await delayJob(job, token, slot);
    const later = await pacer.claim(lane);
    if (later !== undefined) {
      await job.updateData({ ...job.data, slot: later, slotAttempt: job.attemptsMade, slotLane: lane });
      await delayJob(job, token, later);
    }
  };

  /** 429: the whole lane waits Retry-After, and this job queues for the first slot after it. */
  const onRateLimited = async (job: Job, token: string | undefined, lane: string, failure: SlackApiError) => {
    const waitMs = failure.retryAfterMs ?? interval;
    options.metrics?.slackRateLimitWait(failure.method, waitMs / 1000);
    await pacer.block(lane, waitMs);
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
    const check = await statuses.check(data.key, data.gen);
    if (check.outcome !== 'pending') return check.outcome;

    // A new message waits for those asked for before it in its channel; an update of a posted one does not.
    if (!check.posted && !(await statuses.isTurn(data.key, check.channel, check.askedAt, clock.now())))
      return delayJob(job, token, clock.now() + Math.ceil(interval / 2));
    await awaitSlot(job, token, check.posted ? updatesLane(check.channel) : check.channel);
    const release = await statuses.lock(data.key, `${job.id ?? ''}:${randomUUID()}`);
    if (!release) return delayJob(job, token, clock.now() + LOCK_RETRY_MS);
    try {
      const claim = await statuses.claim(data.key, data.gen);
      if (claim.outcome !== 'claimed') return claim.outcome;
      const { channel, ts, message } = claim;
      let postedTs: string;
      try {
        postedTs = await sendStatus(channel, ts, message.text, message.blocks);
      } catch (error) {
        const failure = toSlackApiError(error, ts ? 'chat.update' : 'chat.postMessage', channel);
        if (failure.retriable) await statuses.unclaim(data.key, data.gen);
        if (failure.status === 429) {
          await release();
          await onRateLimited(job, token, ts ? updatesLane(channel) : channel, failure);
        }
        return rethrow(failure);
      }
      await statuses.recordPosted(data.key, claim.version, postedTs === ts ? undefined : postedTs, channel);
      return ts ? 'updated' : 'posted';
    } finally {
      await release();
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

  const processReply = async (job: Job, token: string | undefined) => {
    const data = replyJobSchema.parse(job.data);
    if (await threads.posted(data)) {
      await threads.leave(data, false);
      return 'duplicate';
    }
    const parent = await statuses.state(data.threadKey);
    if (!parent?.ts) {
      if (clock.now() - data.createdAt > retry.giveUpAfterMs) {
        await threads.leave(data, false);
        throw new UnrecoverableError(
          `status message ${data.threadKey} was never posted; dropping the thread reply`,
        );
      }
      return delayJob(job, token, clock.now() + PARENT_POLL_MS);
    }
    if (!(await threads.isTurn(data))) return delayJob(job, token, clock.now() + Math.ceil(interval / 2));
    // A thread lives in its parent's channel.
    const { channel, ts: parentTs } = parent;
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
      if (!failure.retriable) await threads.leave(data, false);
      return rethrow(failure);
    }
    await threads.leave(data, true);
    return 'posted';
  };

  /** Ephemerals and response_url posts are not paced per channel: a 429 only delays this job. */
  const onInteractiveRateLimited = (job: Job, token: string | undefined, failure: SlackApiError) => {
    const waitMs = failure.retryAfterMs ?? interval;
    options.metrics?.slackRateLimitWait(failure.method, waitMs / 1000);
    return delayJob(job, token, clock.now() + waitMs);
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
      if (failure.status === 429) return onInteractiveRateLimited(job, token, failure);
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
      if (failure.status === 429) return onInteractiveRateLimited(job, token, failure);
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
    // job.timestamp is BullMQ's (wall clock) stamp of when the job was added.
    const now = bullmqClock.now();
    return now + delay - (job?.timestamp ?? now) > budget ? -1 : delay;
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
      if (reply?.success) void threads.leave(reply.data, false).catch(() => undefined);
      const status = job.name === 'status' ? statusJobSchema.safeParse(job.data) : null;
      if (status?.success) void statuses.leavePosts(status.data.key).catch(() => undefined);
    } else log.warn(context, 'posting to Slack failed; will retry');
  });

  return {
    worker,
    async close() {
      await worker.close();
    },
  };
}
