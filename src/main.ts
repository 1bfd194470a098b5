/**
 * Role wiring: config → logger → Redis → adapters → roles. `baton worker`, `baton web` and `baton start` (both in
 * one process) share it. `--simulated` swaps the real adapters for the simulated world (tests and benchmarks).
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { BatonEnv } from './config/env.js';
import { parseEnv } from './config/env.js';
import type { Topology } from './config/topology.js';
import { loadTopologyFile } from './config/topology.js';
import { systemClock } from './core/clock.js';
import type { Log, Ports } from './core/ports.js';
import { createPorts } from './adapters/create-ports.js';
import { createRedis } from './adapters/redis.js';
import { createSlackWebClient } from './adapters/slack-web.js';
import { alertmanagerRoute } from './alerts/alertmanager-route.js';
import { BatonError } from './errors.js';
import { createLogger } from './logger.js';
import { SimulatedWorld } from './sandbox/simulated-world.js';
import type { WebRole } from './web-role.js';
import { startWebRole } from './web-role.js';
import type { WorkerRole } from './worker-role.js';
import { startWorkerRole } from './worker-role.js';

type Env = Record<string, string | undefined>;
export type RoleName = 'worker' | 'web' | 'start';

/** `BATON_KEY_PREFIX` lets several Batons (or tests) share one Redis: store keys and BullMQ keys use it. */
export function keyPrefixes(env: Env): { store: string; bull: string } {
  const prefix = env.BATON_KEY_PREFIX || 'baton';
  return { store: `${prefix}:`, bull: prefix === 'baton' ? 'bull' : `${prefix}-bull` };
}

const ROLE_OPTIONS = {
  simulated: { type: 'boolean', default: false },
  'world-key': { type: 'string' },
  'latency-ms': { type: 'string', default: '0' },
  'pods-ready-ms': { type: 'string', default: '0' },
  'dns-insync-ms': { type: 'string', default: '0' },
  'poll-ms': { type: 'string' },
  'lock-duration-ms': { type: 'string' },
  'stalled-interval-ms': { type: 'string' },
  'slack-interval-ms': { type: 'string' },
} as const;

async function loadConfig(rawEnv: Env): Promise<{ env: BatonEnv; topology: Topology }> {
  const parsed = parseEnv(rawEnv);
  if (!parsed.ok) throw new BatonError('config-invalid', `environment: ${parsed.problems.join('; ')}`);
  const topology = await loadTopologyFile(parsed.env.batonConfig, rawEnv);
  if (!topology.ok)
    throw new BatonError('config-invalid', `${parsed.env.batonConfig}: ${topology.problems.join('; ')}`);
  return { env: parsed.env, topology: topology.topology };
}

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
export async function runRole(role: RoleName, args: string[], rawEnv: Env): Promise<number> {
  const { values } = parseArgs({ args, options: ROLE_OPTIONS });
  const { env, topology } = await loadConfig(rawEnv);
  const log = createLogger({ level: env.logLevel, base: { role, pid: process.pid } });
  // A library promise nobody awaited (Socket Mode's reconnect can leave one) must not kill a failover in flight.
  process.on('unhandledRejection', (reason) =>
    log.error({ err: String(reason) }, 'unhandled promise rejection'),
  );
  const prefixes = keyPrefixes(rawEnv);
  const name = `${hostname()}-${process.pid}`;
  const closers: (() => Promise<void>)[] = [];

  const web = role === 'web' || role === 'start';
  const worker = role === 'worker' || role === 'start';
  let webRole: WebRole | null = null;
  let workerRole: WorkerRole | null = null;

  if (worker) {
    const connection = createRedis(env.redisUrl, 'worker');
    connection.on('error', (error) => log.warn({ err: error.message }, 'redis connection error'));
    let ports: Ports;
    if (values.simulated) {
      const site = topology.sites[0];
      if (!site) throw new BatonError('config-invalid', 'no sites');
      ports = SimulatedWorld.inRedis(
        connection,
        values['world-key'] ?? `${prefixes.store}world`,
        site,
        systemClock,
        {
          latencyMs: Number(values['latency-ms']),
          podsReadyAfterMs: Number(values['pods-ready-ms']),
          dnsInSyncAfterMs: Number(values['dns-insync-ms']),
        },
      ).ports;
    } else {
      const real = createPorts({ env, rawEnv, topology, log });
      ports = real.ports;
      closers.push(real.close);
    }
    const poll = values['poll-ms'] === undefined ? undefined : Number(values['poll-ms']);
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
          })
        : null,
      clock: systemClock,
      log,
      name,
      ...(poll !== undefined && { settings: { pollIntervalMs: poll, dnsPollIntervalMs: poll } }),
      lock: {
        ...(values['lock-duration-ms'] && { lockDuration: Number(values['lock-duration-ms']) }),
        ...(values['stalled-interval-ms'] && { stalledInterval: Number(values['stalled-interval-ms']) }),
      },
      ...(values['slack-interval-ms'] && { perChannelIntervalMs: Number(values['slack-interval-ms']) }),
    });
    if (!env.slackBotToken)
      log.warn({}, 'SLACK_BOT_TOKEN is not set: Slack messages wait in Redis until it is');
    closers.unshift(() => workerRole?.close() ?? Promise.resolve());
    closers.push(async () => connection.disconnect());
    log.info({ queues: ['runs', 'checks', 'notify'] }, 'worker ready');
  }

  if (web) {
    const connection = createRedis(env.redisUrl, 'producer');
    connection.on('error', (error) => log.warn({ err: error.message }, 'redis connection error'));
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
      // POST /alertmanager exists only with a token: an unauthenticated webhook would let anyone propose failovers.
      routes: (parts) =>
        env.alertmanagerToken
          ? [
              alertmanagerRoute(parts, {
                token: env.alertmanagerToken,
                topology,
                connection,
                prefix: prefixes.store,
                clock: systemClock,
                log,
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
    closers.push(async () => connection.disconnect());
  }

  await waitForSignal(log);
  for (const close of closers) {
    await close().catch((error: unknown) => log.error({ err: String(error) }, 'close failed'));
  }
  log.info({}, `${role} stopped`);
  return 0;
}

function waitForSignal(log: Log): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down: finishing the current step');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
