/**
 * Alertmanager webhook ingestion: how fast `POST /alertmanager` answers while alerts pour in. `baton web` (with
 * ALERTMANAGER_TOKEN, so the composition root wires the route) and `baton worker --simulated` run as real
 * processes on a real Redis (AOF, appendfsync always) with the Slack stand-in; this process plays Alertmanager.
 * After a warm-up, a 20,000-alert storm in one notification (the one that proposes) and its repeats; then a
 * sustained open-loop load of realistic notifications: the same groups resent by two Alertmanager replicas, a
 * `notify` group, and alerts no rule matches. At the end there must be exactly one proposal for the site.
 */
import { createHash } from 'node:crypto';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { freePort, startRedis } from '../lab/processes/processes.js';
import { startSlackApiServer } from '../lab/slack/slack-api-server.js';
import type { WorkerProcess } from '../test/support/integration.js';
import { createHarness, spawnWorker, waitFor } from '../test/support/integration.js';
import type { Row } from './support.js';
import { ms, percentile, renderTable, runIfMain, sleep } from './support.js';

const TOKEN = 'bench-alertmanager-token-8d2e61c0';
const BOT_TOKEN = 'xoxb-bench-token';
const CHANNEL = 'C0INCIDENTS';
const RATE_PER_S = Number(process.env.BENCH_AM_RATE ?? 1_000);
const DURATION_S = Number(process.env.BENCH_AM_SECONDS ?? 10);
const WARMUP_S = 2;
const STORM_ALERTS = 20_000;
const STORM_REPEATS = 5;
/** Requests started per tick of the open-loop scheduler. */
const TICK_MS = 10;

interface Sent {
  status: number;
  latencyMs: number;
}

let group = 0;
/** One Alertmanager notification of `instances` alerts named `alertname`, serialized once. */
function notification(alertname: string, instances: number, extra: Record<string, string> = {}): Buffer {
  group += 1;
  const alerts = Array.from({ length: instances }, (_, i) => ({
    status: 'firing',
    labels: {
      alertname,
      site: 'production',
      severity: 'critical',
      instance: `10.0.${i >> 8}.${i & 255}:9115`,
      job: 'baton-cluster-health',
      ...extra,
    },
    annotations: { summary: `${alertname} on probe ${i}`, description: 'The health URL does not answer.' },
    startsAt: '2026-11-21T05:33:20.850214685Z',
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus.example:9090/graph?g0.expr=probe_success+%3D%3D+0&g0.tab=1',
    // Alertmanager's fingerprints are 16 hex digits (a hash of the label set).
    fingerprint: createHash('sha256')
      .update(`${alertname}${JSON.stringify(extra)}${i}`)
      .digest('hex')
      .slice(0, 16),
  }));
  return Buffer.from(
    JSON.stringify({
      receiver: 'baton',
      status: 'firing',
      alerts,
      groupLabels: { alertname, ...extra },
      commonLabels: { alertname, site: 'production' },
      commonAnnotations: {},
      externalURL: 'http://alertmanager.example:9093',
      version: '4',
      groupKey: `{}/{severity="critical"}:{alertname="${alertname}", group="${group}"}`,
      truncatedAlerts: 0,
    }),
  );
}

function post(url: URL, agent: Agent, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          'content-type': 'application/json',
          'content-length': String(body.length),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function timed(url: URL, agent: Agent, body: Buffer): Promise<number> {
  const started = performance.now();
  const status = await post(url, agent, body);
  if (status !== 200) throw new Error(`a ${body.length}-byte notification answered ${status}`);
  return performance.now() - started;
}

/** Open loop: requests start on schedule whatever the answers; latency counts from the scheduled start. */
async function sustained(
  url: URL,
  agent: Agent,
  bodies: readonly Buffer[],
  seconds: number,
): Promise<{ sent: Sent[]; wallMs: number }> {
  const total = RATE_PER_S * seconds;
  const perTick = (RATE_PER_S * TICK_MS) / 1000;
  const sent: Sent[] = [];
  const inflight: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < total; i += 1) {
    const scheduled = start + Math.floor(i / perTick) * TICK_MS;
    const wait = scheduled - performance.now();
    if (wait > 1) await sleep(wait);
    const body = bodies[i % bodies.length] as Buffer;
    inflight.push(
      post(url, agent, body).then(
        (status) => {
          sent.push({ status, latencyMs: performance.now() - scheduled });
        },
        () => {
          sent.push({ status: 0, latencyMs: performance.now() - scheduled });
        },
      ),
    );
  }
  await Promise.all(inflight);
  return { sent, wallMs: performance.now() - start };
}

export async function alertmanagerIngest(): Promise<string> {
  const redis = await startRedis();
  const slack = await startSlackApiServer({ botToken: BOT_TOKEN });
  const harness = await createHarness(redis.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 128 });
  const processes: WorkerProcess[] = [];
  try {
    const port = await freePort();
    const env = {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: 'bench-signing-secret',
      SLACK_API_URL: slack.apiUrl,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ALERTMANAGER_TOKEN: TOKEN,
    };
    processes.push(spawnWorker(harness, redis.url, [], { role: 'web', env }));
    processes.push(spawnWorker(harness, redis.url, [], { env }));
    await waitFor(
      'the web role',
      async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok,
      30_000,
    );
    const url = new URL(`http://127.0.0.1:${port}/alertmanager`);

    // Warm-up, as a running Baton is: small notifications and storm-sized ones that no rule matches.
    const unrelated = notification('HighRequestLatency', 3);
    for (let i = 0; i < 500; i += 1) await timed(url, agent, unrelated);
    const unrelatedStorm = notification('NodeExporterDown', STORM_ALERTS);
    for (let i = 0; i < 3; i += 1) await timed(url, agent, unrelatedStorm);

    // The storm: 20,000 alerts in one notification, the first of which proposes the failover.
    const storm = notification('ActiveClusterDown', STORM_ALERTS, { cluster: 'east' });
    const firstStorm = await timed(url, agent, storm);
    const repeats: number[] = [];
    for (let i = 0; i < STORM_REPEATS; i += 1) repeats.push(await timed(url, agent, storm));

    // Realistic traffic: the same groups again and again, each twice (two Alertmanager replicas).
    const groups = [
      ...Array.from({ length: 5 }, (_, i) =>
        notification('ActiveClusterDown', 1 + i, { cluster: 'east', probe: `p${i}` }),
      ),
      ...Array.from({ length: 3 }, (_, i) =>
        notification('PassiveClusterDown', 1 + i, { cluster: 'west', probe: `p${i}` }),
      ),
      ...Array.from({ length: 8 }, (_, i) => notification(`Unrelated${i}`, 1 + (i % 10))),
    ];
    const bodies = groups.flatMap((body) => [body, body]);
    await sustained(url, agent, bodies, WARMUP_S);
    const { sent, wallMs } = await sustained(url, agent, bodies, DURATION_S);

    const latencies = sent.map((s) => s.latencyMs);
    const failures = sent.filter((s) => s.status !== 200).length;
    const throughput = (sent.length - failures) / (wallMs / 1000);
    const p99 = percentile(latencies, 99);
    const proposals = await harness.store.history('production', 100);
    const topLevel = () => slack.messages(CHANNEL).filter((m) => !m.threadTs).length;
    await waitFor('the proposal and the notice in Slack', async () => topLevel() >= 2, 15_000).catch(
      () => undefined,
    );

    const rows: Row[] = [
      {
        metric: `sustained: notifications answered 200 (offered ${RATE_PER_S}/s for ${DURATION_S} s)`,
        values: [`${throughput.toFixed(0)}/s`, '', `${failures} not 200`],
        budget: '≥ 1,000/s',
        pass: throughput >= 1_000 * 0.99 && failures === 0,
      },
      {
        metric: 'sustained: latency of each notification, from its scheduled start',
        values: [ms(percentile(latencies, 50)), ms(p99), ms(Math.max(...latencies))],
        budget: 'p99 < 50 ms',
        pass: p99 < 50,
      },
      {
        metric: `${STORM_ALERTS.toLocaleString('en-US')}-alert notification (${(storm.length / 2 ** 20).toFixed(1)} MiB) that proposes`,
        values: [ms(firstStorm), '', ''],
        budget: '< 200 ms',
        pass: firstStorm < 200,
      },
      {
        metric: `the same storm again (${STORM_REPEATS} repeats: the other replica, group_interval)`,
        values: [ms(percentile(repeats, 50)), '', ms(Math.max(...repeats))],
        budget: '< 200 ms',
        pass: Math.max(...repeats) < 200,
      },
      {
        metric: 'proposals for the site at the end',
        values: [String(proposals.length), '', ''],
        budget: 'exactly 1',
        pass: proposals.length === 1,
      },
      {
        metric: 'top-level Slack messages (the proposal and the notify notice)',
        values: [String(topLevel()), '', ''],
        budget: '—',
      },
    ];
    return renderTable({
      title: 'Alertmanager webhook ingestion',
      setup:
        '`baton web` (ALERTMANAGER_TOKEN set) and `baton worker --simulated` as processes on a real Redis (AOF, ' +
        'appendfsync always) and the Slack stand-in; this process plays Alertmanager over keep-alive HTTP. After a ' +
        `warm-up (500 small and 3 storm-sized notifications no rule matches): a ${STORM_ALERTS.toLocaleString('en-US')}-alert ` +
        `notification and ${STORM_REPEATS} repeats of it, timed one at a time by the sender; then ${RATE_PER_S} ` +
        `notifications/s open-loop for ${DURATION_S} s after ${WARMUP_S} s of warm-up: 16 groups (5 propose-failover, ` +
        '3 notify, 8 matching no rule; 1–10 alerts each), each sent twice as two Alertmanager replicas do.',
      columns: ['p50 / value', 'p99', 'max / note'],
      rows,
    });
  } finally {
    agent.destroy();
    for (const child of processes) child.child.kill('SIGTERM');
    await Promise.all(processes.map((p) => Promise.race([p.exited, sleep(10_000)])));
    await harness.close();
    await slack.close();
    await redis.stop();
  }
}

runIfMain(import.meta.url, alertmanagerIngest);
