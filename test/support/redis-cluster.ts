/**
 * A real Redis Cluster of one node that serves every slot: enough for Redis to refuse what a cluster refuses (keys of
 * one command or script in different slots: CROSSSLOT), so a test can show Baton's keys and scripts run on one.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitForPing } from '../../lab/processes/processes.js';

export interface RedisClusterNode {
  host: string;
  port: number;
  stop(): Promise<void>;
}

export async function startRedisClusterNode(): Promise<RedisClusterNode> {
  const dir = await mkdtemp(join(tmpdir(), 'baton-redis-cluster-'));
  const port = await freePort();
  const host = '127.0.0.1';
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      host,
      // A lone node does not know its address until another node tells it: clients would be sent to ''.
      '--cluster-announce-ip',
      host,
      '--dir',
      dir,
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, 'nodes.conf'),
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPing(`redis://${host}:${port}`, 10_000);
    const admin = new Redis(port, host);
    try {
      await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
      const deadline = Date.now() + 10_000;
      while (!String(await admin.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error('the one-node Redis Cluster did not become ready');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      admin.disconnect();
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { host, port, stop };
}
