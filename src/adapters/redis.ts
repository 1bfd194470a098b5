/**
 * Redis connections for each use. REDIS_URL (config/redis-url.ts) names one server (`redis://`, `rediss://`), a
 * master found through Sentinel (`redis+sentinel://host1:26379,host2:26379/<masterName>[/<db>]`) or a Redis Cluster
 * (`redis+cluster://host1:6379,host2:6379`, `rediss+cluster://` for TLS).
 *
 * On a cluster every key Baton and BullMQ build carries the `{<BATON_KEY_PREFIX>}` hash tag (store/keys.ts), so one
 * deployment's keys, and every script's, live in one slot; BullMQ asks for exactly this ("use a queue prefix inside
 * brackets", docs.bullmq.io/patterns/redis-cluster) and detects an ioredis `Cluster` connection by itself.
 */
import { Cluster, Redis } from 'ioredis';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import type { RedisTarget } from '../config/redis-url.js';
import { parseRedisUrl } from '../config/redis-url.js';
import { BatonError } from '../errors.js';

export type RedisRole =
  /** BullMQ workers and the run store inside them: commands wait through a Redis restart or failover. */
  | 'worker'
  /** Producers on a request path (Slack, Alertmanager): fail fast instead of queueing while Redis is away. */
  | 'producer';

function target(url: string): RedisTarget {
  const reading = parseRedisUrl(url);
  if (!reading.ok) throw new BatonError('config-invalid', `REDIS_URL: ${reading.problem}`);
  return reading.target;
}

/** ioredis options for a one-server or Sentinel REDIS_URL, without connecting (a cluster URL: see clusterOptions). */
export function redisOptions(url: string): RedisOptions & { url?: string } {
  const t = target(url);
  if (t.kind === 'server') return { url };
  if (t.kind === 'cluster') {
    throw new BatonError('config-invalid', 'REDIS_URL names a Redis Cluster: connect with createRedis');
  }
  return {
    sentinels: t.sentinels,
    name: t.masterName,
    ...(t.username && { username: t.username }),
    ...(t.password && { password: t.password, sentinelPassword: t.password }),
    ...(t.db !== undefined && { db: t.db }),
    ...(t.tls && { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true }),
  };
}

/** The startup nodes and ioredis `Cluster` options of a `redis+cluster://` URL, or null for any other URL. */
export function clusterOptions(
  url: string,
): { nodes: { host: string; port: number }[]; options: ClusterOptions } | null {
  const t = target(url);
  if (t.kind !== 'cluster') return null;
  return {
    nodes: t.nodes,
    options: {
      redisOptions: {
        ...(t.username && { username: t.username }),
        ...(t.password && { password: t.password }),
        ...(t.tls && { tls: {} }),
      },
      // Managed clusters with TLS (ElastiCache, MemoryDB) announce IPs while their certificates name hosts: ioredis'
      // README says to skip the lookup so TLS checks the configured name ("Special note: AWS ElastiCache Clusters
      // with TLS").
      ...(t.tls && {
        dnsLookup: (address: string, callback: (error: null, address: string) => void) =>
          callback(null, address),
      }),
    },
  };
}

/**
 * A connection for `role`. A Redis Cluster comes back as an ioredis `Cluster` typed as `Redis`: it answers every
 * command Baton sends (each routed to the master of its key's slot, and all of one deployment's keys share a slot),
 * and BullMQ recognises it as a cluster at run time.
 */
export function createRedis(url: string, role: RedisRole): Redis {
  const roleOptions: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false };
  const cluster = clusterOptions(url);
  if (cluster) {
    const { enableOfflineQueue, ...perNode } = roleOptions;
    const client = new Cluster(cluster.nodes, {
      ...cluster.options,
      ...(enableOfflineQueue === false && { enableOfflineQueue }),
      redisOptions: { ...cluster.options.redisOptions, ...perNode },
    });
    // A Cluster is not a subclass of Redis, but offers the same commands (see above).
    return client as unknown as Redis;
  }
  const { url: plain, ...options } = redisOptions(url);
  return plain ? new Redis(plain, roleOptions) : new Redis({ ...options, ...roleOptions });
}
