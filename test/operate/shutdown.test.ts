/**
 * Graceful shutdown with real signals: `baton web` lets a request in flight finish while refusing new connections,
 * `baton worker` answers 503 on /readyz while it finishes its step and leaves no job active, both exit 0; a second
 * signal exits at once with 130.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, Server } from 'node:http';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { closeServer, serveRoutes } from '../../src/observability/serve-http.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { freePort, startRedis } from '../../lab/processes/processes.js';
import type { SlackApiServer } from '../../lab/slack/slack-api-server.js';
import { startSlackApiServer } from '../../lab/slack/slack-api-server.js';
import type { WorkerProcess } from '../support/integration.js';
import {
  ALICE,
  BOB,
  DB_ENV,
  ROOT,
  createHarness,
  spawnWorker,
  waitFor,
  waitForState,
  waitForStep,
} from '../support/integration.js';
import {
  ALERTMANAGER_TOKEN,
  BOT_TOKEN,
  logLines,
  sample,
  slackEnv,
  waitReady,
  workerPort,
} from './operate-support.js';

let redis: RedisProcess;
let slack: SlackApiServer;
const processes: WorkerProcess[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  redis = await startRedis();
  slack = await startSlackApiServer({ botToken: BOT_TOKEN });
});
afterEach(async () => {
  for (const p of processes.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await p.exited;
  }
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});
afterAll(async () => {
  await slack?.close();
  await redis?.stop();
});

/** `baton web` on a known port, ready. */
async function startWeb(): Promise<{ web: WorkerProcess; port: number }> {
  const harness = await createHarness(redis.url);
  cleanups.push(() => harness.close());
  const port = await freePort();
  const web = spawnWorker(harness, redis.url, [], {
    role: 'web',
    // The web role never connects to PostgreSQL, so it starts without the database URLs.
    env: slackEnv(slack, { PORT: String(port), EAST_DATABASE_URL: '', WEST_DATABASE_URL: '' }),
  });
  processes.push(web);
  await waitReady(port, web);
  return { web, port };
}

/**
 * An Alertmanager notification whose body arrives in two parts: the request is in flight until `finish()` sends
 * the rest.
 */
async function slowWebhook(port: number) {
  const body = Buffer.from(await readFile(join(ROOT, 'test/alerts/fixtures/firing.json')));
  const half = Math.floor(body.length / 2);
  const req = request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/alertmanager',
    agent: false,
    headers: {
      authorization: `Bearer ${ALERTMANAGER_TOKEN}`,
      'content-type': 'application/json',
      'content-length': String(body.length),
    },
  });
  const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.on('response', (res: IncomingMessage) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  response.catch(() => undefined); // awaited by the caller; a test that expects it to fail must not leak a rejection
  await new Promise<void>((resolve) => req.on('socket', (socket) => socket.once('connect', () => resolve())));
  req.write(body.subarray(0, half));
  // Give the server time to accept the connection and read the headers: the request is now in flight.
  await new Promise((r) => setTimeout(r, 300));
  return {
    response,
    finish: () => req.end(body.subarray(half)),
  };
}

/** Whether a new TCP connection to the port is refused. */
const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });

describe('baton web on SIGTERM', () => {
  it('refuses new connections, finishes the request in flight, and exits 0', async () => {
    const { web, port } = await startWeb();
    const inFlight = await slowWebhook(port);

    web.child.kill('SIGTERM');
    await waitFor('the shutdown to begin', async () => web.output().includes('shutting down'), 10_000);
    await waitFor('new connections to be refused', () => refused(port), 5_000);
    expect(web.child.exitCode, 'still draining the request in flight').toBeNull();

    inFlight.finish();
    const answer = await inFlight.response;
    expect(answer.status, answer.text).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ status: 'ok' });

    expect(await web.exited, web.output()).toBe(0);
    expect(logLines(web).map((l) => l.msg)).toEqual(
      expect.arrayContaining(['shutting down: finishing the current step', 'web stopped']),
    );
  }, 40_000);

  it('exits at once with 130 on a second signal', async () => {
    const { web, port } = await startWeb();
    const inFlight = await slowWebhook(port);
    web.child.kill('SIGTERM');
    await waitFor('the shutdown to begin', async () => web.output().includes('shutting down'), 10_000);
    web.child.kill('SIGINT');
    expect(await web.exited, web.output()).toBe(130);
    // Everything it wrote is read once its stdout is closed.
    await waitFor('its output to end', async () => web.child.stdout?.closed === true, 5_000);
    expect(web.output()).toContain('second signal: exiting now without finishing the current step');
    // At once: it exited while still draining, before its 10 s grace period ran out (it would have logged this line
    // before cutting the request), and the request it never finished was cut by the exit.
    expect(web.output()).not.toContain('requests still in flight after the shutdown grace period');
    await expect(inFlight.response).rejects.toThrow();
    expect(web.output()).not.toContain('web stopped');
  }, 40_000);
});

describe('baton worker on SIGTERM', () => {
  it('answers 503 on /readyz while it finishes the step, leaves no job active, and exits 0', async () => {
    const harness = await createHarness(redis.url);
    cleanups.push(() => harness.close());
    // Pods take 2 s to be Ready: the worker is inside scale-up-target when the signal lands.
    const worker = spawnWorker(harness, redis.url, [
      '--pods-ready-ms',
      '2000',
      '--latency-ms',
      '5',
      '--poll-ms',
      '50',
    ]);
    processes.push(worker);
    const port = await workerPort(worker);
    await waitReady(port, worker);
    const { run } = await harness.service.propose({ kind: 'failover', reason: 'shutdown test', actor: BOB });
    await harness.service.approve(run.id, ALICE);
    await waitForStep(harness.store, run.id, 'scale-up-target');

    worker.child.kill('SIGTERM');
    const readyz = await waitFor(
      '/readyz to answer 503',
      async () => {
        const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
        return response?.status === 503 ? ((await response.json()) as unknown) : undefined;
      },
      5_000,
      10,
    );
    expect(readyz).toEqual({ ready: false, reason: 'shutting down' });
    // Still alive and still scraped while it drains.
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);

    expect(await worker.exited, worker.output()).toBe(0);
    expect(logLines(worker).some((l) => l.msg === 'worker stopped')).toBe(true);
    expect(await refused(port)).toBe(true);

    const handedBack = await harness.store.require(run.id);
    expect(handedBack.state).toBe('running');
    expect(handedBack.steps['scale-up-target']?.status).toBe('succeeded');
    const counts = await harness.queue.getJobCounts('active', 'waiting', 'delayed');
    expect(counts.active).toBe(0);
    expect((counts.waiting ?? 0) + (counts.delayed ?? 0)).toBe(1);
  }, 40_000);
});

describe('baton start', () => {
  it('serves both roles on one port, counts both into one registry, and exits 0 on SIGTERM', async () => {
    const harness = await createHarness(redis.url);
    cleanups.push(() => harness.close());
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'lab/cli.ts',
        'start',
        '--simulated',
        '--world-key',
        harness.worldKey,
        '--poll-ms',
        '50',
      ],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          REDIS_URL: redis.url,
          BATON_CONFIG: join(ROOT, 'examples/baton.yaml'),
          BATON_KEY_PREFIX: harness.prefix,
          LOG_LEVEL: 'info',
          ...DB_ENV,
          ...slackEnv(slack, { PORT: String(port) }),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const baton: WorkerProcess = {
      child,
      name: '',
      output: () => output,
      exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
    };
    processes.push(baton);
    await waitReady(port, baton);

    const { run } = await harness.service.propose({ kind: 'failover', reason: 'start', actor: BOB });
    await harness.service.approve(run.id, ALICE);
    await waitForState(harness.store, run.id, ['succeeded'], 30_000);
    const refusedWebhook = await fetch(`http://127.0.0.1:${port}/alertmanager`, {
      method: 'POST',
      headers: { authorization: 'Bearer wrong', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(refusedWebhook.status).toBe(401);
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(sample(text, 'baton_runs_total', { kind: 'failover', outcome: 'succeeded' })).toBe(1);
    expect(sample(text, 'baton_webhooks_total', { source: 'alertmanager', outcome: 'unauthorized' })).toBe(1);
    expect(sample(text, 'baton_queue_workers', { queue: 'runs' })).toBe(1);
    // The worker serves no port of its own in `baton start`.
    expect(logLines(baton).find((l) => l.msg === 'worker ready')?.port).toBeUndefined();
    expect(logLines(baton).find((l) => l.msg === 'web ready')?.port).toBe(port);

    child.kill('SIGTERM');
    expect(await baton.exited, output).toBe(0);
    expect(logLines(baton).some((l) => l.msg === 'start stopped')).toBe(true);
  }, 40_000);
});

describe('closeServer', () => {
  it('cuts a request still in flight after the grace period', async () => {
    const lines: string[] = [];
    const log = createLogger({
      level: 'warn',
      destination: { write: (line: string) => void lines.push(line) },
    });
    const handle = await serveRoutes({
      port: 0,
      routes: [{ path: '/stuck', method: 'GET', handler: () => undefined }],
      log,
    });
    const answered = fetch(`http://127.0.0.1:${handle.port}/stuck`).then(
      () => 'answered',
      () => 'cut',
    );
    await waitFor('the request to arrive', async () => (await countConnections(handle.server)) > 0, 5_000);
    const started = Date.now();
    await closeServer(handle.server, { timeoutMs: 300, log });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    // Cut by the grace period running out, not by the request ending: the one warning closeServer gives then.
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
      expect.objectContaining({
        timeoutMs: 300,
        msg: 'requests still in flight after the shutdown grace period; closing their connections',
      }),
    ]);
    expect(await answered).toBe('cut');
    expect(handle.server.listening).toBe(false);
  });
});

function countConnections(server: Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
}
