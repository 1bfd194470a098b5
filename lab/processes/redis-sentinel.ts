/**
 * Redis with Sentinel on loopback: one master, its replicas and three sentinels (quorum 2), real processes on free
 * ports, so a test can SIGKILL the master and watch a replica be promoted. Detection is quick
 * (`down-after-milliseconds 1000`, `failover-timeout 5000`), as in the operator guide's test recipe.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitForPing } from './processes.js';

export interface RedisSentinelProcess {
  /** The name the sentinels monitor. */
  masterName: string;
  /** REDIS_URL for Baton: `redis+sentinel://127.0.0.1:S1,…/<masterName>`. */
  url: string;
  /** The port of the node the sentinels currently name as master. */
  masterPort(): Promise<number>;
  /** SIGKILLs the current master, as a crashed host would; resolves with its port. */
  killMaster(): Promise<number>;
  /** Waits until the sentinels name a master other than `port` (a replica was promoted); resolves with its port. */
  waitForPromotion(port: number, timeoutMs?: number): Promise<number>;
  /** Starts a killed data node again on its port and data; the sentinels make it a replica of the current master. */
  restart(port: number): Promise<void>;
  /** Waits until every live data node but the master is a replica in sync with it. */
  waitForReplicas(timeoutMs?: number): Promise<void>;
  /**
   * Cuts the master's replicas off while the master goes on serving its clients: new connections to it need a
   * password from now on (connections already open keep working), and its replicas are disconnected, so they cannot
   * come back. Whatever the master acknowledges afterwards exists nowhere else.
   */
  cutReplication(): Promise<void>;
  /** The data nodes' ports. */
  dataPorts(): number[];
  stop(): Promise<void>;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) =>
      reject(Object.assign(error, { message: `${command} could not start (${error.message})` })),
    );
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited ${code}: ${stderr}`)),
    );
  });
}

export async function startRedisSentinel(
  options: { replicas?: number; sentinels?: number } = {},
): Promise<RedisSentinelProcess> {
  const host = '127.0.0.1';
  const masterName = 'baton';
  const root = await mkdtemp(join(tmpdir(), 'baton-redis-sentinel-'));
  const dirs: string[] = [];
  const pidOf = async (dir: string) =>
    Number(await readFile(join(dir, 'redis.pid'), 'utf8').catch(() => '')) || 0;
  const kill = async (dir: string) => {
    const pid = await pidOf(dir);
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  const stop = async () => {
    await Promise.all(dirs.map(kill));
    await rm(root, { recursive: true, force: true });
  };
  const dataDirs = new Map<number, string>();
  const sentinelPorts: number[] = [];

  const startServer = async (port: number, extra: string[], sentinelConfig?: string) => {
    const dir = join(root, String(port));
    const common = [
      '--port',
      String(port),
      '--bind',
      host,
      '--dir',
      dir,
      '--daemonize',
      'yes',
      '--pidfile',
      join(dir, 'redis.pid'),
      '--logfile',
      join(dir, 'redis.log'),
    ];
    if (sentinelConfig === undefined && dirs.includes(dir)) {
      // A restart: the same port and data directory.
    } else {
      await mkdir(dir);
      dirs.push(dir);
    }
    if (sentinelConfig !== undefined) {
      // A sentinel rewrites its configuration file as it learns the topology: it must be its own, writable.
      const file = join(dir, 'sentinel.conf');
      await writeFile(file, sentinelConfig);
      await run('redis-server', [file, '--sentinel', ...common]);
    } else {
      dataDirs.set(port, dir);
      await run('redis-server', [
        ...common,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
        '--maxmemory-policy',
        'noeviction',
        ...extra,
      ]);
    }
    await waitForPing(`redis://${host}:${port}`, 10_000);
  };

  try {
    const master = await freePort();
    await startServer(master, []);
    for (let i = 0; i < (options.replicas ?? 1); i += 1) {
      await startServer(await freePort(), ['--replicaof', host, String(master)]);
    }
    const config = [
      `sentinel monitor ${masterName} ${host} ${master} 2`,
      `sentinel down-after-milliseconds ${masterName} 1000`,
      `sentinel failover-timeout ${masterName} 5000`,
      `sentinel parallel-syncs ${masterName} 1`,
      '',
    ].join('\n');
    for (let i = 0; i < (options.sentinels ?? 3); i += 1) {
      const port = await freePort();
      await startServer(port, [], config);
      sentinelPorts.push(port);
    }
  } catch (error) {
    await stop();
    throw error;
  }

  const masterPort = async (): Promise<number> => {
    for (const port of sentinelPorts) {
      const client = new Redis(port, host, { maxRetriesPerRequest: 0, lazyConnect: true });
      client.on('error', () => undefined);
      try {
        await client.connect();
        const [, p] = (await client.call('SENTINEL', 'get-master-addr-by-name', masterName)) as string[];
        if (p) return Number(p);
      } catch {
        // ask the next sentinel
      } finally {
        client.disconnect();
      }
    }
    throw new Error('no sentinel names a master');
  };

  return {
    masterName,
    url: `redis+sentinel://${sentinelPorts.map((p) => `${host}:${p}`).join(',')}/${masterName}`,
    masterPort,
    async killMaster() {
      const port = await masterPort();
      const dir = dataDirs.get(port);
      if (!dir) throw new Error(`no data node on port ${port}`);
      await kill(dir);
      return port;
    },
    async waitForPromotion(port, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const now = await masterPort().catch(() => port);
        if (now !== port) return now;
        if (Date.now() > deadline) throw new Error(`no replica was promoted within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async restart(port) {
      // A sentinel turns a returning old master into a replica of the new one; it starts as a master until then.
      await startServer(port, []);
    },
    async waitForReplicas(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const master = await masterPort().catch(() => 0);
        const replicas = [...dataDirs.keys()].filter((p) => p !== master);
        const states = await Promise.all(
          replicas.map(async (p) => {
            const client = new Redis(p, host, { maxRetriesPerRequest: 0, lazyConnect: true });
            client.on('error', () => undefined);
            try {
              await client.connect();
              const info = await client.info('replication');
              return info.includes(`master_port:${master}`) && info.includes('master_link_status:up');
            } catch {
              return false;
            } finally {
              client.disconnect();
            }
          }),
        );
        if (master && states.every(Boolean)) return;
        if (Date.now() > deadline) throw new Error(`the replicas did not follow master ${master}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async cutReplication() {
      // A stopped (SIGSTOP) replica would not do: the kernel keeps what the master sent it, and it reads that on
      // waking. A replica that cannot authenticate again receives nothing.
      const client = new Redis(await masterPort(), host, { maxRetriesPerRequest: 0 });
      try {
        await client.call('CONFIG', 'SET', 'requirepass', `cut-${process.pid}-${Date.now()}`);
        await client.call('CLIENT', 'KILL', 'TYPE', 'replica');
      } finally {
        client.disconnect();
      }
    },
    dataPorts: () => [...dataDirs.keys()],
    stop,
  };
}
