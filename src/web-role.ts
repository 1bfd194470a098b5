/**
 * The web role: Bolt (signed HTTP, or Socket Mode when an app token is set) plus Baton's own HTTP routes. It acks,
 * authorizes, records and enqueues; it never talks to Kubernetes, Route 53 or PostgreSQL (DESIGN §4).
 */
import type { Server } from 'node:http';
import type { CustomRoute, Logger as BoltLogger } from '@slack/bolt';
import { App, LogLevel } from '@slack/bolt';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Topology } from './config/topology.js';
import type { Run } from './core/model.js';
import type { Clock, Log } from './core/ports.js';
import { BatonError, describeError } from './errors.js';
import type { CheckJobData } from './queue/check-jobs.js';
import { CHECKS_QUEUE, enqueueCheck, enqueuePreflight } from './queue/check-jobs.js';
import { Notifier } from './queue/notify.js';
import type { RunJobData } from './queue/queues.js';
import { RUNS_QUEUE } from './queue/queues.js';
import { RunCommands } from './queue/run-commands.js';
import { registerListeners } from './slack/register-listeners.js';
import { RunPublisher } from './slack/publish-run.js';
import { SlackDirectory } from './slack/slack-directory.js';
import { RunStore } from './store/run-store.js';

export interface WebRoleOptions {
  topology: Topology;
  slack: { botToken: string; signingSecret?: string; appToken?: string; apiUrl?: string };
  /** A producer connection (enableOfflineQueue: false), so a Redis outage fails requests fast. */
  connection: Redis;
  prefixes: { store: string; bull: string };
  /** HTTP port (0: any free port). */
  port: number;
  clock: Clock;
  log: Log;
  /** More HTTP routes beside /slack/events (the Alertmanager webhook, metrics), built on the role's parts. */
  routes?: (parts: WebRoleParts) => CustomRoute[];
}

/** What extra routes may use: the same store, commands and Slack publishing the listeners use. */
export interface WebRoleParts {
  commands: RunCommands;
  store: RunStore;
  notifier: Notifier;
  publisher: RunPublisher;
  /** Queues preflight for a new proposal. */
  enqueuePreflight(run: Run): Promise<void>;
}

export interface WebRole {
  port: number;
  commands: RunCommands;
  store: RunStore;
  notifier: Notifier;
  publisher: RunPublisher;
  close(): Promise<void>;
}

/** Bolt's logger interface on top of pino: Bolt's own chatter at debug, its errors as warnings. */
function boltLogger(log: Log): BoltLogger {
  const child = log.child({ component: 'bolt' });
  let level = LogLevel.INFO;
  const line = (parts: unknown[]) =>
    parts.map((part) => (typeof part === 'string' ? part : describeError(part))).join(' ');
  return {
    debug: (...parts: unknown[]) => child.debug({}, line(parts)),
    info: (...parts: unknown[]) => child.debug({}, line(parts)),
    warn: (...parts: unknown[]) => child.warn({}, line(parts)),
    error: (...parts: unknown[]) => child.error({}, line(parts)),
    setLevel: (next) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

export async function startWebRole(options: WebRoleOptions): Promise<WebRole> {
  const { topology, connection, prefixes, clock, log, slack } = options;
  const store = new RunStore(connection, prefixes.store);
  const runsQueue = new Queue<RunJobData>(RUNS_QUEUE, { connection, prefix: prefixes.bull });
  const checksQueue = new Queue<CheckJobData>(CHECKS_QUEUE, { connection, prefix: prefixes.bull });
  const notifier = new Notifier({ connection, prefix: prefixes.bull, log });
  const publisher = new RunPublisher({ notifier, topology, clock, log });

  const health: CustomRoute[] = [
    {
      path: '/healthz',
      method: 'GET',
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      },
    },
    {
      path: '/readyz',
      method: 'GET',
      handler: (_req, res) => {
        connection
          .ping()
          .then(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('ready\n'))
          .catch((error: unknown) =>
            res
              .writeHead(503, { 'content-type': 'text/plain' })
              .end(`not ready: Redis does not answer (${describeError(error)})\n`),
          );
      },
    },
  ];
  // Approvers are resolved through Slack user groups, read with the App's own client once the App exists.
  let directory: SlackDirectory | null = null;
  const commands = new RunCommands({
    store,
    queue: runsQueue,
    topology,
    clock,
    isApprover: async (actor) =>
      actor.type === 'slack-user' && directory !== null
        ? directory.includes(topology.approvals.approvers, actor.id)
        : false,
  });
  const enqueueProposalPreflight = (run: Run) => enqueuePreflight(checksQueue, run);
  const extra =
    options.routes?.({ commands, store, notifier, publisher, enqueuePreflight: enqueueProposalPreflight }) ??
    [];
  const routes = [...health, ...extra];
  const common = {
    token: slack.botToken,
    logger: boltLogger(log),
    // auth.test at boot would keep Baton from starting while Slack is down; alerts and health must still work.
    tokenVerificationEnabled: false,
    customRoutes: routes,
    ...(slack.apiUrl && { clientOptions: { slackApiUrl: slack.apiUrl } }),
  };
  let app: App;
  if (slack.appToken) {
    app = new App({
      ...common,
      appToken: slack.appToken,
      socketMode: true,
      installerOptions: { port: options.port },
    });
  } else {
    if (!slack.signingSecret) {
      throw new BatonError(
        'config-invalid',
        'SLACK_SIGNING_SECRET is required for Slack over HTTP (or set SLACK_APP_TOKEN for Socket Mode)',
      );
    }
    app = new App({ ...common, signingSecret: slack.signingSecret });
  }
  app.error(async (error) => {
    log.error({ err: describeError(error) }, 'unhandled error in a Slack listener');
  });

  directory = new SlackDirectory(app.client, clock, log);
  registerListeners(app, {
    topology,
    commands,
    store,
    directory,
    notifier,
    publisher,
    clock,
    log,
    enqueuePreflight: enqueueProposalPreflight,
    enqueueObserve: (sites, responseUrl) =>
      enqueueCheck(checksQueue, { type: 'observe', sites, responseUrl }),
    enqueueDryRun: (request) => enqueueCheck(checksQueue, { type: 'dry-run', ...request }),
  });

  const started = (await app.start(options.port)) as unknown;
  let port = options.port;
  const server = slack.appToken ? null : (started as Server);
  const address = server?.address();
  if (address && typeof address === 'object') port = address.port;
  log.info({ port, transport: slack.appToken ? 'socket-mode' : 'http' }, 'web ready');

  return {
    port,
    commands,
    store,
    notifier,
    publisher,
    async close() {
      await app.stop().catch((error: unknown) => log.warn({ err: describeError(error) }, 'bolt stop failed'));
      await runsQueue.close();
      await checksQueue.close();
      await notifier.close();
    },
  };
}
