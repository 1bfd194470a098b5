/**
 * A thread's replies in the order they were asked for, against a real Redis on a fake clock: only the oldest
 * waiting reply may go, a stuck elder is passed after THREAD_ORDER_WAIT_MS, and a posted reply is never queued again.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { THREAD_ORDER_WAIT_MS, ThreadOrder } from '../../../src/queue/notify/thread-order.js';
import type { ThreadReply } from '../../../src/queue/notify/thread-order.js';
import { startRedis } from '../../../lab/processes/processes.js';
import type { RedisProcess } from '../../../lab/processes/processes.js';
import { FakeClock } from '../../support/fake-clock.js';

let redis: RedisProcess;
let connection: Redis;
let clock: FakeClock;
let threads: ThreadOrder;

beforeAll(async () => {
  redis = await startRedis();
  connection = new Redis(redis.url);
});
afterAll(async () => {
  connection?.disconnect();
  await redis?.stop();
});
beforeEach(() => {
  clock = new FakeClock();
  threads = new ThreadOrder(connection, `o${randomUUID().slice(0, 8)}`, clock);
});

/** Asks for a reply now, then lets a millisecond pass (replies asked for in one millisecond go by dedupeId). */
async function ask(dedupeId: string, threadKey = 'run:r1'): Promise<ThreadReply> {
  const reply = { threadKey, dedupeId, createdAt: clock.now() };
  await threads.join(reply);
  await clock.advance(1);
  return reply;
}

describe('ThreadOrder', () => {
  it('lets only the oldest waiting reply of a thread go, whoever picks the others up first', async () => {
    const [preflight, fence, promote] = [await ask('preflight'), await ask('fence'), await ask('promote')];
    const other = await ask('verify', 'run:r2');
    expect(await threads.isTurn(promote)).toBe(false);
    expect(await threads.isTurn(fence)).toBe(false);
    expect(await threads.isTurn(preflight)).toBe(true);
    expect(await threads.isTurn(other)).toBe(true); // another thread keeps its own order

    await threads.leave(preflight, true);
    expect(await threads.isTurn(promote)).toBe(false);
    expect(await threads.isTurn(fence)).toBe(true);
    await threads.leave(fence, false); // given up: the thread moves on all the same
    expect(await threads.isTurn(promote)).toBe(true);
  });

  it('passes an elder that is stuck once the reply has waited long enough', async () => {
    await ask('stuck');
    const next = await ask('next');
    expect(await threads.isTurn(next)).toBe(false);
    await clock.advance(THREAD_ORDER_WAIT_MS - 2);
    expect(await threads.isTurn(next)).toBe(false);
    await clock.advance(1);
    expect(await threads.isTurn(next)).toBe(true);
  });

  it('remembers posted replies, so a repeat neither posts nor queues again', async () => {
    const dns = await ask('switch-dns');
    expect(await threads.posted(dns)).toBe(false);
    // A repeat while it waits keeps its first place.
    await ask('verify');
    await ask('switch-dns');
    expect(await threads.isTurn(dns)).toBe(true);

    await threads.leave(dns, true);
    expect(await threads.posted(dns)).toBe(true);
    await ask('switch-dns'); // a re-publish of a finished step
    expect(
      await threads.isTurn({ threadKey: 'run:r1', dedupeId: 'verify', createdAt: dns.createdAt + 1 }),
    ).toBe(true);
  });
});
