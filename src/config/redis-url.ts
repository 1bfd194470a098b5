/**
 * What `REDIS_URL` names: one Redis, a master found through Sentinel, or a Redis Cluster. Pure, so the environment
 * schema refuses a bad URL at boot with the reason, and the Redis adapter builds its client from the same reading.
 *
 * - `redis://[user:password@]host:port[/db]` (`rediss://` for TLS): one server.
 * - `redis+sentinel://[user:password@]host1:26379,host2:26379/<masterName>[/<db>]` (`rediss+sentinel://`).
 * - `redis+cluster://[user:password@]host1:6379,host2:6379` (`rediss+cluster://`): the startup nodes of a Redis
 *   Cluster; the client learns the rest from them. A cluster has only database 0, so no path is allowed.
 */

export interface RedisHost {
  host: string;
  port: number;
}

export type RedisTarget =
  | { kind: 'server'; url: string }
  | {
      kind: 'sentinel';
      sentinels: RedisHost[];
      masterName: string;
      username?: string;
      password?: string;
      db?: number;
      tls: boolean;
    }
  | { kind: 'cluster'; nodes: RedisHost[]; username?: string; password?: string; tls: boolean };

export type RedisUrlReading = { ok: true; target: RedisTarget } | { ok: false; problem: string };

const SCHEMES = [
  'redis',
  'rediss',
  'redis+sentinel',
  'rediss+sentinel',
  'redis+cluster',
  'rediss+cluster',
] as const;

/** An example of each form, for messages. */
export const REDIS_URL_EXAMPLES = {
  server: 'redis://127.0.0.1:6379',
  sentinel: 'redis+sentinel://host1:26379,host2:26379/mymaster',
  cluster: 'redis+cluster://host1:6379,host2:6379,host3:6379',
} as const;

function hostList(list: string, defaultPort: number): RedisHost[] | null {
  const hosts: RedisHost[] = [];
  for (const entry of list.split(',')) {
    const match = /^([^:,\s]+)(?::(\d{1,5}))?$/.exec(entry.trim());
    const port = Number(match?.[2] ?? defaultPort);
    if (!match?.[1] || !(port >= 1 && port <= 65_535)) return null;
    hosts.push({ host: match[1], port });
  }
  return hosts;
}

function decode(part: string | undefined): string | undefined {
  if (!part) return undefined;
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Reads a REDIS_URL; a problem never echoes the URL, which may hold a password. */
export function parseRedisUrl(url: string): RedisUrlReading {
  const scheme = /^([a-z+]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (!scheme || !(SCHEMES as readonly string[]).includes(scheme)) {
    return {
      ok: false,
      problem: `must start with redis://, rediss://, redis+sentinel:// or redis+cluster:// (e.g. ${REDIS_URL_EXAMPLES.server})`,
    };
  }
  if (scheme === 'redis' || scheme === 'rediss') {
    try {
      new URL(url);
      return { ok: true, target: { kind: 'server', url } };
    } catch {
      return { ok: false, problem: `must be a URL like ${REDIS_URL_EXAMPLES.server}` };
    }
  }
  // WHATWG URL parsing rejects a host list, so these are read by hand.
  const match = /^[a-z+]+:\/\/(?:([^@/]*)@)?([^/]+)(?:\/(.*))?$/i.exec(url);
  const [, userinfo, hosts, path] = match ?? [];
  const [user, password] = (userinfo ?? '').split(':');
  const credentials = {
    ...(decode(user) && { username: decode(user) }),
    ...(decode(password) && { password: decode(password) }),
  };
  const tls = scheme.startsWith('rediss');
  if (scheme.endsWith('+sentinel')) {
    const sentinels = hostList(hosts ?? '', 26379);
    const [name, db, ...rest] = (path ?? '').split('/');
    if (!sentinels || !name || rest.length > 0 || (db !== undefined && db !== '' && !/^\d+$/.test(db))) {
      return { ok: false, problem: `a Sentinel URL looks like ${REDIS_URL_EXAMPLES.sentinel}[/<db>]` };
    }
    return {
      ok: true,
      target: {
        kind: 'sentinel',
        sentinels,
        masterName: decode(name) ?? name,
        ...credentials,
        ...(db && { db: Number(db) }),
        tls,
      },
    };
  }
  const nodes = hostList(hosts ?? '', 6379);
  if (!nodes) {
    return {
      ok: false,
      problem: `a Redis Cluster URL lists startup nodes as host:port, like ${REDIS_URL_EXAMPLES.cluster}`,
    };
  }
  if (path !== undefined && path !== '' && path !== '0') {
    return {
      ok: false,
      problem: `a Redis Cluster has only database 0: remove the path after the nodes (${REDIS_URL_EXAMPLES.cluster})`,
    };
  }
  return { ok: true, target: { kind: 'cluster', nodes, ...credentials, tls } };
}
