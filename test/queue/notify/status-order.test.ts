/**
 * New top-level status messages appear in a channel in the order Baton asked for them, against a real Redis, real
 * notify workers and the Slack stand-in holding each request for a random time (network jitter): the fence-debt
 * reconciler's "east is back and writable" must not land under "east fenced". Edits of messages already posted
 * keep their own lane and do not wait for that order.
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSlackWebClient } from '../../../src/adapters/slack-web.js';
import type { Log } from '../../../src/core/ports.js';
import { NOTIFY_QUEUE, Notifier, startNotifyWorker } from '../../../src/queue/notify/index.js';
import { startRedis } from '../../../lab/processes/processes.js';
import type { RedisProcess } from '../../../lab/processes/processes.js';
import { startSlackApiServer } from '../../../lab/slack/slack-api-server.js';
import type { SlackApiServer } from '../../../lab/slack/slack-api-server.js';

const TOKEN = 'xoxb-order-test';
const quiet: Log = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
  child: () => quiet,
};

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

/** A Notifier and `workers` notify workers (default concurrency) on a fresh prefix. */
function setup(workers = 2, perChannelIntervalMs = 40) {
  const prefix = `s${randomUUID().slice(0, 8)}`;
  const producer = new Redis(redis.url, { maxRetriesPerRequest: null });
  const notifier = new Notifier({ connection: producer, prefix, log: quiet });
  const queue = new Queue(NOTIFY_QUEUE, { connection: producer, prefix });
  for (let i = 0; i < workers; i++) {
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const worker = startNotifyWorker({
      connection,
      prefix,
      log: quiet,
      slack: createSlackWebClient({ token: TOKEN, apiUrl: slack.apiUrl, log: quiet }),
      perChannelIntervalMs,
      retry: { baseMs: 50, maxMs: 200 },
    });
    cleanup.push(async () => {
      await worker.close();
      connection.disconnect();
    });
  }
  cleanup.push(async () => {
    await queue.close();
    await notifier.close();
    producer.disconnect();
  });
  return { notifier, queue };
}

async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const channelId = () => `C${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;
const texts = (channel: string) => slack.messages(channel).map((m) => m.text);

describe('the order of new status messages in a channel', () => {
  it('shows two status messages asked for a moment apart in the order they were asked for', async () => {
    const { notifier } = setup();
    // Each request reaches Slack after 0–150 ms: a post sent second overtakes the first unless it waits for it.
    slack.faults.latency(0, { jitterMs: 150 });
    const channels = Array.from({ length: 8 }, channelId);
    for (const channel of channels) {
      // As the fence-debt reconciler does: two keys, one call right after the other.
      await notifier.postStatus({ channel, key: `fence:east:${channel}`, message: { text: 'east fenced' } });
      await notifier.postStatus({
        channel,
        key: `writable:east:${channel}`,
        message: { text: 'east is back and writable' },
      });
    }
    for (const channel of channels) await until('both messages', () => texts(channel).length === 2);
    for (const channel of channels)
      expect(texts(channel), channel).toEqual(['east fenced', 'east is back and writable']);
  });

  it('keeps the order of a longer series, and edits of posted messages do not wait for it', async () => {
    const { notifier } = setup(1, 150);
    const channel = channelId();
    await notifier.postStatus({ channel, key: 'run:production:r1', message: { text: 'running' } });
    const [run] = await until(
      'the run message',
      () => slack.messages(channel).length === 1 && slack.messages(channel),
    );
    slack.faults.latency(0, { jitterMs: 100 });
    const notes = Array.from({ length: 5 }, (_, i) => `note ${i}`);
    for (const note of notes) await notifier.postStatus({ channel, key: note, message: { text: note } });
    await notifier.postStatus({ channel, key: 'run:production:r1', message: { text: 'succeeded' } });
    // The edit has its own lane: it lands while the new posts still go out one after the other.
    await until('the edit', () => slack.message(channel, run?.ts ?? '')?.text === 'succeeded');
    expect(texts(channel).length).toBeLessThan(1 + notes.length);
    await until('every note', () => texts(channel).length === 1 + notes.length);
    expect(texts(channel)).toEqual(['succeeded', ...notes]);
  });
});
