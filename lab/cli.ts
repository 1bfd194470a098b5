/**
 * The lab's entry point: the sandbox, the drill, and Baton's roles with test knobs (a simulated world instead of the
 * real adapters, shorter polling and locks). It runs the same `runRole` as `baton`, so what the tests and the
 * sandbox exercise is the production wiring; the production CLI and image carry none of this.
 *
 *   lab sandbox [--sites N] | drill
 *   lab worker|web|start [--simulated [--world-key K] [--world-redis-url U] [--latency-ms N] [--pods-ready-ms N]
 *                        [--dns-insync-ms N]]
 *                        [--poll-ms N] [--lock-duration-ms N] [--stalled-interval-ms N] [--slack-interval-ms N]
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { parseEnv } from '../src/config/env.js';
import { systemClock } from '../src/core/clock.js';
import { createLogger } from '../src/logger.js';
import type { RoleOverrides } from '../src/roles/run-role.js';
import { runRole } from '../src/roles/run-role.js';
import { StoreKeys } from '../src/store/keys.js';
import { runDrill } from './drill/drill.js';
import { checkSiteCount } from './sandbox/extra-sites.js';
import { runSandbox } from './sandbox/run-sandbox.js';
import { severalSitesInRedis } from './simulated-world/several-sites.js';
import { SimulatedWorld } from './simulated-world/simulated-world.js';

const ROLE_OPTIONS = {
  simulated: { type: 'boolean', default: false },
  'world-key': { type: 'string' },
  // The world in a Redis of its own: it stands for systems outside Baton, which a failover of Baton's Redis spares.
  'world-redis-url': { type: 'string' },
  'latency-ms': { type: 'string', default: '0' },
  'pods-ready-ms': { type: 'string', default: '0' },
  'dns-insync-ms': { type: 'string', default: '0' },
  'poll-ms': { type: 'string' },
  'lock-duration-ms': { type: 'string' },
  'stalled-interval-ms': { type: 'string' },
  'slack-interval-ms': { type: 'string' },
  // How often the game-day scheduler looks for due drills and holds that have ended (production: 15 s).
  'drill-every-ms': { type: 'string' },
  // Run `baton doctor` at boot, as the production CLI does (the sandbox does; test harnesses need not).
  doctor: { type: 'boolean', default: false },
} as const;

type Out = { log: (line: string) => void; error: (line: string) => void };

/** The overrides the knobs ask for; numbers are checked, so a typo fails instead of meaning 0. */
function roleOverrides(args: string[]): RoleOverrides {
  const { values } = parseArgs({ args, options: ROLE_OPTIONS, strict: true });
  const number = (name: keyof typeof ROLE_OPTIONS): number | undefined => {
    const raw = values[name];
    if (raw === undefined || typeof raw === 'boolean') return undefined;
    const parsed = Number(raw);
    if (!Number.isFinite(parsed) || parsed < 0)
      throw new Error(`--${name} must be a number of ms, got ${raw}`);
    return parsed;
  };
  const poll = number('poll-ms');
  const lockDuration = number('lock-duration-ms');
  const stalledInterval = number('stalled-interval-ms');
  const slackInterval = number('slack-interval-ms');
  const drillEvery = number('drill-every-ms');
  const timings = {
    latencyMs: number('latency-ms') ?? 0,
    podsReadyAfterMs: number('pods-ready-ms') ?? 0,
    dnsInSyncAfterMs: number('dns-insync-ms') ?? 0,
  };
  const worldKey = values['world-key'];
  const worldRedisUrl = values['world-redis-url'];
  return {
    doctorAtBoot: values.doctor,
    ...(values.simulated && {
      ports: ({ connection, topology, storePrefix }) => {
        const site = topology.sites[0];
        if (!site) throw new Error('the topology has no sites');
        const redis = worldRedisUrl ? new Redis(worldRedisUrl, { maxRetriesPerRequest: null }) : connection;
        const key = worldKey ?? new StoreKeys(storePrefix).world();
        // Several sites: each its own world, under a key of its own derived from `key`.
        if (topology.sites.length > 1)
          return severalSitesInRedis(redis, key, topology.sites, systemClock, timings).ports;
        return SimulatedWorld.inRedis(redis, key, site, systemClock, timings).ports;
      },
    }),
    worker: {
      ...(poll !== undefined && { settings: { pollIntervalMs: poll, dnsPollIntervalMs: poll } }),
      ...((lockDuration !== undefined || stalledInterval !== undefined) && {
        lock: {
          ...(lockDuration !== undefined && { lockDuration }),
          ...(stalledInterval !== undefined && { stalledInterval }),
        },
      }),
      ...(slackInterval !== undefined && { perChannelIntervalMs: slackInterval }),
      ...(drillEvery !== undefined && { drillEveryMs: drillEvery }),
    },
  };
}

/** `sandbox [--sites N]`: the site count, or why the arguments are wrong. */
function sandboxSites(args: string[]): number | string {
  try {
    const { values } = parseArgs({
      args,
      options: { sites: { type: 'string', default: '1' } },
      strict: true,
    });
    const sites = Number(values.sites);
    return checkSiteCount(sites, values.sites) ?? sites;
  } catch (error) {
    return `${error instanceof Error ? error.message : String(error)} (usage: npm run sandbox -- [--sites N])`;
  }
}

async function main(argv: string[], out: Out): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'sandbox':
    case 'drill': {
      // Quiet unless LOG_LEVEL asks otherwise: the terminal shows what the sandbox prints; Baton logs to a file.
      const env = parseEnv(process.env, { logLevel: 'warn' });
      if (!env.ok) {
        out.error(`${command}: ${env.problems.join('; ')}`);
        return 2;
      }
      const log = createLogger({ level: env.env.logLevel });
      const options = {
        log,
        print: out.log,
        ...(env.env.redisUrlGiven && { redisUrl: env.env.redisUrl }),
      };
      if (command === 'drill') return runDrill(options);
      const sites = sandboxSites(args);
      if (typeof sites === 'string') {
        out.error(`sandbox: ${sites}`);
        return 2;
      }
      return runSandbox({
        ...options,
        sites,
        ...(env.env.sandboxPort !== undefined && { port: env.env.sandboxPort }),
      });
    }
    case 'worker':
    case 'web':
    case 'start':
      return runRole(command, process.env, roleOverrides(args));
    default:
      out.error(`lab: unknown command "${command ?? ''}" (sandbox, drill, worker, web or start)`);
      return 2;
  }
}

main(process.argv.slice(2), {
  log: (line) => console.log(line),
  error: (line) => console.error(line),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`lab: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
