/**
 * The in-namespace Redis of manifests/base, run for real: redis-server started with the StatefulSet's own
 * arguments (the password expanded as the kubelet expands `$(VAR)`), its readiness probe command run against it,
 * and Baton connecting with the REDIS_URL its Deployments build. Only the listening address and data directory
 * differ from the pod.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/adapters/redis.js';
import { parseEnv } from '../../src/config/env.js';
import { freePort } from '../../lab/processes/processes.js';
import type { KubeObject } from './support.js';
import { find, kustomize } from './support.js';

const run = promisify(execFile);

interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { key: string } } }[];
  readinessProbe?: { exec?: { command: string[] } };
}
type Workload = KubeObject & { spec: { template: { spec: { containers: Container[] } } } };

/** The kubelet's `$(VAR)` expansion (`$$` escapes a dollar); unknown references stay as they are. */
function expand(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string | undefined) =>
    name === undefined ? '$' : (vars[name] ?? whole),
  );
}

describe('the in-namespace Redis, run with the manifest settings', () => {
  const password = randomBytes(16).toString('hex');
  let objects: KubeObject[];
  let redisContainer: Container;
  let dir: string;
  let port: number;
  let server: ChildProcess | undefined;

  beforeAll(async () => {
    objects = await kustomize('manifests/base');
    const statefulSet = find<Workload>(objects, 'StatefulSet', 'baton-redis');
    redisContainer = statefulSet.spec.template.spec.containers[0]!;
    // Both variables come from the same Secret key.
    const keys = redisContainer.env?.map((e) => [e.name, e.valueFrom?.secretKeyRef?.key]);
    expect(keys).toEqual([
      ['REDIS_PASSWORD', 'REDIS_PASSWORD'],
      ['REDISCLI_AUTH', 'REDIS_PASSWORD'],
    ]);
    dir = await mkdtemp(join(tmpdir(), 'baton-manifest-redis-'));
    port = await freePort();
    const args = (redisContainer.args ?? []).map((arg) => expand(arg, { REDIS_PASSWORD: password }));
    // The image's entrypoint runs `redis-server <args>`. Redis changes into --dir as it reads it, so the pod's
    // /data is swapped for this test's directory; the address is added (later options override earlier ones).
    const dirAt = args.indexOf('--dir') + 1;
    expect(args[dirAt]).toBe('/data');
    args[dirAt] = dir;
    server = spawn('redis-server', [...args, '--port', String(port), '--bind', '127.0.0.1'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<never>((_, reject) => {
      server?.once('error', (error) =>
        reject(new Error(`redis-server could not start (${error.message}); apt-get install -y redis-server`)),
      );
      server?.once('exit', (code) =>
        reject(new Error(`redis-server exited ${code} with the manifest's arguments`)),
      );
    });
    const ready = (async () => {
      for (let attempt = 0; attempt < 250; attempt++) {
        const client = new Redis({
          port,
          host: '127.0.0.1',
          password,
          lazyConnect: true,
          maxRetriesPerRequest: 0,
        });
        client.on('error', () => undefined);
        try {
          await client.connect();
          await client.ping();
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        } finally {
          client.disconnect();
        }
      }
      throw new Error('redis-server did not answer PING');
    })();
    await Promise.race([ready, exited]);
  });

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const gone = new Promise((resolve) => server?.once('exit', resolve));
      server.kill('SIGTERM');
      await gone;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs with AOF on, noeviction, a memory cap and a password', async () => {
    const client = new Redis({ port, host: '127.0.0.1', password, maxRetriesPerRequest: 0 });
    try {
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      expect(await client.config('GET', 'maxmemory')).toEqual(['maxmemory', String(320 * 1024 * 1024)]);
    } finally {
      client.disconnect();
    }
    const anonymous = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
    anonymous.on('error', () => undefined);
    try {
      await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
    } finally {
      anonymous.disconnect();
    }
  });

  it('its readiness probe passes with the password and fails without it', async () => {
    const [shell, flag, script] = redisContainer.readinessProbe?.exec?.command ?? [];
    expect([shell, flag]).toEqual(['sh', '-c']);
    // Same script, pointed at this test's port (the pod's Redis listens on the default 6379).
    const local = (script ?? '').replace('redis-cli', `redis-cli -p ${port}`);
    const probe = (auth: string) =>
      run('sh', ['-c', local], { env: { PATH: process.env.PATH, REDISCLI_AUTH: auth } }).then(
        () => 0,
        (error: { code?: number }) => error.code ?? 1,
      );
    expect(await probe(password)).toBe(0);
    expect(await probe('wrong')).not.toBe(0);
  });

  it.each(['baton-web', 'baton-worker'])("%s's REDIS_URL is valid for Baton and reaches it", async (name) => {
    const deployment = find<Workload>(objects, 'Deployment', name);
    const template = deployment.spec.template.spec.containers[0]?.env?.find(
      (e) => e.name === 'REDIS_URL',
    )?.value;
    const url = new URL(expand(template ?? '', { REDIS_PASSWORD: password }));
    expect(url.hostname).toBe('baton-redis');
    url.hostname = '127.0.0.1';
    url.port = String(port);
    const parsed = parseEnv({ REDIS_URL: url.href });
    expect(parsed.ok && parsed.env.redisUrl).toBe(url.href);
    const client = createRedis(url.href, 'worker');
    client.on('error', () => undefined);
    try {
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });
});
