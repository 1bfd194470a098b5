/**
 * Role wiring: config → logger → Redis → adapters → roles. `baton worker`, `baton web` and `baton start` (both in
 * one process) share it. The production CLI passes no overrides; the lab's entry point may swap the adapters for
 * the simulated world and shorten the worker's timings (tests, benchmarks and the sandbox), through the same code.
 */
import { hostname } from 'node:os';
import { Registry } from 'prom-client';
import type { BatonEnv } from '../config/env.js';
import { loadConfig } from '../config/load-config.js';
import { systemClock } from '../core/clock.js';
import type { Topology } from '../config/topology.js';
import type { Log, Ports } from '../core/ports.js';
import { createRedis } from '../adapters/redis.js';
import { createSlackWebClient } from '../adapters/slack-web.js';
import { BatonError, describeError } from '../errors.js';
import { IncidentStore } from '../store/incidents/incident-store.js';
import { StoreKeys } from '../store/keys.js';
import { SharedRateLimit } from '../store/shared-rate-limit.js';
import { createLogger } from '../logger.js';
import { createMetrics, registerStateGauges } from '../metrics.js';
import { opsRoutes } from '../observability/ops-routes.js';
import { createStateReader } from '../observability/read-baton-state.js';
import { Readiness } from '../observability/readiness.js';
import type { HttpServerHandle } from '../observability/serve-http.js';
import { closeServer, serveRoutes } from '../observability/serve-http.js';
import type { WebRole } from './web-role.js';
import type { WorkerRole, WorkerRoleOptions } from './worker-role.js';

// Each role imports only what it runs: the Kubernetes client alone is about 130 MB of resident memory and most of a
// second of start-up, which the web role never needs; Bolt is the web role's.
const lazy = {
  createPorts: async () => (await import('../adapters/create-ports.js')).createPorts,
  alertmanagerRoute: async () => (await import('../alerts/alertmanager-route.js')).alertmanagerRoute,
  startWebRole: async () => (await import('./web-role.js')).startWebRole,
  startWorkerRole: async () => (await import('./worker-role.js')).startWorkerRole,
  doctorAtBoot: async () => (await import('../doctor/doctor-at-boot.js')).doctorAtBoot,
};

type Env = Record<string, string | undefined>;

/** How long requests in flight may take to finish at shutdown (Kubernetes' default grace period is 30 s). */
const SHUTDOWN_GRACE_MS = 10_000;
export type RoleName = 'worker' | 'web' | 'start';

/** What the lab's entry point may change; production passes none. */
export interface RoleOverrides {
  /** Ports instead of the real adapters (the simulated world), built on the worker's Redis connection. */
  ports?: (parts: { connection: WorkerConnection; topology: Topology; storePrefix: string }) => Ports;
  /** Shorter polling, locks and Slack spacing, so tests do not wait for production's timings. */
  worker?: Pick<WorkerRoleOptions, 'settings' | 'lock' | 'perChannelIntervalMs'>;
  /**
   * Run `baton doctor` at boot (src/doctor/). On whenever runRole is called without overrides (the production
   * CLI); the lab's entry point turns it on explicitly, since its simulated world has nothing real to check.
   */
  doctorAtBoot?: boolean;
}
type WorkerConnection = WorkerRoleOptions['connection'];

function requireSlack(env: BatonEnv): { botToken: string } {
  if (!env.slackBotToken) {
    throw new BatonError(
      'config-invalid',
      'SLACK_BOT_TOKEN is not set: the web role needs the bot token (xoxb-…)',
    );
  }
  return { botToken: env.slackBotToken };
}

/** Runs a role until SIGTERM/SIGINT, then shuts it down gracefully (the current step finishes). */
export async function runRole(
  role: RoleName,
  rawEnv: Env,
  overrides: RoleOverrides = { doctorAtBoot: true },
): Promise<number> {
  const { env, topology, prefixes } = await loadConfig(rawEnv, role === 'web' ? { checkEnv: false } : {});
  const log = createLogger({ level: env.logLevel, base: { role, pid: process.pid } });
  // A library promise nobody awaited (Socket Mode's reconnect can leave one) must not kill a failover in flight.
  process.on('unhandledRejection', (reason) =>
    log.error({ err: String(reason) }, 'unhandled promise rejection'),
  );
  const name = `${hostname()}-${process.pid}`;
  /** Run in order at shutdown: the roles (web first: no new requests), their HTTP server, then clients. */
  const closers: (() => Promise<void>)[] = [];

  const web = role === 'web' || role === 'start';
  const worker = role === 'worker' || role === 'start';
  let webRole: WebRole | null = null;
  let workerRole: WorkerRole | null = null;

  // One registry and one readiness for the process; in `baton start` both roles share them and one HTTP server.
  const metrics = createMetrics(new Registry());
  const ops = createRedis(env.redisUrl, 'producer');
  ops.on('error', (error) =>
    log.debug({ err: error.message }, 'redis connection error (health and metrics)'),
  );
  const readiness = new Readiness({ ping: () => ops.ping(), topology });
  const state = createStateReader({ connection: ops, prefixes, topology });
  registerStateGauges(metrics.registry, () => state.read(), log);
  // One Route 53 limit for every process on this Redis (the runs' requests and the doctor's), asked over `ops`,
  // which fails fast while Redis is away: the adapter then keeps to a small limit of its own. The adapter names the
  // window, so the web role never loads it.
  let route53Limit: SharedRateLimit | undefined;
  const route53Limiter = (windowMs: number) =>
    (route53Limit ??= new SharedRateLimit({
      connection: ops,
      keys: new StoreKeys(prefixes.store),
      api: 'route53',
      limit: env.route53MaxRequestsPerSecond,
      windowMs,
      clock: systemClock,
    }));
  closers.push(
    () => state.close(),
    async () => ops.disconnect(),
  );

  const closeAll = async () => {
    for (const close of closers.splice(0)) {
      await close().catch((error: unknown) => log.error({ err: String(error) }, 'close failed'));
    }
  };

  try {
    // The worker on its own serves /healthz, /readyz and /metrics itself, from the start (so liveness holds while
    // it waits for Redis); with the web role, the web role's server does.
    let workerServer: HttpServerHandle | null = null;
    if (worker && !web) {
      workerServer = await serveRoutes({
        port: env.port,
        routes: opsRoutes({ readiness, metrics, log }),
        log,
      });
      const server = workerServer.server;
      closers.unshift(() => closeServer(server, { timeoutMs: SHUTDOWN_GRACE_MS, log }));
    }

    if (worker) {
      const connection = createRedis(env.redisUrl, 'worker');
      connection.on('error', (error) => log.warn({ err: error.message }, 'redis connection error'));
      closers.push(async () => connection.disconnect());
      let ports: Ports;
      if (overrides.ports) {
        ports = overrides.ports({ connection, topology, storePrefix: prefixes.store });
      } else {
        const createPorts = await lazy.createPorts();
        const real = createPorts({ env, rawEnv, topology, log, route53Limiter });
        ports = real.ports;
        closers.push(real.close);
      }
      const startWorkerRole = await lazy.startWorkerRole();
      workerRole = await startWorkerRole({
        topology,
        connection,
        prefixes,
        ports,
        slack: env.slackBotToken
          ? createSlackWebClient({
              token: env.slackBotToken,
              ...(env.slackApiUrl && { apiUrl: env.slackApiUrl }),
              log,
              onError: (error) => metrics.slackApiError(error.method, error.slackError ?? error.code),
            })
          : null,
        clock: systemClock,
        log,
        name,
        ...(env.runConcurrency !== undefined && { runConcurrency: env.runConcurrency }),
        // The doctor at boot checks this worker's real adapters; readiness then reports what it refused.
        ...(overrides.doctorAtBoot &&
          !overrides.ports && { refusedAccess: (site) => readiness.refusedFor(site.name) }),
        ...overrides.worker,
        metrics,
      });
      if (!env.slackBotToken)
        log.warn({}, 'SLACK_BOT_TOKEN is not set: Slack messages wait in Redis until it is');
      closers.unshift(() => workerRole?.close() ?? Promise.resolve());
      log.info(
        { queues: ['runs', 'checks', 'notify'], ...(workerServer && { port: workerServer.port }) },
        'worker ready',
      );
    }

    if (web) {
      const connection = createRedis(env.redisUrl, 'producer');
      connection.on('error', (error) => log.warn({ err: error.message }, 'redis connection error'));
      closers.push(async () => connection.disconnect());
      const [startWebRole, alertmanagerRoute] = await Promise.all([
        lazy.startWebRole(),
        lazy.alertmanagerRoute(),
      ]);
      webRole = await startWebRole({
        topology,
        slack: {
          ...requireSlack(env),
          ...(env.slackSigningSecret && { signingSecret: env.slackSigningSecret }),
          ...(env.slackAppToken && { appToken: env.slackAppToken }),
          ...(env.slackApiUrl && { apiUrl: env.slackApiUrl }),
        },
        connection,
        prefixes,
        port: env.port,
        clock: systemClock,
        log,
        metrics,
        readiness,
        shutdownGraceMs: SHUTDOWN_GRACE_MS,
        // POST /alertmanager exists only with a token: an unauthenticated webhook would let anyone propose failovers.
        routes: (parts) =>
          env.alertmanagerToken
            ? [
                alertmanagerRoute(parts, {
                  token: env.alertmanagerToken,
                  topology,
                  incidents: new IncidentStore(connection, prefixes.store),
                  clock: systemClock,
                  log,
                  metrics,
                }),
              ]
            : [],
      });
      if (!env.alertmanagerToken)
        log.warn(
          {},
          'ALERTMANAGER_TOKEN is not set: POST /alertmanager is off (alerts cannot propose failovers)',
        );
      closers.unshift(() => webRole?.close() ?? Promise.resolve());
    }
  } catch (error) {
    // Whatever started must not keep a half-started process alive (its /healthz would still say 200).
    await closeAll();
    setTimeout(() => process.exit(1), 2000).unref();
    throw error;
  }

  readiness.serving();

  // The doctor at boot, in the background: each role checks what it talks to (the web role only Slack; a worker
  // without a bot token posts nothing); a failure reaches /readyz and the logs, never crashes the process.
  const doctorRun = new AbortController();
  if (overrides.doctorAtBoot) {
    const systems = [
      ...(web || env.slackBotToken ? (['slack'] as const) : []),
      ...(worker && !overrides.ports ? (['kubernetes', 'route53', 'postgresql'] as const) : []),
    ];
    // A doctor that breaks (or cannot even load) says so at /readyz?verbose instead of "running" forever. It is a
    // warning: a broken check proves no permission missing, and must not take Baton out of service.
    const broken = (reason: string) =>
      readiness.recordChecks([
        {
          system: 'doctor',
          name: 'the boot-time run',
          status: 'warn',
          detail: `baton doctor could not run: ${reason}`,
          fix: 'run `baton doctor` in this pod to see every check; the log has the error',
        },
      ]);
    void lazy
      .doctorAtBoot()
      .then((doctorAtBoot) =>
        doctorAtBoot({
          env,
          rawEnv,
          topology,
          log,
          systems,
          route53Limiter,
          signal: doctorRun.signal,
          onReport: (checks) => readiness.recordChecks(checks),
          onBroken: broken,
        }),
      )
      .catch((error: unknown) => {
        log.error({ err: describeError(error) }, 'baton doctor could not be loaded at boot');
        broken(describeError(error));
      });
  } else {
    readiness.recordChecks([]);
  }

  await waitForSignal(log);
  doctorRun.abort();
  // From here /readyz answers 503, so Kubernetes stops sending traffic before anything closes.
  readiness.stopping();
  await closeAll();
  log.info({}, `${role} stopped`);
  // Everything is closed; a library timer or socket left behind must not keep the pod in Terminating.
  setTimeout(() => process.exit(0), 2000).unref();
  return 0;
}

/**
 * Resolves on the first SIGTERM or SIGINT. A second one while shutting down exits at once with 130, for the operator
 * who does not want to wait for the current step.
 */
function waitForSignal(log: Log): Promise<void> {
  return new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now without finishing the current step');
        process.exit(130);
      }
      stopping = true;
      log.info({ signal }, 'shutting down: finishing the current step');
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
