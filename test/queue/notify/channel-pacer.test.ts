/**
 * The channel pacer's decisions against a real Redis, on a fake clock: slots one interval apart per lane, shared by
 * every worker, a late start never sending inside an interval, and a 429 blocking the lane for Retry-After. No
 * test sleeps; time moves when the test says so.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ChannelPacer,
  SEND_HOLD_MS,
  reservedSlot,
  updatesLane,
} from '../../../src/queue/notify/channel-pacer.js';
import { startRedis } from '../../../lab/processes/processes.js';
import type { RedisProcess } from '../../../lab/processes/processes.js';
import { FakeClock } from '../../support/fake-clock.js';

const INTERVAL = 1_000;

let redis: RedisProcess;
const connections: Redis[] = [];
let clock: FakeClock;
let prefix: string;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const connection of connections) connection.disconnect();
  await redis?.stop();
});
beforeEach(() => {
  clock = new FakeClock();
  prefix = `p${randomUUID().slice(0, 8)}`;
});

/** A pacer as one worker process has it: its own connection, the shared prefix and clock. */
function pacer(intervalMs = INTERVAL): ChannelPacer {
  const connection = new Redis(redis.url);
  connections.push(connection);
  return new ChannelPacer({ redis: connection, prefix, intervalMs, clock });
}

describe('ChannelPacer', () => {
  it('hands out one send slot per interval in a channel, and each channel paces on its own', async () => {
    const p = pacer();
    const t0 = clock.now();
    expect(await p.reserve('C1')).toBe(t0);
    expect(await p.reserve('C1')).toBe(t0 + INTERVAL);
    expect(await p.reserve('C1')).toBe(t0 + 2 * INTERVAL);
    // Another channel, and the channel's updates lane, do not share C1's limit.
    expect(await p.reserve('C2')).toBe(t0);
    expect(await p.reserve(updatesLane('C1'))).toBe(t0);
    // Slots in the past are not handed out: a quiet channel starts again from now.
    await clock.advance(10 * INTERVAL);
    expect(await p.reserve('C2')).toBe(clock.now());
  });

  it('keeps a job its reserved slot across runs, and hands the same slot to nobody else', async () => {
    const p = pacer();
    const t0 = clock.now();
    const first = await p.reserve('C1');
    const second = await p.reserve('C1');
    expect(await p.reserve('C1', second)).toBe(second);
    expect(await p.reserve('C1', first)).toBe(first);
    expect(await p.reserve('C1')).toBe(t0 + 2 * INTERVAL);
  });

  it('shares a channel between workers: never two sends inside one interval, however late jobs start', async () => {
    // Two workers take turns reserving for eight jobs; each job starts up to 0.7 interval late (as a delayed job
    // may), then claims its send. A refused claim waits for the fresh slot it was given, as the worker does.
    const workers = [pacer(), pacer()];
    const lateness = [0, 700, 150, 0, 400, 690, 30, 250];
    const jobs = await Promise.all(
      lateness.map(async (late, i) => {
        const worker = workers[i % 2] as ChannelPacer;
        return { worker, late, wakeAt: (await worker.reserve('C1')) + late };
      }),
    );
    const sends: number[] = [];
    let claims = 0;
    while (jobs.length > 0) {
      jobs.sort((a, b) => a.wakeAt - b.wakeAt);
      const job = jobs[0];
      if (!job) break;
      await clock.advance(Math.max(0, job.wakeAt - clock.now()));
      claims += 1;
      const later = await job.worker.claim('C1');
      if (later === undefined) {
        sends.push(clock.now());
        await job.worker.finished('C1');
        jobs.shift();
      } else job.wakeAt = later;
    }

    expect(sends).toHaveLength(8);
    const gaps = sends.slice(1).map((at, i) => at - (sends[i] ?? 0));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(INTERVAL);
    expect(claims).toBeGreaterThan(8); // some late starts were sent back to wait
  });

  it('sends a job that started late after the send before it, not on its stale slot', async () => {
    const p = pacer();
    const t0 = clock.now();
    const first = await p.reserve('C1');
    const second = await p.reserve('C1');
    // The first job starts 300 ms late; the second is on time a moment later.
    await clock.advance(INTERVAL - 300);
    expect(first).toBe(t0);
    expect(await p.claim('C1')).toBeUndefined();
    await p.finished('C1'); // Slack answers at once
    await clock.advance(300);
    expect(clock.now()).toBe(second);
    const fresh = await p.claim('C1');
    expect(fresh).toBe(t0 + 2 * INTERVAL); // the next free slot, after last send + interval
    expect(await p.reserve('C1')).toBe(t0 + 3 * INTERVAL);
    await clock.advance(INTERVAL);
    expect(await p.claim('C1')).toBeUndefined();
  });

  it('blocks the whole channel for Retry-After after a 429, voiding the slots reserved before it', async () => {
    const p = pacer(200);
    const other = pacer(200);
    const t0 = clock.now();
    const reserved = await other.reserve('C1'); // a job of another worker, due now
    expect(await p.claim('C1')).toBeUndefined(); // this job sends, and Slack answers 429, Retry-After 2 s
    await p.finished('C1');
    const until = await p.block('C1', 2_000);
    expect(until).toBe(t0 + 2_000);

    // Neither the rate-limited job nor the other worker's job may send before the block ends.
    const retry = await p.reserve('C1');
    expect(retry).toBe(t0 + 2_000);
    expect(await other.reserve('C1', reserved)).toBe(t0 + 2_200);
    await clock.advance(1_999);
    expect(await other.claim('C1')).toBeGreaterThanOrEqual(t0 + 2_000);
    await clock.advance(1);
    expect(await p.claim('C1')).toBeUndefined();

    // A shorter Retry-After later does not shorten a block; another channel was never blocked.
    await p.block('C1', 5_000);
    await p.block('C1', 1_000);
    expect(await p.reserve('C1')).toBeGreaterThanOrEqual(clock.now() + 5_000);
    expect(await p.reserve('C2')).toBe(clock.now());
  });
});

describe('a send that reaches Slack late', () => {
  it('holds its channel until it is answered, and the next send waits an interval from the answer', async () => {
    // A busy worker claims, then takes 700 ms to get its request to Slack (locks, round trips, a slow event loop):
    // counted from the claim, the next send could arrive 300 ms after it.
    const p = pacer();
    const other = pacer();
    const t0 = clock.now();
    expect(await p.claim('C1')).toBeUndefined();
    await clock.advance(INTERVAL);
    // One interval after the claim, the first send is still on its way: the other worker waits.
    const held = await other.claim('C1');
    expect(held).toBeGreaterThan(clock.now());
    await clock.advance(200);
    await p.finished('C1'); // answered at t0 + 1.2 s
    const answeredAt = clock.now();
    // The other worker claims at each slot it is given, as a delayed job does, until it may send.
    let slot = held;
    while (slot !== undefined) {
      await clock.advance(Math.max(0, slot - clock.now()));
      slot = await other.claim('C1');
    }
    expect(clock.now()).toBeGreaterThanOrEqual(answeredAt + INTERVAL);
    expect(answeredAt - t0).toBe(INTERVAL + 200);
  });

  it('lets the channel go after the hold when the sending worker died', async () => {
    const p = pacer();
    expect(await p.claim('C1')).toBeUndefined();
    await clock.advance(SEND_HOLD_MS);
    expect(await pacer().claim('C1')).toBeUndefined();
  });
});

describe('reservedSlot', () => {
  it('holds for the attempt and lane that reserved it only', () => {
    const data = { slot: 5_000, slotAttempt: 2, slotLane: 'C1' };
    expect(reservedSlot(data, 2, 'C1')).toBe(5_000);
    expect(reservedSlot(data, 3, 'C1')).toBeUndefined(); // a retry after a failure reserves a new one
    expect(reservedSlot(data, 2, updatesLane('C1'))).toBeUndefined();
    expect(reservedSlot({ slot: 5_000, slotAttempt: 0 }, 0, 'C1')).toBe(5_000); // jobs from before lanes existed
    expect(reservedSlot({}, 0, 'C1')).toBeUndefined();
  });
});
