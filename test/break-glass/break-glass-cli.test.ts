/**
 * The break-glass CLI end to end, as an SRE would use it with Slack down: the real `baton` process against a real
 * Redis and a real (simulated-world) worker process. Proposed and approved from the CLI, the run succeeds; the
 * approval rules are Slack's; the audit names the CLI and the OS account that typed each command.
 */
import { hostname, userInfo } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBreakGlass } from '../../src/break-glass/run-break-glass.js';
import type { StatusReport } from '../../src/break-glass/show-status.js';
import type { PlanReport } from '../../src/break-glass/show-plan.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startRedis } from '../../lab/processes/processes.js';
import type { Harness, WorkerProcess } from '../support/integration.js';
import { createHarness, processReady, spawnWorker, waitForState } from '../support/integration.js';
import { cliEnv, runCli } from './cli-process.js';

let redis: RedisProcess;
let harness: Harness;
let worker: WorkerProcess;

beforeAll(async () => {
  redis = await startRedis();
  harness = await createHarness(redis.url);
  worker = spawnWorker(harness, redis.url, ['--poll-ms', '50']);
  await processReady(worker);
}, 180_000);
afterAll(async () => {
  worker?.child.kill('SIGTERM');
  await worker?.exited;
  await harness?.close();
  await redis?.stop();
});

const ORIGIN = { osUser: userInfo().username, host: hostname() };
/** Bob's own account: every process this test spawns runs as ORIGIN, so his command runs in this process. */
const BOB_ORIGIN = { osUser: 'bob', host: 'bastion-2' };

describe('baton propose / approve / status / plan', () => {
  it('proposes and approves from the CLI under Slack’s rules; the run succeeds and the audit names the CLI', async () => {
    const env = cliEnv(redis.url, harness.prefix);
    const proposed = await runCli(
      ['propose', 'failover', 'production', '--as', 'U0ALICE', '--reason', 'ActiveClusterDown, Slack down'],
      env,
    );
    expect(proposed.stderr).toBe('');
    expect(proposed.code).toBe(0);
    expect(proposed.stdout).toContain(
      `Proposed EMERGENCY failover r1 of production, east → west, as U0ALICE (CLI, ${ORIGIN.osUser}@${ORIGIN.host}).`,
    );
    // The worker measured preflight for the proposal, as it does for Slack's.
    expect(proposed.stdout).toMatch(/passed +target-nodes: west: 3 nodes Ready/);
    expect(proposed.stdout).toContain('from listed approvers (U0BOB):\n  baton approve r1 --as <APPROVER>');

    // The requester, a member of an approver group and a stranger are refused, each saying why.
    const [self, groupMember, stranger] = await Promise.all(
      ['U0ALICE', 'U0CAROL', 'U0MALLORY'].map((user) => runCli(['approve', 'r1', '--as', user], env)),
    );
    expect(self?.code).toBe(1);
    expect(self?.stderr.trim()).toBe(
      'baton approve: U0ALICE requested r1 and approvals.allowSelfApproval is false in ' +
        `${env.BATON_CONFIG}: another listed approver must approve it (U0BOB): baton approve r1 --as <APPROVER>`,
    );
    expect(groupMember?.code).toBe(1);
    expect(groupMember?.stderr).toMatch(
      /U0CAROL is not listed in approvals.approvers.users .*Members of S0SRE/,
    );
    expect(stranger?.code).toBe(1);
    expect(stranger?.stderr.trim().split('\n')).toHaveLength(1);
    // A listed approver typing from the account that proposed it is that account again: one OS account, one approval.
    const sameAccount = await runCli(['approve', 'r1', '--as', 'U0BOB'], env);
    expect(sameAccount.code).toBe(1);
    expect(sameAccount.stderr).toContain(
      `approvals typed from one OS account (${ORIGIN.osUser}@${ORIGIN.host}) count as one`,
    );
    expect((await harness.store.require('r1')).state).toBe('proposed');

    // Bob, on his own account.
    const lines: string[] = [];
    const code = await runBreakGlass(
      'approve',
      ['r1', '--as', 'U0BOB'],
      env,
      {
        log: (line) => lines.push(line),
        error: (line) => lines.push(line),
      },
      { origin: BOB_ORIGIN },
    );
    expect(code).toBe(0);
    expect(lines.join('\n')).toContain(
      `Approved r1 as U0BOB (CLI, ${BOB_ORIGIN.osUser}@${BOB_ORIGIN.host}) (1 of 1): the EMERGENCY failover of production`,
    );
    const done = await waitForState(harness.store, 'r1', ['succeeded', 'paused', 'failed'], 30_000);
    expect(done.state).toBe('succeeded');
    expect(done.requestedBy).toEqual({ type: 'cli', id: 'U0ALICE', origin: ORIGIN });
    expect(done.approvals.map((a) => a.actor)).toEqual([{ type: 'cli', id: 'U0BOB', origin: BOB_ORIGIN }]);
    expect((await harness.world.state()).clusters.west?.workloads['default/Deployment/web']?.replicas).toBe(
      5,
    );

    // The audit trail: who asked, who was refused and why, who approved — each as the CLI, from this account.
    const audit = (await harness.store.audit()).filter((e) => e.runId === 'r1' && e.actor.type === 'cli');
    const rows = audit.map((e) => [e.action, e.actor.id, e.detail ?? ''].join(' '));
    expect(rows[0]).toBe('run-proposed U0ALICE ActiveClusterDown, Slack down');
    // The three refusals ran at the same time: any order.
    expect(rows.slice(1, 4).sort()).toEqual([
      'approval-refused U0ALICE self-approval',
      'approval-refused U0CAROL not-approver',
      'approval-refused U0MALLORY not-approver',
    ]);
    expect(rows.slice(4)).toEqual(['approval-refused U0BOB same-os-account', 'run-approved U0BOB 1 of 1']);
    expect(audit.map((e) => e.actor.origin)).toEqual([...Array<typeof ORIGIN>(5).fill(ORIGIN), BOB_ORIGIN]);

    // A finished run is not awaiting approval any more.
    const late = await runCli(['approve', 'r1', '--as', 'U0BOB'], env);
    expect(late.code).toBe(1);
    expect(late.stderr.trim()).toBe(
      'baton approve: run r1 is succeeded, not awaiting approval: `baton status production` shows what it is doing',
    );
  });

  it('status --json: the serving cluster, no open run, the last runs with their steps and approvers', async () => {
    const env = cliEnv(redis.url, harness.prefix);
    const result = await runCli(['status', '--json'], env);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as StatusReport;
    expect(report.workers.runs).toBeGreaterThanOrEqual(1);
    expect(report.sites).toHaveLength(1);
    const [site] = report.sites;
    expect(site).toMatchObject({ site: 'production', homeCluster: 'east', serving: 'west', openRun: null });
    expect(site?.servingSince).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const [last] = site?.recentRuns ?? [];
    expect(last).toMatchObject({
      id: 'r1',
      kind: 'failover',
      mode: 'emergency',
      state: 'succeeded',
      from: 'east',
      to: 'west',
      approvals: { count: 1, required: 1, by: [{ type: 'cli', id: 'U0BOB', origin: BOB_ORIGIN }] },
      next: [],
    });
    expect(last?.steps.map((s) => s.status)).toEqual(Array(8).fill('succeeded'));
    expect(last?.steps.every((s) => typeof s.durationMs === 'number')).toBe(true);
  });

  it('plan failback: the plan and a worker’s preflight, and nothing changes', async () => {
    const env = cliEnv(redis.url, harness.prefix);
    const result = await runCli(['plan', 'failback', '--json'], env);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as PlanReport;
    expect(report).toMatchObject({
      site: 'production',
      kind: 'failback',
      mode: 'planned',
      from: 'west',
      to: 'east',
    });
    expect(report.steps.map((s) => s.id)).toContain('catch-up');
    expect(report.rendered[0]).toBe('1. Preflight checks on east');
    // The old primary was fenced, not rebuilt as a standby: the worker's preflight says so.
    expect(report.preflight?.checks.find((c) => c.id === 'target-database')).toMatchObject({
      status: 'failed',
    });
    expect(await harness.store.history('production')).toHaveLength(1);
    expect(await harness.store.openRun('production')).toBeNull();
  });
});
