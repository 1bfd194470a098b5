/**
 * The break-glass CLI beside the Slack app (the in-process web and worker roles, the Slack stand-in, a real Redis):
 * a run proposed in Slack is approved from the CLI while Slack is down, and the run's Slack message shows the CLI's
 * approval once Slack answers again; a message left stale by a long outage is brought up to date by `republish`;
 * a paused run is retried from the CLI.
 */
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { NOTIFY_QUEUE } from '../../src/queue/notify/index.js';
import { ACTION_IDS } from '../../src/slack/action-ids.js';
import { waitFor, waitForState } from '../support/integration.js';
import type { SlackHarness, SlackHarnessOptions } from '../support/slack-harness.js';
import { USERS, buttonIds, startSlackHarness } from '../support/slack-harness.js';
import { redisPerFile } from '../support/redis-per-file.js';
import { cliEnv, runCli } from './cli-process.js';

const { redis } = redisPerFile();
let harness: SlackHarness | null = null;

afterEach(async () => {
  await harness?.close();
  harness = null;
});

/** A harness, and the key prefix its roles use (the CLI's BATON_KEY_PREFIX). */
async function start(
  options: SlackHarnessOptions = {},
): Promise<{ h: SlackHarness; prefix: string; bull: string }> {
  harness = await startSlackHarness(redis.url, options);
  return { h: harness, prefix: harness.keyPrefix, bull: harness.prefixes.bull };
}

/** A slash command, then the run it created once its preflight shows in the proposal. */
async function proposeInSlack(h: SlackHarness, user: string, text: string) {
  expect((await h.command(user, '/failover', text)).status).toBe(200);
  const run = await waitFor('the proposal', () => h.latestRun());
  await waitFor('preflight in the proposal', async () =>
    JSON.stringify((await h.runMessage(run.id)).blocks).includes('✅') ? true : undefined,
  );
  return run;
}

const shows = (message: { text: string; blocks?: unknown[] }, text: string) =>
  `${message.text}\n${JSON.stringify(message.blocks ?? [])}`.includes(text);

describe('break-glass CLI and Slack', () => {
  it('a Slack proposal approved from the CLI while Slack is down shows the CLI approval once Slack is back', async () => {
    const { h, prefix } = await start();
    const env = cliEnv(redis.url, prefix);
    // Break-glass: two approvals. U0ALICE requests through the S0ONCALL group.
    const run = await proposeInSlack(h, USERS.alice, 'production --force ActiveClusterDown');
    expect(run).toMatchObject({ force: true, requestedBy: { type: 'slack-user', id: USERS.alice } });

    h.slack.faults.outage(true);
    // The same person in the CLI is still the requester.
    const self = await runCli(['approve', run.id, '--as', USERS.alice], env);
    expect(self.code).toBe(1);
    expect(self.stderr).toContain(`U0ALICE requested ${run.id} and approvals.allowSelfApproval is false`);
    const bob = await runCli(['approve', run.id, '--as', USERS.bob], env);
    expect(bob.code).toBe(0);
    expect(bob.stdout).toContain(`Approval 1 of 2 for ${run.id} counted`);
    expect((await h.web.store.require(run.id)).state).toBe('proposed');

    h.slack.faults.outage(false);
    const updated = await waitFor('the CLI approval in the proposal', async () => {
      const message = await h.runMessage(run.id);
      return shows(message, '<@U0BOB> (break-glass CLI)') && shows(message, '1 of 2') ? message : undefined;
    });
    expect(buttonIds(updated)).toContain(ACTION_IDS.approve);

    // The second approval comes from Slack again; the run starts and the status names both approvers.
    await h.click(USERS.carol, ACTION_IDS.approve, run.id);
    const done = await waitForState(h.web.store, run.id, ['succeeded', 'paused', 'failed'], 30_000);
    expect(done.state).toBe('succeeded');
    expect(done.approvals.map((a) => `${a.actor.type}:${a.actor.id}`)).toEqual([
      'cli:U0BOB',
      'slack-user:U0CAROL',
    ]);
    await waitFor('the final status', async () => {
      const message = await h.runMessage(run.id);
      return buttonIds(message).includes(ACTION_IDS.startFailback) &&
        shows(message, '<@U0BOB> (break-glass CLI)')
        ? true
        : undefined;
    });
  });

  it('republish brings a run’s message up to date after Slack was down longer than the notify worker retries', async () => {
    const { h, prefix, bull } = await start({
      notifyRetry: { baseMs: 100, maxMs: 200, giveUpAfterMs: 1500 },
    });
    const env = cliEnv(redis.url, prefix);
    const notify = new Queue(NOTIFY_QUEUE, { connection: h.redis, prefix: bull });
    try {
      const run = await proposeInSlack(h, USERS.dave, 'production ActiveClusterDown');
      h.slack.faults.outage(true);
      expect((await runCli(['approve', run.id, '--as', USERS.bob], env)).code).toBe(0);
      await waitForState(h.web.store, run.id, ['succeeded'], 30_000);
      // Every message about the run was given up on while Slack was unreachable.
      await waitFor('the notify worker to give up', async () => {
        const counts = await notify.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
        return Object.values(counts).every((n) => n === 0) ? true : undefined;
      });
      h.slack.faults.outage(false);
      expect(buttonIds(await h.runMessage(run.id))).toContain(ACTION_IDS.approve);

      const republished = await runCli(['republish', run.id], env);
      expect(republished.code).toBe(0);
      expect(republished.stdout).toContain(`Queued the Slack messages of ${run.id} (succeeded).`);
      const message = await waitFor('the up-to-date status', async () => {
        const current = await h.runMessage(run.id);
        return buttonIds(current).includes(ACTION_IDS.startFailback) ? current : undefined;
      });
      expect(shows(message, '<@U0BOB> (break-glass CLI)')).toBe(true);
      await waitFor('the step replies', async () =>
        // Replies waiting together go as one message, a line each: count lines.
        (await h.runMessage(run.id)).replies.flatMap((r) => r.text.split('\n')).length >= 7
          ? true
          : undefined,
      );
    } finally {
      await notify.close();
    }
  });

  it('a run paused while Slack is down is retried from the CLI', async () => {
    const { h, prefix } = await start();
    const world = h.world;
    if (!world) throw new Error('the harness has no simulated world');
    const run = await proposeInSlack(h, USERS.dave, 'production ActiveClusterDown');
    world.fail('cluster.readyNodeCount', 1000);
    h.slack.faults.outage(true);
    expect((await runCli(['approve', run.id, '--as', USERS.bob], cliEnv(redis.url, prefix))).code).toBe(0);
    const paused = await waitForState(h.web.store, run.id, ['paused', 'succeeded', 'failed'], 30_000);
    expect(paused.state).toBe('paused');

    world.heal();
    const env = cliEnv(redis.url, prefix);
    const [stranger, retried] = await Promise.all([
      runCli(['retry', run.id, '--as', USERS.mallory], env),
      runCli(['retry', run.id, '--as', USERS.alice], env),
    ]);
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toContain('U0MALLORY is not listed in approvals.approvers.users');
    expect(retried.code).toBe(0);
    expect(retried.stdout).toContain(`Retrying the failed step of ${run.id} as U0ALICE (CLI,`);
    const done = await waitForState(h.web.store, run.id, ['succeeded', 'paused', 'failed'], 30_000);
    expect(done.state).toBe('succeeded');
    expect(done.timeline.find((e) => e.event === 'running' && e.detail === 'retry')?.actor).toMatchObject({
      type: 'cli',
      id: USERS.alice,
    });
  });

  it('a paused run is aborted from the CLI: the reversible steps are undone', async () => {
    const { h, prefix } = await start();
    const world = h.world;
    if (!world) throw new Error('the harness has no simulated world');
    const run = await proposeInSlack(h, USERS.dave, 'production ActiveClusterDown');
    // The split-brain guard keeps failing to read east: the run pauses before the promotion is requested, with
    // east fenced and west scaled up (after the request, Abort would be refused: nothing could be undone).
    world.fail('database.writesSince', 1000);
    await h.click(USERS.alice, ACTION_IDS.approve, run.id);
    expect((await waitForState(h.web.store, run.id, ['paused', 'succeeded', 'failed'], 30_000)).state).toBe(
      'paused',
    );

    h.slack.faults.outage(true);
    const aborted = await runCli(['abort', run.id, '--as', USERS.bob], cliEnv(redis.url, prefix));
    expect(aborted.code).toBe(0);
    expect(aborted.stdout).toContain(`Aborting ${run.id} as U0BOB (CLI,`);
    const done = await waitForState(h.web.store, run.id, ['aborted', 'failed'], 30_000);
    expect(done.state).toBe('aborted');
    expect(done.timeline.find((e) => e.event === 'aborting')?.actor).toMatchObject({
      type: 'cli',
      id: USERS.bob,
    });
    const clusters = (await world.state()).clusters;
    expect(clusters.east?.workloads['default/Deployment/web']?.replicas).toBe(5);
    expect(clusters.west?.workloads['default/Deployment/web']?.replicas).toBe(1);
    expect(clusters.east?.db).toMatchObject({ role: 'primary', readOnly: false });
    h.slack.faults.outage(false);
    await waitFor('the aborted status in Slack', async () =>
      /abort/i.test((await h.runMessage(run.id)).text) ? true : undefined,
    );
  });
});
