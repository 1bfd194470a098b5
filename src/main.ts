/**
 * Role wiring: config → logger → Redis → store → ports → worker. Real Kubernetes, Route 53 and PostgreSQL adapters
 * arrive with their issue; until then the worker runs only against the simulated world (`--simulated`).
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { parseEnv } from './config/env.js';
import { loadTopologyFile } from './config/topology.js';
import { systemClock } from './core/clock.js';
import { createRedis } from './adapters/redis.js';
import { BatonError } from './errors.js';
import { createLogger } from './logger.js';
import { startRunWorker } from './queue/run-worker.js';
import { SimulatedWorld } from './sandbox/simulated-world.js';
import { RunStore } from './store/run-store.js';

type Env = Record<string, string | undefined>;

/** `BATON_KEY_PREFIX` lets several Batons (or tests) share one Redis: store keys and BullMQ keys use it. */
export function keyPrefixes(env: Env): { store: string; bull: string } {
  const prefix = env.BATON_KEY_PREFIX || 'baton';
  return { store: `${prefix}:`, bull: prefix === 'baton' ? 'bull' : `${prefix}-bull` };
}

export async function runWorkerRole(args: string[], rawEnv: Env): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      simulated: { type: 'boolean', default: false },
      'world-key': { type: 'string' },
      'latency-ms': { type: 'string', default: '0' },
      'pods-ready-ms': { type: 'string', default: '0' },
      'dns-insync-ms': { type: 'string', default: '0' },
      'poll-ms': { type: 'string', default: '500' },
      'lock-duration-ms': { type: 'string' },
      'stalled-interval-ms': { type: 'string' },
    },
  });
  const parsed = parseEnv(rawEnv);
  if (!parsed.ok) throw new BatonError('config-invalid', `environment: ${parsed.problems.join('; ')}`);
  const env = parsed.env;
  const log = createLogger({ level: env.logLevel, base: { role: 'worker', pid: process.pid } });
  if (!values.simulated) {
    throw new BatonError(
      'adapters-missing',
      'The Kubernetes, Route 53 and PostgreSQL adapters are not built yet; run `baton worker --simulated` or `baton sandbox`',
    );
  }
  const topology = await loadTopologyFile(env.batonConfig, rawEnv);
  if (!topology.ok)
    throw new BatonError('config-invalid', `${env.batonConfig}: ${topology.problems.join('; ')}`);
  const site = topology.topology.sites[0];
  if (!site) throw new BatonError('config-invalid', 'no sites');

  const prefixes = keyPrefixes(rawEnv);
  const connection = createRedis(env.redisUrl, 'worker');
  connection.on('error', (error) => log.warn({ err: error.message }, 'redis connection error'));
  const store = new RunStore(connection, prefixes.store);
  const world = SimulatedWorld.inRedis(
    connection,
    values['world-key'] ?? `${prefixes.store}world`,
    site,
    systemClock,
    {
      latencyMs: Number(values['latency-ms']),
      podsReadyAfterMs: Number(values['pods-ready-ms']),
      dnsInSyncAfterMs: Number(values['dns-insync-ms']),
    },
  );
  const poll = Number(values['poll-ms']);
  const worker = startRunWorker({
    connection,
    bullPrefix: prefixes.bull,
    name: `${hostname()}-${process.pid}`,
    store,
    topology: topology.topology,
    ports: world.ports,
    clock: systemClock,
    log,
    settings: { pollIntervalMs: poll, dnsPollIntervalMs: poll },
    lock: {
      ...(values['lock-duration-ms'] && { lockDuration: Number(values['lock-duration-ms']) }),
      ...(values['stalled-interval-ms'] && { stalledInterval: Number(values['stalled-interval-ms']) }),
    },
  });
  await worker.worker.waitUntilReady();
  await worker.reconcile();
  log.info({ queue: 'runs' }, 'worker ready');

  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      log.info({ signal }, 'shutting down: finishing the current step');
      worker
        .close()
        .catch((error: unknown) => log.error({ err: String(error) }, 'close failed'))
        .finally(() => {
          connection.disconnect();
          resolve();
        });
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  log.info({}, 'worker stopped');
  return 0;
}
