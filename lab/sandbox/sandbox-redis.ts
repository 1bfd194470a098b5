/**
 * The sandbox's Redis: one started for it when redis-server is installed, else an existing one (the given URL, or
 * the default port) shared under a key prefix of its own whose keys are removed at stop.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { keyPrefixes } from '../../src/config/load-config.js';
import { startRedis, waitForPing } from '../processes/processes.js';
import type { RedisProcess } from '../processes/processes.js';

export interface SandboxRedis {
  url: string;
  /** True when the sandbox started this Redis (and owns all of it). */
  started: boolean;
  /** Baton's key prefix (BATON_KEY_PREFIX). */
  prefix: string;
  prefixes: ReturnType<typeof keyPrefixes>;
  /** A line for the terminal. */
  describe: string;
  /** Stops the Redis it started, or removes its keys from a shared one. */
  stop(): Promise<void>;
}

/** Redis for the sandbox: `redisUrl` when given, else our own when redis-server is installed, else the default. */
export async function sandboxRedis(redisUrl?: string): Promise<SandboxRedis> {
  let redisProcess: RedisProcess | null = null;
  let url = redisUrl;
  if (!url) {
    if (await redisServerInstalled()) {
      redisProcess = await startRedis();
      url = redisProcess.url;
    } else {
      url = 'redis://127.0.0.1:6379';
      if (!(await redisAnswers(url)))
        throw new Error(
          `redis-server is not installed and no Redis answers at ${url}: apt-get install -y redis-server`,
        );
    }
  }
  const prefix = redisProcess ? 'baton' : `baton-sandbox-${randomBytes(3).toString('hex')}`;
  const prefixes = keyPrefixes({ keyPrefix: prefix });
  const shared = url;
  const started = redisProcess;
  return {
    url,
    started: started !== null,
    prefix,
    prefixes,
    describe: `${url}${started ? ' (started for the sandbox, AOF on)' : ` (reused; keys under ${prefixes.store} and ${prefixes.bull}:)`}`,
    stop: started
      ? () => started.stop()
      : () => removeKeys(shared, [`${prefixes.store}*`, `${prefixes.bull}:*`]),
  };
}

const redisAnswers = (url: string): Promise<boolean> =>
  waitForPing(url, 0).then(
    () => true,
    () => false,
  );

async function redisServerInstalled(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('redis-server', ['--version'], { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('exit', (code) => resolve(code === 0));
  });
}

/** Removes every key under the sandbox's prefixes from a Redis it shares. */
async function removeKeys(url: string, patterns: string[]): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try {
    for (const match of patterns) {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', match, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await client.del(...keys);
      } while (cursor !== '0');
    }
  } finally {
    client.disconnect();
  }
}
