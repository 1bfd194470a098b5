/**
 * Everything `npm run sandbox` and `npm run drill` run on one machine: Redis (started, or an existing one reused
 * under a key prefix of its own), the lab (Kubernetes and Route 53 stand-ins, a health endpoint per cluster, a real
 * PostgreSQL primary and hot standby when the server programs are installed), the Slack stand-in with a few
 * sandbox users, Prometheus and Alertmanager when installed, and Baton itself as a real `baton start` process
 * configured only through its environment. `stop()` removes every process and file it started.
 *
 * This file starts the pieces in order and stops them in reverse; each piece lives in a file of its own, and the
 * names callers use are exported from here.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { SiteConfig } from '../../src/config/topology.js';
import { ReadinessStore } from '../../src/store/readiness-store.js';
import { RunStore } from '../../src/store/run-store.js';
import { MONITORING_INSTALL_HINT, monitoringBinaries } from '../processes/monitoring.js';
import { freePort } from '../processes/processes.js';
import { databaseBreaks } from '../postgres/database-breaks.js';
import type { PostgresPair } from '../postgres/postgres-pair.js';
import { postgresUnavailable } from '../postgres/postgres-pair.js';
import type { SlackApiServer } from '../slack/slack-api-server.js';
import { startSlackApiServer } from '../slack/slack-api-server.js';
import type { SlackUserActions } from '../slack/slack-user.js';
import { slackUserActions } from '../slack/slack-user.js';
import type { BatonProcess } from './baton-process.js';
import { startBaton, stopChild } from './baton-process.js';
import type { ClusterMonitoring } from './cluster-monitoring.js';
import { startClusterMonitoring } from './cluster-monitoring.js';
import type { Breaks } from './sandbox-breaks.js';
import { sandboxBreaks } from './sandbox-breaks.js';
import { sandboxRedis } from './sandbox-redis.js';
import type { SandboxUser } from './sandbox-workspace.js';
import {
  SANDBOX_BOT_TOKEN,
  SANDBOX_CHANNEL,
  SANDBOX_USER_GROUPS,
  SANDBOX_USERS,
} from './sandbox-workspace.js';
import type { Lab } from './start-lab.js';
import { startLab } from './start-lab.js';
import type { WorldView } from './world-view.js';
import { sharedForMs, worldView } from './world-view.js';
import { gitOpsSwitch } from './west-gitops.js';

export type { BatonProcess } from './baton-process.js';
export type { Breaks } from './sandbox-breaks.js';
export type { SandboxUser, SandboxUserRole } from './sandbox-workspace.js';
export { SANDBOX_CHANNEL, SANDBOX_USERS } from './sandbox-workspace.js';
export type { ClusterView, WorldView } from './world-view.js';

export interface SandboxOptions {
  /** Use this Redis (keys under a prefix of their own, removed at stop) instead of starting one. */
  redisUrl?: string;
  /** Prometheus and Alertmanager: `auto` starts them when installed, `required` fails without them. */
  monitoring?: 'auto' | 'required' | 'off';
  /** `off`: run without PostgreSQL even when it is installed (as on a machine without it). Default `auto`. */
  database?: 'auto' | 'off';
  /** The alert rules' `for:` (the manifests say 2m), default `5s`. */
  alertFor?: string;
  /** How long a scaled-up pod takes to become Ready in the Kubernetes stand-in (ms, default 1500). */
  podReadyAfterMs?: number;
  /** How long a Route 53 change stays PENDING (ms, default 3000). */
  insyncAfterMs?: number;
  /** The topology's `readiness.interval` (default `30s`; the topology allows 10s at the least). */
  readinessInterval?: string;
  /** Baton's HTTP port (default: any free one). */
  batonPort?: number;
  /** Sites in the topology (default 1, the example; more: `app-02`… served by east, see extra-sites.ts). */
  sites?: number;
  /** Called with a line for each thing started, for the terminal. */
  progress?: (line: string) => void;
}

export interface Sandbox {
  dir: string;
  redis: { url: string; started: boolean };
  prefix: string;
  lab: Lab<PostgresPair | null>;
  site: SiteConfig;
  slack: SlackApiServer;
  channel: typeof SANDBOX_CHANNEL;
  users: readonly SandboxUser[];
  signingSecret: string;
  /** Act as a Slack user: slash commands and clicks, signed as Slack signs them. */
  as: SlackUserActions;
  baton: BatonProcess;
  monitoring: ClusterMonitoring | null;
  /** What runs without something (no PostgreSQL, no Prometheus), one line each. */
  notes: string[];
  /** Baton's run store, read-only use (status, the drill's timeline). */
  store: RunStore;
  world(): Promise<WorldView>;
  breaks: Breaks;
  stop(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const progress = options.progress ?? (() => undefined);
  const notes: string[] = [];
  const stops: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
    stops.length = 0;
  };
  try {
    // Redis: our own when redis-server is installed, else the one at REDIS_URL (or the default port).
    const redis = await sandboxRedis(options.redisUrl);
    stops.push(() => redis.stop());
    const { url: redisUrl, prefix, prefixes } = redis;
    progress(`Redis          ${redis.describe}`);

    const noDatabase =
      options.database === 'off' ? 'switched off for this sandbox' : await postgresUnavailable();
    if (noDatabase) notes.push(`No PostgreSQL: ${noDatabase}. Running without the database steps.`);
    const lab = await startLab({
      database: !noDatabase,
      podReadyAfterMs: options.podReadyAfterMs ?? 1500,
      insyncAfterMs: options.insyncAfterMs ?? 3000,
      gitops: true,
      // Continuous readiness every 30 s: a break shows on the page and in #incidents within half a minute.
      readinessInterval: options.readinessInterval ?? '30s',
      ...(options.sites !== undefined && { sites: options.sites }),
    });
    stops.push(() => lab.stop());
    const site = lab.topology.sites[0];
    if (!site) throw new Error('the lab topology has no site');
    progress(`Kubernetes     ${lab.kube.clusterIds.map((c) => `${c} ${lab.kube.url(c)}`).join(', ')}`);
    progress(
      `Route 53       ${lab.route53.endpoint} (DNS for ${site.dns.recordName}` +
        `${lab.topology.sites.length > 1 ? ` and ${lab.topology.sites.length - 1} more sites' records` : ''}` +
        ` on ${lab.route53.dnsAddress})`,
    );
    if (lab.postgres)
      progress(
        `PostgreSQL     primary east 127.0.0.1:${lab.postgres.primary.port}, hot standby west 127.0.0.1:${lab.postgres.standby.port}`,
      );

    const signingSecret = randomBytes(16).toString('hex');
    const slack = await startSlackApiServer({
      botToken: SANDBOX_BOT_TOKEN,
      users: SANDBOX_USERS.map((u) => u.id),
      userGroups: SANDBOX_USER_GROUPS,
      channels: [{ ...SANDBOX_CHANNEL }],
    });
    stops.push(() => slack.close());
    progress(`Slack          ${slack.url} (Web API stand-in; channel #${SANDBOX_CHANNEL.name})`);

    const batonPort = options.batonPort ?? (await freePort());
    const token = randomBytes(16).toString('hex');
    const webhookUrl = `http://127.0.0.1:${batonPort}/alertmanager`;

    let monitoring: ClusterMonitoring | null = null;
    const binaries = await monitoringBinaries();
    const missing = [!binaries.prometheus && 'prometheus', !binaries.alertmanager && 'alertmanager'].filter(
      Boolean,
    );
    if (options.monitoring !== 'off') {
      if (missing.length > 0) {
        const why = `${missing.join(' and ')} not installed (${MONITORING_INSTALL_HINT})`;
        if (options.monitoring === 'required') throw new Error(`${why}: the drill needs them`);
        notes.push(`No alerts: ${why}. Break a cluster and type /failover yourself.`);
      } else {
        monitoring = await startClusterMonitoring({
          site,
          dir: lab.dir,
          webhookUrl,
          token,
          alertFor: options.alertFor ?? '5s',
        });
        const started = monitoring;
        stops.push(() => started.stop());
        progress(`Prometheus     ${monitoring.prometheus.url} (probes each health URL every 1 s)`);
        progress(`Alertmanager   ${monitoring.alertmanager.url} (sends to ${webhookUrl})`);
      }
    }

    const logFile = join(lab.dir, 'baton.log');
    const baton = await startBaton(
      {
        PATH: process.env.PATH ?? '',
        ...(process.env.HOME && { HOME: process.env.HOME }),
        ...lab.env,
        REDIS_URL: redisUrl,
        BATON_KEY_PREFIX: prefix,
        SLACK_BOT_TOKEN: SANDBOX_BOT_TOKEN,
        SLACK_SIGNING_SECRET: signingSecret,
        SLACK_API_URL: slack.apiUrl,
        ALERTMANAGER_TOKEN: token,
        PORT: String(batonPort),
        LOG_LEVEL: 'info',
      },
      batonPort,
      logFile,
    );
    stops.push(() => stopChild(baton.child));
    progress(`Baton          ${baton.url} (baton start: web and worker, pid ${baton.child.pid})`);

    const connection = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    connection.on('error', () => undefined);
    stops.push(async () => connection.disconnect());
    const store = new RunStore(connection, prefixes.store);

    // Keep the probes' cluster_role following DNS, as the alert rules expect after a failover.
    if (monitoring) {
      const relabel = monitoring;
      const timer = setInterval(() => {
        void lab
          .servedBy()
          .then((cluster) => (cluster ? relabel.setServing(cluster) : undefined))
          .catch(() => undefined);
      }, 1000);
      stops.push(async () => clearInterval(timer));
    }

    const apiDown = new Set<string>();
    const database = databaseBreaks(lab.postgres);
    const gitops = gitOpsSwitch(lab);
    const readiness = new ReadinessStore(connection, prefixes.store);
    const world = sharedForMs(
      worldView({ lab, site, monitoring, apiDown, database, store, gitops, readiness }),
      400,
    );
    const breaks = sandboxBreaks(lab, database, apiDown, gitops);
    return {
      dir: lab.dir,
      redis: { url: redisUrl, started: redis.started },
      prefix,
      lab,
      site,
      slack,
      channel: SANDBOX_CHANNEL,
      users: SANDBOX_USERS,
      signingSecret,
      as: slackUserActions({
        slack,
        eventsUrl: baton.eventsUrl,
        signingSecret,
        channel: SANDBOX_CHANNEL.id,
        channelName: SANDBOX_CHANNEL.name,
        userNames: Object.fromEntries(SANDBOX_USERS.map((u) => [u.id, u.name])),
      }),
      baton,
      monitoring,
      notes,
      store,
      world,
      breaks,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
