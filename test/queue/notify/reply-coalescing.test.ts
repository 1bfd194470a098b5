/**
 * Thread replies of many runs in one channel, against a real Redis and the Slack API stand-in: when a reply's send
 * slot comes, the replies of its thread that wait go with it as one message (in the order asked, within Slack's
 * 40,000 characters and 50 blocks), across several workers, without losing or repeating one — also when the
 * worker that claimed them dies before posting. Files are never merged and keep their place in the thread.
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSlackWebClient } from '../../../src/adapters/slack-web.js';
import type { Log } from '../../../src/core/ports.js';
import { NOTIFY_QUEUE, Notifier, startNotifyWorker } from '../../../src/queue/notify/index.js';
import type { NotifySlack, NotifyWorker, NotifyWorkerOptions } from '../../../src/queue/notify/index.js';
import { startRedis } from '../../../lab/processes/processes.js';
import type { RedisProcess } from '../../../lab/processes/processes.js';
import { startSlackApiServer } from '../../../lab/slack/slack-api-server.js';
import type { SlackApiServer } from '../../../lab/slack/slack-api-server.js';

const TOKEN = 'xoxb-reply-coalescing-test';

const quietLog = (): Log => {
  const log: Log = {
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
    debug: () => undefined,
    child: () => log,
  };
  return log;
};

async function until<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const STEPS = ['preflight', 'fence-source', 'scale-up-target', 'promote', 'switch-dns', 'verify'];

describe('thread reply coalescing', () => {
  let redis: RedisProcess;
  let slack: SlackApiServer;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    slack = await startSlackApiServer({ botToken: TOKEN });
  });
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
    slack.faults.clear();
  });
  afterAll(async () => {
    await slack?.close();
    await redis?.stop();
  });

  /** A producer, and workers started on demand (each with its own connection and Slack client). */
  function setup(options: Partial<Omit<NotifyWorkerOptions, 'connection' | 'prefix' | 'log'>> = {}) {
    const prefix = `c${randomUUID().slice(0, 8)}`;
    const log = quietLog();
    const producer = new Redis(redis.url, { maxRetriesPerRequest: null });
    const notifier = new Notifier({ connection: producer, prefix, log });
    const queue = new Queue(NOTIFY_QUEUE, { connection: producer, prefix });
    cleanup.push(async () => {
      await queue.close();
      await notifier.close();
      producer.disconnect();
    });
    const startWorker = (
      slackClient?: NotifySlack,
      more: Partial<Pick<NotifyWorkerOptions, 'perChannelIntervalMs'>> = {},
    ): NotifyWorker => {
      const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
      const web = createSlackWebClient({ token: TOKEN, apiUrl: slack.apiUrl, log });
      const worker = startNotifyWorker({
        connection,
        prefix,
        log,
        slack: slackClient ?? web,
        perChannelIntervalMs: 100,
        retry: { baseMs: 100, maxMs: 400 },
        ...options,
        ...more,
      });
      cleanup.push(async () => {
        await worker.close();
        connection.disconnect();
      });
      return worker;
    };
    const drained = async () => {
      const counts = await queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized', 'paused');
      return Object.values(counts).every((n) => n === 0);
    };
    return { notifier, startWorker, drained, queue };
  }

  const channelId = () => `C${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;
  const replyPosts = (channel: string) =>
    slack.calls({ channel, method: 'chat.postMessage', ok: true }).length - slack.messages(channel).length;
  /** What each thread shows, one entry per line of its replies (a merged reply is one line per step). */
  const threadLines = (channel: string) =>
    new Map(
      slack.messages(channel).map((m) => [m.text, m.replies.flatMap((r) => r.text.split('\n'))] as const),
    );

  /** Ten runs' status messages, then six replies each, all asked before any worker runs. */
  async function evacuation(notifier: Notifier, channel: string, runs = 10) {
    const keys = Array.from({ length: runs }, (_, i) => `run:production:e${String(i).padStart(2, '0')}`);
    for (const key of keys) await notifier.postStatus({ channel, key, message: { text: key } });
    for (const step of STEPS)
      for (const key of keys)
        await notifier.postReply({
          channel,
          threadKey: key,
          dedupeId: step,
          message: { text: `${key} ${step}` },
        });
    return keys;
  }

  const expectEveryReplyOnceInOrder = (channel: string, keys: string[]) => {
    const lines = threadLines(channel);
    expect(lines.size).toBe(keys.length);
    for (const key of keys) expect(lines.get(key)).toEqual(STEPS.map((s) => `${key} ${s}`));
  };

  it("merges the waiting replies of each run's thread into about one message", async () => {
    const { notifier, startWorker, drained } = setup();
    const channel = channelId();
    const keys = await evacuation(notifier, channel);
    startWorker();
    await until('every reply, and no job left', async () => {
      const lines = [...threadLines(channel).values()].flat();
      return lines.length >= keys.length * STEPS.length && (await drained());
    });
    expectEveryReplyOnceInOrder(channel, keys);
    // One message per thread each reply would be 60 posts; merged, at most two per thread.
    expect(replyPosts(channel)).toBeLessThanOrEqual(2 * keys.length);
  });

  it('gives the same result with two workers at once: nothing twice', async () => {
    const { notifier, startWorker, drained } = setup();
    const channel = channelId();
    const keys = await evacuation(notifier, channel);
    startWorker();
    startWorker();
    await until('every reply, and no job left', async () => {
      const lines = [...threadLines(channel).values()].flat();
      return lines.length >= keys.length * STEPS.length && (await drained());
    });
    expectEveryReplyOnceInOrder(channel, keys);
    expect(replyPosts(channel)).toBeLessThanOrEqual(2 * keys.length);
  });

  it("splits at Slack's limits: 50 blocks and 40,000 characters a message, each reply whole", async () => {
    const { notifier, startWorker, drained } = setup();
    const channel = channelId();
    await notifier.postStatus({ channel, key: 'blocks', message: { text: 'blocks' } });
    await notifier.postStatus({ channel, key: 'long', message: { text: 'long' } });
    // Six replies of ten blocks each: five fit one message.
    for (let r = 0; r < 6; r++) {
      const blocks = Array.from({ length: 10 }, (_, b) => ({
        type: 'section',
        block_id: `r${r}b${b}`,
        text: { type: 'mrkdwn', text: `reply ${r} block ${b}` },
      }));
      await notifier.postReply({
        channel,
        threadKey: 'blocks',
        dedupeId: `b${r}`,
        message: { text: `b${r}`, blocks },
      });
    }
    for (let r = 0; r < 3; r++)
      await notifier.postReply({
        channel,
        threadKey: 'long',
        dedupeId: `l${r}`,
        message: { text: `${r}`.repeat(15_000) },
      });
    startWorker();
    await until('every reply, and no job left', async () => {
      const [blocks, long] = slack.messages(channel);
      const texts = (blocks?.replies ?? []).flatMap((r) => r.blocks ?? []);
      return texts.length === 60 && (long?.replies ?? []).length >= 1 && (await drained());
    });
    const [blocks, long] = slack.messages(channel);
    expect(slack.calls({ channel, ok: false })).toEqual([]);
    const blockReplies = blocks?.replies ?? [];
    expect(blockReplies.map((r) => r.blocks?.length)).toEqual([50, 10]);
    for (const reply of blockReplies) expect(reply.blocks?.length ?? 0).toBeLessThanOrEqual(50);
    expect(
      blockReplies.flatMap((r) => (r.blocks ?? []).map((b) => (b as { text: { text: string } }).text.text)),
    ).toEqual(Array.from({ length: 60 }, (_, i) => `reply ${Math.floor(i / 10)} block ${i % 10}`));
    const longReplies = long?.replies ?? [];
    expect(longReplies.length).toBe(2);
    for (const reply of longReplies) expect(reply.text.length).toBeLessThanOrEqual(40_000);
    expect(longReplies.flatMap((r) => r.text.split('\n'))).toEqual(
      ['0', '1', '2'].map((d) => d.repeat(15_000)),
    );
  });

  it('keeps a file after the replies asked for before it, and before those asked after', async () => {
    const { notifier, startWorker, drained } = setup({
      files: (ref) => Promise.resolve({ filename: `${ref.runId}.md`, title: 'report', content: '# report' }),
    });
    const channel = channelId();
    const threadKey = 'run:production:f1';
    await notifier.postStatus({ channel, key: threadKey, message: { text: 'running' } });
    const reply = (step: string) =>
      notifier.postReply({ channel, threadKey, dedupeId: step, message: { text: `${step} done` } });
    await reply('preflight');
    await reply('promote');
    await notifier.attachFile({
      channel,
      threadKey,
      dedupeId: 'report',
      file: { kind: 'run-report', runId: 'f1' },
    });
    await reply('summary');
    await reply('postscript');
    startWorker();
    await until('the thread, and no job left', async () => {
      const replies = slack.messages(channel)[0]?.replies ?? [];
      return replies.some((r) => r.text.includes('postscript')) && (await drained());
    });
    const thread = slack.messages(channel)[0]?.replies ?? [];
    expect(thread.map((r) => (r.files?.length ? 'FILE' : r.text))).toEqual([
      'preflight done\npromote done',
      'FILE',
      'summary done\npostscript done',
    ]);
  });

  it('takes no send slot for a reply another will carry, even when its elder waits past the order wait', async () => {
    // Eight threads at one post every 3 s: the last thread's first reply waits over THREAD_ORDER_WAIT_MS (20 s) for
    // its slot. Its younger replies must not reserve slots of their own meanwhile: unused, they would leave the
    // channel idle for one interval each after the burst.
    const { notifier, startWorker, drained, queue } = setup();
    const channel = channelId();
    const keys = Array.from({ length: 8 }, (_, i) => `run:production:w${i}`);
    for (const key of keys) await notifier.postStatus({ channel, key, message: { text: key } });
    const fast = startWorker();
    await until('the status messages', () => slack.messages(channel).length === keys.length);
    await fast.close();
    for (const step of STEPS)
      for (const key of keys)
        await notifier.postReply({
          channel,
          threadKey: key,
          dedupeId: step,
          message: { text: `${key} ${step}` },
        });
    startWorker(undefined, { perChannelIntervalMs: 3_000 });
    await until(
      'every reply, and no job left',
      async () => {
        const lines = [...threadLines(channel).values()].flat();
        return lines.length >= keys.length * STEPS.length && (await drained());
      },
      120_000,
    );
    expectEveryReplyOnceInOrder(channel, keys);
    const completed = await queue.getJobs(['completed']);
    const reserved = completed.filter(
      (job) => job.name === 'reply' && (job.data as { slot?: number }).slot !== undefined,
    );
    expect(reserved.length).toBe(replyPosts(channel));
  }, 180_000);

  it('posts the replies of a worker that died between claiming and posting, once', async () => {
    const { notifier, startWorker, drained } = setup();
    const channel = channelId();
    const threadKey = 'run:production:d1';
    await notifier.postStatus({ channel, key: threadKey, message: { text: 'running' } });
    // The first worker posts the status message, then hangs on its first thread reply, holding its claim.
    const web = createSlackWebClient({ token: TOKEN, apiUrl: slack.apiUrl, log: quietLog() });
    let hung = false;
    const hanging: NotifySlack = {
      chat: {
        postMessage: (args) => {
          if (!args.thread_ts) return web.chat.postMessage(args);
          hung = true;
          return new Promise(() => undefined);
        },
        update: (args) => web.chat.update(args),
        postEphemeral: (args) => web.chat.postEphemeral(args),
      },
    };
    const doomed = startWorker(hanging);
    for (const step of STEPS)
      await notifier.postReply({ channel, threadKey, dedupeId: step, message: { text: `${step} done` } });
    await until('the hung post', () => hung);
    // It dies: its jobs are left active, their locks lapse, and a second worker takes over.
    await doomed.worker.close(true);
    startWorker();
    await until(
      'every reply, and no job left',
      async () => {
        const lines = (slack.messages(channel)[0]?.replies ?? []).flatMap((r) => r.text.split('\n'));
        return lines.length >= STEPS.length && (await drained());
      },
      90_000,
    );
    const lines = (slack.messages(channel)[0]?.replies ?? []).flatMap((r) => r.text.split('\n'));
    expect(lines).toEqual(STEPS.map((s) => `${s} done`));
  }, 120_000);
});
