/**
 * How the break-glass CLI fails: one line on stderr saying what to do, exit 1 for a refusal or an outage, exit 2 for
 * a command typed wrong; a Redis it cannot reach is reported within seconds, its password never printed.
 */
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { freePort, startRedis } from '../../lab/processes/processes.js';
import type { Harness } from '../support/integration.js';
import { createHarness } from '../support/integration.js';
import { cliEnv, runCli } from './cli-process.js';

let redis: RedisProcess;
let harness: Harness;

beforeAll(async () => {
  redis = await startRedis();
  harness = await createHarness(redis.url);
});
afterAll(async () => {
  await harness?.close();
  await redis?.stop();
});

/** A TCP server that accepts connections and never says a word, like a Redis behind a broken network path. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('break-glass errors', () => {
  it('usage errors exit 2 with the command’s usage; --help exits 0', async () => {
    const env = cliEnv(redis.url, harness.prefix);
    const [noAs, noKind, unknown, help] = await Promise.all([
      runCli(['approve', 'r1'], env),
      runCli(['propose', '--as', 'U0ALICE'], env),
      runCli(['status', '--verbose'], env),
      runCli(['approve', '--help'], env),
    ]);
    expect(noAs.code).toBe(2);
    expect(noAs.stderr).toContain('baton approve: approve needs --as USER');
    expect(noAs.stderr).toContain('usage: baton approve RUN --as USER');
    expect(noKind.code).toBe(2);
    expect(noKind.stderr).toContain('baton propose: say what to propose: failover or failback');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--verbose'/);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: baton approve RUN --as USER');
  });

  it('refusals exit 1 with one line: unknown run, a requester not listed by id, a stranger', async () => {
    const env = cliEnv(redis.url, harness.prefix);
    const [unknownRun, groupRequester, stranger, status, plan] = await Promise.all([
      runCli(['approve', 'r404', '--as', 'U0BOB'], env),
      runCli(['propose', 'failover', '--as', 'U0DAVE'], env),
      runCli(['propose', 'failover', '--as', 'U0MALLORY'], env),
      runCli(['status'], env),
      runCli(['plan'], env),
    ]);
    for (const result of [unknownRun, groupRequester, stranger]) {
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(unknownRun.stderr.trim()).toBe(
      "baton approve: no run r404: `baton status` lists each site's open and recent runs",
    );
    // U0DAVE may request in Slack through S0ONCALL; with Slack down that group cannot be read.
    expect(groupRequester.stderr).toContain(
      'U0DAVE may not propose from the CLI: only users listed by id in approvals.requesters.users or ' +
        'approvals.approvers.users',
    );
    expect(groupRequester.stderr).toContain('Members of S0ONCALL, S0SRE count only in Slack');
    expect(stranger.stderr).toContain('U0MALLORY may not propose from the CLI');
    expect(await harness.store.history('production')).toHaveLength(0);
    // With no worker, status still answers, and says runs would wait.
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('production: serving from east (its home)');
    expect(status.stdout).toContain('! No worker is connected');
    // plan still shows the plan, and says why preflight is missing instead of waiting for nobody.
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('Plan: EMERGENCY failover of production, east → west');
    expect(plan.stdout).toContain('Preflight:\n  not measured: no worker is connected to Redis');
  });

  it('a proposal rejected and another cancelled from the CLI free the site; a decided run refuses more', async () => {
    const env = cliEnv(redis.url, harness.prefix);
    const first = await runCli(['propose', 'failover', '--as', 'U0ALICE', '--reason', 'drill'], env);
    expect(first.code).toBe(0);
    // No worker: the proposal is made, and the output says preflight waits for one.
    expect(first.stdout).toContain('not measured: no worker is connected to Redis (start `baton worker`)');
    const rejected = await runCli(['reject', 'r1', '--as', 'U0BOB', '--reason', 'wrong site'], env);
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toContain('Rejected r1 as U0BOB (CLI,');
    expect(await harness.store.require('r1')).toMatchObject({ state: 'rejected', stateReason: 'wrong site' });

    expect((await runCli(['propose', 'failover', '--as', 'U0ALICE', '--wait', '0'], env)).code).toBe(0);
    const [again, stranger] = await Promise.all([
      runCli(['reject', 'r1', '--as', 'U0BOB'], env),
      runCli(['cancel', 'r2', '--as', 'U0MALLORY'], env),
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe(
      'baton reject: run r1 is rejected, not awaiting approval: `baton status production` shows what it is doing',
    );
    expect(stranger.code).toBe(1);
    expect(stranger.stderr.trim()).toBe(
      'baton cancel: Only the requester (U0ALICE) or an approver can cancel run r2.',
    );
    const cancelled = await runCli(['cancel', 'r2', '--as', 'U0ALICE'], env);
    expect(cancelled.code).toBe(0);
    expect((await harness.store.require('r2')).state).toBe('cancelled');
    expect(await harness.store.openRun('production')).toBeNull();

    // Without run ids, republish takes each site's open and last runs, oldest first.
    const republished = await runCli(['republish'], env);
    expect(republished.code).toBe(0);
    expect(republished.stdout).toContain('Queued the Slack messages of r1 (rejected), r2 (cancelled).');
  });

  it('an unreachable Redis: exit 1 within seconds, saying to check REDIS_URL, its password redacted', async () => {
    const closed = await freePort();
    const silent = await silentServer();
    try {
      const [refused, hanging, shorter] = await Promise.all([
        runCli(['status'], cliEnv(`redis://:s3cret-pw@127.0.0.1:${closed}`, harness.prefix)),
        runCli(
          ['approve', 'r1', '--as', 'U0BOB'],
          cliEnv(`redis://baton:s3cret-pw@127.0.0.1:${silent.port}`, 'x'),
        ),
        runCli(['status'], cliEnv(`redis://127.0.0.1:${silent.port}`, 'x', { BATON_REDIS_TIMEOUT: '500ms' })),
      ]);
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim()).toBe(
        `baton status: cannot reach Redis at redis://:[redacted]@127.0.0.1:${closed} ` +
          `(connect ECONNREFUSED 127.0.0.1:${closed}): check REDIS_URL and that Redis is up and reachable from here`,
      );
      expect(hanging.code).toBe(1);
      expect(hanging.stderr.trim()).toBe(
        `baton approve: cannot reach Redis at redis://baton:[redacted]@127.0.0.1:${silent.port} ` +
          '(no answer within 3 s): check REDIS_URL and that Redis is up and reachable from here',
      );
      expect(shorter.code).toBe(1);
      expect(shorter.stderr).toContain('(no answer within 0.5 s)');
      expect(refused.stderr + hanging.stderr).not.toContain('s3cret-pw');
    } finally {
      await silent.close();
    }
  });
});
