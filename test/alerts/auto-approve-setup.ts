/**
 * What the auto-approval tests share: Baton's web and worker roles on a real Redis with the Slack stand-in, alerts
 * posted to the webhook, a real HTTP health endpoint for the serving cluster (east) whose answer a test sets, and
 * auto-approval policies ("workers") with a clock the test moves forward and passes it runs by hand.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpHealth } from '../../src/adapters/http-health.js';
import { alertmanagerRoute } from '../../src/alerts/alertmanager-route.js';
import type { AutoApprovalOutcome } from '../../src/alerts/auto-approve.js';
import { autoApprovalJob } from '../../src/alerts/auto-approve.js';
import { IncidentStore } from '../../src/store/incidents/incident-store.js';
import type { AutoApproveWitness, Topology } from '../../src/config/topology.js';
import { systemClock } from '../../src/core/clock.js';
import type { Clock } from '../../src/core/ports.js';
import { createLogger } from '../../src/logger.js';
import type { SlackHarness } from '../support/slack-harness.js';
import { CHANNEL, startSlackHarness } from '../support/slack-harness.js';

export const TOKEN = 'auto-approval-test-token';
export const QUIET_MS = 5 * 60_000;
/** The policies' probe slack (see probeSlackMs): failures further apart do not count as one run. */
export const SLACK_MS = 30_000;

/** East's health endpoint: answers `status`, or drops the connection. */
export interface HealthEndpoint {
  url: string;
  answer: number | 'drop';
  close(): Promise<void>;
}

export async function startHealthEndpoint(): Promise<HealthEndpoint> {
  const endpoint = { answer: 200 as number | 'drop' };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (endpoint.answer === 'drop') req.socket.destroy();
    else res.writeHead(endpoint.answer, { 'content-type': 'text/plain' }).end('health\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
  return Object.assign(endpoint, {
    url,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  });
}

/** The example topology with auto-approval on its `propose-failover` rule and east's health URL at `healthUrl`. */
export const withAutoApproval =
  (healthUrl: string, witness: AutoApproveWitness = { probes: 3 }) =>
  (topology: Topology): Topology => ({
    ...topology,
    sites: topology.sites.map((site) => ({
      ...site,
      clusters: Object.fromEntries(
        Object.entries(site.clusters).map(([id, cluster]) => [
          id,
          id === 'east' ? { ...cluster, healthUrl } : cluster,
        ]),
      ),
      alerts: site.alerts.map((rule) =>
        rule.action === 'propose-failover' ? { ...rule, autoApprove: { afterMs: QUIET_MS, witness } } : rule,
      ),
    })),
  });

/** One worker's auto-approval policy: a pass when the test asks for one. */
export interface AutoApproval {
  tick(): Promise<{ runId: string; outcome: AutoApprovalOutcome }[]>;
  close(): Promise<void>;
}

export interface Setup {
  h: SlackHarness;
  east: HealthEndpoint;
  incidents: IncidentStore;
  /** The first worker's policy. */
  policy: AutoApproval;
  /** Another worker's policy (its own Redis connection), or the first one's after a restart. */
  startPolicy(): AutoApproval;
  /** The policies' clock. */
  now(): number;
  advance(ms: number): void;
  /** One pass of `policy` (default: the first); what it decided for `runId`. */
  pass(runId: string, policy?: AutoApproval): Promise<AutoApprovalOutcome | undefined>;
  alert(status: 'firing' | 'resolved'): Promise<Response>;
  replies(runId: string): Promise<string[]>;
}

export async function setupAutoApproval(
  redisUrl: string,
  cleanups: (() => Promise<unknown>)[],
  witness: AutoApproveWitness = { probes: 3 },
): Promise<Setup> {
  const east = await startHealthEndpoint();
  cleanups.push(() => east.close());
  let offset = 0;
  const clock: Clock = { now: () => Date.now() + offset, sleep: systemClock.sleep };
  let prefixes = { store: '', bull: '' };
  const h = await startSlackHarness(redisUrl, {
    topology: withAutoApproval(east.url, witness),
    // The test runs the policies' passes itself, on its own clock.
    autoApproveEveryMs: 3_600_000,
    routes: (parts, context) => {
      prefixes = context.prefixes;
      return [
        alertmanagerRoute(parts, {
          token: TOKEN,
          topology: context.topology,
          incidents: new IncidentStore(context.connection, context.prefixes.store),
          clock: systemClock,
          log: context.log,
        }),
      ];
    },
  });
  cleanups.push(() => h.close());
  const worker = h.worker;
  if (!worker) throw new Error('the harness has no worker');
  const startPolicy = () => {
    const connection = h.redis.duplicate();
    const policy = autoApprovalJob({
      incidents: new IncidentStore(connection, prefixes.store),
      service: worker.service,
      notifier: worker.notifier,
      health: new HttpHealth({ timeoutMs: 1_000 }),
      topology: h.topology,
      clock,
      log: createLogger({ level: 'silent' }),
      // Passes run when the test says so.
      everyMs: 3_600_000,
      probeSlackMs: SLACK_MS,
    });
    if (!policy) throw new Error('auto-approval did not start');
    const close = async () => {
      connection.disconnect();
    };
    cleanups.push(close);
    const tick = () => policy.run() as Promise<{ runId: string; outcome: AutoApprovalOutcome }[]>;
    return { tick, close };
  };
  const policy = startPolicy();
  const started = Date.now();
  return {
    h,
    east,
    incidents: new IncidentStore(h.redis, prefixes.store),
    policy,
    startPolicy,
    now: clock.now,
    advance: (ms) => {
      offset += ms;
    },
    pass: async (runId, which = policy) =>
      (await which.tick()).find((o: { runId: string }) => o.runId === runId)?.outcome,
    alert: (status) =>
      fetch(`${h.webUrl}/alertmanager`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          version: '4',
          groupKey: '{}:{alertname="ActiveClusterDown"}',
          status,
          receiver: 'baton',
          truncatedAlerts: 0,
          externalURL: 'http://alertmanager.example:9093',
          groupLabels: {},
          commonLabels: {},
          commonAnnotations: {},
          alerts: [
            {
              status,
              labels: { alertname: 'ActiveClusterDown', cluster: 'east' },
              annotations: { summary: 'east health check fails' },
              startsAt: new Date(started).toISOString(),
              endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z',
              generatorURL: '',
              fingerprint: 'f00d',
            },
          ],
        }),
      }),
    async replies(runId) {
      const message = await h.runMessage(runId);
      // Replies that waited together arrive as one message, a line each: one entry per reply.
      return h.slack.replies(CHANNEL, message.ts).flatMap((r) => r.text.split('\n'));
    },
  };
}
