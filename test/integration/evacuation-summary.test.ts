/**
 * What an evacuation leaves in the incident channel, end to end (Bolt, the notify queue, the Slack stand-in and a
 * real Redis): each site's run posts its summary in its own thread, before its report file, instead of as one more
 * top-level message; the evacuation posts one closing summary once no site runs any more, naming the site that waits
 * for a person, and edits that same message when the site ends. At the top level: the evacuation's message, one
 * message per run, the closing summary — nothing else.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SlackMessage } from '../../lab/slack/slack-api-server.js';
import { ACTION_IDS } from '../../src/slack/action-ids.js';
import { evacuationSummaryKey } from '../../src/slack/publish-evacuation.js';
import { runMessageKey } from '../../src/slack/publish-run.js';
import {
  EAST_SITES,
  clickEvacuation,
  evacuationMessage,
  measured,
  proposeEvacuation,
  runsOf,
  startEvacuationHarness,
} from '../support/evacuation-harness.js';
import { waitFor } from '../support/integration.js';
import type { SlackHarness } from '../support/slack-harness.js';
import { CHANNEL, USERS, buttonIds } from '../support/slack-harness.js';
import { redisPerFile } from '../support/redis-per-file.js';

const { redis } = redisPerFile();
let harness: SlackHarness | null = null;

afterEach(async () => {
  await harness?.close();
  harness = null;
});

/** The evacuation's closing summary in the channel, once posted. */
async function closingSummary(h: SlackHarness, id: string): Promise<SlackMessage | undefined> {
  const state = await h.web.notifier.statusMessage(evacuationSummaryKey(id));
  return state?.ts ? h.slack.message(CHANNEL, state.ts) : undefined;
}

describe("an evacuation's summaries", () => {
  it('puts each run’s summary in its thread and closes with one summary, edited when a paused site ends', async () => {
    const { h, world } = await startEvacuationHarness(redis.url, {
      // blog's target reports no Ready nodes until healed: its run pauses at preflight.
      prepare: async (sites) => sites.world('blog').fail('cluster.readyNodeCount', 1000),
    });
    harness = h;
    await proposeEvacuation(h, '--cluster east east is down');
    await measured(h, 'e1');
    await clickEvacuation(h, USERS.alice, ACTION_IDS.evacuationApproveAll, 'e1');
    const [blog] = await runsOf(h, 'e1', ['blog'], 'paused');
    if (!blog) throw new Error('no run for blog');
    await runsOf(h, 'e1', ['production', 'shop'], 'succeeded');

    // No site runs any more: one closing summary, naming the site that waits and what to click.
    const waiting = await waitFor('the closing summary naming blog', async () => {
      const message = await closingSummary(h, 'e1');
      return message?.text.includes('blog') ? message : undefined;
    });
    expect(waiting.text).toContain('Evacuation e1 (east → west)');
    expect(waiting.text).toContain('2 of 3 sites serve from west');
    expect(waiting.text).toContain(`blog (${blog.id}) paused at preflight`);
    expect(waiting.text).toContain('Retry, Skip or Abort');

    // Healed and retried, blog ends: the same message now says the evacuation finished.
    world.world('blog').heal();
    await waitFor('Retry on blog’s message', async () =>
      buttonIds(await h.runMessage(blog.id)).includes(ACTION_IDS.retryStep) ? true : undefined,
    );
    await h.click(USERS.alice, ACTION_IDS.retryStep, blog.id);
    const runs = await runsOf(h, 'e1', EAST_SITES, 'succeeded');
    const finished = await waitFor('the closing summary edited to finished', async () => {
      const message = await closingSummary(h, 'e1');
      return message?.text.includes('finished') ? message : undefined;
    });
    expect(finished.ts).toBe(waiting.ts);
    expect(finished.text).toContain('all 3 sites serve from west');
    expect(finished.text).not.toContain('blog');

    // Each run's thread: its summary, then its report file, the last thing in the thread. Replies that waited
    // together arrive as one message, so the summary is found by its line.
    for (const run of runs) {
      const thread = await waitFor(`${run.site}'s report file`, async () => {
        const replies = (await h.runMessage(run.id)).replies;
        return replies.some((r) => r.files?.length) ? replies : undefined;
      });
      const summaryAt = thread.findIndex((r) => r.text.includes(`(${run.id}) succeeded`));
      expect(summaryAt, `${run.site}'s summary in its thread`).toBeGreaterThanOrEqual(0);
      expect(thread.findIndex((r) => r.files?.length)).toBe(thread.length - 1);
      expect(summaryAt).toBeLessThan(thread.length - 1);
      expect(await h.web.notifier.statusMessage(`summary:${run.id}`)).toBeNull();
    }

    // Top level: the evacuation's message, one message per run, the closing summary.
    const expected = [
      (await evacuationMessage(h, 'e1')).ts,
      ...(await Promise.all(runs.map((r) => h.web.notifier.statusMessage(runMessageKey(r))))).map(
        (s) => s?.ts,
      ),
      finished.ts,
    ];
    expect(h.slack.messages(CHANNEL).map((m) => m.ts)).toEqual(expect.arrayContaining(expected));
    expect(h.slack.messages(CHANNEL)).toHaveLength(1 + EAST_SITES.length + 1);
  });
});
