/**
 * The status coalescer against a real Redis: how many jobs a burst of updates costs, which job posts what, and when
 * nothing needs posting at all. It reads no clock (versions and generations order everything), so nothing waits.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { POST_ORDER_WAIT_MS, StatusCoalescer } from '../../../src/queue/notify/status-coalescer.js';
import { startRedis } from '../../../lab/processes/processes.js';
import type { RedisProcess } from '../../../lab/processes/processes.js';

let redis: RedisProcess;
let connection: Redis;
let statuses: StatusCoalescer;

beforeAll(async () => {
  redis = await startRedis();
  connection = new Redis(redis.url);
});
afterAll(async () => {
  connection?.disconnect();
  await redis?.stop();
});
beforeEach(() => {
  statuses = new StatusCoalescer(connection, `s${randomUUID().slice(0, 8)}`);
});

const step = (n: number) => ({ text: `step ${n} of 40` });

/** What the worker does once a job's slot comes: claim, "post", record. */
async function post(key: string, gen: number, ts = '1700000000.000100') {
  const claim = await statuses.claim(key, gen);
  if (claim.outcome === 'claimed') await statuses.recordPosted(key, claim.version, claim.ts ? undefined : ts);
  return claim;
}

describe('StatusCoalescer', () => {
  it('coalesces a burst of updates into one waiting job that posts the newest content', async () => {
    const gens = [];
    for (let n = 1; n <= 20; n++) gens.push(await statuses.update('run:r1', 'C1', step(n)));
    expect(new Set(gens)).toEqual(new Set([1])); // one generation, so one job id
    expect(await statuses.check('run:r1', 1)).toEqual({ outcome: 'pending', channel: 'C1', posted: false });
    expect(await post('run:r1', 1)).toMatchObject({
      outcome: 'claimed',
      version: 20,
      message: step(20),
      ts: '',
    });
    expect(await statuses.state('run:r1')).toEqual({
      channel: 'C1',
      ts: '1700000000.000100',
      version: 20,
      postedVersion: 20,
    });
  });

  it('starts one new job for the updates that land after a claim, however many', async () => {
    await statuses.update('run:r2', 'C1', step(1));
    const claim = await statuses.claim('run:r2', 1); // the worker is posting v1 now
    expect(claim).toMatchObject({ outcome: 'claimed', version: 1 });
    const gens = [];
    for (let n = 2; n <= 20; n++) gens.push(await statuses.update('run:r2', 'C1', step(n)));
    expect(new Set(gens)).toEqual(new Set([2]));
    await statuses.recordPosted('run:r2', 1, '1700000000.000200');

    // The old job is done; the new one updates the posted message in place with the newest content.
    expect(await statuses.check('run:r2', 1)).toEqual({ outcome: 'superseded' });
    expect(await statuses.check('run:r2', 2)).toEqual({ outcome: 'pending', channel: 'C1', posted: true });
    expect(await post('run:r2', 2)).toMatchObject({
      outcome: 'claimed',
      version: 20,
      message: step(20),
      ts: '1700000000.000200',
    });
    expect(await statuses.check('run:r2', 2)).toEqual({ outcome: 'up-to-date' });
  });

  it('queues nothing for content already in Slack, and a job for anything else', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*running*' } }];
    expect(await statuses.update('run:r3', 'C1', { text: 'running', blocks })).toBe(1);
    // Unchanged while its job still waits: the waiting job carries it.
    expect(await statuses.update('run:r3', 'C1', { text: 'running', blocks })).toBe(1);
    await post('run:r3', 1);
    expect(await statuses.update('run:r3', 'C1', { text: 'running', blocks })).toBe(0);
    expect(await statuses.update('run:r3', 'C1', { text: 'running', blocks })).toBe(0);
    expect((await statuses.state('run:r3'))?.version).toBe(2);
    // The same text without the blocks is a change.
    expect(await statuses.update('run:r3', 'C1', { text: 'running' })).toBe(2);
  });

  it('gives the key back to a job that will run again, unless a newer job exists', async () => {
    await statuses.update('run:r4', 'C1', step(1));
    await statuses.claim('run:r4', 1);
    await statuses.unclaim('run:r4', 1); // 429: the job runs again
    expect(await statuses.update('run:r4', 'C1', step(2))).toBe(1); // and carries the update with it
    expect(await post('run:r4', 1)).toMatchObject({ outcome: 'claimed', message: step(2) });

    expect(await statuses.update('run:r4', 'C1', step(3))).toBe(2);
    await statuses.claim('run:r4', 2);
    expect(await statuses.update('run:r4', 'C1', step(4))).toBe(3);
    await statuses.unclaim('run:r4', 2); // too late: generation 3 has it
    expect(await statuses.check('run:r4', 2)).toEqual({ outcome: 'superseded' });
    expect(await statuses.claim('run:r4', 2)).toEqual({ outcome: 'superseded' });
  });

  it('starts a new message when the key moves to another channel', async () => {
    await statuses.update('run:r5', 'C1', step(1));
    await post('run:r5', 1);
    expect(await statuses.update('run:r5', 'C2', step(2))).toBe(2);
    expect(await statuses.state('run:r5')).toEqual({ channel: 'C2', version: 2, postedVersion: 0 });
    expect(await statuses.claim('run:r5', 2)).toMatchObject({ outcome: 'claimed', channel: 'C2', ts: '' });
  });

  it('lets one job at a time post a key', async () => {
    const release = await statuses.lock('run:r6', 'job-a');
    expect(release).toBeDefined();
    expect(await statuses.lock('run:r6', 'job-b')).toBeUndefined();
    await release?.();
    const next = await statuses.lock('run:r6', 'job-b');
    expect(next).toBeDefined();
    await release?.(); // a second release by the old holder leaves the new holder's lock alone
    expect(await statuses.lock('run:r6', 'job-c')).toBeUndefined();
    await next?.();
  });

  it('knows nothing of a key never posted to', async () => {
    expect(await statuses.state('nowhere')).toBeNull();
    expect(await statuses.check('nowhere', 1)).toEqual({ outcome: 'missing' });
    expect(await statuses.claim('nowhere', 1)).toEqual({ outcome: 'missing' });
  });

  it('lets only the oldest new message of a channel go, until it is posted or has waited long enough', async () => {
    const at = 1_700_000_000_000;
    await statuses.update('fence:east', 'C1', { text: 'east fenced' }, at);
    await statuses.update('writable:east', 'C1', { text: 'east is back and writable' }, at);
    await statuses.update('run:r9', 'C2', { text: 'proposed' }, at);
    const pending = async (key: string) => {
      const check = await statuses.check(key, 1);
      if (check.outcome !== 'pending') throw new Error(`${key} is ${check.outcome}`);
      return check;
    };
    const second = await pending('writable:east');
    expect(await statuses.isTurn('writable:east', 'C1', second.askedAt, at + 5)).toBe(false);
    expect(await statuses.isTurn('fence:east', 'C1', (await pending('fence:east')).askedAt, at + 5)).toBe(
      true,
    );
    expect(await statuses.isTurn('run:r9', 'C2', (await pending('run:r9')).askedAt, at + 5)).toBe(true);
    // An elder stuck in retries is passed once the younger has waited POST_ORDER_WAIT_MS.
    expect(await statuses.isTurn('writable:east', 'C1', second.askedAt, at + POST_ORDER_WAIT_MS)).toBe(true);

    // Posted (recorded with its ts), the elder leaves; an update of it later takes no place again.
    const claim = await statuses.claim('fence:east', 1);
    if (claim.outcome !== 'claimed') throw new Error('not claimed');
    await statuses.recordPosted('fence:east', claim.version, '1700000000.000100', 'C1');
    expect(await statuses.isTurn('writable:east', 'C1', second.askedAt, at + 5)).toBe(true);
    await statuses.update('fence:east', 'C1', { text: 'east fenced (edited)' }, at + 10);
    await statuses.update('later', 'C1', { text: 'later' }, at + 10);
    expect(await statuses.isTurn('writable:east', 'C1', second.askedAt, at + 11)).toBe(true);
    // A job that gave up leaves too.
    await statuses.leavePosts('writable:east');
    const later = await pending('later');
    expect(await statuses.isTurn('later', 'C1', later.askedAt, at + 11)).toBe(true);
  });
});
