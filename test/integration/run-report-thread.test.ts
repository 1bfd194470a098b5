/**
 * Every finished run's report reaches its Slack thread as a Markdown file, through the notify queue and Slack's
 * upload flow (files.getUploadURLExternal → the upload URL → files.completeUploadExternal) against the stand-in:
 * once, after the step replies, with the bytes of the stored report; retried through a Slack failure; and a Slack
 * that refuses the upload never holds up the run.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startRedis } from '../../lab/processes/processes.js';
import { renderReportMarkdown } from '../../src/core/runs/render-report-markdown.js';
import { ACTION_IDS } from '../../src/slack/action-ids.js';
import { runMessageKey } from '../../src/slack/publish-run.js';
import { ReportStore } from '../../src/store/report-store.js';
import { waitFor, waitForState } from '../support/integration.js';
import type { SlackHarness, SlackHarnessOptions } from '../support/slack-harness.js';
import { CHANNEL, USERS, startSlackHarness } from '../support/slack-harness.js';

let redis: RedisProcess;
let harness: SlackHarness | null = null;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});
afterEach(async () => {
  await harness?.close();
  harness = null;
});

async function succeededRun(options: SlackHarnessOptions = {}) {
  const h = await startSlackHarness(redis.url, options);
  harness = h;
  await h.command(USERS.dave, '/failover', 'production ActiveClusterDown');
  const run = await waitFor('the proposal', async () => (await h.latestRun()) ?? undefined);
  await h.runMessage(run.id);
  await h.click(USERS.alice, ACTION_IDS.approve, run.id);
  const done = await waitForState(h.web.store, run.id, ['succeeded'], 30_000);
  return { h, run: done };
}

const fileReplies = async (h: SlackHarness, runId: string) =>
  (await h.runMessage(runId)).replies.filter((r) => r.files?.length);

describe('the run report in the Slack thread', () => {
  it('is attached once, as the last reply, with the stored report as Markdown', async () => {
    const { h, run } = await succeededRun();
    const [file] = await waitFor('the report file in the thread', async () => {
      const files = await fileReplies(h, run.id);
      return files.length ? files : undefined;
    });
    const report = await new ReportStore(h.redis, h.prefixes.store).get(run.id);
    expect(report?.outcome.state).toBe('succeeded');
    expect(file?.files).toHaveLength(1);
    const shared = file?.files?.[0];
    expect(shared).toMatchObject({
      name: `baton-production-${run.id}-report.md`,
      content: renderReportMarkdown(report!),
    });
    expect(shared?.size).toBe(shared?.lengthDeclared);
    expect(file?.text).toContain(`baton report ${run.id}`);
    // After the step replies: the evidence closes the thread.
    // Step replies waiting together go as one message (a line each): count lines, not messages.
    const thread = await waitFor('every step reply', async () => {
      const replies = (await h.runMessage(run.id)).replies;
      const lines = replies.filter((r) => !r.files?.length).flatMap((r) => r.text.split('\n'));
      return lines.length >= 8 ? replies : undefined;
    });
    expect(thread.at(-1)?.files?.length).toBe(1);
    expect(thread.filter((r) => r.files?.length)).toHaveLength(1);

    // The worker publishes again (a redelivered job, a republish): no second file.
    await h.web.notifier.attachFile({
      channel: CHANNEL,
      threadKey: runMessageKey(run),
      dedupeId: 'run-report',
      file: { kind: 'run-report', runId: run.id },
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await fileReplies(h, run.id)).toHaveLength(1);
    expect(h.slack.calls({ method: 'files.completeUploadExternal', ok: true })).toHaveLength(1);
  });

  it('is retried through a Slack failure of the upload flow', async () => {
    const h = await startSlackHarness(redis.url);
    harness = h;
    h.slack.faults.fail({ status: 503, method: 'files.completeUploadExternal', count: 1 });
    await h.command(USERS.dave, '/failover', 'production ActiveClusterDown');
    const run = await waitFor('the proposal', async () => (await h.latestRun()) ?? undefined);
    await h.runMessage(run.id);
    await h.click(USERS.alice, ACTION_IDS.approve, run.id);
    await waitForState(h.web.store, run.id, ['succeeded'], 30_000);
    await waitFor('the report file after a retry', async () =>
      (await fileReplies(h, run.id)).length ? true : undefined,
    );
    expect(h.slack.calls({ method: 'files.completeUploadExternal', ok: false })).toHaveLength(1);
    expect(await fileReplies(h, run.id)).toHaveLength(1);
  });

  it('never holds up the run when Slack refuses the upload (no files:write scope)', async () => {
    const { h, run } = await succeededRun({
      slackScopes: [
        'commands',
        'chat:write',
        'chat:write.public',
        'channels:read',
        'groups:read',
        'usergroups:read',
      ],
    });
    expect(run.state).toBe('succeeded');
    await waitFor('the refused upload', async () =>
      h.slack.calls({ method: 'files.getUploadURLExternal', ok: false }).length ? true : undefined,
    );
    expect(h.slack.calls({ method: 'files.getUploadURLExternal' })[0]?.error).toBe('missing_scope');
    expect(await fileReplies(h, run.id)).toHaveLength(0);
    // The report is still in Redis for `baton report`.
    expect((await new ReportStore(h.redis, h.prefixes.store).get(run.id))?.run.id).toBe(run.id);
  });
});
