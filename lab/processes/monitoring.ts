/**
 * Starting real Alertmanager and Prometheus on free loopback ports, for tests, benchmarks and drills (LAB.md):
 * each in its own data directory, no gossip cluster, stopped and cleaned up by `stop()`.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from './processes.js';

/** Debian names first (`prometheus-alertmanager`), then the upstream release's. */
const ALERTMANAGER_BINARIES = ['prometheus-alertmanager', 'alertmanager'];
const PROMETHEUS_BINARIES = ['prometheus'];
export const MONITORING_INSTALL_HINT =
  'install them: apt-get install -y --no-install-recommends prometheus-alertmanager prometheus';

async function findBinary(names: readonly string[]): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const name of names) {
      const candidate = join(dir, name);
      try {
        await access(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return null;
}

/** Where the binaries are, or null for a missing one (tests skip with {@link MONITORING_INSTALL_HINT}). */
export async function monitoringBinaries(): Promise<{
  alertmanager: string | null;
  prometheus: string | null;
}> {
  return {
    alertmanager: await findBinary(ALERTMANAGER_BINARIES),
    prometheus: await findBinary(PROMETHEUS_BINARIES),
  };
}

export interface MonitoringProcess {
  port: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  dir: string;
  child: ChildProcess;
  /** Everything it logged so far (for a failing test's message). */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; removes the data directory. */
  stop(): Promise<void>;
}

async function waitReady(url: string, child: ChildProcess, output: () => string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`exited ${child.exitCode} before it was ready:\n${output()}`);
    try {
      const res = await fetch(`${url}/-/ready`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function launch(
  binary: string,
  args: (port: number, dir: string) => string[],
  files: (dir: string) => Record<string, string>,
  prefix: string,
): Promise<MonitoringProcess> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  for (const [name, text] of Object.entries(files(dir)))
    await writeFile(join(dir, name), text, { mode: 0o600 });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(binary, args(port, dir), { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const collect = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(url, child, () => log, 15_000);
  } catch (error) {
    await stop();
    throw new Error(`${binary} on port ${port}: ${(error as Error).message}`);
  }
  return { port, url, dir, child, output: () => log, stop };
}

export interface AlertmanagerOptions {
  /** The alertmanager.yml content (an object, written as YAML). Files it names go in `files`. */
  config: Record<string, unknown> | ((dir: string) => Record<string, unknown>);
  /** More files in the data directory (e.g. the bearer token file), by name. */
  files?: Record<string, string>;
}

export interface AlertmanagerProcess extends MonitoringProcess {
  /** Posts alerts through Alertmanager's v2 API, as Prometheus does. */
  postAlerts(alerts: PostableAlert[]): Promise<void>;
  /**
   * The alerts it holds, from `GET /api/v2/alerts`: its API leaves out those whose endsAt has passed (resolved;
   * api/v2/api.go `alertFilter`), and names the receivers its routes send each one to.
   */
  alerts(): Promise<GettableAlert[]>;
}

/** An alert as `POST /api/v2/alerts` takes it. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
  generatorURL?: string;
}

/** An alert as `GET /api/v2/alerts` answers it (the fields the lab reads). */
export interface GettableAlert extends PostableAlert {
  startsAt: string;
  endsAt: string;
  fingerprint: string;
  status: { state: 'active' | 'suppressed' | 'unprocessed' };
  receivers: { name: string }[];
}

/** A real Alertmanager with its own storage and no gossip (`--cluster.listen-address=`). */
export async function startAlertmanager(options: AlertmanagerOptions): Promise<AlertmanagerProcess> {
  const binary = (await monitoringBinaries()).alertmanager;
  if (!binary) throw new Error(`Alertmanager is not installed; ${MONITORING_INSTALL_HINT}`);
  const proc = await launch(
    binary,
    (port, dir) => [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.external-url=http://127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    (dir) => ({
      ...options.files,
      'alertmanager.yml': stringify(
        typeof options.config === 'function' ? options.config(dir) : options.config,
      ),
    }),
    'baton-alertmanager-',
  );
  return {
    ...proc,
    async postAlerts(alerts) {
      const res = await fetch(`${proc.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
      });
      if (!res.ok) throw new Error(`Alertmanager refused the alerts: ${res.status} ${await res.text()}`);
    },
    async alerts() {
      const res = await fetch(`${proc.url}/api/v2/alerts`);
      if (!res.ok) throw new Error(`Alertmanager answered GET /api/v2/alerts with ${res.status}`);
      return (await res.json()) as GettableAlert[];
    },
  };
}

export interface PrometheusOptions {
  /** prometheus.yml (an object, written as YAML); `rule_files` may name `rules.yml`. */
  config: Record<string, unknown>;
  /** rules.yml content (a Prometheus rule file, not a PrometheusRule resource). */
  rules?: Record<string, unknown>;
}

export interface PrometheusProcess extends MonitoringProcess {
  /** The alerts Prometheus has, from `GET /api/v1/alerts`. */
  alerts(): Promise<{ labels: Record<string, string>; state: string }[]>;
}

/** A real Prometheus with its own TSDB directory. */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusProcess> {
  const binary = (await monitoringBinaries()).prometheus;
  if (!binary) throw new Error(`Prometheus is not installed; ${MONITORING_INSTALL_HINT}`);
  const proc = await launch(
    binary,
    (port, dir) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    (dir) => ({
      'prometheus.yml': stringify({
        ...options.config,
        ...(options.rules && { rule_files: [join(dir, 'rules.yml')] }),
      }),
      ...(options.rules && { 'rules.yml': stringify(options.rules) }),
    }),
    'baton-prometheus-',
  );
  return {
    ...proc,
    async alerts() {
      const res = await fetch(`${proc.url}/api/v1/alerts`);
      const body = (await res.json()) as {
        data?: { alerts?: { labels: Record<string, string>; state: string }[] };
      };
      return body.data?.alerts ?? [];
    },
  };
}
