/**
 * The web role: Bolt (signed HTTP, or Socket Mode when an app token is set) plus Baton's own HTTP routes. It acks,
 * authorizes, records and enqueues; it never talks to Kubernetes, Route 53 or PostgreSQL (DESIGN §4).
 *
 * Over HTTP, Bolt's receiver serves /slack/events and Baton's routes on one port. In Socket Mode, Baton's routes get
 * their own server on that port (Bolt's Socket Mode receiver would not report the port or wait for requests in
 * flight). `close()` turns /readyz to 503, stops accepting connections, lets requests in flight finish (bounded),
 * then disconnects Socket Mode and closes the queues.
 */
import type { Server } from 'node:http';
import type { CustomRoute, Logger as BoltLogger } from '@slack/bolt';
import { App, LogLevel } from '@slack/bolt';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Topology } from '../config/topology.js';
import type { Clock, Log } from '../core/ports.js';
import { BatonError, describeError } from '../errors.js';
import type { CheckJobData } from '../queue/check-jobs.js';
import { CHECKS_QUEUE } from '../queue/check-jobs.js';
import { Notifier } from '../queue/notify/index.js';
import type { RunJobData } from '../queue/queues.js';
import { RUNS_QUEUE } from '../queue/queues.js';
import type { BatonMetrics } from '../metrics.js';
import { MeteredRunStore } from '../observability/metered-run-store.js';
import { opsRoutes } from '../observability/ops-routes.js';
import { Readiness } from '../observability/readiness.js';
import { closeServer, serveRoutes } from '../observability/serve-http.js';
import { createAuthorizer } from '../runs/authorizer.js';
import { ReadinessService } from '../runs/readiness-service.js';
import { RunService } from '../runs/run-service.js';
import { createGuardedReceiver } from '../slack/future-timestamp-guard.js';
import { registerListeners } from '../slack/register-listeners.js';
import { RunPublisher } from '../slack/publish-run.js';
import type { EvacuationService } from '../runs/evacuation-service.js';
import { createEvacuationParts } from './evacuation-parts.js';
import type { DrillService } from '../runs/drill-service.js';
import { createDrillService } from './drill-parts.js';
import { SlackDirectory } from '../slack/slack-directory.js';
import { ReadinessStore } from '../store/readiness-store.js';
import { RunStore } from '../store/run-store.js';

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
  /** More HTTP routes beside /slack/events (the Alertmanager webhook), built on the role's parts. */
  routes?: (parts: WebRoleParts) => CustomRoute[];
  /** Baton's metrics: counted in this role and served at GET /metrics. Omitted: no /metrics route. */
  metrics?: BatonMetrics;
  /**
   * What /readyz answers; the caller marks it serving once every role of the process has started. Omitted: the role
   * pings its own connection and is ready once it has started.
   */
  readiness?: Readiness;
  /** How long requests in flight may take to finish at shutdown (default 10 s). */
  shutdownGraceMs?: number;
}

/** What extra routes may use: the run service the listeners use, and the notifier for their own messages. */
export interface WebRoleParts {
  service: RunService;
  store: RunStore;
  notifier: Notifier;
  /** Evacuations (`/failover --cluster`, `propose-evacuation` alert rules). */
  evacuations: EvacuationService;
  /** Game days (`/failover drill`): the Alertmanager route stops one when an `abortOn` alert fires. */
  drills: DrillService;
}

export interface WebRole {
  port: number;
  service: RunService;
  store: RunStore;
  notifier: Notifier;
  evacuations: EvacuationService;
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
  const store = options.metrics
    ? new MeteredRunStore(connection, prefixes.store, options.metrics)
    : new RunStore(connection, prefixes.store);
  const runsQueue = new Queue<RunJobData>(RUNS_QUEUE, { connection, prefix: prefixes.bull });
  const checksQueue = new Queue<CheckJobData>(CHECKS_QUEUE, { connection, prefix: prefixes.bull });
  const notifier = new Notifier({ connection, prefix: prefixes.bull, log, clock });
  const publisher = new RunPublisher({ notifier, topology, clock, log });
  const evacuationParts = createEvacuationParts({ connection, prefixes, notifier, topology, clock, log });

  const readiness = options.readiness ?? new Readiness({ ping: () => connection.ping(), topology });
  const health = opsRoutes({ readiness, ...(options.metrics && { metrics: options.metrics }), log });
  // Approvers and requesters are resolved through Slack user groups, read with the App's own client once it exists.
  let directory: SlackDirectory | null = null;
  const authorizer = createAuthorizer(topology.approvals, {
    includes: (principals, userId) =>
      directory ? directory.includes(principals, userId) : Promise.resolve(principals.users.includes(userId)),
  });
  const service = new RunService({
    store,
    queues: { runs: runsQueue, checks: checksQueue },
    reporter: evacuationParts.reporting(publisher),
    authorizer,
    topology,
    clock,
    log,
  });
  const evacuations = evacuationParts.attach(service);
  const drills = createDrillService({ connection, prefixes, notifier, runs: service, topology, clock, log });
  const extra = options.routes?.({ service, store, notifier, evacuations, drills }) ?? [];
  const routes = [...health, ...extra];
  const common = {
    token: slack.botToken,
    logger: boltLogger(log),
    // auth.test at boot would keep Baton from starting while Slack is down; alerts and health must still work.
    tokenVerificationEnabled: false,
    ...(slack.apiUrl && { clientOptions: { slackApiUrl: slack.apiUrl } }),
  };
  let app: App;
  if (slack.appToken) {
    app = new App({ ...common, appToken: slack.appToken, socketMode: true });
  } else {
    if (!slack.signingSecret) {
      throw new BatonError(
        'config-invalid',
        'SLACK_SIGNING_SECRET is required for Slack over HTTP (or set SLACK_APP_TOKEN for Socket Mode)',
      );
    }
    const receiver = createGuardedReceiver(
      { signingSecret: slack.signingSecret, customRoutes: routes, logger: common.logger },
      { clock, log },
    );
    app = new App({ ...common, receiver });
  }
  app.error(async (error) => {
    log.error({ err: describeError(error) }, 'unhandled error in a Slack listener');
  });

  directory = new SlackDirectory(app.client, clock, log);
  // `/failover readiness` reads the last evaluations the workers' readiness job stored (src/queue/readiness-job.ts).
  const siteReadiness = new ReadinessService({
    readiness: new ReadinessStore(connection, prefixes.store),
    topology,
    clock,
  });
  registerListeners(app, {
    service,
    topology,
    notifier,
    clock,
    log,
    evacuations,
    readiness: siteReadiness,
    drills,
  });

  let server: Server;
  let port = options.port;
  if (slack.appToken) {
    // Health answers while Socket Mode connects.
    ({ server, port } = await serveRoutes({ port: options.port, routes, log }));
    try {
      await app.start();
    } catch (error) {
      await closeServer(server, { timeoutMs: 0, log });
      throw error;
    }
  } else {
    server = (await app.start(options.port)) as Server;
    const address = server.address();
    if (address && typeof address === 'object') port = address.port;
  }
  if (!options.readiness) readiness.serving();
  log.info({ port, transport: slack.appToken ? 'socket-mode' : 'http' }, 'web ready');

  return {
    port,
    service,
    store,
    notifier,
    evacuations,
    async close() {
      readiness.stopping();
      const stopBolt = () =>
        app.stop().catch((error: unknown) => log.warn({ err: describeError(error) }, 'bolt stop failed'));
      // Socket Mode: no new Slack events first. Over HTTP, Bolt's stop is only closing the server, done here.
      if (slack.appToken) await stopBolt();
      await closeServer(server, { timeoutMs: options.shutdownGraceMs ?? 10_000, log });
      await runsQueue.close();
      await checksQueue.close();
      await evacuationParts.close();
      await notifier.close();
    },
  };
}
