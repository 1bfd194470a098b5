/**
 * A paused run does not hold the site silently: two worker roles on one Redis (one deployment), the Slack stand-in
 * and a real Redis. A BullMQ job scheduler looks for paused runs, and each paused run's thread gets a reminder at
 * most once per interval, however many workers run and across restarts; a run that moved on gets none.
 */
import { Redis } from 'ioredis';
import { Queue, QueueEvents } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSlackWebClient } from '../../src/adapters/slack-web.js';
import { systemClock } from '../../src/core/clock.js';
import type { Run } from '../../src/core/model.js';
import { SYSTEM_ACTOR } from '../../src/core/model.js';
import { transitionRun } from '../../src/core/runs/transition-run.js';
import { createLogger } from '../../src/logger.js';
import { Notifier } from '../../src/queue/notify/index.js';
import { PAUSED_REMINDER_SCHEDULER } from '../../src/queue/paused-reminders.js';
import { PERIODIC_QUEUE } from '../../src/queue/periodic.js';
import { startRedis } from '../../lab/processes/processes.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startSlackApiServer } from '../../lab/slack/slack-api-server.js';
import type { SlackApiServer } from '../../lab/slack/slack-api-server.js';
import { SimulatedWorld } from '../../lab/simulated-world/simulated-world.js';
import { RunPublisher, runMessageKey } from '../../src/slack/publish-run.js';
import type { WorkerRole } from '../../src/roles/worker-role.js';
import { startWorkerRole } from '../../src/roles/worker-role.js';
import type { Harness } from '../support/integration.js';
import { ALICE, createHarness, waitFor } from '../support/integration.js';

const TOKEN = 'xoxb-reminder-test';
const CHANNEL = 'C0INCIDENTS';
const EVERY_MS = 1500;
const log = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

let redis: RedisProcess;
let slack: SlackApiServer;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  redis = await startRedis();
  slack = await startSlackApiServer({ botToken: TOKEN });
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});
afterAll(async () => {
  await slack?.close();
  await redis?.stop();
});

async function harness(): Promise<Harness> {
  const h = await createHarness(redis.url);
  cleanups.push(() => h.close());
  return h;
}

/** One worker role of the deployment, reminding every `everyMs`. */
async function workerRole(h: Harness, everyMs = EVERY_MS): Promise<WorkerRole> {
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const site = h.topology.sites[0];
  if (!site) throw new Error('no site');
  const role = await startWorkerRole({
    topology: h.topology,
    connection,
    prefixes: { store: h.storePrefix, bull: h.bullPrefix },
    ports: SimulatedWorld.inMemory(site, systemClock).ports,
    slack: createSlackWebClient({ token: TOKEN, apiUrl: slack.apiUrl, log }),
    clock: systemClock,
    log,
    perChannelIntervalMs: 50,
    pausedReminderEveryMs: everyMs,
    pausedReminderCheckEveryMs: 100,
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await role.close();
    connection.disconnect();
  };
  cleanups.push(close);
  return { ...role, close };
}

/**
 * A run paused `minutes` ago at promote-target-db (no job is queued for it: no worker will touch it), with its
 * status message posted so the reminders have a thread.
 */
async function pausedRun(h: Harness, minutes: number): Promise<Run> {
  const { run } = await h.service.propose({
    kind: 'failover',
    reason: 'ActiveClusterDown',
    actor: { type: 'slack-user', id: 'U0DAVE' },
  });
  const pausedAt = Date.now() - minutes * 60_000;
  const paused = await h.store.mutate(
    run.id,
    (current) => {
      let next: Run = {
        ...transitionRun(current, 'approved', { at: pausedAt - 60_000, actor: ALICE }),
        segment: 1,
      };
      next = transitionRun(next, 'running', { at: pausedAt - 50_000, actor: SYSTEM_ACTOR });
      next = {
        ...next,
        steps: {
          ...next.steps,
          'promote-target-db': {
            id: 'promote-target-db',
            status: 'failed',
            attempts: 3,
            error: 'pg_promote() did not finish within 60 s',
            errorCode: 'step-timeout',
          },
        },
      };
      return transitionRun(next, 'paused', {
        at: pausedAt,
        actor: SYSTEM_ACTOR,
        reason: 'promote-target-db: pg_promote() did not finish within 60 s',
      });
    },
    (run) => ({ event: { type: 'run-paused', reason: run.stateReason ?? '' }, actor: SYSTEM_ACTOR }),
  );
  const notifier = new Notifier({ connection: h.redis, prefix: h.bullPrefix, log });
  cleanups.push(() => notifier.close());
  await new RunPublisher({ notifier, topology: h.topology, clock: systemClock, log }).publish(paused);
  return paused;
}

/**
 * The reminders posted in the run's thread so far, one entry each with the message that carried it (replies that
 * waited together go as one message, a line each).
 */
function reminders(runTs: string) {
  const message = slack.message(CHANNEL, runTs);
  return (message?.replies ?? []).flatMap((r) =>
    r.text
      .split('\n')
      .filter((line) => line.includes('has been paused for'))
      .map((text) => ({ ...r, text })),
  );
}

async function statusTs(h: Harness, run: Run): Promise<string> {
  const notifier = new Notifier({ connection: h.redis, prefix: h.bullPrefix, log });
  cleanups.push(() => notifier.close());
  return waitFor(
    'the status message',
    async () => (await notifier.statusMessage(runMessageKey(run)))?.ts,
    10_000,
  );
}

describe('paused-run reminders', () => {
  it('remind the thread once per interval across two workers, as one job scheduler', async () => {
    const h = await harness();
    const run = await pausedRun(h, 45);
    // No reminder can be claimed before the workers start: every one falls after this.
    const started = Date.now();
    await Promise.all([workerRole(h), workerRole(h)]);
    const ts = await statusTs(h, run);

    const [first] = await waitFor(
      'the first reminder',
      async () => (reminders(ts).length ? reminders(ts) : undefined),
      10_000,
    );
    expect(first?.text).toBe(
      `⏸️ production: run ${run.id} has been paused for 45 min at promote-target-db — pg_promote() did not finish ` +
        'within 60 s. Retry, Skip or Abort (approvers: <@U0ALICE>, <@U0BOB> or members of <!subteam^S0SRE>)',
    );

    // Two workers, a pass every 100 ms: still one reminder per interval. Claims are EVERY_MS apart on the workers'
    // clock (this process's), so however slow the machine, the reminders posted by now are at most one per interval
    // of the time since the workers started, plus the first; two workers reminding alike would post about twice that.
    await new Promise((resolve) => setTimeout(resolve, 2 * EVERY_MS + 700));
    await waitFor('a second reminder', async () => reminders(ts).length >= 2, 10_000);
    const posted = reminders(ts);
    const window = Date.now() - started;
    expect(posted.length).toBeLessThanOrEqual(Math.floor(window / EVERY_MS) + 1);
    // No reminder twice: each is its own message (the count bound above is what limits them to one per interval;
    // the gaps between posts depend on the notify queue's timing and are not asserted).
    expect(new Set(posted.map((p) => p.ts)).size).toBe(posted.length);

    // One scheduler for the deployment, not one timer per process.
    const queue = new Queue(PERIODIC_QUEUE, { connection: h.redis, prefix: h.bullPrefix });
    cleanups.push(() => queue.close());
    expect(await queue.getJobScheduler(PAUSED_REMINDER_SCHEDULER)).toMatchObject({ every: 100 });
  });

  it('a restarted deployment does not remind again before the interval; a run that moved on is not reminded', async () => {
    const everyMs = 6000;
    const h = await harness();
    const run = await pausedRun(h, 20);
    const first = await workerRole(h, everyMs);
    const ts = await statusTs(h, run);
    const [reminder] = await waitFor(
      'the first reminder',
      async () => (reminders(ts).length ? reminders(ts) : undefined),
      10_000,
    );
    await first.close();

    // A new worker within the interval: the last reminder time lives in Redis, so its passes remind nobody and
    // nothing is posted twice. (Were the interval over by now, a second reminder would be due and posted.)
    const passes = new QueueEvents(PERIODIC_QUEUE, { connection: h.redis, prefix: h.bullPrefix });
    cleanups.push(() => passes.close());
    await passes.waitUntilReady();
    const results: string[] = [];
    passes.on('completed', ({ jobId, returnvalue }) => {
      // The runs each pass reminded (BullMQ hands the value over parsed, though it types it as a string).
      const value: unknown = returnvalue;
      if (jobId.includes(PAUSED_REMINDER_SCHEDULER))
        results.push(typeof value === 'string' ? value : JSON.stringify(value));
    });
    const second = await workerRole(h, everyMs);
    await waitFor('three passes of the new worker', async () => results.length >= 3, 10_000);
    expect(new Set(results)).toEqual(new Set(['[]']));
    expect(reminders(ts)).toHaveLength(1);

    // Retried: it runs again (a worker picks it up), and a run that is not paused is not reminded.
    await h.service.retry(run.id, ALICE);
    await new Promise((resolve) =>
      setTimeout(resolve, everyMs - (Date.now() - (reminder?.postedAt ?? 0)) + 1000),
    );
    expect((await h.store.require(run.id)).state).not.toBe('paused');
    expect(reminders(ts)).toHaveLength(1);
    await second.close();
  });
});
