/**
 * The producer side of the notify queue (DESIGN §4): everything Baton says in Slack goes through it, so a slow or
 * absent Slack never delays a failover step. Producers never throw and give up after a short time box.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { systemClock } from '../../core/clock.js';
import type { Clock, Log } from '../../core/ports.js';
import { describeError } from '../../errors.js';
import { NOTIFY_QUEUE, fileJobId, notifyJobOptions, replyJobId, statusJobId } from './notify-jobs.js';
import type {
  FileJobData,
  NotifyFileRef,
  NotifyJobData,
  NotifyMessage,
  ReplyJobData,
} from './notify-jobs.js';
import { ReplyCoalescer } from './reply-coalescer.js';
import { StatusCoalescer } from './status-coalescer.js';
import type { StatusMessageState } from './status-coalescer.js';
import { ThreadOrder } from './thread-order.js';

export interface NotifierOptions {
  /** Any Baton connection; the time box below keeps a stuck Redis from holding the caller. */
  connection: Redis;
  /** BullMQ prefix; the notify state lives under `<prefix>:notify-state:*`. */
  prefix: string;
  log: Log;
  /** Longest a producer call may take before it gives up and logs (default 250 ms). */
  timeoutMs?: number;
  /** Stamps thread replies with when they were asked for, and times the time box (default: the wall clock). */
  clock?: Clock;
}

/**
 * Fire-and-forget posting to Slack. Every method resolves `true` when the message was queued and `false` when it
 * could not be (logged) — it never throws and never waits longer than `timeoutMs`.
 */
export class Notifier {
  private readonly queue: Queue<NotifyJobData>;
  private readonly statuses: StatusCoalescer;
  private readonly threads: ThreadOrder;
  private readonly replies: ReplyCoalescer;
  private readonly clock: Clock;
  private readonly timeoutMs: number;

  constructor(private readonly options: NotifierOptions) {
    this.queue = new Queue<NotifyJobData>(NOTIFY_QUEUE, {
      connection: options.connection,
      prefix: options.prefix,
    });
    this.queue.on('error', (error) => options.log.warn({ err: describeError(error) }, 'notify queue error'));
    this.clock = options.clock ?? systemClock;
    this.statuses = new StatusCoalescer(options.connection, options.prefix);
    this.threads = new ThreadOrder(options.connection, options.prefix, this.clock);
    this.replies = new ReplyCoalescer(options.connection, options.prefix);
    this.timeoutMs = options.timeoutMs ?? 250;
  }

  /** Posts the status message of `key` (e.g. `run:<site>:<id>`) once, then keeps it updated with the newest content. */
  postStatus(input: { channel: string; key: string; message: NotifyMessage }): Promise<boolean> {
    return this.guard('status', { key: input.key, channel: input.channel }, async () => {
      // Its place among the channel's new messages is taken here, in the order the callers asked.
      const gen = await this.statuses.update(input.key, input.channel, input.message, this.clock.now());
      if (gen === 0) return; // unchanged and already in Slack
      // Re-adding the current generation is a no-op while its job exists, and heals a lost add otherwise.
      await this.queue.add(
        'status',
        { key: input.key, gen },
        { jobId: statusJobId(input.key, gen), ...notifyJobOptions() },
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
        createdAt: this.clock.now(),
        text: input.message.text,
        ...(input.message.blocks && { blocks: input.message.blocks }),
      };
      // Its content is kept beside its place, so the reply whose slot comes first can carry it.
      await this.replies.join({ ...data, message: input.message });
      await this.queue.add('reply', data, {
        jobId: replyJobId(input.threadKey, input.dedupeId),
        ...notifyJobOptions({ age: 24 * 3600 }),
      });
    });
  }

  /**
   * A file in the thread of status message `threadKey` (a run's report), posted once that message exists, in the
   * thread's order. The worker reads the file's content when it posts; `dedupeId` makes repeats post nothing.
   */
  attachFile(input: {
    channel: string;
    threadKey: string;
    dedupeId: string;
    file: NotifyFileRef;
  }): Promise<boolean> {
    return this.guard('file', { threadKey: input.threadKey, channel: input.channel }, async () => {
      const data: FileJobData = {
        channel: input.channel,
        threadKey: input.threadKey,
        dedupeId: input.dedupeId,
        createdAt: this.clock.now(),
        file: input.file,
      };
      await this.threads.join(data);
      await this.queue.add('file', data, {
        jobId: fileJobId(input.threadKey, input.dedupeId),
        ...notifyJobOptions({ age: 24 * 3600 }),
      });
    });
  }

  /** A message only `user` sees in `channel`. */
  postEphemeral(input: { channel: string; user: string; message: NotifyMessage }): Promise<boolean> {
    return this.guard('ephemeral', { channel: input.channel }, async () => {
      const data = {
        channel: input.channel,
        user: input.user,
        text: input.message.text,
        ...(input.message.blocks && { blocks: input.message.blocks }),
      };
      await this.queue.add('ephemeral', data, notifyJobOptions());
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
      await this.queue.add('respond', { responseUrl: input.responseUrl, body }, notifyJobOptions());
    });
  }

  /** Where status message `key` stands (null when it was never posted to, or has expired). */
  statusMessage(key: string): Promise<StatusMessageState | null> {
    return this.statuses.state(key);
  }

  async close(): Promise<void> {
    await this.queue.close();
  }

  private async guard(
    kind: string,
    context: Record<string, unknown>,
    work: () => Promise<void>,
  ): Promise<boolean> {
    const done = new AbortController();
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
    const timeout = this.clock.sleep(this.timeoutMs, done.signal).then(
      () => {
        this.options.log.warn(
          { kind, ...context, timeoutMs: this.timeoutMs },
          'queueing a Slack message timed out',
        );
        return false;
      },
      () => false, // the work finished first
    );
    try {
      return await Promise.race([attempt, timeout]);
    } finally {
      done.abort();
    }
  }
}
