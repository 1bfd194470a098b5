/**
 * Credentials the way managed clusters use them: a kubeconfig user that is an exec credential plugin (as EKS's
 * `aws eks get-token` and GKE's `gke-gcloud-auth-plugin`), run by client-node as kubectl runs it, against a stand-in
 * that accepts only the plugin's current token; and kubeconfig clusters that turn TLS verification off.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { KubernetesClusters } from '../../src/adapters/kubernetes.js';
import type { RetryPolicy } from '../../src/adapters/kubernetes.js';
import type { SiteConfig } from '../../src/config/topology.js';
import { BatonError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { startKubeApiServer } from '../../lab/kubernetes/kube-api-server.js';
import type { KubeApiServer } from '../../lab/kubernetes/kube-api-server.js';

const FAST: RetryPolicy = { attempts: 2, baseDelayMs: 10 };
const TTL_SECONDS = 300;

const site: SiteConfig = {
  name: 'production',
  homeCluster: 'east',
  clusters: {
    east: { kubeContext: 'active-cluster', healthUrl: 'https://active.example.com/health' },
    west: { kubeContext: 'passive-cluster', healthUrl: 'https://passive.example.com/health' },
  },
  workloads: [{ namespace: 'default', kind: 'Deployment', name: 'web', replicas: 2, standbyReplicas: 1 }],
  dns: {
    provider: 'route53',
    hostedZoneId: 'Z1234567890ABC',
    recordName: 'app.example.com',
    recordType: 'A',
    ttl: 60,
    strategy: 'simple-record',
    targets: { east: { values: ['192.0.2.1'] }, west: { values: ['192.0.2.2'] } },
  },
  checks: { minReadyNodes: 1 },
  alerts: [],
};

const logLines: string[] = [];
const log = createLogger({
  level: 'debug',
  destination: { write: (line: string) => void logLines.push(line) },
});

/**
 * The plugin: each run prints the next token (`exec-token-1`, `-2`, …) as a v1beta1 ExecCredential that expires
 * TTL_SECONDS from now, counting its runs in the file its kubeconfig's `exec.env` names. A failing one exits 1 with
 * a message on stderr, as `aws eks get-token` does without AWS credentials.
 */
const PLUGIN = `
import { readFileSync, writeFileSync } from 'node:fs';
if (process.env.PLUGIN_FAIL) {
  process.stderr.write('Unable to locate credentials. You can configure credentials by running "aws configure".\\n');
  process.exit(1);
}
const counter = process.env.TOKEN_COUNTER;
let runs = 1;
try { runs = Number(readFileSync(counter, 'utf8')) + 1; } catch {}
writeFileSync(counter, String(runs));
const expires = new Date(Date.now() + Number(process.env.TOKEN_TTL_SECONDS) * 1000);
process.stdout.write(JSON.stringify({
  kind: 'ExecCredential',
  apiVersion: 'client.authentication.k8s.io/v1beta1',
  spec: {},
  status: { token: 'exec-token-' + runs, expirationTimestamp: expires.toISOString().replace(/\\.\\d{3}Z$/, 'Z') },
}));
`;

async function rejection(promise: Promise<unknown>): Promise<BatonError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BatonError);
  return error as BatonError;
}

function thrownBy(fn: () => unknown): BatonError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(BatonError);
    return error as BatonError;
  }
  throw new Error('expected a BatonError');
}

describe('exec credential plugins against the API stand-in', () => {
  let server: KubeApiServer;
  let dir: string;
  let counter: string;

  beforeAll(async () => {
    server = await startKubeApiServer({
      clusters: { east: { token: 'exec-token-1', nodes: 2 }, west: { token: 'west-token', nodes: 1 } },
    });
    dir = await mkdtemp(join(tmpdir(), 'baton-k8s-exec-'));
    await writeFile(join(dir, 'get-token.mjs'), PLUGIN);
    // A shell wrapper, so the kubeconfig's command is a relative path as kubeconfigs often hold (`./bin/…`).
    await writeFile(
      join(dir, 'get-token'),
      `#!/bin/sh\nexec '${process.execPath}' "$(dirname "$0")/get-token.mjs" "$@"\n`,
    );
    await chmod(join(dir, 'get-token'), 0o755);
  });

  beforeEach(() => {
    server.setToken('east', 'exec-token-1');
    server.clearRequests();
    counter = join(dir, `runs-${Math.random().toString(36).slice(2)}`);
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A kubeconfig file in `dir` whose east user runs the plugin (`./get-token`, relative to the file). */
  async function execKubeconfig(env: Record<string, string> = {}): Promise<string> {
    const document = server.kubeConfig({ east: 'active-cluster', west: 'passive-cluster' });
    const users = document.users.map((entry) =>
      entry.name !== 'active-cluster-user'
        ? entry
        : {
            name: entry.name,
            user: {
              exec: {
                apiVersion: 'client.authentication.k8s.io/v1beta1',
                command: './get-token',
                args: ['eks', 'get-token', '--cluster-name', 'east'],
                env: Object.entries({
                  TOKEN_COUNTER: counter,
                  TOKEN_TTL_SECONDS: String(TTL_SECONDS),
                  ...env,
                }).map(([name, value]) => ({ name, value })),
                interactiveMode: 'Never',
                provideClusterInfo: false,
              },
            },
          },
    );
    const path = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(path, stringify({ ...document, users }));
    return path;
  }

  const runs = async () => Number(await readFile(counter, 'utf8').catch(() => '0'));

  it("runs the kubeconfig's plugin as kubectl does, and the stand-in accepts only its token", async () => {
    const clusters = KubernetesClusters.fromEnvironment({
      kubeconfigPath: await execKubeconfig(),
      log,
      retry: FAST,
    });
    expect(await clusters.readyNodeCount(site, 'east')).toBe(2);
    expect(await runs()).toBe(1);
    // The token is cached until its expirationTimestamp: no second run of the plugin.
    expect(await clusters.readyNodeCount(site, 'east')).toBe(2);
    expect(await runs()).toBe(1);
    expect(server.requests('east').map((r) => [r.authorization, r.status])).toEqual([
      [true, 200],
      [true, 200],
    ]);
    // The other context keeps its static token.
    expect(await clusters.readyNodeCount(site, 'west')).toBe(1);

    const impostor = new KubernetesClusters({
      kubeConfig: staticKubeConfig(server, 'exec-token-2'),
      log,
      retry: FAST,
    });
    const error = await rejection(impostor.readyNodeCount(site, 'east'));
    expect(error).toMatchObject({ code: 'cluster-unauthorized', retriable: false });
    // A static token is the kubeconfig's to renew.
    expect(error.message).toContain('renew the token in the kubeconfig');
    expect(logLines.join('\n')).not.toContain('exec-token-1');
  });

  it('runs the plugin again at once when its token is refused before it expires (revoked, rotated)', async () => {
    const clusters = KubernetesClusters.fromEnvironment({
      kubeconfigPath: await execKubeconfig(),
      log,
      retry: FAST,
    });
    expect(await clusters.readyNodeCount(site, 'east')).toBe(2);
    expect(await runs()).toBe(1);

    // The issuer revokes the token long before its expirationTimestamp: kubectl would fetch a new one on the 401.
    server.setToken('east', 'exec-token-2');
    expect(await clusters.readyNodeCount(site, 'east')).toBe(2);
    expect(await runs()).toBe(2);
    expect(server.requests('east').map((r) => r.status)).toEqual([200, 401, 200]);

    // The fresh token is cached in its turn.
    expect(await clusters.readyNodeCount(site, 'east')).toBe(2);
    expect(await runs()).toBe(2);
    expect(logLines.join('\n')).not.toMatch(/exec-token-\d/);
  });

  it("says a plugin's fresh token was refused too, without sending the operator to edit the token", async () => {
    const clusters = KubernetesClusters.fromEnvironment({
      kubeconfigPath: await execKubeconfig(),
      log,
      retry: FAST,
    });
    // The cluster no longer maps the identity the plugin signs in as: no token it makes is accepted.
    server.setToken('east', 'a-token-of-another-identity');
    const error = await rejection(clusters.readyNodeCount(site, 'east'));
    expect(error).toMatchObject({ code: 'cluster-unauthorized', retriable: false });
    expect(error.message).not.toContain('renew the token in the kubeconfig');
    expect(error.message).toContain('credential plugin');
    expect(error.message).toContain('get-token');
    // One fresh token was fetched and tried, not one per retry.
    expect(await runs()).toBe(2);
    expect(server.requests('east').map((r) => r.status)).toEqual([401, 401]);
  });

  it('runs the plugin again once its token expires, and the new token is accepted', async () => {
    const clusters = KubernetesClusters.fromEnvironment({
      kubeconfigPath: await execKubeconfig(),
      log,
      retry: FAST,
    });
    expect(await clusters.readyNodeCount(site, 'east')).toBe(2);
    expect(await runs()).toBe(1);

    // The issuer rotates: from now on only the plugin's next token is accepted.
    server.setToken('east', 'exec-token-2');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + (TTL_SECONDS + 1) * 1000);
    expect(await clusters.readyNodeCount(site, 'east')).toBe(2);
    expect(await runs()).toBe(2);

    // Back in the present, the new token is good for another TTL: cached, not fetched again.
    vi.useRealTimers();
    expect(await clusters.readyNodeCount(site, 'east')).toBe(2);
    expect(await runs()).toBe(2);
    expect(server.requests('east').map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it("reports a plugin that fails with the plugin's own words, and sends nothing", async () => {
    const clusters = KubernetesClusters.fromEnvironment({
      kubeconfigPath: await execKubeconfig({ PLUGIN_FAIL: '1' }),
      log,
      retry: FAST,
    });
    const error = await rejection(clusters.readyNodeCount(site, 'east'));
    expect(error.code).toBe('cluster-config');
    expect(error.message).toContain('Unable to locate credentials');
    expect(server.requests('east')).toHaveLength(0);
  });
});

/** A kubeconfig whose east user has a static bearer token. */
function staticKubeConfig(server: KubeApiServer, token: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(server.kubeconfigYaml({ east: 'active-cluster' }, { tokens: { east: token } }));
  return kubeConfig;
}

describe('kubeconfig clusters without TLS verification', () => {
  let server: KubeApiServer;
  let dir: string;
  let path: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'baton-k8s-tls-'));
    server = await startKubeApiServer({ clusters: { east: { nodes: 2 }, west: { nodes: 1 } } });
    const document = server.kubeConfig({ east: 'active-cluster', west: 'passive-cluster' });
    // west skips verification, as kubeconfigs of test clusters often do (no CA given).
    const clusters = document.clusters.map((entry) =>
      entry.name === 'passive-cluster'
        ? { name: entry.name, cluster: { server: entry.cluster.server, 'insecure-skip-tls-verify': true } }
        : entry,
    );
    path = join(dir, 'kubeconfig.yaml');
    await writeFile(path, stringify({ ...document, clusters }));
  });

  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses the kubeconfig, naming the context and cluster', () => {
    const error = thrownBy(() => KubernetesClusters.fromEnvironment({ kubeconfigPath: path, log }));
    expect(error.code).toBe('kubeconfig-insecure');
    expect(error.message).toContain('context "passive-cluster" (cluster "passive-cluster")');
    expect(error.message).not.toContain('active-cluster');
    expect(error.message).toContain('BATON_ALLOW_INSECURE_KUBE=1');
    expect(server.requests()).toHaveLength(0);
  });

  it('accepts it with BATON_ALLOW_INSECURE_KUBE=1, and says so in the log', async () => {
    logLines.length = 0;
    const clusters = KubernetesClusters.fromEnvironment({
      kubeconfigPath: path,
      allowInsecureKube: true,
      log,
    });
    expect(await clusters.readyNodeCount(site, 'west')).toBe(1);
    expect(await clusters.readyNodeCount(site, 'east')).toBe(2);
    const warning = logLines.map(
      (line) => JSON.parse(line) as { level: number; msg: string; contexts?: string[] },
    );
    expect(warning.find((line) => line.msg.includes('BATON_ALLOW_INSECURE_KUBE'))).toMatchObject({
      level: 40,
      contexts: ['context "passive-cluster" (cluster "passive-cluster")'],
    });
  });
});
