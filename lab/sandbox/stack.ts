/**
 * Everything `npm run sandbox` and `npm run drill` run on one machine: Redis (started, or an existing one reused
 * under a key prefix of its own), the lab (Kubernetes and Route 53 stand-ins, a health endpoint per cluster, a real
 * PostgreSQL primary and hot standby when the server programs are installed), the Slack stand-in with a few
 * sandbox users, Prometheus and Alertmanager when installed, and Baton itself as a real `baton start` process
 * configured only through its environment. `stop()` removes every process and file it started.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { SiteConfig } from '../../src/config/topology.js';
import { keyPrefixes } from '../../src/config/load-config.js';
import { RunStore } from '../../src/store/run-store.js';
import type { ClusterMonitoring, FiringAlert } from './cluster-monitoring.js';
import { startClusterMonitoring } from './cluster-monitoring.js';
import type { Lab } from './start-lab.js';
import { startLab } from './start-lab.js';
import { MONITORING_INSTALL_HINT, monitoringBinaries } from '../processes/monitoring.js';
import type {
  DatabaseBreaks,
  DatabaseView,
  FenceDebtView,
  LastRunView,
} from '../postgres/database-breaks.js';
import { databaseBreaks, recordsView } from '../postgres/database-breaks.js';
import type { PostgresPair } from '../postgres/postgres-pair.js';
import { postgresUnavailable } from '../postgres/postgres-pair.js';
import { freePort, startRedis, waitForPing } from '../processes/processes.js';
import type { RedisProcess } from '../processes/processes.js';
import type { SlackApiServer } from '../slack/slack-api-server.js';
import { startSlackApiServer } from '../slack/slack-api-server.js';
import type { SlackUserActions } from '../slack/slack-user.js';
import { slackUserActions } from '../slack/slack-user.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const SANDBOX_CHANNEL = { id: 'C0INCIDENTS', name: 'incidents' } as const;
const BOT_TOKEN = 'xoxb-sandbox-bot-token';

export type SandboxUserRole = 'approver' | 'requester' | 'outsider';

export interface SandboxUser {
  id: string;
  name: string;
  role: SandboxUserRole;
  /** What the topology lets them do, in words. */
  about: string;
}

/** Matches examples/baton.yaml: U0ALICE and U0BOB approve, S0SRE approves, S0ONCALL requests. */
export const SANDBOX_USERS: readonly SandboxUser[] = [
  {
    id: 'U0ALICE',
    name: 'alice',
    role: 'approver',
    about: 'approver (approvals.approvers.users) and on call (S0ONCALL): may request and approve',
  },
  { id: 'U0BOB', name: 'bob', role: 'approver', about: 'approver (approvals.approvers.users)' },
  { id: 'U0CAROL', name: 'carol', role: 'approver', about: 'approver through the S0SRE user group' },
  {
    id: 'U0DAVE',
    name: 'dave',
    role: 'requester',
    about: 'on call (S0ONCALL): may run /failover and /failback, may not approve',
  },
  { id: 'U0MALLORY', name: 'mallory', role: 'outsider', about: 'in the channel, allowed nothing' },
];
const USER_GROUPS = { S0SRE: ['U0CAROL'], S0ONCALL: ['U0DAVE', 'U0ALICE'] };

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
  /** Baton's HTTP port (default: any free one). */
  batonPort?: number;
  /** Called with a line for each thing started, for the terminal. */
  progress?: (line: string) => void;
}

export interface BatonProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  url: string;
  eventsUrl: string;
  /** Its pino log (JSON lines). */
  logFile: string;
  /** The last lines it printed. */
  tail(lines?: number): string;
}

export interface ClusterView {
  id: string;
  serving: boolean;
  home: boolean;
  health: 'up' | 'down';
  api: 'up' | 'down';
  nodesReady: number;
  workloads: { name: string; replicas: number; readyReplicas: number }[];
  database: DatabaseView | null;
}

export interface WorldView {
  site: string;
  record: string;
  dnsAnswer: string[];
  servedBy: string | null;
  clusters: ClusterView[];
  alerts: FiringAlert[];
  monitoring: boolean;
  /** The site's open fence debt: what the old side still owes since a run could not fence it. */
  fenceDebt: FenceDebtView | null;
  /** The site's newest run and its measured RPO (null before its promotion). */
  lastRun: LastRunView | null;
}

/** What the page's buttons break: the health endpoint and API here, the database in database-breaks.ts. */
export interface Breaks extends DatabaseBreaks {
  health(cluster: string, up: boolean): Promise<void>;
  api(cluster: string, up: boolean): Promise<void>;
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

const redisAnswers = (url: string): Promise<boolean> =>
  waitForPing(url, 0).then(
    () => true,
    () => false,
  );

async function redisServerInstalled(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('redis-server', ['--version'], { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('exit', (code) => resolve(code === 0));
  });
}

/** Removes every key under the sandbox's prefixes from a Redis it shares. */
async function removeKeys(url: string, patterns: string[]): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try {
    for (const match of patterns) {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', match, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await client.del(...keys);
      } while (cursor !== '0');
    }
  } finally {
    client.disconnect();
  }
}

function startBaton(env: Record<string, string>, port: number, logFile: string): Promise<BatonProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'lab/cli.ts'), 'start', '--poll-ms', '250'],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const file = createWriteStream(logFile);
  let recent: string[] = [];
  const collect = (chunk: Buffer) => {
    file.write(chunk);
    recent = [...recent, ...chunk.toString().split('\n').filter(Boolean)].slice(-200);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  child.once('exit', () => file.end());
  const url = `http://127.0.0.1:${port}`;
  const baton: BatonProcess = {
    child,
    url,
    eventsUrl: `${url}/slack/events`,
    logFile,
    tail: (lines = 20) => recent.slice(-lines).join('\n'),
  };
  return (async () => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`Baton exited ${child.exitCode}:\n${baton.tail()}`);
      const ready = await fetch(`${url}/readyz`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ready && recent.some((line) => line.includes('worker ready'))) return baton;
      if (Date.now() > deadline) throw new Error(`Baton not ready after 60 s:\n${baton.tail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
}

async function stopChild(child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
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
    let redisProcess: RedisProcess | null = null;
    let redisUrl = options.redisUrl;
    if (!redisUrl) {
      if (await redisServerInstalled()) {
        redisProcess = await startRedis();
        redisUrl = redisProcess.url;
        stops.push(() => redisProcess?.stop() ?? Promise.resolve());
      } else {
        redisUrl = 'redis://127.0.0.1:6379';
        if (!(await redisAnswers(redisUrl)))
          throw new Error(
            `redis-server is not installed and no Redis answers at ${redisUrl}: apt-get install -y redis-server`,
          );
      }
    }
    const prefix = redisProcess ? 'baton' : `baton-sandbox-${randomBytes(3).toString('hex')}`;
    const prefixes = keyPrefixes({ keyPrefix: prefix });
    if (!redisProcess) {
      const url = redisUrl;
      stops.push(() => removeKeys(url, [`${prefixes.store}*`, `${prefixes.bull}:*`]));
    }
    progress(
      `Redis          ${redisUrl}${redisProcess ? ' (started for the sandbox, AOF on)' : ` (reused; keys under ${prefixes.store} and ${prefixes.bull}:)`}`,
    );

    const noDatabase =
      options.database === 'off' ? 'switched off for this sandbox' : await postgresUnavailable();
    if (noDatabase) notes.push(`No PostgreSQL: ${noDatabase}. Running without the database steps.`);
    const lab = await startLab({
      database: !noDatabase,
      podReadyAfterMs: options.podReadyAfterMs ?? 1500,
      insyncAfterMs: options.insyncAfterMs ?? 3000,
    });
    stops.push(() => lab.stop());
    const site = lab.topology.sites[0];
    if (!site) throw new Error('the lab topology has no site');
    progress(`Kubernetes     ${lab.kube.clusterIds.map((c) => `${c} ${lab.kube.url(c)}`).join(', ')}`);
    progress(
      `Route 53       ${lab.route53.endpoint} (DNS for ${site.dns.recordName} on ${lab.route53.dnsAddress})`,
    );
    if (lab.postgres)
      progress(
        `PostgreSQL     primary east 127.0.0.1:${lab.postgres.primary.port}, hot standby west 127.0.0.1:${lab.postgres.standby.port}`,
      );

    const signingSecret = randomBytes(16).toString('hex');
    const slack = await startSlackApiServer({
      botToken: BOT_TOKEN,
      users: SANDBOX_USERS.map((u) => u.id),
      userGroups: USER_GROUPS,
      channels: [{ id: SANDBOX_CHANNEL.id, name: SANDBOX_CHANNEL.name }],
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
        SLACK_BOT_TOKEN: BOT_TOKEN,
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
    const world = sharedForMs(worldView({ lab, site, monitoring, apiDown, database, store }), 400);
    const breaks = sandboxBreaks(lab, database, apiDown);
    return {
      dir: lab.dir,
      redis: { url: redisUrl, started: redisProcess !== null },
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

/**
 * Every caller within `ms` of a reading (or while it is under way) gets that reading: several open pages poll the
 * world, and each reading opens database connections and resolves DNS.
 */
function sharedForMs<T>(read: () => Promise<T>, ms: number): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | null = null;
  return () => {
    if (last && Date.now() - last.at < ms) return last.value;
    const value = read();
    last = { at: Date.now(), value };
    value.catch(() => (last = null));
    return value;
  };
}

function worldView(parts: {
  lab: Lab<PostgresPair | null>;
  site: SiteConfig;
  monitoring: ClusterMonitoring | null;
  apiDown: ReadonlySet<string>;
  database: DatabaseBreaks;
  store: RunStore;
}): () => Promise<WorldView> {
  const { lab, site, monitoring, apiDown, database, store } = parts;
  return async () => {
    const [dnsAnswer, servedBy, alerts, records] = await Promise.all([
      lab.resolve(),
      lab.servedBy(),
      monitoring ? monitoring.alerts().catch(() => []) : Promise.resolve([]),
      recordsView(store, site.name),
    ]);
    const clusters = await Promise.all(
      Object.entries(site.clusters).map(async ([id]): Promise<ClusterView> => {
        const health: ClusterView['health'] = await fetch(lab.health[id]?.url ?? '', {
          signal: AbortSignal.timeout(500),
        })
          .then((r) => (r.ok ? 'up' : 'down'))
          .catch(() => 'down');
        return {
          id,
          serving: servedBy === id,
          home: site.homeCluster === id,
          health,
          api: apiDown.has(id) ? 'down' : 'up',
          nodesReady: lab.kube.nodes(id).filter((n) => n.ready).length,
          workloads: site.workloads.map((w) => {
            const state = lab.kube.workload(id, w.namespace, w.kind, w.name);
            return {
              name: `${w.kind}/${w.name}`,
              replicas: state.replicas,
              readyReplicas: state.readyReplicas,
            };
          }),
          database: await database.view(id),
        };
      }),
    );
    return {
      site: site.name,
      record: site.dns.recordName,
      dnsAnswer,
      servedBy,
      clusters,
      alerts,
      monitoring: monitoring !== null,
      ...records,
    };
  };
}

function sandboxBreaks(
  lab: Lab<PostgresPair | null>,
  database: DatabaseBreaks,
  apiDown: Set<string>,
): Breaks {
  const known = (cluster: string) => {
    if (!lab.health[cluster]) throw new Error(`no cluster ${JSON.stringify(cluster)}: use east or west`);
  };
  return {
    ...database,
    async health(cluster, up) {
      known(cluster);
      await lab.health[cluster]?.set(up ? true : 'down');
    },
    async api(cluster, up) {
      known(cluster);
      await lab.kube.setOutage(cluster, up ? null : 'refused');
      if (up) apiDown.delete(cluster);
      else apiDown.add(cluster);
    },
  };
}
