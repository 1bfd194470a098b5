/**
 * The Alertmanager webhook end to end: real Prometheus and Alertmanager processes (configured from
 * manifests/monitoring), Baton's web and worker roles on a real Redis, and the Slack stand-in showing what an
 * operator would see in the incident channel.
 */
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { alertmanagerRoute } from '../../src/alerts/alertmanager-route.js';
import { IncidentStore } from '../../src/store/incidents/incident-store.js';
import { systemClock } from '../../src/core/clock.js';
import type { Run } from '../../src/core/model.js';
import { CHECKS_QUEUE } from '../../src/queue/check-jobs.js';
import { NOTIFY_QUEUE } from '../../src/queue/notify/index.js';
import { RUNS_QUEUE } from '../../src/queue/queues.js';
import type {
  AlertmanagerProcess,
  PostableAlert,
  PrometheusProcess,
} from '../../lab/processes/monitoring.js';
import {
  MONITORING_INSTALL_HINT,
  monitoringBinaries,
  startAlertmanager,
  startPrometheus,
} from '../../lab/processes/monitoring.js';
import { freePort } from '../../lab/processes/processes.js';
import type { SlackMessage } from '../../lab/slack/slack-api-server.js';
import { ROOT, waitFor } from '../support/integration.js';
import type { SlackHarness } from '../support/slack-harness.js';
import { CHANNEL, USERS, buttonIds, startSlackHarness } from '../support/slack-harness.js';
import { skipWhenMissing } from '../support/skip-when-missing.js';
import { redisPerFile } from '../support/redis-per-file.js';

const TOKEN = 'test-alertmanager-token-6c1f0e9b2d7a4c58';
const SMALL_LIMIT = 64 * 1024;
const binaries = await monitoringBinaries();
const skipRealMonitoring = skipWhenMissing(
  'the real Prometheus and Alertmanager tests',
  [!binaries.alertmanager && 'Alertmanager', !binaries.prometheus && 'Prometheus'].filter(
    (name) => name !== false,
  ),
  MONITORING_INSTALL_HINT,
);

interface Baton {
  h: SlackHarness;
  url: string;
  storePrefix: string;
  bullPrefix: string;
  incidents: IncidentStore;
}

const { redis, cleanups } = redisPerFile();

async function startBaton(maxBodyBytes?: number): Promise<Baton> {
  let prefixes = { store: '', bull: '' };
  const h = await startSlackHarness(redis.url, {
    routes: (parts, context) => {
      prefixes = context.prefixes;
      return [
        alertmanagerRoute(parts, {
          token: TOKEN,
          topology: context.topology,
          incidents: new IncidentStore(context.connection, context.prefixes.store),
          clock: systemClock,
          log: context.log,
          ...(maxBodyBytes && { maxBodyBytes }),
        }),
      ];
    },
  });
  cleanups.push(() => h.close());
  return {
    h,
    url: `${h.webUrl}/alertmanager`,
    storePrefix: prefixes.store,
    bullPrefix: prefixes.bull,
    incidents: new IncidentStore(h.redis, prefixes.store),
  };
}

/** The receiver from manifests/monitoring/alertmanager.yaml, pointed at this Baton with test timings. */
async function alertmanagerConfig(baton: Baton, groupBy: string[]) {
  const manifest = parse(await readFile(join(ROOT, 'manifests/monitoring/alertmanager.yaml'), 'utf8'));
  return (dir: string) => {
    const route = manifest.route.routes[0];
    Object.assign(route, {
      group_by: groupBy,
      group_wait: '1s',
      group_interval: '1s',
      repeat_interval: '1h',
    });
    const webhook = manifest.receivers.find((r: { name: string }) => r.name === 'baton').webhook_configs[0];
    webhook.url = baton.url;
    webhook.http_config.authorization.credentials_file = join(dir, 'token');
    return manifest as Record<string, unknown>;
  };
}

async function startReplica(baton: Baton, groupBy: string[]): Promise<AlertmanagerProcess> {
  // A trailing newline, as `kubectl create secret --from-file` and editors leave it: Alertmanager trims it.
  const am = await startAlertmanager({
    config: await alertmanagerConfig(baton, groupBy),
    files: { token: `${TOKEN}\n` },
  });
  cleanups.push(() => am.stop());
  return am;
}

/** Webhook notifications an Alertmanager has sent (its own counter), successful or not. */
async function webhooksSent(am: AlertmanagerProcess): Promise<{ total: number; failed: number }> {
  const text = await (await fetch(`${am.url}/metrics`)).text();
  const read = (name: string) =>
    Number(new RegExp(`^${name}\\{[^}]*integration="webhook"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return {
    total: read('alertmanager_notifications_total'),
    failed: read('alertmanager_notifications_failed_total'),
  };
}

const topMessages = (h: SlackHarness): SlackMessage[] => h.slack.messages(CHANNEL).filter((m) => !m.threadTs);
const messageText = (m: SlackMessage) => `${m.text}\n${JSON.stringify(m.blocks ?? [])}`;

async function runs(baton: Baton): Promise<Run[]> {
  return baton.h.web.store.history('production', 50);
}

/** Waits until a top-level message whose text matches appears (or is edited to match). */
function messageMatching(h: SlackHarness, pattern: RegExp, what: string): Promise<SlackMessage> {
  return waitFor(what, async () => topMessages(h).find((m) => pattern.test(messageText(m))), 20_000, 50);
}

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    json: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    headers: res.headers,
  };
}

let seq = 0;
/** A version 4 notification of `alerts` (labels, status), shaped like the real captures in test/alerts/fixtures. */
function payload(
  alerts: {
    labels: Record<string, string>;
    status?: 'firing' | 'resolved';
    startsAt?: string;
    summary?: string;
  }[],
  overrides: Record<string, unknown> = {},
) {
  const status = alerts.some((a) => (a.status ?? 'firing') === 'firing') ? 'firing' : 'resolved';
  return {
    receiver: 'baton',
    status,
    alerts: alerts.map((a) => ({
      status: a.status ?? 'firing',
      labels: a.labels,
      annotations: { summary: a.summary ?? `${a.labels.alertname} on ${a.labels.instance ?? 'east'}` },
      startsAt: a.startsAt ?? '2026-11-21T05:33:20.850214685Z',
      endsAt: (a.status ?? 'firing') === 'resolved' ? '2026-11-21T05:40:00Z' : '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.example:9090/graph?g0.expr=probe_success+%3D%3D+0',
      fingerprint: Object.entries(a.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    })),
    groupLabels: { alertname: alerts[0]?.labels.alertname ?? '' },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example:9093',
    version: '4',
    groupKey: `{}:{alertname="${alerts[0]?.labels.alertname ?? ''}", seq="${(seq += 1)}"}`,
    truncatedAlerts: 0,
    ...overrides,
  };
}

describe.skipIf(skipRealMonitoring)('with real Prometheus and Alertmanager', () => {
  it('Prometheus sees the active cluster’s health endpoint die → a proposal in Slack; it comes back → “resolved”', async () => {
    const baton = await startBaton();
    const am = await startReplica(baton, ['alertname', 'site']);

    // The serving cluster's health endpoint, and a minimal blackbox exporter probing it for Prometheus.
    const healthPort = await freePort();
    const health = createServer((_req, res) => res.writeHead(200).end('ok\n'));
    const listen = (server: Server, port: number) =>
      new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
    const close = (server: Server) =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    await listen(health, healthPort);
    cleanups.push(() => (health.listening ? close(health) : Promise.resolve()));
    const exporter = createServer((req, res) => {
      const target = new URL(req.url ?? '/', 'http://x').searchParams.get('target') ?? '';
      fetch(target, { signal: AbortSignal.timeout(300) })
        .then((r) => r.ok)
        .catch(() => false)
        .then((ok) =>
          res.writeHead(200, { 'content-type': 'text/plain' }).end(`probe_success ${ok ? 1 : 0}\n`),
        );
    });
    const exporterPort = await freePort();
    await listen(exporter, exporterPort);
    cleanups.push(() => close(exporter));

    // The article's rules, exactly as manifests/monitoring ships them, except a 1 s `for:` to keep the test short.
    const rule = parse(await readFile(join(ROOT, 'manifests/monitoring/prometheus-rule.yaml'), 'utf8'));
    const groups = rule.spec.groups.map((g: { rules: Record<string, unknown>[] }) => ({
      ...g,
      interval: '1s',
      rules: g.rules.map((r) => ({ ...r, for: '1s' })),
    }));
    const prometheus: PrometheusProcess = await startPrometheus({
      config: {
        global: { scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '900ms' },
        alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${am.port}`] }] }] },
        scrape_configs: [
          {
            job_name: 'baton-cluster-health',
            metrics_path: '/probe',
            params: { module: ['http_2xx'] },
            static_configs: [
              {
                targets: [`http://127.0.0.1:${healthPort}/health`],
                labels: { site: 'production', cluster: 'east', cluster_role: 'active' },
              },
            ],
            relabel_configs: [
              { source_labels: ['__address__'], target_label: '__param_target' },
              { source_labels: ['__param_target'], target_label: 'instance' },
              { target_label: '__address__', replacement: `127.0.0.1:${exporterPort}` },
            ],
          },
        ],
      },
      rules: { groups },
    });
    cleanups.push(() => prometheus.stop());

    await waitFor(
      'Prometheus to scrape the healthy endpoint',
      async () => {
        const res = await fetch(`${prometheus.url}/api/v1/query?query=probe_success`);
        const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
        return body.data.result[0]?.value[1] === '1';
      },
      15_000,
      100,
    );
    expect(await runs(baton)).toEqual([]);

    await close(health);
    const run = await waitFor('an alert proposal', async () => (await runs(baton))[0], 25_000, 100);
    expect(run).toMatchObject({
      state: 'proposed',
      kind: 'failover',
      from: 'east',
      to: 'west',
      requestedBy: { type: 'alert', id: 'ActiveClusterDown' },
      trigger: {
        source: 'alert',
        alertname: 'ActiveClusterDown',
        summary: 'Active cluster east of production fails its health check',
      },
    });
    const proposal = await baton.h.runMessage(run.id);
    expect(messageText(proposal)).toContain('*Alert* `ActiveClusterDown` firing since');
    expect(buttonIds(proposal)).toEqual(['approve', 'reject']);

    await listen(health, healthPort);
    const updated = await messageMatching(
      baton.h,
      /The alert resolved/,
      'the proposal to say the alert resolved',
    );
    expect(updated.ts).toBe(proposal.ts);
    expect(buttonIds(updated)).toEqual(['approve', 'reject']);
    expect((await baton.h.web.store.require(run.id)).trigger?.resolvedAt).toEqual(expect.any(Number));
    expect(await runs(baton)).toHaveLength(1);
    expect(topMessages(baton.h)).toHaveLength(1);
  });

  it('two Alertmanager replicas, several groups: one proposal, one notice; both updated when resolved', async () => {
    const baton = await startBaton();
    const replicas = [
      await startReplica(baton, ['alertname', 'instance']),
      await startReplica(baton, ['alertname', 'instance']),
    ];
    const active = ['a', 'b', 'c'].map((instance) => ({
      labels: { alertname: 'ActiveClusterDown', site: 'production', cluster: 'east', instance },
      annotations: { summary: `east probe ${instance} fails` },
    }));
    const passive = [
      { labels: { alertname: 'PassiveClusterDown', site: 'production', cluster: 'west', instance: 'x' } },
    ];
    const firing: PostableAlert[] = [...active, ...passive];
    // Prometheus sends every alert to every Alertmanager; so do we.
    await Promise.all(replicas.map((am) => am.postAlerts(firing)));
    for (const am of replicas) {
      await waitFor(
        'each replica to deliver its 4 groups',
        async () => (await webhooksSent(am)).total >= 4,
        15_000,
        100,
      );
      expect((await webhooksSent(am)).failed).toBe(0);
    }
    const proposal = await messageMatching(baton.h, /ActiveClusterDown/, 'the proposal');
    const notice = await messageMatching(baton.h, /PassiveClusterDown/, 'the notice');
    expect(await runs(baton)).toHaveLength(1);
    const [run] = await runs(baton);
    expect((await baton.h.web.store.audit()).filter((e) => e.action === 'run-proposed')).toHaveLength(1);
    expect((await baton.incidents.runState(run?.id ?? ''))?.firing).toBe(3);
    expect(messageText(notice)).toContain('*1 alert firing*');
    expect(messageText(notice)).toContain('Baton only reports this alert');
    expect(buttonIds(notice)).toEqual([]);
    expect(topMessages(baton.h)).toHaveLength(2);

    const endsAt = new Date().toISOString();
    await Promise.all(replicas.map((am) => am.postAlerts(firing.map((a) => ({ ...a, endsAt })))));
    await messageMatching(baton.h, /The alert resolved/, 'the proposal to say the alert resolved');
    const resolvedNotice = await messageMatching(
      baton.h,
      /Resolved: PassiveClusterDown/,
      'the notice to resolve',
    );
    expect(resolvedNotice.ts).toBe(notice.ts);
    expect(messageText(resolvedNotice)).toContain('*1 alert resolved*');
    expect(
      topMessages(baton.h)
        .map((m) => m.ts)
        .sort(),
    ).toEqual([proposal.ts, notice.ts].sort());
    expect(await runs(baton)).toHaveLength(1);
    expect((await baton.h.web.store.require(run?.id ?? '')).state).toBe('proposed');
  });
});

describe('the webhook itself', () => {
  it('refuses bad requests with a clear 4xx and records nothing', async () => {
    const baton = await startBaton(SMALL_LIMIT);
    const active = payload([{ labels: { alertname: 'ActiveClusterDown' } }]);

    const get = await fetch(baton.url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);

    const none = await post(baton.url, active, { authorization: '' });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="baton"');
    expect(none.json.message).toMatch(/missing Authorization: Bearer/);
    for (const authorization of [
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Basic ${TOKEN}`,
      'Bearer',
    ]) {
      const wrong = await post(baton.url, active, { authorization });
      expect([authorization, wrong.status, wrong.json.error]).toEqual([authorization, 401, 'unauthorized']);
    }

    const text = await post(baton.url, active, { 'content-type': 'text/plain' });
    expect([text.status, text.json.error]).toEqual([415, 'unsupported-media-type']);
    const malformed = await post(baton.url, '{"version": "4", "alerts": [');
    expect([malformed.status, malformed.json.error]).toEqual([400, 'invalid-json']);
    const v3 = await post(baton.url, { ...active, version: '3' });
    expect(v3.status).toBe(400);
    expect(v3.json.message).toContain(
      'version: Baton understands Alertmanager webhook payloads of version "4"',
    );
    const broken = await post(baton.url, {
      ...active,
      alerts: [{ ...active.alerts[0], labels: 'ActiveClusterDown' }],
    });
    expect(broken.status).toBe(400);
    expect(broken.json.message).toMatch(/alerts\[0\]\.labels:/);

    const big = payload(
      Array.from({ length: 400 }, (_, i) => ({
        labels: { alertname: 'ActiveClusterDown', instance: `i${i}` },
      })),
    );
    const declared = await post(baton.url, big);
    expect([declared.status, declared.json.error]).toEqual([413, 'body-too-large']);
    expect(declared.json.message).toContain('max_alerts');
    // Chunked, without a Content-Length: refused while reading, not after buffering it all.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request(baton.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      const chunk = JSON.stringify(big).slice(0, 16 * 1024);
      for (let i = 0; i < 8; i += 1) req.write(chunk);
      req.end();
    });
    expect(chunked).toBe(413);

    // A real notification no rule matches is accepted and changes nothing either.
    const fixture = JSON.parse(await readFile(join(ROOT, 'test/alerts/fixtures/firing.json'), 'utf8'));
    const unmatched = await post(baton.url, fixture);
    expect(unmatched).toMatchObject({ status: 200, json: { status: 'ok', unmatched: 1, sites: [] } });

    // Nothing recorded: no Baton keys, no jobs, no Slack messages.
    expect(await baton.h.redis.keys(`${baton.storePrefix}*`)).toEqual([]);
    for (const name of [RUNS_QUEUE, CHECKS_QUEUE, NOTIFY_QUEUE]) {
      const queue = new Queue(name, { connection: baton.h.redis, prefix: baton.bullPrefix });
      const counts = await queue.getJobCounts();
      await queue.close();
      expect([name, Object.values(counts).reduce((a, b) => a + b, 0)]).toEqual([name, 0]);
    }
    expect(baton.h.slack.messages(CHANNEL)).toEqual([]);

    // The same webhook accepts a good notification.
    const good = await post(baton.url, active);
    expect(good).toMatchObject({
      status: 200,
      json: { sites: [{ site: 'production', run: { how: 'proposed' } }] },
    });
  });

  it('a run already open for the site: the alert links to it in its thread instead of proposing', async () => {
    const baton = await startBaton();
    await baton.h.command(USERS.dave, '/failover', 'production east looks sick');
    const human = await waitFor('the person’s proposal', async () => (await runs(baton))[0], 10_000);
    const message = await baton.h.runMessage(human.id);

    const alert = { labels: { alertname: 'ActiveClusterDown', instance: 'a' } };
    const first = await post(baton.url, payload([alert]));
    expect(first.json).toMatchObject({ sites: [{ run: { id: human.id, how: 'linked', firing: 1 } }] });
    await post(baton.url, payload([alert])); // the other replica's copy
    const replies = () => baton.h.slack.replies(CHANNEL, message.ts).map((r) => r.text);
    await waitFor('the linked reply', async () => replies().length === 1, 10_000);
    expect(replies()[0]).toBe(
      `Alert ActiveClusterDown firing for production; linked to open run ${human.id}.`,
    );

    await post(baton.url, payload([{ ...alert, status: 'resolved' }]));
    await waitFor('the resolved reply', async () => replies().length === 2, 10_000);
    expect(replies()[1]).toBe(`The alerts behind run ${human.id} resolved.`);
    expect(await runs(baton)).toHaveLength(1);
    expect((await baton.h.web.store.require(human.id)).trigger).toBeUndefined();
  });

  it('20,000 alerts are one proposal; after it is rejected the same alerts do not propose again, a new one does', async () => {
    const baton = await startBaton();
    const storm = payload(
      Array.from({ length: 20_000 }, (_, i) => ({
        labels: { alertname: 'ActiveClusterDown', instance: `10.0.${i >> 8}.${i & 255}` },
      })),
    );
    // How fast a storm is taken in is bench/alertmanager-ingest.ts's business; here, what it leads to.
    const first = await post(baton.url, storm);
    expect(first.json).toMatchObject({ sites: [{ run: { how: 'proposed', firing: 20_000 } }] });
    expect((await post(baton.url, storm)).json).toMatchObject({ sites: [{ run: { how: 'joined' } }] });
    const [run] = await runs(baton);
    if (!run) throw new Error('no run');
    await baton.h.runMessage(run.id);

    await baton.h.click(USERS.bob, 'reject', run.id);
    await waitFor(
      'the rejection',
      async () => (await baton.h.web.store.require(run.id)).state === 'rejected',
      10_000,
    );
    expect((await post(baton.url, storm)).json).toMatchObject({
      sites: [{ run: { id: run.id, how: 'handled' } }],
    });
    expect(await runs(baton)).toHaveLength(1);

    const fresh = await post(
      baton.url,
      payload([{ labels: { alertname: 'ActiveClusterDown', instance: 'new' } }]),
    );
    expect(fresh.json).toMatchObject({ sites: [{ run: { how: 'proposed' } }] });
    expect(await runs(baton)).toHaveLength(2);
  });

  it('answers 503 while Redis is down (Alertmanager retries), and records the retry', async () => {
    const baton = await startBaton();
    const active = payload([{ labels: { alertname: 'ActiveClusterDown' } }]);
    await redis.shutdown();
    try {
      const down = await post(baton.url, active);
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('5');
      expect(down.json.message).toMatch(/Alertmanager will retry/);
    } finally {
      await redis.start();
    }
    const retried = await waitFor(
      'the retry to be accepted',
      async () => {
        const res = await post(baton.url, active);
        return res.status === 200 ? res : undefined;
      },
      15_000,
      200,
    );
    expect(retried.json).toMatchObject({ sites: [{ run: { how: 'proposed' } }] });
    expect(await runs(baton)).toHaveLength(1);
  });
});
