/**
 * The notify worker: posts what the Notifier queued. Status messages are posted once with chat.postMessage, then
 * updated in place with chat.update (the ts lives in Redis, so any worker can update). Every post waits for its
 * channel's send slot (channel-pacer.ts) as a delayed job. A 429 blocks the channel for Retry-After; 5xx and
 * network errors retry with capped exponential backoff for a time budget (15 min for status and thread replies),
 * then the job is dropped and logged; Slack's refusals (channel_not_found, invalid_auth, …) are not retried.
 * Files (a run's report) go into their thread like replies, through Slack's upload flow (filesUploadV2). A reply
 * whose slot comes carries the replies of its thread waiting behind it, in one message (reply-coalescer.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
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
  fileJobSchema,
  replyJobSchema,
  respondJobSchema,
  statusJobSchema,
} from './notify-jobs.js';
import type { NotifyJobData, SlotReservation } from './notify-jobs.js';
import { DEFAULT_NOTIFY_RETRY, NOTIFY_WORKER_SETTINGS, notifyBackoff } from './notify-policy.js';
import type { NotifyFileSource, NotifyRetryPolicy, NotifySlack, RespondFn } from './notify-policy.js';
import { ReplyCoalescer } from './reply-coalescer.js';
import { sendReplies } from './send-replies.js';
import { StatusCoalescer } from './status-coalescer.js';
import { ThreadOrder } from './thread-order.js';

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
  /** Reads the files that file jobs attach (run reports); without it a file job fails for good. */
  files?: NotifyFileSource;
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
  const replies = new ReplyCoalescer(connection, options.prefix, retry.giveUpAfterMs + retry.maxMs);

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
    const lane = check.posted ? updatesLane(check.channel) : check.channel;
    await awaitSlot(job, token, lane);
    try {
      return await sendStatusJob(job, token, data);
    } finally {
      await pacer.finished(lane);
    }
  };

  /** The status job's send, its lane claimed: under the key's lock, whatever is newest. */
  const sendStatusJob = async (
    job: Job,
    token: string | undefined,
    data: { key: string; gen: number },
  ): Promise<string> => {
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

  type ThreadData = Parameters<typeof threads.posted>[0] & { threadKey: string; createdAt: number };

  /**
   * Delivers one message into a thread, in thread order: once only, after its parent is posted (dropped if it never
   * is), in its turn, paced per channel, then `send` into the parent's channel and thread. `what` names it in errors.
   */
  const intoThread = async (
    job: Job,
    token: string | undefined,
    data: ThreadData,
    what: string,
    send: (channel: string, parentTs: string) => Promise<unknown>,
    method: string,
    /** At its turn, before a slot is reserved: 'carried' when another message took it meanwhile (no slot then). */
    beforeSlot?: () => Promise<'go' | 'carried'>,
  ) => {
    if (await threads.posted(data)) {
      await threads.leave(data, false);
      return 'duplicate';
    }
    const parent = await statuses.state(data.threadKey);
    if (!parent?.ts) {
      if (clock.now() - data.createdAt > retry.giveUpAfterMs) {
        await threads.leave(data, false);
        throw new UnrecoverableError(
          `status message ${data.threadKey} was never posted; dropping the ${what}`,
        );
      }
      return delayJob(job, token, clock.now() + PARENT_POLL_MS);
    }
    if (!(await threads.isTurn(data))) return delayJob(job, token, clock.now() + Math.ceil(interval / 2));
    if ((await beforeSlot?.()) === 'carried') return 'merged';
    // A thread lives in its parent's channel.
    const { channel, ts: parentTs } = parent;
    await awaitSlot(job, token, channel);
    try {
      await send(channel, parentTs);
    } catch (error) {
      await pacer.finished(channel);
      if (error instanceof DelayedError) throw error;
      if (error instanceof UnrecoverableError) {
        await threads.leave(data, false);
        throw error;
      }
      const failure = toSlackApiError(error, method, channel);
      if (failure.status === 429) await onRateLimited(job, token, channel, failure);
      if (!failure.retriable) await threads.leave(data, false);
      return rethrow(failure);
    }
    await pacer.finished(channel);
    await threads.leave(data, true);
    return 'posted';
  };

  const processReply = async (job: Job, token: string | undefined) => {
    const data = replyJobSchema.parse(job.data);
    // Carried by another reply's message already, or held by a reply about to post it.
    if (await replies.mergedAway(data)) return 'merged';
    const held = () => delayJob(job, token, clock.now() + PARENT_POLL_MS);
    if (await replies.heldBy(data, clock.now())) return held();
    return intoThread(
      job,
      token,
      data,
      'thread reply',
      async (channel, parentTs) => {
        const to = { channel, parentTs, now: clock.now() };
        if ((await sendReplies(replies, (args) => options.slack.chat.postMessage(args), data, to)) === 'held')
          await held();
      },
      'chat.postMessage',
      // Its turn: it holds the replies queued behind it, so they take no slots of their own. A reply posted within
      // another's message since the check above takes no slot either: reserved and unused, it would idle the channel.
      async () => {
        const claim = await replies.claim(data, clock.now());
        if (claim.outcome === 'merged') return held();
        return claim.outcome === 'posted' ? 'carried' : 'go';
      },
    );
  };

  /** A file into its thread: the same order, wait for the parent and pacing as a reply, then the upload flow. */
  const processFile = async (job: Job, token: string | undefined) => {
    const data = fileJobSchema.parse(job.data);
    return intoThread(
      job,
      token,
      data,
      'file',
      async (channel, parentTs) => {
        const upload = options.slack.filesUploadV2?.bind(options.slack);
        const file = options.files && (await options.files(data.file));
        if (!upload || !file) {
          throw new UnrecoverableError(
            !upload
              ? 'this Slack client cannot upload files'
              : `nothing to attach for ${JSON.stringify(data.file)}`,
          );
        }
        await upload({
          channel_id: channel,
          thread_ts: parentTs,
          file: Buffer.from(file.content, 'utf8'),
          filename: file.filename,
          title: file.title,
          ...(file.comment && { initial_comment: file.comment }),
        });
      },
      'files.uploadV2',
    );
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
      case 'file':
        return processFile(job, token);
      default:
        throw new UnrecoverableError(`unknown notify job ${job.name}`);
    }
  };

  const worker = new Worker<NotifyJobData>(NOTIFY_QUEUE, processor, {
    connection,
    prefix: options.prefix,
    concurrency: options.concurrency ?? 16,
    ...(options.name && { name: options.name }),
    ...NOTIFY_WORKER_SETTINGS,
    settings: { backoffStrategy: notifyBackoff(retry) },
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
      const reply =
        job.name === 'reply'
          ? replyJobSchema.safeParse(job.data)
          : job.name === 'file'
            ? fileJobSchema.safeParse(job.data)
            : null;
      if (reply?.success) void threads.leave(reply.data, false).catch(() => undefined);
      // The replies a given-up reply held post themselves.
      if (reply?.success && job.name === 'reply')
        void replies.release(reply.data, false).catch(() => undefined);
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
