/**
 * Redis connections for each use. REDIS_URL may be `redis://`, `rediss://`, or a Sentinel URL:
 * `redis+sentinel://[user:password@]host1:26379,host2:26379/<masterName>[/<db>]` (`rediss+sentinel://` for TLS).
 */
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { BatonError } from '../errors.js';

export type RedisRole =
  /** BullMQ workers and the run store inside them: commands wait through a Redis restart. */
  | 'worker'
  /** Producers on a request path (Slack, Alertmanager): fail fast instead of queueing while Redis is away. */
  | 'producer';

/** ioredis options for a REDIS_URL, without connecting. */
export function redisOptions(url: string): RedisOptions & { url?: string } {
  const match = /^([a-z+]+):\/\/(?:([^@/]*)@)?([^/]+)\/([^/]*)(?:\/(\d+))?$/i.exec(url);
  const scheme = /^([a-z+]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') return { url };
  if (scheme !== 'redis+sentinel' && scheme !== 'rediss+sentinel') {
    throw new BatonError(
      'config-invalid',
      'REDIS_URL must start with redis://, rediss:// or redis+sentinel://',
    );
  }
  // WHATWG URL parsing rejects a host list, so a Sentinel URL is read by hand.
  const [, , userinfo, hostList, name, db] = match ?? [];
  const sentinels = (hostList ?? '').split(',').map((entry) => {
    const [host, port] = entry.split(':');
    return { host: host ?? '', port: Number(port || 26379) };
  });
  if (!match || !name || sentinels.some((s) => !s.host || !Number.isInteger(s.port))) {
    throw new BatonError(
      'config-invalid',
      'REDIS_URL: a Sentinel URL looks like redis+sentinel://host1:26379,host2:26379/mymaster',
    );
  }
  const [user, password] = (userinfo ?? '').split(':').map(decodeURIComponent);
  return {
    sentinels,
    name: decodeURIComponent(name),
    ...(user && { username: user }),
    ...(password && { password, sentinelPassword: password }),
    ...(db && { db: Number(db) }),
    ...(scheme === 'rediss+sentinel' && { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true }),
  };
}

export function createRedis(url: string, role: RedisRole): Redis {
  const { url: plain, ...options } = redisOptions(url);
  const roleOptions: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false };
  return plain ? new Redis(plain, roleOptions) : new Redis({ ...options, ...roleOptions });
}
