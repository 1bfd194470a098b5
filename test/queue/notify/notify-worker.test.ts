/**
 * The notify worker against a real Redis and the Slack API stand-in, asserted on what the channel shows and on
 * the stand-in's call log: one status message updated in place, coalescing, per-channel pacing shared by two
 * workers, Retry-After, recovery after 5xx, producers unaffected by a Slack outage, thread replies and dedupe.
 * The pacer's, the coalescer's and the thread order's decisions are tested on a fake clock beside this file; here
 * intervals are short and "nothing more follows" is shown by an empty queue, never by sleeping.
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SlackApiError, createSlackWebClient, postToResponseUrl } from '../../../src/adapters/slack-web.js';
import { BatonError } from '../../../src/errors.js';
import type { Log } from '../../../src/core/ports.js';
import { NOTIFY_QUEUE, Notifier, startNotifyWorker } from '../../../src/queue/notify/index.js';
import type { NotifySlack, NotifyWorker, NotifyWorkerOptions } from '../../../src/queue/notify/index.js';
import { startRedis } from '../../../lab/processes/processes.js';
import type { RedisProcess } from '../../../lab/processes/processes.js';
import { startSlackApiServer } from '../../../lab/slack/slack-api-server.js';
import type { SlackApiCall, SlackApiServer } from '../../../lab/slack/slack-api-server.js';

const TOKEN = 'xoxb-notify-test';

interface Entry {
  level: string;
  obj: object;
  msg?: string;
}

/** A Log that keeps its lines, so tests can see what an operator would read. */
function memoryLog(
  entries: Entry[] = [],
  bindings: Record<string, unknown> = {},
): Log & { entries: Entry[] } {
  const write = (level: string) => (obj: object, msg?: string) =>
    entries.push({ level, obj: { ...bindings, ...obj }, ...(msg !== undefined && { msg }) });
  return {
    entries,
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    debug: write('debug'),
    child: (more) => memoryLog(entries, { ...bindings, ...more }),
  };
}

async function until<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const chatCalls = (server: SlackApiServer, channel: string): SlackApiCall[] =>
  server.calls({ channel }).filter((c) => c.method === 'chat.postMessage' || c.method === 'chat.update');

/** Gaps between consecutive accepted chat calls in a channel (ms). */
const gaps = (calls: SlackApiCall[]) => calls.slice(1).map((call, i) => call.at - (calls[i]?.at ?? 0));

/**
 * Gaps the stand-in sees may come out a little shorter than the pacer's: the pacer spaces the sends, and one
 * request can take a few ms longer than the next to arrive.
 */
const JITTER_MS = 50;

describe('notify worker', () => {
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

  /**
   * A producer and `workers` notify workers (each with its own connection and Slack client) on a fresh prefix.
   * `onSlackCall` hears each Slack call as the worker makes it, before the stand-in answers; a promise it returns
   * holds the call until it settles.
   */
  function setup(
    options: { workers?: number; onSlackCall?: (method: string) => unknown } & Partial<
      Omit<NotifyWorkerOptions, 'connection' | 'prefix' | 'slack'>
    > = {},
  ) {
    const { onSlackCall, workers: count = 1, ...workerOptions } = options;
    const prefix = `n${randomUUID().slice(0, 8)}`;
    const log = memoryLog();
    const producerConnection = new Redis(redis.url, { maxRetriesPerRequest: null });
    // The producers' 250 ms time box is notifier.test.ts's subject (on a FakeClock); a loaded machine passes it here.
    const notifier = new Notifier({ connection: producerConnection, prefix, log, timeoutMs: 10_000 });
    const queue = new Queue(NOTIFY_QUEUE, { connection: producerConnection, prefix });
    const workers: NotifyWorker[] = [];
    const startWorker = () => {
      const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
      const web = createSlackWebClient({ token: TOKEN, apiUrl: slack.apiUrl, log });
      const heard: NotifySlack = {
        chat: {
          postMessage: async (args) => {
            await onSlackCall?.('chat.postMessage');
            return web.chat.postMessage(args);
          },
          update: async (args) => {
            await onSlackCall?.('chat.update');
            return web.chat.update(args);
          },
          postEphemeral: async (args) => {
            await onSlackCall?.('chat.postEphemeral');
            return web.chat.postEphemeral(args);
          },
        },
      };
      const worker = startNotifyWorker({
        connection,
        prefix,
        log,
        slack: heard,
        retry: { baseMs: 100, maxMs: 400 },
        ...workerOptions,
      });
      workers.push(worker);
      cleanup.push(async () => {
        await worker.close();
        connection.disconnect();
      });
    };
    for (let i = 0; i < count; i++) startWorker();
    cleanup.push(async () => {
      await queue.close();
      await notifier.close();
      producerConnection.disconnect();
    });
    /** No job waits, is delayed or runs: nothing more can reach Slack until something is published. */
    const drained = async () => {
      const counts = await queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized', 'paused');
      return Object.values(counts).every((n) => n === 0);
    };
    return { notifier, workers, startWorker, log, queue, drained };
  }

  const channelId = () => `C${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;

  it('posts a status message once, then updates it in place', async () => {
    const { notifier } = setup({ perChannelIntervalMs: 200 });
    const channel = channelId();
    expect(
      await notifier.postStatus({ channel, key: 'run:production:r1', message: { text: 'proposed' } }),
    ).toBe(true);
    const [first] = await until('the status message', () => {
      const messages = slack.messages(channel);
      return messages.length > 0 && messages;
    });
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*running* fence-source' } }];
    await notifier.postStatus({ channel, key: 'run:production:r1', message: { text: 'running', blocks } });
    await until('the update', () => slack.message(channel, first?.ts ?? '')?.text === 'running');

    const messages = slack.messages(channel);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ text: 'running', blocks, edits: [{ text: 'proposed' }] });
    expect(chatCalls(slack, channel).map((c) => c.method)).toEqual(['chat.postMessage', 'chat.update']);
    // The worker records the posted version just after Slack answers; on a busy machine that can lag the stand-in.
    await until(
      'the posted version recorded',
      async () => (await notifier.statusMessage('run:production:r1'))?.postedVersion === 2,
    );
    expect(await notifier.statusMessage('run:production:r1')).toEqual({
      channel,
      ts: first?.ts,
      version: 2,
      postedVersion: 2,
    });
  });

  it('coalesces 20 rapid updates into one waiting job and a few calls; the newest content wins', async () => {
    const interval = 500;
    let onWire: () => void = () => undefined;
    let release: () => void = () => undefined;
    const updateOnWire = new Promise<void>((resolve) => (onWire = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    const { notifier, startWorker, queue, drained } = setup({
      workers: 0,
      perChannelIntervalMs: interval,
      // The first chat.update is held on its way to Slack until the test releases it.
      onSlackCall: (method) => {
        if (method !== 'chat.update') return undefined;
        onWire();
        return released;
      },
    });
    const channel = channelId();
    const key = 'run:production:r2';
    const update = (version: number) =>
      notifier.postStatus({ channel, key, message: { text: `step ${version} of 40` } });

    // No worker yet: twenty updates leave exactly one job waiting.
    for (let version = 1; version <= 20; version++) await update(version);
    expect(await queue.getJobCounts('waiting', 'delayed', 'active')).toMatchObject({
      waiting: 1,
      delayed: 0,
      active: 0,
    });
    startWorker();
    await until('the first post', () => slack.messages(channel)[0]?.text === 'step 20 of 40');
    expect(chatCalls(slack, channel)).toHaveLength(1);

    // Twenty more while the worker runs. Each claim of the key starts one new job for the updates after it: the
    // worker claims version 21 and is on its way to Slack with it (held there) when the other nineteen land, and
    // they wait as one job, which posts only the newest.
    await update(21);
    await updateOnWire;
    for (let version = 22; version <= 40; version++) await update(version);
    await until('the nineteen waiting as one job', async () => {
      const counts = await queue.getJobCounts('waiting', 'delayed', 'active');
      return counts.active === 1 && (counts.waiting ?? 0) + (counts.delayed ?? 0) === 1;
    });
    release();
    await until('the newest content, and no job left', async () => {
      const state = await notifier.statusMessage(key);
      return state?.postedVersion === 40 && (await drained());
    });
    const updates = chatCalls(slack, channel).slice(1);
    expect(updates.map((c) => c.method)).toEqual(['chat.update', 'chat.update']);
    expect(slack.messages(channel)).toHaveLength(1);
    expect(slack.messages(channel)[0]).toMatchObject({
      text: 'step 40 of 40',
      edits: [{ text: 'step 20 of 40' }, { text: 'step 21 of 40' }],
    });
  });

  it('does not lose an update that lands while the previous version is being posted', async () => {
    let onWire: () => void = () => undefined;
    const posting = new Promise<void>((resolve) => (onWire = resolve));
    const { notifier } = setup({
      perChannelIntervalMs: 100,
      onSlackCall: (method) => method === 'chat.postMessage' && onWire(),
    });
    const channel = channelId();
    slack.faults.latency(300);
    await notifier.postStatus({ channel, key: 'race', message: { text: 'v1' } });
    await posting; // v1 is on the wire now
    await notifier.postStatus({ channel, key: 'race', message: { text: 'v2' } });
    await until('v2 in the channel', () => slack.messages(channel)[0]?.text === 'v2', 5_000);
    expect(slack.messages(channel)).toHaveLength(1);
    expect(chatCalls(slack, channel).map((c) => c.method)).toEqual(['chat.postMessage', 'chat.update']);
  });

  it('paces each channel on its own: two channels do not share a limit', async () => {
    // A minute between sends in a channel, far longer than this test runs.
    const { notifier, queue } = setup({ perChannelIntervalMs: 60_000 });
    const [a, b] = [channelId(), channelId()];
    for (const channel of [a, b])
      for (const key of ['k1', 'k2'])
        await notifier.postStatus({ channel, key: `${channel}:${key}`, message: { text: key } });
    // Sharing one limit would have held the second channel's first message a minute behind the first channel's.
    await until(
      'the first message in each channel',
      () => slack.messages(a).length && slack.messages(b).length,
    );
    // Each channel's second message waits for its own channel's next slot, a minute on: nothing more reaches Slack.
    await until('the second messages waiting', async () => {
      const counts = await queue.getJobCounts('waiting', 'delayed', 'active');
      return counts.delayed === 2 && !counts.waiting && !counts.active;
    });
    for (const channel of [a, b]) {
      expect(slack.messages(channel).map((m) => m.text)).toEqual(['k1']);
      expect(chatCalls(slack, channel).map((c) => c.method)).toEqual(['chat.postMessage']);
    }
  });

  it('keeps a channel at its pace across two workers', async () => {
    // One job at a time per worker, and slow answers: while one worker posts, the other must take the next job.
    const interval = 300;
    const { notifier, workers } = setup({ workers: 2, concurrency: 1, perChannelIntervalMs: interval });
    slack.faults.latency(100);
    const channel = channelId();
    const activations = workers.map((w) => {
      const counter = { jobs: 0 };
      w.worker.on('active', () => (counter.jobs += 1));
      return counter;
    });
    for (let i = 1; i <= 5; i++)
      await notifier.postStatus({ channel, key: `pace:${i}`, message: { text: `status ${i}` } });
    await until('five status messages', () => slack.messages(channel).length === 5);

    expect(activations.every((counter) => counter.jobs > 0)).toBe(true);
    const calls = chatCalls(slack, channel);
    expect(calls).toHaveLength(5);
    expect(Math.min(...gaps(calls))).toBeGreaterThanOrEqual(interval - JITTER_MS);
  });

  it('honours Retry-After for the whole channel after a 429', async () => {
    const { notifier, log } = setup({ perChannelIntervalMs: 200 });
    const channel = channelId();
    slack.faults.rateLimit({ channel, retryAfterS: 1 });
    await notifier.postStatus({ channel, key: 'limited:1', message: { text: 'first' } });
    await until('the 429', () => slack.calls({ channel }).some((c) => c.status === 429));
    await notifier.postStatus({ channel, key: 'limited:2', message: { text: 'second' } });
    await until('both messages', () => slack.messages(channel).length === 2, 8_000);

    const calls = slack.calls({ channel });
    const limitedAt = calls.find((c) => c.status === 429)?.at ?? 0;
    const after = calls.filter((c) => c.at > limitedAt);
    expect(after.length).toBe(2);
    expect(Math.min(...after.map((c) => c.at - limitedAt))).toBeGreaterThanOrEqual(1000 - JITTER_MS);
    expect(gaps(after)[0]).toBeGreaterThanOrEqual(200 - JITTER_MS);
    expect(log.entries.some((e) => e.msg === 'Slack rate-limited the channel')).toBe(true);
  });

  it('retries through a stretch of 500s and catches up with the newest content', async () => {
    const { notifier } = setup({ perChannelIntervalMs: 100 });
    const channel = channelId();
    const failures = () => slack.calls({ channel }).filter((c) => c.status === 500).length;
    slack.faults.fail({ status: 500, count: Infinity });
    await notifier.postStatus({ channel, key: 'flaky', message: { text: 'v1' } });
    await notifier.postReply({
      channel,
      threadKey: 'flaky',
      dedupeId: 'step-1',
      message: { text: 'step 1 done' },
    });
    await notifier.postEphemeral({ channel, user: 'U0ALICE', message: { text: 'queued for you' } });
    await until('some 500s', () => failures() >= 3);
    await notifier.postStatus({ channel, key: 'flaky', message: { text: 'v2' } });
    const seen = failures();
    await until('another 500 after v2', () => failures() > seen);
    await notifier.postStatus({ channel, key: 'flaky', message: { text: 'v3' } });
    expect(slack.messages(channel)).toEqual([]);
    slack.faults.clear();

    await until('the newest status with its reply', () => {
      const [message] = slack.messages(channel);
      return message?.text === 'v3' && message.replies.length === 1;
    });
    await until('the ephemeral', () => slack.ephemerals({ channel }).length === 1);
    expect(slack.messages(channel)).toHaveLength(1);
    expect(slack.messages(channel)[0]?.replies.map((r) => r.text)).toEqual(['step 1 done']);
  });

  it('returns at once from producers while Slack is down, and posts once it is back', async () => {
    const { notifier, log } = setup({ perChannelIntervalMs: 100 });
    const channel = channelId();
    slack.faults.outage(true);
    // Each producer returns while Slack is still down (it would otherwise hang here until the test times out), with
    // nothing posted: the updates wait in Redis. How fast it returns is the benchmark's business, not this test's.
    for (let i = 1; i <= 10; i++)
      await notifier.postStatus({ channel, key: 'outage', message: { text: `update ${i}` } });
    expect(slack.messages(channel)).toEqual([]);
    await until('a failed attempt', () =>
      log.entries.some(
        (e) =>
          e.msg === 'posting to Slack failed; will retry' && JSON.stringify(e.obj).includes('reach Slack'),
      ),
    );
    slack.faults.outage(false);
    await until('the message after the outage', () => slack.messages(channel)[0]?.text === 'update 10');
  });

  it('puts thread replies under the status message, once per dedupeId', async () => {
    const { notifier, queue, drained } = setup({ perChannelIntervalMs: 100 });
    const channel = channelId();
    const reply = (dedupeId: string, text: string) =>
      notifier.postReply({ channel, threadKey: 'run:production:r3', dedupeId, message: { text } });
    // The reply comes first: it waits (delayed) for its parent, and its repeat is the same job.
    await reply('switch-dns', 'DNS switched');
    await reply('switch-dns', 'DNS switched');
    await until('the reply waiting for its parent', async () => {
      const counts = await queue.getJobCounts('waiting', 'delayed', 'active');
      return counts.delayed === 1 && !counts.waiting && !counts.active;
    });
    expect(slack.messages(channel)).toEqual([]);
    await notifier.postStatus({ channel, key: 'run:production:r3', message: { text: 'failover running' } });
    await until('the reply', () => slack.messages(channel)[0]?.replies.length === 1);
    // The same dedupeId after the first reply landed posts nothing more.
    await reply('switch-dns', 'DNS switched');
    await reply('verify', 'verified');
    await until('the second reply, and no job left', async () => {
      return slack.messages(channel)[0]?.replies.length === 2 && (await drained());
    });

    const [parent] = slack.messages(channel);
    expect(slack.messages(channel)).toHaveLength(1);
    expect(parent?.replies.map((r) => [r.text, r.threadTs])).toEqual([
      ['DNS switched', parent?.ts],
      ['verified', parent?.ts],
    ]);
  });

  it("updates a run's status at once, not behind the thread replies queued in its channel", async () => {
    const interval = 300;
    const { notifier, queue } = setup({ perChannelIntervalMs: interval });
    const channel = channelId();
    // Six runs' threads: replies of one thread go as one message, so the queue is one reply per thread.
    const runs = ['r5a', 'r5b', 'r5c', 'r5d', 'r5e', 'r5f'].map((id) => `run:production:${id}`);
    for (const key of runs) await notifier.postStatus({ channel, key, message: { text: `${key} running` } });
    const [first] = await until(
      'the status messages',
      () => slack.messages(channel).length === runs.length && slack.messages(channel),
    );
    for (const key of runs)
      await notifier.postReply({
        channel,
        threadKey: key,
        dedupeId: 'verify',
        message: { text: `${key} verified` },
      });
    // The replies hold the channel's next slots (as delayed jobs) when the update is asked for.
    const replyCount = () => slack.messages(channel).reduce((n, m) => n + m.replies.length, 0);
    await until(
      'the replies waiting for their slots',
      async () =>
        replyCount() >= 1 && ((await queue.getJobCounts('delayed')).delayed ?? 0) >= runs.length - 2,
    );
    await notifier.postStatus({ channel, key: 'run:production:r5a', message: { text: 'succeeded' } });

    // chat.update is not under chat.postMessage's per-channel limit: the update lands while replies still wait.
    await until('the update', () => slack.message(channel, first?.ts ?? '')?.text === 'succeeded', 5_000);
    // Behind them (one lane for both), it would have landed after five or six of them.
    expect(replyCount()).toBeLessThanOrEqual(3);
    await until('every reply', () => replyCount() === runs.length);
    expect(slack.messages(channel).map((m) => m.replies.map((r) => r.text))).toEqual(
      runs.map((key) => [`${key} verified`]),
    );
    // The replies themselves kept the channel's pace.
    const posts = chatCalls(slack, channel).filter((c) => c.method === 'chat.postMessage');
    expect(Math.min(...gaps(posts.slice(-runs.length)))).toBeGreaterThanOrEqual(interval - JITTER_MS);
  });

  it('keeps a thread in order when several workers pick its replies up at once', async () => {
    const { notifier, startWorker } = setup({ workers: 0, perChannelIntervalMs: 100 });
    const channel = channelId();
    await notifier.postStatus({ channel, key: 'run:production:r7', message: { text: 'running' } });
    const steps = Array.from({ length: 10 }, (_, i) => `step-${String(i).padStart(2, '0')}`);
    for (const step of steps)
      await notifier.postReply({
        channel,
        threadKey: 'run:production:r7',
        dedupeId: step,
        message: { text: `${step} done` },
      });
    // Three workers start together and race for the waiting replies and the channel's slots.
    startWorker();
    startWorker();
    startWorker();
    // They go merged (reply-coalescing.test.ts), one step a line: every step once, in the order asked.
    const lines = () => (slack.messages(channel)[0]?.replies ?? []).flatMap((r) => r.text.split('\n'));
    await until('every reply', () => lines().length === steps.length, 20_000);
    expect(lines()).toEqual(steps.map((s) => `${s} done`));
  });

  it('does not retry what Slack refuses, and says why', async () => {
    const { notifier, log, drained } = setup({ perChannelIntervalMs: 100 });
    await notifier.postStatus({ channel: 'not-a-channel', key: 'nowhere', message: { text: 'lost' } });
    const gaveUp = await until('the give-up', () =>
      log.entries.find((e) => e.msg === 'gave up posting to Slack'),
    );
    expect(JSON.stringify(gaveUp.obj)).toContain('slack.incidentChannel');
    await until('no job left', drained);
    expect(slack.calls({ channel: 'not-a-channel' })).toHaveLength(1);
  });

  it('answers through a response_url, and stops when Slack says the URL is used up', async () => {
    const { notifier, log, drained } = setup({ perChannelIntervalMs: 100 });
    const channel = channelId();
    await notifier.postStatus({ channel, key: 'proposal', message: { text: 'Approve failover?' } });
    const ts = await until('the proposal', () => slack.messages(channel)[0]?.ts);
    const { id, url } = slack.createResponseUrl({ channel, user: 'U0BOB', messageTs: ts });
    await notifier.respond({
      responseUrl: url,
      message: { text: 'Approved by <@U0BOB>' },
      replaceOriginal: true,
    });
    await until('the replaced message', () => slack.message(channel, ts)?.text === 'Approved by <@U0BOB>');

    for (let i = 0; i < 5; i++) await notifier.respond({ responseUrl: url, message: { text: `note ${i}` } });
    await until('the give-up on a refused response_url', () =>
      log.entries.some((e) => e.level === 'error' && JSON.stringify(e.obj).includes('used_url')),
    );
    await until('no job left', drained);
    expect(slack.responseUrlPosts(id).filter((p) => p.status === 200)).toHaveLength(5);
    expect(slack.responseUrlPosts(id).filter((p) => p.status === 404)).toHaveLength(1);
  });
});

describe('Slack client adapter', () => {
  let slack: SlackApiServer;
  beforeAll(async () => {
    slack = await startSlackApiServer({ botToken: TOKEN, channels: ['C0INCIDENTS'], scopes: ['chat:write'] });
  });
  afterEach(() => slack.faults.clear());
  afterAll(async () => slack?.close());

  const rejection = async (call: Promise<unknown>): Promise<SlackApiError> => {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SlackApiError);
    expect(error).toBeInstanceOf(BatonError);
    return error as SlackApiError;
  };

  it('turns every failure into a BatonError that says whether to retry and what to check', async () => {
    const log = memoryLog();
    const web = createSlackWebClient({ token: TOKEN, apiUrl: slack.apiUrl, log });

    slack.faults.rateLimit({ retryAfterS: 3 });
    expect(await rejection(web.chat.postMessage({ channel: 'C0INCIDENTS', text: 'x' }))).toMatchObject({
      code: 'slack-rate-limited',
      retriable: true,
      retryAfterMs: 3000,
      status: 429,
    });
    slack.faults.fail({ status: 503 });
    expect(await rejection(web.chat.postMessage({ channel: 'C0INCIDENTS', text: 'x' }))).toMatchObject({
      code: 'slack-unavailable',
      retriable: true,
      status: 503,
    });
    slack.faults.outage(true);
    expect(await rejection(web.auth.test())).toMatchObject({ code: 'slack-unreachable', retriable: true });
    slack.faults.outage(false);

    const notFound = await rejection(web.chat.postMessage({ channel: 'C0GONE', text: 'x' }));
    expect(notFound).toMatchObject({
      code: 'slack-channel-not-found',
      retriable: false,
      slackError: 'channel_not_found',
    });
    expect(notFound.message).toContain('C0GONE');
    const scope = await rejection(web.usergroups.users.list({ usergroup: 'S0SRE' }));
    expect(scope).toMatchObject({ code: 'slack-missing-scope', retriable: false });
    expect(scope.message).toContain('usergroups:read');
    const badToken = createSlackWebClient({ token: 'xoxb-revoked', apiUrl: slack.apiUrl, log });
    const auth = await rejection(badToken.auth.test());
    expect(auth).toMatchObject({ code: 'slack-auth', retriable: false });
    expect(auth.message).toContain('SLACK_BOT_TOKEN');

    const { url } = slack.createResponseUrl({ channel: 'C0INCIDENTS', user: 'U0BOB' });
    for (let i = 0; i < 5; i++) await postToResponseUrl(url, { text: `note ${i}` });
    expect(await rejection(postToResponseUrl(url, { text: 'sixth' }))).toMatchObject({
      code: 'slack-response-url-refused',
      retriable: false,
      slackError: 'used_url',
    });
    // The client's own debug lines went to Baton's log, without the token.
    expect(log.entries.length).toBeGreaterThan(0);
    expect(JSON.stringify(log.entries)).not.toContain(TOKEN);
  });
});
