/**
 * Helpers for the operate tests: Baton's roles as real processes with the Slack stand-in, the port a worker bound
 * (it logs it), and reading samples out of Prometheus' text format.
 */
import type { SlackApiServer } from '../../lab/slack/slack-api-server.js';
import type { WorkerProcess } from '../support/integration.js';
import { waitFor } from '../support/integration.js';

export const BOT_TOKEN = 'xoxb-operate-test-token';
export const SIGNING_SECRET = 'operate-test-signing-secret';
export const ALERTMANAGER_TOKEN = 'operate-test-alertmanager-token-2f6a9c1d';

/** The environment of `baton web` / `baton worker` against the Slack stand-in. */
export const slackEnv = (
  slack: SlackApiServer,
  extra: Record<string, string> = {},
): Record<string, string> => ({
  SLACK_BOT_TOKEN: BOT_TOKEN,
  SLACK_SIGNING_SECRET: SIGNING_SECRET,
  SLACK_API_URL: slack.apiUrl,
  ALERTMANAGER_TOKEN,
  ...extra,
});

/** The JSON log lines a process wrote so far. */
export function logLines(process: WorkerProcess): Record<string, unknown>[] {
  return process
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The port a `baton worker` started with PORT=0 listens on, from its "worker ready" line. */
export function workerPort(worker: WorkerProcess): Promise<number> {
  return waitFor(
    'the worker to log "worker ready"',
    async () => {
      if (worker.child.exitCode !== null) throw new Error(`worker exited early:\n${worker.output()}`);
      const line = logLines(worker).find((l) => l.msg === 'worker ready');
      return typeof line?.port === 'number' ? line.port : undefined;
    },
    30_000,
  );
}

/** Waits until GET /readyz answers 200. */
export function waitReady(port: number, process: WorkerProcess): Promise<true> {
  return waitFor(
    `port ${port} to be ready`,
    async () => {
      if (process.child.exitCode !== null) throw new Error(`process exited early:\n${process.output()}`);
      const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
      return response?.status === 200 ? (true as const) : undefined;
    },
    30_000,
  );
}

export async function scrape(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  return response.text();
}

/**
 * The value of the sample `name{labels}` in a Prometheus text exposition (labels matched exactly, in any order), or
 * undefined when there is no such sample.
 */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [
        m[1],
        m[2],
      ]),
    );
    const wanted = Object.entries(labels);
    if (Object.keys(found).length === wanted.length && wanted.every(([k, v]) => found[k] === v))
      return Number(match[3]);
  }
  return undefined;
}
