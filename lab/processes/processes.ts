/**
 * Starting real services on free loopback ports, for tests, benchmarks and the sandbox.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RedisProcess {
  port: number;
  url: string;
  dir: string;
  /** SHUTDOWN (AOF flushed), as an orderly restart would. */
  shutdown(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** Shuts down and removes the data directory. */
  stop(): Promise<void>;
}

async function run(command: string, args: string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) =>
      reject(
        Object.assign(error, {
          message: `${command} could not start (${error.message}); install it: apt-get install -y redis-server`,
        }),
      ),
    );
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited ${code}: ${stderr}`)),
    );
  });
}

/** Resolves once a Redis at `url` answers PING; throws the last error after `timeoutMs` (0: one try). */
export async function waitForPing(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    client.on('error', () => undefined); // the failed connect is reported by connect()
    try {
      await client.connect();
      await client.ping();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      client.disconnect();
    }
  }
}

/** A redis-server of our own, daemonized, AOF on (appendfsync always: a crash loses nothing), `noeviction`. */
export async function startRedis(options: { dir?: string } = {}): Promise<RedisProcess> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'baton-redis-')));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const start = async () => {
    await run('redis-server', [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction',
      '--daemonize',
      'yes',
      '--pidfile',
      join(dir, 'redis.pid'),
      '--logfile',
      join(dir, 'redis.log'),
    ]);
    await waitForPing(url, 10_000);
  };
  const shutdown = async () => {
    const client = new Redis(url, { maxRetriesPerRequest: 0, lazyConnect: true });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.call('SHUTDOWN');
    } catch {
      // SHUTDOWN closes the connection before replying.
    } finally {
      client.disconnect();
    }
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      try {
        await waitForPing(url, 0);
        await new Promise((r) => setTimeout(r, 20));
      } catch {
        return;
      }
    }
  };
  await start();
  return {
    port,
    url,
    dir,
    shutdown,
    start,
    async stop() {
      await shutdown();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
