/**
 * Slack ack latency under load, and Slack calls per failover. `baton web` and `baton worker --simulated` run as
 * real processes against a real Redis and the Slack Web API stand-in. While a failover executes, this process sends
 * signed slash commands and button clicks at 50 requests/s for 60 s (status, help, plan, and Approve clicks by
 * someone who may not approve) and times each HTTP answer, which is Bolt's ack. Then it counts the Slack calls
 * the failover itself caused, and the peak per-channel rate.
 */
import { performance } from 'node:perf_hooks';
import { ACTION_IDS } from '../src/slack/action-ids.js';
import { freePort, startRedis } from '../lab/processes/processes.js';
import { SimulatedWorld } from '../lab/simulated-world/simulated-world.js';
import { startSlackApiServer } from '../lab/slack/slack-api-server.js';
import { blockAction, postToApp, sign, slashCommand } from '../lab/slack/slack-signer.js';
import { runMessageKey } from '../src/slack/publish-run.js';
import { Notifier } from '../src/queue/notify/index.js';
import { createLogger } from '../src/logger.js';
import type { WorkerProcess } from '../test/support/integration.js';
import { createHarness, spawnWorker, waitFor, waitForState } from '../test/support/integration.js';
import { findButtonValue } from '../test/support/slack-harness.js';
import type { Row } from './support.js';
import { ms, percentile, renderTable, runIfMain, sleep } from './support.js';

const RATE = Number(process.env.BENCH_ACK_RATE ?? 50);
const DURATION_S = Number(process.env.BENCH_ACK_SECONDS ?? 60);
const BOT_TOKEN = 'xoxb-bench-token';
const SECRET = 'bench-signing-secret';
const CHANNEL = 'C0INCIDENTS';

/** The largest number of calls inside any `windowMs` window. */
function peakRate(times: number[], windowMs = 1000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end += 1) {
    while ((sorted[end] as number) - (sorted[start] as number) >= windowMs) start += 1;
    peak = Math.max(peak, end - start + 1);
  }
  return peak;
}

function minGap(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let gap = Number.POSITIVE_INFINITY;
  for (let i = 1; i < sorted.length; i += 1)
    gap = Math.min(gap, (sorted[i] as number) - (sorted[i - 1] as number));
  return gap;
}

export async function slackAck(): Promise<string> {
  const redis = await startRedis();
  const slack = await startSlackApiServer({
    botToken: BOT_TOKEN,
    userGroups: { S0SRE: ['U0CAROL'], S0ONCALL: ['U0DAVE'] },
  });
  const harness = await createHarness(redis.url);
  const processes: WorkerProcess[] = [];
  try {
    const site = harness.topology.sites[0];
    if (!site) throw new Error('no site');
    // Pods take 20 s to be Ready, so the failover is still running while most of the load arrives.
    await SimulatedWorld.resetInRedis(harness.redis, harness.worldKey, site);
    const port = await freePort();
    const env = {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: String(port),
      LOG_LEVEL: 'warn',
    };
    const web = spawnWorker(harness, redis.url, [], { role: 'web', env });
    const worker = spawnWorker(harness, redis.url, ['--pods-ready-ms', '20000', '--poll-ms', '200'], { env });
    processes.push(web, worker);
    const url = `http://127.0.0.1:${port}/slack/events`;
    await waitFor(
      'the web role',
      async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok,
      30_000,
    );
    await sleep(1000); // the worker's queues

    const command = (user: string, text: string) => {
      const { url: responseUrl } = slack.createResponseUrl({ channel: CHANNEL, user });
      const body = slashCommand({
        command: '/failover',
        text,
        userId: user,
        channelId: CHANNEL,
        responseUrl,
        triggerId: slack.mintTriggerId(),
      });
      return postToApp(url, body, sign(SECRET, body, Date.now() / 1000));
    };
    const click = (user: string, actionId: string, value: string, messageTs: string) => {
      const { url: responseUrl } = slack.createResponseUrl({ channel: CHANNEL, user, messageTs });
      const body = blockAction({
        actionId,
        value,
        userId: user,
        channelId: CHANNEL,
        messageTs,
        responseUrl,
        triggerId: slack.mintTriggerId(),
      });
      return postToApp(url, body, sign(SECRET, body, Date.now() / 1000));
    };

    // The failover under way: proposed by Dave, approved by Alice.
    const proposeStarted = Date.now();
    await command('U0DAVE', 'production bench failover');
    const run = await waitFor(
      'the proposal',
      async () => (await harness.store.history('production', 1))[0],
      10_000,
    );
    const notifier = new Notifier({
      connection: harness.redis,
      prefix: harness.bullPrefix,
      log: createLogger({ level: 'silent' }),
    });
    const message = await waitFor(
      'the proposal message',
      async () => {
        const state = await notifier.statusMessage(runMessageKey(run));
        return state?.ts ? slack.message(CHANNEL, state.ts) : undefined;
      },
      10_000,
    );
    const value = findButtonValue(message, ACTION_IDS.approve);
    if (!value) throw new Error('no Approve button');
    await click('U0ALICE', ACTION_IDS.approve, value, message.ts);
    await waitForState(harness.store, run.id, ['running']);

    const samples: { kind: string; ms: number; status: number }[] = [];
    const requests: Promise<void>[] = [];
    const kinds = ['status', 'help', 'plan', 'click'] as const;
    const total = RATE * DURATION_S;
    const started = performance.now();
    for (let i = 0; i < total; i += 1) {
      const due = started + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const kind = kinds[i % kinds.length] as (typeof kinds)[number];
      const send =
        kind === 'click'
          ? click('U0MALLORY', ACTION_IDS.approve, value, message.ts)
          : command('U0CAROL', kind === 'plan' ? 'plan production' : kind);
      requests.push(
        send.then(
          (response) => void samples.push({ kind, ms: response.ms, status: response.status }),
          () => void samples.push({ kind, ms: Number.POSITIVE_INFINITY, status: 0 }),
        ),
      );
    }
    await Promise.all(requests);
    const sentFor = (performance.now() - started) / 1000;

    const done = await waitForState(harness.store, run.id, ['succeeded'], 120_000);
    // Let the notify queue finish the run's messages before counting them.
    await waitFor(
      'the summary',
      async () => slack.messages(CHANNEL).some((m) => m.ts !== message.ts),
      30_000,
    );
    await sleep(3000);
    const channelCalls = slack
      .calls({ channel: CHANNEL })
      .filter(
        (c) => c.at >= proposeStarted && (c.method === 'chat.postMessage' || c.method === 'chat.update'),
      );
    // Slack's one-a-second-per-channel limit is chat.postMessage's; chat.update (Tier 3) is paced in a lane of its own.
    const posts = channelCalls.filter((c) => c.method === 'chat.postMessage').map((c) => c.at);
    const edits = channelCalls.filter((c) => c.method === 'chat.update').map((c) => c.at);
    const failoverMs =
      (done.updatedAt ?? 0) - (done.timeline.find((e) => e.event === 'approved')?.at ?? done.createdAt);

    const ackMs = samples.map((s) => s.ms);
    const bad = samples.filter((s) => s.status !== 200).length;
    const p99 = percentile(ackMs, 99);
    const max = Math.max(...ackMs);
    const rows: Row[] = [
      {
        metric: `ack latency, all (${samples.length} requests)`,
        values: [ms(percentile(ackMs, 50)), ms(p99), ms(max)],
        budget: 'p99 < 100 ms, max < 1 s',
        pass: p99 < 100 && max < 1000 && bad === 0,
      },
      ...kinds.map((kind) => {
        const of = samples.filter((s) => s.kind === kind).map((s) => s.ms);
        return {
          metric: `ack latency, ${kind === 'click' ? 'Approve clicks (refused)' : `/failover ${kind}`}`,
          values: [ms(percentile(of, 50)), ms(percentile(of, 99)), ms(Math.max(...of))],
          budget: '—',
        };
      }),
      {
        metric: 'non-200 answers',
        values: [String(bad), '', ''],
        budget: '0',
        pass: bad === 0,
      },
      {
        metric: 'Slack channel messages for the failover (postMessage + update)',
        values: [String(channelCalls.length), '', ''],
        budget: '—',
      },
      {
        metric: 'peak chat.postMessage to the incident channel in any 1 s',
        values: [String(peakRate(posts)), '', ''],
        budget: '≤ 1 per s',
        pass: peakRate(posts) <= 1,
      },
      {
        metric: 'shortest gap between two chat.postMessage to the incident channel',
        values: [ms(minGap(posts), 0), '', ''],
        budget: '—',
      },
      {
        metric: 'peak chat.update of the incident channel in any 1 s (its own lane)',
        values: [String(peakRate(edits)), '', ''],
        budget: '≤ 1 per s',
        pass: peakRate(edits) <= 1,
      },
      {
        metric: 'failover duration (approved → succeeded, pods Ready after 20 s)',
        values: [ms(failoverMs, 0), '', ''],
        budget: '—',
      },
    ];
    await notifier.close();
    return renderTable({
      title: 'Slack ack latency under load (issue 4)',
      setup:
        `${RATE} requests/s for ${DURATION_S} s (sent in ${sentFor.toFixed(1)} s) to a \`baton web\` process while ` +
        '`baton worker --simulated` runs a failover; signed slash commands (status, help, plan) and Approve clicks by ' +
        'a non-approver, round-robin. Columns: p50, p99, max.',
      columns: ['p50', 'p99', 'max'],
      rows,
    });
  } finally {
    for (const child of processes) child.child.kill('SIGTERM');
    await Promise.all(processes.map((p) => Promise.race([p.exited, sleep(10_000)])));
    await harness.close();
    await slack.close();
    await redis.stop();
  }
}

runIfMain(import.meta.url, slackAck);
