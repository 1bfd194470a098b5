/**
 * GET /metrics as Prometheus scrapes it, from real `baton web` and `baton worker --simulated` processes after a real
 * failover: run and step metrics, queue gauges read from Redis, Slack rate-limit waits, webhook outcomes, and a
 * scrape that still answers while Redis is down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allSteps } from '../../src/core/model.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { freePort, startRedis } from '../../lab/processes/processes.js';
import type { SlackApiServer } from '../../lab/slack/slack-api-server.js';
import { startSlackApiServer } from '../../lab/slack/slack-api-server.js';
import { postToApp, sign, slashCommand } from '../../lab/slack/slack-signer.js';
import type { Harness, WorkerProcess } from '../support/integration.js';
import { ALICE, BOB, createHarness, spawnWorker, waitFor, waitForState } from '../support/integration.js';
import {
  ALERTMANAGER_TOKEN,
  BOT_TOKEN,
  SIGNING_SECRET,
  sample,
  scrape,
  slackEnv,
  waitReady,
  workerPort,
} from './operate-support.js';

let redis: RedisProcess;
let slack: SlackApiServer;
let harness: Harness;
const processes: WorkerProcess[] = [];
let webPort: number;
let workerHttpPort: number;

beforeAll(async () => {
  redis = await startRedis();
  slack = await startSlackApiServer({ botToken: BOT_TOKEN });
  harness = await createHarness(redis.url);
  webPort = await freePort();
  const web = spawnWorker(harness, redis.url, [], {
    role: 'web',
    env: slackEnv(slack, { PORT: String(webPort) }),
  });
  const worker = spawnWorker(harness, redis.url, ['--poll-ms', '50', '--slack-interval-ms', '100'], {
    env: slackEnv(slack),
  });
  processes.push(web, worker);
  workerHttpPort = await workerPort(worker);
  await Promise.all([waitReady(webPort, web), waitReady(workerHttpPort, worker)]);
});

afterAll(async () => {
  for (const p of processes) p.child.kill('SIGKILL');
  await Promise.all(processes.map((p) => p.exited));
  await harness?.close();
  await slack?.close();
  await redis?.stop();
});

describe('GET /metrics', () => {
  it('counts a real failover, its steps and Slack rate-limit waits; shows queues, open runs and webhooks', async () => {
    // The run's first status message meets a 429 from Slack: the worker waits Retry-After and posts again.
    slack.faults.rateLimit({ method: 'chat.postMessage', retryAfterS: 1 });
    const { run } = await harness.service.propose({ kind: 'failover', reason: 'metrics test', actor: BOB });
    await harness.service.approve(run.id, ALICE);
    const done = await waitForState(harness.store, run.id, ['succeeded', 'paused', 'failed'], 30_000);
    expect(done.state, done.stateReason).toBe('succeeded');

    const worker = await waitFor('the rate-limited status message to be posted', async () => {
      const text = await scrape(workerHttpPort);
      return sample(text, 'baton_slack_rate_limit_waits_total', { method: 'chat.postMessage' }) === 1 &&
        slack.messages('C0INCIDENTS').length > 0
        ? text
        : undefined;
    });
    expect(sample(worker, 'baton_runs_total', { kind: 'failover', outcome: 'succeeded' })).toBe(1);
    expect(sample(worker, 'baton_runs_total', { kind: 'failover', outcome: 'failed' })).toBe(0);
    for (const step of allSteps(done.plan)) {
      expect(
        sample(worker, 'baton_step_duration_seconds_count', { step: step.id, outcome: 'succeeded' }),
        step.id,
      ).toBe(1);
    }
    const histogramSum = sample(worker, 'baton_step_duration_seconds_sum', {
      step: 'scale-up-target',
      outcome: 'succeeded',
    });
    // In seconds, not milliseconds: no more than the step's own record says it took (the metric starts counting
    // at the save that marks the step running, a moment after the record's start time).
    const scaleUp = done.steps['scale-up-target'];
    expect(histogramSum).toBeGreaterThanOrEqual(0);
    expect(histogramSum).toBeLessThanOrEqual(((scaleUp?.finishedAt ?? 0) - (scaleUp?.startedAt ?? 0)) / 1000);
    expect(sample(worker, 'baton_slack_rate_limit_wait_seconds_total', { method: 'chat.postMessage' })).toBe(
      1,
    );
    expect(
      sample(worker, 'baton_slack_api_errors_total', { method: 'chat.postMessage', error: 'ratelimited' }),
    ).toBe(1);
    expect(sample(worker, 'baton_queue_workers', { queue: 'runs' })).toBe(1);
    expect(sample(worker, 'baton_queue_workers', { queue: 'notify' })).toBe(1);
    for (const queue of ['runs', 'checks', 'notify'])
      for (const state of ['waiting', 'active', 'delayed', 'failed'])
        expect(sample(worker, 'baton_queue_jobs', { queue, state }), `${queue} ${state}`).toBeTypeOf(
          'number',
        );
    expect(sample(worker, 'baton_queue_jobs', { queue: 'runs', state: 'failed' })).toBe(0);
    expect(sample(worker, 'process_resident_memory_bytes')).toBeGreaterThan(10 * 2 ** 20);
    expect(sample(worker, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);

    // Counters are per process: the web role did not finish the run. Both read the same Redis for the gauges.
    let web = await scrape(webPort);
    expect(sample(web, 'baton_runs_total', { kind: 'failover', outcome: 'succeeded' })).toBe(0);
    expect(sample(web, 'baton_queue_workers', { queue: 'runs' })).toBe(1);

    // An unanswered proposal shows as pending approval.
    expect(sample(web, 'baton_approvals_pending')).toBe(0);
    const proposal = await harness.service.propose({ kind: 'failback', reason: 'pending', actor: BOB });
    web = await scrape(webPort);
    expect(sample(web, 'baton_approvals_pending')).toBe(1);
    expect(sample(web, 'baton_runs_in_state', { state: 'proposed' })).toBe(1);
    expect(sample(web, 'baton_runs_in_state', { state: 'running' })).toBe(0);
    expect(sample(web, 'baton_runs_in_state', { state: 'paused' })).toBe(0);
    // Cancelled from Slack: the web process makes the run final, so its counter moves.
    const body = slashCommand({
      command: '/failover',
      text: `cancel ${proposal.run.id}`,
      userId: BOB.id,
      channelId: 'C0INCIDENTS',
      responseUrl: slack.createResponseUrl({ channel: 'C0INCIDENTS', user: BOB.id }).url,
      triggerId: slack.mintTriggerId(),
    });
    const ack = await postToApp(
      `http://127.0.0.1:${webPort}/slack/events`,
      body,
      sign(SIGNING_SECRET, body, Date.now() / 1000),
    );
    expect(ack.status).toBe(200);
    await waitForState(harness.store, proposal.run.id, ['cancelled'], 10_000);
    web = await scrape(webPort);
    expect(sample(web, 'baton_runs_total', { kind: 'failback', outcome: 'cancelled' })).toBe(1);
    expect(sample(web, 'baton_approvals_pending')).toBe(0);

    // A webhook with the wrong token is refused and counted as unauthorized; a good one as accepted.
    const post = (token: string) =>
      fetch(`http://127.0.0.1:${webPort}/alertmanager`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ version: '4', status: 'firing', alerts: [] }),
      });
    expect((await post('not-the-token')).status).toBe(401);
    web = await scrape(webPort);
    expect(sample(web, 'baton_webhooks_total', { source: 'alertmanager', outcome: 'unauthorized' })).toBe(1);
    expect(sample(web, 'baton_webhooks_total', { source: 'alertmanager', outcome: 'accepted' })).toBe(0);
    expect((await post(ALERTMANAGER_TOKEN)).status).toBe(400);
    web = await scrape(webPort);
    expect(sample(web, 'baton_webhooks_total', { source: 'alertmanager', outcome: 'invalid' })).toBe(1);
  }, 60_000);

  it('still answers while Redis is down, without the Redis gauges, and /readyz says why', async () => {
    await redis.shutdown();
    try {
      const response = await fetch(`http://127.0.0.1:${workerHttpPort}/metrics`);
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(sample(text, 'baton_runs_total', { kind: 'failover', outcome: 'succeeded' })).toBe(1);
      expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(text).not.toMatch(/^baton_queue_jobs\{/m);
      expect(text).not.toMatch(/^baton_queue_workers\{/m);
      expect(text).not.toMatch(/^baton_runs_in_state\{/m);
      expect(text).not.toMatch(/^baton_approvals_pending /m);

      const ready = await fetch(`http://127.0.0.1:${workerHttpPort}/readyz`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { ready: boolean; reason: string };
      expect(body.ready).toBe(false);
      expect(body.reason).toMatch(/Redis/);
      expect((await fetch(`http://127.0.0.1:${workerHttpPort}/healthz`)).status).toBe(200);
      // The child's log line crosses a pipe: it may reach us a moment after the answer that followed it.
      await waitFor('the worker to log why the Redis gauges are missing', async () =>
        /could not read queue and run state from Redis/.test(processes[1]?.output() ?? '') ? true : undefined,
      );
    } finally {
      await redis.start();
    }
    await waitReady(workerHttpPort, processes[1]!);
    await waitFor('the worker to be back on the runs queue', async () =>
      sample(await scrape(workerHttpPort), 'baton_queue_workers', { queue: 'runs' }) === 1 ? true : undefined,
    );
  }, 40_000);
});
