/**
 * What every break-glass command works with: the roles' own configuration (REDIS_URL, BATON_KEY_PREFIX,
 * BATON_CONFIG), one Redis connection that fails within seconds instead of retrying forever, and the same run
 * service and Slack publishing the web role uses — so the CLI acts under the same rules, and Slack catches up from
 * the notify queue when it is back. No Slack token is needed.
 */
import { Queue } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { clusterOptions, redisOptions } from '../adapters/redis.js';
import type { Topology } from '../config/topology.js';
import type { Clock, Log } from '../core/ports.js';
import { BatonError, describeError } from '../errors.js';
import { scrubSecrets } from '../logger.js';
import { loadConfig } from '../config/load-config.js';
import type { CheckJobData } from '../queue/check-jobs.js';
import { CHECKS_QUEUE } from '../queue/check-jobs.js';
import { NOTIFY_QUEUE, Notifier } from '../queue/notify/index.js';
import type { RunJobData } from '../queue/queues.js';
import { RUNS_QUEUE } from '../queue/queues.js';
import { createAuthorizer } from '../runs/authorizer.js';
import { RunService } from '../runs/run-service.js';
import { RunPublisher } from '../slack/publish-run.js';
import { ReportStore } from '../store/report-store.js';
import { RunStore } from '../store/run-store.js';

type Env = Record<string, string | undefined>;

export interface BreakGlass {
  topology: Topology;
  /** BATON_CONFIG as given, for messages that name the file to edit. */
  configPath: string;
  redis: Redis;
  /** The run service the web role uses: the same rules, the same atomic saves, the same messages. */
  service: RunService;
  /** Finished runs' reports (`baton report`). */
  reports: ReportStore;
  queues: { runs: Queue<RunJobData>; checks: Queue<CheckJobData>; notify: Queue };
  clock: Clock;
  log: Log;
  close(): Promise<void>;
}

/** How long the CLI waits for Redis before saying it cannot reach it, unless BATON_REDIS_TIMEOUT says otherwise. */
export const REDIS_CONNECT_TIMEOUT_MS = 3000;

export async function openBreakGlass(
  rawEnv: Env,
  options: { log: Log; clock: Clock; connectTimeoutMs?: number },
): Promise<BreakGlass> {
  const { log, clock } = options;
  // The CLI never connects to PostgreSQL, so a laptop or bastion without the database URLs can still use it.
  const { env, topology, prefixes } = await loadConfig(rawEnv, { checkEnv: false });
  const redis = await connectRedis(
    env.redisUrl,
    options.connectTimeoutMs ?? env.redisTimeoutMs ?? REDIS_CONNECT_TIMEOUT_MS,
  );
  const store = new RunStore(redis, prefixes.store);
  const queues = {
    runs: new Queue<RunJobData>(RUNS_QUEUE, { connection: redis, prefix: prefixes.bull }),
    checks: new Queue<CheckJobData>(CHECKS_QUEUE, { connection: redis, prefix: prefixes.bull }),
    notify: new Queue(NOTIFY_QUEUE, { connection: redis, prefix: prefixes.bull }),
  };
  for (const queue of Object.values(queues))
    queue.on('error', (error) => log.warn({ err: describeError(error) }, 'queue error'));
  // Producers give up after a short time box; the CLI can afford longer than a Slack request.
  const notifier = new Notifier({ connection: redis, prefix: prefixes.bull, log, timeoutMs: 2000 });
  const service = new RunService({
    store,
    queues: { runs: queues.runs, checks: queues.checks },
    reporter: new RunPublisher({ notifier, topology, clock, log }),
    // No Slack here: CLI operators are the users listed by id.
    authorizer: createAuthorizer(topology.approvals),
    topology,
    clock,
    log,
  });
  return {
    topology,
    configPath: env.batonConfig,
    redis,
    service,
    reports: new ReportStore(redis, prefixes.store),
    queues,
    clock,
    log,
    async close() {
      await Promise.allSettled([...Object.values(queues).map((q) => q.close()), notifier.close()]);
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/**
 * One connection that either answers within `timeoutMs` or fails with an operator's message (the URL's password
 * redacted). It does not reconnect: a CLI command that loses Redis fails and is typed again.
 */
export async function connectRedis(url: string, timeoutMs: number): Promise<Redis> {
  const cluster = clusterOptions(url);
  const { url: plain, ...sentinel } = cluster ? {} : redisOptions(url);
  const options: RedisOptions = {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    // A server that accepted the connection but never answers would otherwise hold the ended socket for 2 s.
    disconnectTimeout: 100,
    ...(!plain && { sentinelRetryStrategy: () => null }),
  };
  const redis = cluster
    ? // A Cluster offers the same commands as Redis (adapters/redis.ts); it gives up as the other forms do. Its own
      // queue stays on until ready: ioredis's ready check (CLUSTER INFO) is sent before every node's connection is
      // up, and refused by a disabled queue it disconnects with its close listener already removed, so connect()
      // never settles (ioredis 5 cluster/index.js, connect's refreshListener). The time box above bounds the wait.
      (new Cluster(cluster.nodes, {
        ...cluster.options,
        lazyConnect: true,
        enableOfflineQueue: true,
        clusterRetryStrategy: () => null,
        redisOptions: { ...cluster.options.redisOptions, ...options, lazyConnect: false },
      }) as unknown as Redis)
    : plain
      ? new Redis(plain, options)
      : new Redis({ ...sentinel, ...options });
  let lastError: unknown;
  redis.on('error', (error) => {
    lastError = error;
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    await Promise.race([redis.connect().then(() => redis.ping()), timedOut]);
    return redis;
  } catch (error) {
    redis.disconnect();
    const cause = describeError(lastError ?? error);
    throw new BatonError(
      'redis-unreachable',
      scrubSecrets(
        `cannot reach Redis at ${url} (${cause}): check REDIS_URL and that Redis is up and reachable from here`,
      ),
      { cause: error, retriable: true },
    );
  } finally {
    clearTimeout(timer);
  }
}
