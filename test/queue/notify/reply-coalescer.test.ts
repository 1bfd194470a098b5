/**
 * The claims of coalesced thread replies against a real Redis, times passed in: what a claimer takes, what the
 * replies it holds see, and what a give-up, a refusal or a vanished claimer leaves for the others.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ReplyCoalescer } from '../../../src/queue/notify/reply-coalescer.js';
import { ThreadOrder } from '../../../src/queue/notify/thread-order.js';
import { NotifyKeys } from '../../../src/store/keys.js';
import { startRedis } from '../../../lab/processes/processes.js';
import type { RedisProcess } from '../../../lab/processes/processes.js';
import { FakeClock } from '../../support/fake-clock.js';

const STALE_MS = 60_000;
const threadKey = 'run:production:r1';

let redis: RedisProcess;
let connection: Redis;
let clock: FakeClock;
let replies: ReplyCoalescer;
let threads: ThreadOrder;
let prefix: string;

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
  prefix = `r${randomUUID().slice(0, 8)}`;
  replies = new ReplyCoalescer(connection, prefix, STALE_MS);
  threads = new ThreadOrder(connection, prefix, clock);
});

async function ask(dedupeId: string) {
  const reply = { threadKey, dedupeId, createdAt: clock.now() };
  await replies.join({ ...reply, message: { text: `${dedupeId} done` } });
  await clock.advance(1);
  return reply;
}

const claimed = async (dedupeId: string) => {
  const claim = await replies.claim({ threadKey, dedupeId }, clock.now());
  return claim.outcome === 'claimed' ? claim.replies.map((r) => r.dedupeId) : claim.outcome;
};

describe('ReplyCoalescer', () => {
  it('claims the replies waiting behind the claimer, up to a file; they are held, then posted', async () => {
    const [a, b] = [await ask('a'), await ask('b')];
    await threads.join({ threadKey, dedupeId: 'report', createdAt: clock.now() }); // a file: never merged
    await clock.advance(1);
    const c = await ask('c');
    expect(await claimed('a')).toEqual(['a', 'b']);
    expect(await replies.heldBy(b, clock.now())).toBe('a');
    // An elder holding claims keeps the younger from taking slots of their own.
    expect(await replies.heldBy(c, clock.now())).toBe('a');
    expect(await replies.heldBy(a, clock.now())).toBeUndefined();
    expect(await claimed('b')).toBe('merged');
    expect(await claimed('a')).toEqual(['a', 'b']); // a rerun finds its claims

    await replies.finish(a, ['a', 'b']);
    expect(await replies.mergedAway(b)).toBe(true);
    expect(await claimed('b')).toBe('posted');
    expect(await replies.heldBy(c, clock.now())).toBeUndefined();
    expect(await connection.zrange(new NotifyKeys(prefix).thread(threadKey), 0, -1)).toEqual(['report', 'c']);
  });

  it('frees what did not fit, what a given-up claimer held, and a claim older than the retry budget', async () => {
    const [a, b, c] = [await ask('a'), await ask('b'), await ask('c')];
    expect(await claimed('a')).toEqual(['a', 'b', 'c']);
    await replies.finish(a, ['a']); // only a fitted
    expect(await replies.heldBy(b, clock.now())).toBeUndefined();
    expect(await claimed('b')).toEqual(['b', 'c']);
    await replies.release(b, false); // b gave up
    expect(await replies.heldBy(c, clock.now())).toBeUndefined();

    expect(await claimed('b')).toEqual(['b', 'c']);
    await clock.advance(STALE_MS); // b vanished
    expect(await replies.heldBy(c, clock.now())).toBeUndefined();
    expect(await claimed('c')).toEqual(['c']);
  });

  it('sends each reply of a refused merged message alone from then on', async () => {
    const [a] = [await ask('a'), await ask('b'), await ask('c')];
    expect(await claimed('a')).toEqual(['a', 'b', 'c']);
    await replies.release(a, true);
    expect(await claimed('a')).toEqual(['a']);
    await replies.finish(a, ['a']);
    expect(await claimed('b')).toEqual(['b']);
  });
});
