/**
 * Starting real services on free loopback ports, for tests, benchmarks and the sandbox.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/**
 * Ports for the services the lab starts, below Linux's ephemeral range (32768-60999): a port the kernel handed out
 * for `listen(0)` and then released can be taken by any outgoing connection's local port before redis-server or
 * postgres binds it, and a daemonized redis-server that cannot bind still exits 0. Under vitest each worker draws
 * from its own slice, so two test files running at once never pick the same port; the port is tried before it is
 * given.
 */
const PORTS = { first: 15_000, last: 32_767, slices: 4 } as const;

function portSlice(): { first: number; size: number } {
  const pool = Number(process.env.VITEST_POOL_ID);
  const total = PORTS.last - PORTS.first + 1;
  if (!Number.isInteger(pool) || pool < 1) return { first: PORTS.first, size: total };
  const size = Math.floor(total / PORTS.slices);
  return { first: PORTS.first + ((pool - 1) % PORTS.slices) * size, size };
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  const { first, size } = portSlice();
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = first + Math.floor(Math.random() * size);
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port found in ${first}-${first + size - 1} after 200 tries`);
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
