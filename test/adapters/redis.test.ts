import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterOptions, createRedis, redisOptions } from '../../src/adapters/redis.js';
import { freePort, startRedis } from '../../lab/processes/processes.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { waitFor } from '../support/integration.js';

describe('redisOptions', () => {
  it('passes plain URLs through', () => {
    expect(redisOptions('redis://127.0.0.1:6379/2')).toEqual({ url: 'redis://127.0.0.1:6379/2' });
  });

  it('reads a Sentinel URL with several sentinels, credentials, master name and db', () => {
    expect(redisOptions('redis+sentinel://baton:s%40cret@10.0.0.1:26379,10.0.0.2:26380/mymaster/3')).toEqual({
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26380 },
      ],
      name: 'mymaster',
      username: 'baton',
      password: 's@cret',
      sentinelPassword: 's@cret',
      db: 3,
    });
  });

  it('reads a Redis Cluster URL into startup nodes, and leaves other URLs to redisOptions', () => {
    const cluster = clusterOptions('rediss+cluster://baton:s%40cret@10.0.0.1:6379,10.0.0.2:6380');
    expect(cluster?.nodes).toEqual([
      { host: '10.0.0.1', port: 6379 },
      { host: '10.0.0.2', port: 6380 },
    ]);
    expect(cluster?.options.redisOptions).toEqual({ username: 'baton', password: 's@cret', tls: {} });
    expect(clusterOptions('redis://127.0.0.1:6379')).toBeNull();
    expect(() => redisOptions('redis+cluster://10.0.0.1:6379')).toThrow(/Redis Cluster/);
  });

  it('refuses other schemes and Sentinel URLs without a master name', () => {
    expect(() => redisOptions('http://127.0.0.1')).toThrow(/must start with redis/);
    expect(() => redisOptions('redis+sentinel://10.0.0.1:26379')).toThrow(/looks like redis\+sentinel/);
  });
});

describe('createRedis through a real Sentinel', () => {
  let master: RedisProcess | undefined;
  let sentinel: ReturnType<typeof spawn> | undefined;
  afterAll(async () => {
    sentinel?.kill('SIGKILL');
    await master?.stop();
  });

  it('finds the master and talks to it', async () => {
    master = await startRedis();
    const port = await freePort();
    const config = join(master.dir, 'sentinel.conf');
    await writeFile(
      config,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${master.dir}`,
        `sentinel monitor batonmaster 127.0.0.1 ${master.port} 1`,
        '',
      ].join('\n'),
    );
    sentinel = spawn('redis-server', [config, '--sentinel'], { stdio: 'ignore' });
    const redis = createRedis(`redis+sentinel://127.0.0.1:${port}/batonmaster`, 'worker');
    redis.on('error', () => undefined); // until the sentinel is up
    try {
      await waitFor(
        'sentinel to answer',
        async () => (await redis.ping().catch(() => null)) === 'PONG',
        10_000,
      );
      await redis.set('baton:probe', 'through-sentinel');
      const direct = createRedis(master.url, 'producer');
      await new Promise((resolve) => direct.once('ready', resolve));
      expect(await direct.get('baton:probe')).toBe('through-sentinel');
      direct.disconnect();
    } finally {
      redis.disconnect();
    }
  });
});
