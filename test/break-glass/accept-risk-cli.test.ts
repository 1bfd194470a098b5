/**
 * One OS account gives one approval, and accepting the split-brain risk from the break-glass CLI: the real `baton`
 * process against a real Redis (no worker: the queued segment is asserted on the queue). Every process these
 * tests spawn runs as this machine's OS user, so a second account is the in-process CLI with another origin.
 */
import { hostname, userInfo } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBreakGlass } from '../../src/break-glass/run-break-glass.js';
import type { Actor, Run } from '../../src/core/model.js';
import { SYSTEM_ACTOR, runJobId } from '../../src/core/model.js';
import { transitionRun } from '../../src/core/runs/transition-run.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startRedis } from '../../lab/processes/processes.js';
import type { Harness } from '../support/integration.js';
import { ALICE, createHarness } from '../support/integration.js';
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

const ACCOUNT = `${userInfo().username}@${hostname()}`;
const DAVE: Actor = { type: 'slack-user', id: 'U0DAVE' };
const SPLIT_BRAIN_ERROR =
  "east's database (EAST_DATABASE_URL) refused Baton: sorry, too many clients already";

/** `baton …` in this process, typed from another OS account. */
async function fromAnotherAccount(args: string[], osUser = 'bob', host = 'bastion-2') {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runBreakGlass(
    args[0] as Parameters<typeof runBreakGlass>[0],
    args.slice(1),
    cliEnv(redis.url, harness.prefix),
    { log: (line) => out.push(line), error: (line) => err.push(line) },
    { origin: { osUser, host } },
  );
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

/** The site's open run, if any, is marked finished first (each test makes its own; no worker runs here). */
async function freeSite(): Promise<void> {
  const open = await harness.store.openRun('production');
  if (open)
    await harness.store.mutate(
      open.id,
      (current) => ({ ...current, state: 'cancelled' }),
      () => ({ event: { type: 'run-cancelled' }, actor: SYSTEM_ACTOR }),
    );
}

/** A failover paused by the split-brain guard at promote-target-db (no worker runs here). */
async function pausedBySplitBrainGuard(errorCode = 'source-refuses-baton'): Promise<Run> {
  await freeSite();
  const { run } = await harness.service.propose({
    kind: 'failover',
    reason: 'ActiveClusterDown',
    actor: DAVE,
  });
  await harness.service.approve(run.id, ALICE);
  return harness.store.mutate(
    run.id,
    (current) => {
      const now = Date.now();
      const running = transitionRun(current, 'running', { at: now, actor: SYSTEM_ACTOR });
      return {
        ...transitionRun(running, 'paused', {
          at: now,
          actor: SYSTEM_ACTOR,
          reason: `promote-target-db: ${SPLIT_BRAIN_ERROR}`,
        }),
        steps: {
          ...running.steps,
          'promote-target-db': {
            id: 'promote-target-db',
            status: 'failed',
            attempts: 1,
            error: SPLIT_BRAIN_ERROR,
            errorCode,
          },
        },
      };
    },
    (run) => ({ event: { type: 'run-paused', reason: run.stateReason ?? '' }, actor: SYSTEM_ACTOR }),
  );
}

describe('one OS account gives one approval', () => {
  it('a proposal typed from this account cannot be approved from it under another --as', async () => {
    await freeSite();
    const env = cliEnv(redis.url, harness.prefix);
    const proposed = await runCli(['propose', 'failover', '--as', 'U0ALICE', '--wait', '0'], env);
    expect(proposed.code).toBe(0);
    const runId = /Proposed .* (r\d+) of production/.exec(proposed.stdout)?.[1] ?? '';

    const bob = await runCli(['approve', runId, '--as', 'U0BOB'], env);
    expect(bob.code).toBe(1);
    expect(bob.stderr.trim()).toBe(
      `baton approve: approvals typed from one OS account (${ACCOUNT}) count as one, whatever --as says: ` +
        `U0ALICE proposed ${runId} from it, and the requester may not approve (approvals.allowSelfApproval is off). ` +
        'Another approver must approve from their own OS account, or in Slack',
    );
    expect((await harness.store.require(runId)).state).toBe('proposed');

    // From another account the approval counts.
    const other = await fromAnotherAccount(['approve', runId, '--as', 'U0BOB']);
    expect(other.stderr).toBe('');
    expect(other.code).toBe(0);
    expect((await harness.store.require(runId)).state).toBe('approved');
  });
});

describe('baton accept-risk', () => {
  it('votes as a listed approver; one OS account is one vote; the second approver accepts the risk', async () => {
    const run = await pausedBySplitBrainGuard();
    const env = cliEnv(redis.url, harness.prefix);

    const first = await runCli(['accept-risk', run.id, '--as', 'U0ALICE'], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(
      `Split-brain risk vote 1 of 2 for ${run.id} counted, as U0ALICE (CLI, ${ACCOUNT}).`,
    );
    expect(first.stdout).toContain(`baton accept-risk ${run.id} --as <APPROVER>`);

    const same = await runCli(['accept-risk', run.id, '--as', 'U0BOB'], env);
    expect(same.code).toBe(1);
    expect(same.stderr.trim()).toBe(
      `baton accept-risk: approvals typed from one OS account (${ACCOUNT}) count as one, whatever --as says: ` +
        'U0ALICE already asked to accept the split-brain risk from it (1 of 2). Another approver must ask from ' +
        'their own OS account, or in Slack',
    );
    expect((await harness.store.require(run.id)).state).toBe('paused');

    const second = await fromAnotherAccount(['accept-risk', run.id, '--as', 'U0BOB']);
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(
      `Accepted the split-brain risk of ${run.id} as U0BOB (CLI, bob@bastion-2) (2 of 2)`,
    );
    const after = await harness.store.require(run.id);
    expect(after).toMatchObject({ state: 'running', segment: run.segment + 1 });
    expect(after.acceptedRisks).toMatchObject([
      {
        risk: 'split-brain',
        by: [
          { type: 'cli', id: 'U0ALICE', origin: { osUser: userInfo().username, host: hostname() } },
          { type: 'cli', id: 'U0BOB', origin: { osUser: 'bob', host: 'bastion-2' } },
        ],
        segment: run.segment + 1,
        detail: SPLIT_BRAIN_ERROR,
      },
    ]);
    expect(await harness.queue.getJobState(runJobId(after))).toBe('waiting');
  });

  it('refuses strangers, runs not paused by the guard, and a typo', async () => {
    const env = cliEnv(redis.url, harness.prefix);
    const run = await pausedBySplitBrainGuard();
    const [stranger, usage] = await Promise.all([
      runCli(['accept-risk', run.id, '--as', 'U0MALLORY'], env),
      runCli(['accept-risk', run.id], env),
    ]);
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toContain('U0MALLORY is not listed in approvals.approvers.users');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage: baton accept-risk RUN --as USER');

    await harness.store.mutate(
      run.id,
      (current) => ({
        ...current,
        steps: {
          ...current.steps,
          'promote-target-db': {
            id: 'promote-target-db',
            status: 'failed',
            attempts: 1,
            error: 'timed out',
            errorCode: 'step-timeout',
          },
        },
      }),
      (run) => ({ event: { type: 'run-paused', reason: run.stateReason ?? '' }, actor: SYSTEM_ACTOR }),
    );
    const notGuard = await runCli(['accept-risk', run.id, '--as', 'U0ALICE'], env);
    expect(notGuard.code).toBe(1);
    expect(notGuard.stderr.trim()).toBe(
      `baton accept-risk: Run ${run.id} is paused at promote-target-db (step-timeout), not by the split-brain ` +
        `guard: there is no split-brain risk to accept. Retry, Skip or Abort it instead.`,
    );
  });

  it('status names accept-risk as the next step of a run the guard paused', async () => {
    const run = await pausedBySplitBrainGuard();
    const status = await runCli(['status', 'production'], cliEnv(redis.url, harness.prefix));
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`baton accept-risk ${run.id} --as <APPROVER>`);
  });
});
