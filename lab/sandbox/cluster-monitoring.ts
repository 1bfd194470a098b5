/**
 * The monitoring of the sandbox and the drill, as manifests/monitoring ships it: a real Prometheus probing each
 * cluster's health URL through a small blackbox-exporter stand-in and evaluating the shipped rules, and a real
 * Alertmanager sending them to Baton's webhook with its bearer token. Only the timings are shortened. The probe
 * targets carry `cluster_role`; `setServing` swaps the roles after a failover, as the rule file tells operators to.
 * `fireAlert` stands for an application's own alert rule (a HighErrorRate that aborts a game day): it posts the alert
 * to the real Alertmanager as Prometheus would, and the shipped routes take it to Baton.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { SiteConfig } from '../../src/config/topology.js';
import type { AlertmanagerProcess, PostableAlert, PrometheusProcess } from '../processes/monitoring.js';
import { startAlertmanager, startPrometheus } from '../processes/monitoring.js';

const MANIFESTS = new URL('../../manifests/monitoring/', import.meta.url);
const JOB = 'baton-cluster-health';

export interface ClusterMonitoringOptions {
  site: SiteConfig;
  /** Where the targets file lives (it must outlive Prometheus). */
  dir: string;
  /** Baton's `POST /alertmanager` URL and its bearer token. */
  webhookUrl: string;
  token: string;
  /** The rules' `for:` (the manifests say 2m and 5m), e.g. `5s`. */
  alertFor: string;
}

export interface FiringAlert {
  alertname: string;
  cluster?: string;
  state: string;
  /** `sandbox`: fired with fireAlert (held by Alertmanager), not by one of Prometheus's rules. */
  firedBy?: 'sandbox';
}

export interface ClusterMonitoring {
  prometheus: PrometheusProcess;
  alertmanager: AlertmanagerProcess;
  /** Relabels the probes: `cluster` is the one users are sent to. */
  setServing(cluster: string): Promise<void>;
  /** Prometheus's alerts (pending and firing), and the ones fired with fireAlert that Alertmanager holds. */
  alerts(): Promise<FiringAlert[]>;
  /**
   * Sends `alertname` (labels: `site`, `severity: critical`, then `labels`) to Alertmanager as firing, as Prometheus
   * sends a rule's alert, and keeps re-sending it as Prometheus does until resolveAlert.
   */
  fireAlert(alertname: string, labels?: Record<string, string>): Promise<void>;
  /** Sends the alert fired with these labels as resolved (endsAt now), as Prometheus does once its rule is quiet. */
  resolveAlert(alertname: string, labels?: Record<string, string>): Promise<void>;
  /** The latest `probe_success` per cluster, once Prometheus has scraped it. */
  probes(): Promise<Record<string, boolean>>;
  stop(): Promise<void>;
}

/** A blackbox exporter's `/probe?target=…` for the `http_2xx` module: `probe_success` 1 on a 2xx answer. */
async function startProber(): Promise<{ address: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://prober');
    const target = url.searchParams.get('target');
    if (url.pathname !== '/probe' || !target) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('target parameter is missing\n');
      return;
    }
    const started = performance.now();
    fetch(target, { signal: AbortSignal.timeout(800), redirect: 'follow' })
      .then((r) => r.status >= 200 && r.status < 300)
      .catch(() => false)
      .then((ok) => {
        const seconds = (performance.now() - started) / 1000;
        res
          .writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
          .end(
            [
              '# HELP probe_duration_seconds Returns how long the probe took to complete in seconds',
              '# TYPE probe_duration_seconds gauge',
              `probe_duration_seconds ${seconds}`,
              '# HELP probe_success Displays whether or not the probe was a success',
              '# TYPE probe_success gauge',
              `probe_success ${ok ? 1 : 0}`,
              '',
            ].join('\n'),
          );
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function shippedRules(alertFor: string): Promise<Record<string, unknown>> {
  const rule = parse(await readFile(new URL('prometheus-rule.yaml', MANIFESTS), 'utf8')) as {
    spec: { groups: { rules: Record<string, unknown>[] }[] };
  };
  return {
    groups: rule.spec.groups.map((group) => ({
      ...group,
      interval: '1s',
      rules: group.rules.map((r) => ({ ...r, for: alertFor })),
    })),
  };
}

async function shippedAlertmanagerConfig(webhookUrl: string) {
  const config = parse(await readFile(new URL('alertmanager.yaml', MANIFESTS), 'utf8')) as {
    route: { routes: Record<string, unknown>[] };
    receivers: {
      name: string;
      webhook_configs?: { url: string; http_config: { authorization: Record<string, string> } }[];
    }[];
  };
  for (const route of config.route.routes) {
    if (route.receiver !== 'baton') continue;
    // The game-day abort route's `group_wait: 0s` stays: nothing is shorter.
    const groupWait = route.group_wait === '0s' ? '0s' : '1s';
    Object.assign(route, { group_wait: groupWait, group_interval: '2s', repeat_interval: '1h' });
  }
  const webhook = config.receivers.find((r) => r.name === 'baton')?.webhook_configs?.[0];
  if (!webhook) throw new Error('manifests/monitoring/alertmanager.yaml has no baton webhook receiver');
  webhook.url = webhookUrl;
  return (dir: string) => {
    webhook.http_config.authorization.credentials_file = join(dir, 'token');
    return config as unknown as Record<string, unknown>;
  };
}

/**
 * How Prometheus sends a rule's alert (cmd/prometheus/main.go `sendAlerts`, rules/alerting.go): startsAt is when it
 * fired; while it fires it is re-sent every `--rules.alert.resend-delay` (default 1m) with endsAt = ValidUntil,
 * 4 × max(evaluation interval, resend delay) ahead, so Alertmanager keeps it firing between sends; once resolved it
 * is sent with endsAt = when it resolved. generatorURL links to the rule's expression in Prometheus's graph page.
 */
const RESEND_MS = 60_000;
const VALID_FOR_MS = 4 * RESEND_MS;
/** The rule the sandbox's fired alerts stand for: an application's 5xx ratio above 5 %. */
const ERROR_RATE_EXPR =
  'sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05';

/** The alerts fired by hand, each re-sent as Prometheus re-sends a firing alert. */
function handFiredAlerts(site: string, alertmanager: AlertmanagerProcess, prometheusUrl: string) {
  const generatorURL = `${prometheusUrl}/graph?${new URLSearchParams({ 'g0.expr': ERROR_RATE_EXPR, 'g0.tab': '1' })}`;
  const firing = new Map<string, PostableAlert>();
  const labelsOf = (alertname: string, extra: Record<string, string> = {}) => ({
    alertname,
    site,
    severity: 'critical',
    ...extra,
  });
  const keyOf = (labels: Record<string, string>) => JSON.stringify(Object.entries(labels).sort());
  const validUntil = () => new Date(Date.now() + VALID_FOR_MS).toISOString();
  const timer = setInterval(() => {
    const alerts = [...firing.values()].map((a) => ({ ...a, endsAt: validUntil() }));
    if (alerts.length > 0) void alertmanager.postAlerts(alerts).catch(() => undefined);
  }, RESEND_MS);
  timer.unref();
  return {
    generatorURL,
    async fire(alertname: string, extra?: Record<string, string>) {
      const labels = labelsOf(alertname, extra);
      const alert = firing.get(keyOf(labels)) ?? {
        labels,
        annotations: { summary: `${alertname} on ${site} (fired from the sandbox)` },
        startsAt: new Date().toISOString(),
        generatorURL,
      };
      await alertmanager.postAlerts([{ ...alert, endsAt: validUntil() }]);
      firing.set(keyOf(labels), alert);
    },
    async resolve(alertname: string, extra?: Record<string, string>) {
      const labels = labelsOf(alertname, extra);
      const now = new Date().toISOString();
      const alert = firing.get(keyOf(labels)) ?? { labels, startsAt: now, generatorURL };
      await alertmanager.postAlerts([{ ...alert, endsAt: now }]);
      firing.delete(keyOf(labels));
    },
    stop: async () => clearInterval(timer),
  };
}

export async function startClusterMonitoring(options: ClusterMonitoringOptions): Promise<ClusterMonitoring> {
  const { site, dir } = options;
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
  };
  try {
    const prober = await startProber();
    stops.push(() => prober.close());
    const alertmanager = await startAlertmanager({
      config: await shippedAlertmanagerConfig(options.webhookUrl),
      files: { token: `${options.token}\n` },
    });
    stops.push(() => alertmanager.stop());

    // file_sd: Prometheus re-reads the file when it changes, so a failover relabels the probes without a restart.
    const targetsFile = join(dir, 'cluster-health-targets.yaml');
    const writeTargets = (serving: string) =>
      writeFile(
        targetsFile,
        stringify(
          Object.entries(site.clusters).map(([cluster, config]) => ({
            targets: [config.healthUrl],
            labels: {
              site: site.name,
              cluster,
              cluster_role: cluster === serving ? 'active' : 'passive',
            },
          })),
        ),
      );
    let serving = site.homeCluster;
    await writeTargets(serving);
    const prometheus = await startPrometheus({
      config: {
        global: { scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '900ms' },
        alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${alertmanager.port}`] }] }] },
        scrape_configs: [
          {
            job_name: JOB,
            metrics_path: '/probe',
            params: { module: ['http_2xx'] },
            file_sd_configs: [{ files: [targetsFile], refresh_interval: '1s' }],
            relabel_configs: [
              { source_labels: ['__address__'], target_label: '__param_target' },
              { source_labels: ['__param_target'], target_label: 'instance' },
              { target_label: '__address__', replacement: prober.address },
            ],
          },
        ],
      },
      rules: await shippedRules(options.alertFor),
    });
    stops.push(() => prometheus.stop());
    const byHand = handFiredAlerts(site.name, alertmanager, prometheus.url);
    stops.push(() => byHand.stop());

    const instant = async (expr: string) => {
      const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await res.json()) as {
        data?: { result?: { metric: Record<string, string>; value: [number, string] }[] };
      };
      return body.data?.result ?? [];
    };
    return {
      prometheus,
      alertmanager,
      async setServing(cluster) {
        if (cluster === serving) return;
        serving = cluster;
        await writeTargets(cluster);
      },
      async alerts() {
        const [rules, held] = await Promise.all([prometheus.alerts(), alertmanager.alerts()]);
        return [
          ...rules.map((a) => ({
            alertname: a.labels.alertname ?? '',
            ...(a.labels.cluster && { cluster: a.labels.cluster }),
            state: a.state,
          })),
          ...held
            .filter((a) => a.generatorURL === byHand.generatorURL)
            .map((a) => ({
              alertname: a.labels.alertname ?? '',
              state: 'firing',
              firedBy: 'sandbox' as const,
            })),
        ];
      },
      fireAlert: (alertname, labels) => byHand.fire(alertname, labels),
      resolveAlert: (alertname, labels) => byHand.resolve(alertname, labels),
      async probes() {
        const result = await instant(`probe_success{job="${JOB}"}`);
        return Object.fromEntries(result.map((r) => [r.metric.cluster ?? '', r.value[1] === '1']));
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
