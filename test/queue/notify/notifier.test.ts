/**
 * The producer against a real Redis on a fake clock: it stamps replies with its clock's time, and gives up (false,
 * logged, never a throw) when Redis does not answer within its time box, without the test waiting for it.
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Log } from '../../../src/core/ports.js';
import { NOTIFY_QUEUE, Notifier, replyJobId } from '../../../src/queue/notify/index.js';
import { startRedis } from '../../../lab/processes/processes.js';
import type { RedisProcess } from '../../../lab/processes/processes.js';
import { FakeClock } from '../../support/fake-clock.js';

let redis: RedisProcess;
let connection: Redis;
let admin: Redis;

beforeAll(async () => {
  redis = await startRedis();
  connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  admin = new Redis(redis.url);
});
afterAll(async () => {
  connection?.disconnect();
  admin?.disconnect();
  await redis?.stop();
});

function setup() {
  const clock = new FakeClock();
  const prefix = `q${randomUUID().slice(0, 8)}`;
  const warnings: string[] = [];
  const log: Log = {
    info: () => undefined,
    debug: () => undefined,
    error: () => undefined,
    warn: (_obj, msg) => warnings.push(msg ?? ''),
    child: () => log,
  };
  const notifier = new Notifier({ connection, prefix, log, clock, timeoutMs: 250 });
  const queue = new Queue(NOTIFY_QUEUE, { connection, prefix });
  return { clock, prefix, warnings, notifier, queue };
}

describe('Notifier', () => {
  it("stamps a thread reply with its clock's time, and leaves no timer behind", async () => {
    const { clock, notifier, queue } = setup();
    await clock.advance(12_345);
    const message = { text: 'DNS switched' };
    expect(await notifier.postReply({ channel: 'C1', threadKey: 'run:r1', dedupeId: 'dns', message })).toBe(
      true,
    );
    const job = await queue.getJob(replyJobId('run:r1', 'dns'));
    expect(job?.data).toMatchObject({ threadKey: 'run:r1', dedupeId: 'dns', createdAt: clock.now() });
    expect(clock.sleeping).toBe(0); // the time box ended with the call
    await queue.close();
    await notifier.close();
  });

  it('gives up after its time box when Redis does not answer, and says so', async () => {
    const { clock, notifier, queue, warnings } = setup();
    await admin.call('CLIENT', 'PAUSE', '10000', 'WRITE');
    try {
      let settled: boolean | undefined;
      const posting = notifier
        .postStatus({ channel: 'C1', key: 'run:r2', message: { text: 'running' } })
        .then((queued) => (settled = queued));
      await clock.advance(249);
      expect(settled).toBeUndefined();
      await clock.advance(1);
      expect(await posting).toBe(false);
      expect(warnings).toContain('queueing a Slack message timed out');
    } finally {
      await admin.call('CLIENT', 'UNPAUSE');
    }
    await queue.close();
    await notifier.close();
  });
});
