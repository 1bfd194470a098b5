/**
 * A real Redis Cluster on loopback: `masters` masters with `replicasPerMaster` replicas each (six processes for the
 * usual 3 + 3), created with `redis-cli --cluster create`, as an operator builds one. Each node gets its own data
 * directory and a free client port; the cluster bus gets a free port of its own (`cluster-port`), since the default
 * client port + 10000 may be taken or out of range.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitForPing } from './processes.js';

export interface RedisClusterProcess {
  /** `host:port` of every node, masters and replicas, in the order started. */
  nodes: { host: string; port: number }[];
  /** REDIS_URL for Baton: `redis+cluster://host:port,…` naming every node. */
  url: string;
  /** The master node (`host:port`) that serves `slot`. */
  masterOf(slot: number): Promise<string>;
  /** Stops every node and removes the data directories. */
  stop(): Promise<void>;
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error) =>
      reject(Object.assign(error, { message: `${command} could not start (${error.message})` })),
    );
    child.on('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${command} exited ${code}: ${output}`)),
    );
  });
}

/** Starts a Redis Cluster of `masters` × (1 + `replicasPerMaster`) nodes and waits until every node says ok. */
export async function startRedisCluster(
  options: { masters?: number; replicasPerMaster?: number } = {},
): Promise<RedisClusterProcess> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const host = '127.0.0.1';
  const root = await mkdtemp(join(tmpdir(), 'baton-redis-cluster-'));
  const nodes: { host: string; port: number; dir: string }[] = [];
  const stop = async () => {
    await Promise.all(
      nodes.map(async (node) => {
        const pid = Number(await readFile(join(node.dir, 'redis.pid'), 'utf8').catch(() => ''));
        if (pid > 0) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }),
    );
    await rm(root, { recursive: true, force: true });
  };
  try {
    const used = new Set<number>();
    const port = async () => {
      for (;;) {
        const candidate = await freePort();
        if (!used.has(candidate)) {
          used.add(candidate);
          return candidate;
        }
      }
    };
    for (let i = 0; i < masters * (1 + replicas); i += 1) {
      const clientPort = await port();
      const dir = join(root, String(clientPort));
      await mkdir(dir);
      await run('redis-server', [
        '--port',
        String(clientPort),
        '--bind',
        host,
        '--cluster-enabled',
        'yes',
        '--cluster-port',
        String(await port()),
        '--cluster-config-file',
        join(dir, 'nodes.conf'),
        // Quick failure detection, so a test that kills a master does not wait the default 15 s.
        '--cluster-node-timeout',
        '2000',
        '--appendonly',
        'yes',
        '--save',
        '',
        '--maxmemory-policy',
        'noeviction',
        '--dir',
        dir,
        '--daemonize',
        'yes',
        '--pidfile',
        join(dir, 'redis.pid'),
        '--logfile',
        join(dir, 'redis.log'),
      ]);
      nodes.push({ host, port: clientPort, dir });
    }
    await Promise.all(nodes.map((node) => waitForPing(`redis://${node.host}:${node.port}`, 10_000)));
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((node) => `${node.host}:${node.port}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
    // `--cluster create` returns once the configuration is sent; every node must agree that all slots are served.
    const deadline = Date.now() + 20_000;
    for (const node of nodes) {
      const client = new Redis(node.port, node.host, { maxRetriesPerRequest: 0 });
      try {
        while (!String(await client.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) {
          if (Date.now() > deadline) throw new Error(`node ${node.port} did not reach cluster_state:ok`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        client.disconnect();
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const first = nodes[0]!;
  return {
    nodes: nodes.map(({ host: h, port: p }) => ({ host: h, port: p })),
    url: `redis+cluster://${nodes.map((node) => `${node.host}:${node.port}`).join(',')}`,
    async masterOf(slot) {
      const client = new Redis(first.port, first.host, { maxRetriesPerRequest: 0 });
      try {
        // CLUSTER SLOTS: [[start, end, [masterHost, masterPort, id], …replicas], …]
        const ranges = (await client.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
        const range = ranges.find(([start, end]) => slot >= start && slot <= end);
        if (!range) throw new Error(`no node serves slot ${slot}`);
        return `${range[2][0]}:${range[2][1]}`;
      } finally {
        client.disconnect();
      }
    },
    stop,
  };
}
