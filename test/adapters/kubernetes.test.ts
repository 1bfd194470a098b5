import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesClusters } from '../../src/adapters/kubernetes.js';
import type { RetryPolicy } from '../../src/adapters/kubernetes.js';
import type { SiteConfig } from '../../src/config/topology.js';
import type { WorkloadRef } from '../../src/core/ports.js';
import { BatonError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { startKubeApiServer } from '../../src/sandbox/kube-api-server.js';
import type { KubeApiServer, KubeconfigDocument } from '../../src/sandbox/kube-api-server.js';

const TOKEN = 'east-bearer-token-123';
const CONTEXTS = { east: 'active-cluster', west: 'passive-cluster' };
const WEB: WorkloadRef = { namespace: 'default', kind: 'Deployment', name: 'web' };
const QUEUE: WorkloadRef = { namespace: 'default', kind: 'StatefulSet', name: 'queue' };
const PG = { namespace: 'db', name: 'pg-west' };
const FAST: RetryPolicy = { attempts: 4, baseDelayMs: 10 };

const site: SiteConfig = {
  name: 'production',
  homeCluster: 'east',
  clusters: {
    east: { kubeContext: 'active-cluster', healthUrl: 'https://active.example.com/health' },
    west: { kubeContext: 'passive-cluster', healthUrl: 'https://passive.example.com/health' },
  },
  workloads: [{ namespace: 'default', kind: 'Deployment', name: 'web', replicas: 5, standbyReplicas: 1 }],
  dns: {
    provider: 'route53',
    hostedZoneId: 'Z1234567890ABC',
    recordName: 'app.example.com',
    recordType: 'A',
    ttl: 60,
    strategy: 'simple-record',
    targets: { east: { values: ['192.0.2.1'] }, west: { values: ['192.0.2.2'] } },
  },
  checks: { minReadyNodes: 3 },
  alerts: [],
};

const logLines: string[] = [];
const log = createLogger({
  level: 'debug',
  destination: { write: (line: string) => void logLines.push(line) },
});

function load(document: KubeconfigDocument): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(JSON.stringify(document));
  return kubeConfig;
}

async function rejection(promise: Promise<unknown>): Promise<BatonError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BatonError);
  return error as BatonError;
}

describe('KubernetesClusters against the API stand-in', () => {
  let server: KubeApiServer;
  let clusters: KubernetesClusters;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'baton-k8s-'));
    server = await startKubeApiServer({
      clusters: {
        east: {
          token: TOKEN,
          nodes: 4,
          podReadyAfterMs: 300,
          workloads: [
            { ...WEB, replicas: 5, images: ['registry.example/web:1.4', 'registry.example/envoy:1.30'] },
            { ...QUEUE, replicas: 1, images: ['registry.example/queue:2'] },
          ],
        },
        west: {
          podReadyAfterMs: 300,
          nodes: Array.from({ length: 1203 }, (_, i) => ({ name: `w-${i}`, ready: i % 100 !== 0 })),
          workloads: [
            { ...WEB, replicas: 1, images: ['registry.example/web:1.4', 'registry.example/envoy:1.30'] },
          ],
          cnpgClusters: [
            { namespace: 'db', name: 'pg-west', replica: true, switchAfterMs: 300 },
            { namespace: 'db', name: 'pg-dist', replica: true, switchAfterMs: 0 },
            { namespace: 'db', name: 'pg-stuck', replica: true, switchAfterMs: 60_000 },
          ],
        },
      },
    });
    clusters = new KubernetesClusters({ kubeConfig: load(server.kubeConfig(CONTEXTS)), log, retry: FAST });
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await server.clearFaults();
    server.clearRequests();
  });

  it('counts Ready nodes, page by page, with TLS verified against the kubeconfig CA', async () => {
    expect(await clusters.readyNodeCount(site, 'east')).toBe(4);
    server.setNodeReady('east', 'east-node-2', false);
    expect(await clusters.readyNodeCount(site, 'east')).toBe(3);
    server.setNodeReady('east', 'east-node-2', true);
    // 1203 nodes, every hundredth NotReady: three pages of at most 500.
    expect(await clusters.readyNodeCount(site, 'west')).toBe(1203 - 13);
    const lists = server.requests('west').filter((r) => r.path === '/api/v1/nodes');
    expect(lists.map((r) => new URLSearchParams(r.query).get('limit'))).toEqual(['500', '500', '500']);
    expect(new URLSearchParams(lists[2]?.query).get('continue')).toBeTruthy();
  });

  it('reads a workload: replicas, ready replicas and images in template order; null when absent', async () => {
    expect(await clusters.getWorkload(site, 'east', WEB)).toEqual({
      replicas: 5,
      readyReplicas: 5,
      images: ['registry.example/web:1.4', 'registry.example/envoy:1.30'],
    });
    expect(await clusters.getWorkload(site, 'east', QUEUE)).toEqual({
      replicas: 1,
      readyReplicas: 1,
      images: ['registry.example/queue:2'],
    });
    server.setImages('west', 'default', 'Deployment', 'web', ['registry.example/web:1.5']);
    expect((await clusters.getWorkload(site, 'west', WEB))?.images).toEqual(['registry.example/web:1.5']);
    server.setImages('west', 'default', 'Deployment', 'web', [
      'registry.example/web:1.4',
      'registry.example/envoy:1.30',
    ]);
    expect(await clusters.getWorkload(site, 'east', { ...WEB, name: 'nope' })).toBeNull();
  });

  it('scales through the scale subresource with resourceVersion, then waits until the pods are Ready', async () => {
    await clusters.scaleWorkload(site, 'west', WEB, 3);
    expect(server.workload('west', 'default', 'Deployment', 'web').replicas).toBe(3);
    const [read, write] = server.requests('west');
    expect(read).toMatchObject({
      method: 'GET',
      path: '/apis/apps/v1/namespaces/default/deployments/web/scale',
    });
    expect(write).toMatchObject({
      method: 'PUT',
      path: '/apis/apps/v1/namespaces/default/deployments/web/scale',
      contentType: 'application/json',
      body: { kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 3 } },
    });
    expect((write?.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion).toMatch(
      /^\d+$/,
    );
    expect((await clusters.getWorkload(site, 'west', WEB))?.readyReplicas).toBe(1);

    const started = Date.now();
    const status = await clusters.waitForReady(site, 'west', WEB, 3, { timeoutMs: 5_000, pollMs: 50 });
    const waited = Date.now() - started;
    expect(status).toMatchObject({ replicas: 3, readyReplicas: 3 });
    expect(waited).toBeGreaterThanOrEqual(200);
    expect(waited).toBeLessThan(1_000);

    // Already at the count: nothing is written.
    server.clearRequests();
    await clusters.scaleWorkload(site, 'west', WEB, 3);
    expect(server.requests('west').map((r) => r.method)).toEqual(['GET']);
    await clusters.scaleWorkload(site, 'west', WEB, 1);
    expect(server.workload('west', 'default', 'Deployment', 'web')).toMatchObject({
      replicas: 1,
      readyReplicas: 1,
    });
  });

  it('scales a StatefulSet, whose pods come up one after another', async () => {
    await clusters.scaleWorkload(site, 'east', QUEUE, 3);
    const started = Date.now();
    await clusters.waitForReady(site, 'east', QUEUE, 3, { timeoutMs: 5_000, pollMs: 50 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    await clusters.scaleWorkload(site, 'east', QUEUE, 1);
    expect(server.workload('east', 'default', 'StatefulSet', 'queue').pods.map((p) => p.name)).toEqual([
      'queue-0',
    ]);
  });

  it('gives up waiting with the counts when pods do not become Ready in time', async () => {
    await clusters.scaleWorkload(site, 'west', WEB, 4);
    const error = await rejection(
      clusters.waitForReady(site, 'west', WEB, 4, { timeoutMs: 150, pollMs: 50 }),
    );
    expect(error.code).toBe('not-ready');
    expect(error.retriable).toBe(true);
    expect(error.message).toContain('Deployment default/web on west: 1/4 Ready');
    await clusters.scaleWorkload(site, 'west', WEB, 1);
  });

  it('stops waiting when the caller aborts', async () => {
    await clusters.scaleWorkload(site, 'west', WEB, 2);
    const controller = new AbortController();
    const reason = new BatonError('step-timeout', 'scale-up-target timed out', { retriable: true });
    setTimeout(() => controller.abort(reason), 100);
    await expect(
      clusters.waitForReady(site, 'west', WEB, 2, {
        timeoutMs: 10_000,
        pollMs: 20,
        signal: controller.signal,
      }),
    ).rejects.toBe(reason);
    await clusters.scaleWorkload(site, 'west', WEB, 1);
  });

  it('reads again and writes again when the scale write meets a 409 Conflict', async () => {
    server.failNext('west', { status: 409, method: 'PUT', path: '/scale' });
    await clusters.scaleWorkload(site, 'west', WEB, 2);
    expect(server.workload('west', 'default', 'Deployment', 'web').replicas).toBe(2);
    expect(server.requests('west').map((r) => `${r.method} ${r.status}`)).toEqual([
      'GET 200',
      'PUT 409',
      'GET 200',
      'PUT 200',
    ]);
    await clusters.scaleWorkload(site, 'west', WEB, 1);
  });

  it('retries 500, 503 and 429 (honouring Retry-After), then succeeds', async () => {
    server.failNext('west', { status: 500, path: '/deployments/web' });
    server.failNext('west', { status: 503, path: '/deployments/web' });
    server.failNext('west', { status: 429, retryAfterSeconds: 1, path: '/deployments/web' });
    const started = Date.now();
    expect(await clusters.getWorkload(site, 'west', WEB)).toMatchObject({ replicas: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(server.requests('west').map((r) => r.status)).toEqual([500, 503, 429, 200]);
    expect(logLines.some((line) => line.includes('Kubernetes request failed; retrying'))).toBe(true);
  });

  it('turns a persistent 500 into a retriable error after the bounded attempts', async () => {
    server.failNext('west', { status: 500, times: 10 });
    const error = await rejection(clusters.scaleWorkload(site, 'west', WEB, 2));
    expect(error).toMatchObject({ code: 'cluster-api-error', retriable: true });
    expect(error.message).toContain('the Kubernetes API of west');
    expect(error.message).toContain('500 InternalError');
    expect(error.message).toContain('(4 attempts)');
    expect(error.cause).toBeDefined();
    expect(server.requests('west')).toHaveLength(4);
  });

  it('reports an outage as cluster-unreachable, naming the cluster and its API server', async () => {
    await server.setOutage('west', 'refused');
    const refused = await rejection(clusters.readyNodeCount(site, 'west'));
    expect(refused).toMatchObject({ code: 'cluster-unreachable', retriable: true });
    expect(refused.message).toContain(
      `the Kubernetes API of west (${server.url('west')}, context passive-cluster)`,
    );
    expect(refused.message).toContain('connection refused');

    await server.setOutage('west', 'reset');
    const reset = await rejection(clusters.getWorkload(site, 'west', WEB));
    expect(reset).toMatchObject({ code: 'cluster-unreachable', retriable: true });
    expect(reset.message).toContain('connection reset');
    expect(server.requests('west')).toHaveLength(0);

    await server.setOutage('west', null);
    expect(await clusters.readyNodeCount(site, 'west')).toBe(1190);
  });

  it('times out a request that hangs', async () => {
    const impatient = new KubernetesClusters({
      kubeConfig: load(server.kubeConfig(CONTEXTS)),
      log,
      requestTimeoutMs: 200,
      retry: { attempts: 2, baseDelayMs: 10 },
    });
    server.setLatency('east', 2_000);
    const started = Date.now();
    const error = await rejection(impatient.readyNodeCount(site, 'east'));
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(error).toMatchObject({ code: 'cluster-unreachable', retriable: true });
    expect(error.message).toContain('did not answer within 200 ms (2 attempts)');
  });

  it('says to renew the token on 401, without retrying', async () => {
    const stale = new KubernetesClusters({
      kubeConfig: load(server.kubeConfig(CONTEXTS, { tokens: { east: 'expired-token' } })),
      log,
      retry: FAST,
    });
    const error = await rejection(stale.readyNodeCount(site, 'east'));
    expect(error).toMatchObject({ code: 'cluster-unauthorized', retriable: false });
    expect(error.message).toBe(
      "Kubernetes rejected Baton's credentials for east (context active-cluster) — renew the token in the kubeconfig",
    );
    expect(server.requests('east')).toHaveLength(1);
  });

  it('names the missing RBAC verb, resource, API group and namespace on 403', async () => {
    server.deny('west', {
      verb: 'update',
      group: 'apps',
      resource: 'deployments',
      subresource: 'scale',
      namespace: 'default',
    });
    const error = await rejection(clusters.scaleWorkload(site, 'west', WEB, 2));
    expect(error).toMatchObject({ code: 'cluster-forbidden', retriable: false });
    expect(error.message).toContain('system:serviceaccount:baton:baton');
    expect(error.message).toContain('verb "update" on resource "deployments/scale" in apiGroups ["apps"]');
    expect(error.message).toContain('in namespace "default"');
    expect(error.message).toContain('west (context passive-cluster)');

    server.deny('west', { verb: 'list', resource: 'nodes' });
    const nodes = await rejection(clusters.readyNodeCount(site, 'west'));
    expect(nodes.message).toContain('list nodes (API group "") at cluster scope');
    expect(nodes.message).toContain("Baton's ClusterRole");
  });

  it('names the missing object and cluster on 404', async () => {
    const error = await rejection(clusters.scaleWorkload(site, 'west', { ...WEB, name: 'nope' }, 2));
    expect(error).toMatchObject({ code: 'not-found', retriable: false });
    expect(error.message).toMatch(
      /^Deployment default\/nope not found on west \(context passive-cluster\) — /,
    );
    const cnpg = await rejection(clusters.cnpgClusterStatus(site, 'east', PG));
    expect(cnpg.code).toBe('cnpg-cluster-missing');
    expect(cnpg.message).toContain(
      'CloudNativePG Cluster db/pg-west does not exist on east (context active-cluster)',
    );
  });

  it('rejects an invalid replica count with the server’s reason, without retrying', async () => {
    const error = await rejection(clusters.scaleWorkload(site, 'west', WEB, -1));
    expect(error).toMatchObject({ code: 'cluster-invalid', retriable: false });
    expect(error.message).toContain('spec.replicas: Invalid value: -1: must be greater than or equal to 0');
  });

  it('promotes a CloudNativePG replica with a merge patch and waits for a healthy primary; then it is a no-op', async () => {
    expect(await clusters.cnpgClusterStatus(site, 'west', PG)).toMatchObject({
      replica: true,
      promoted: false,
      ready: true,
    });
    const started = Date.now();
    const result = await clusters.promoteCnpgCluster(site, 'west', PG, { timeoutMs: 5_000, pollMs: 50 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(result.changed).toBe(true);
    expect(result.status).toMatchObject({
      replica: false,
      promoted: true,
      phase: 'Cluster in healthy state',
      currentPrimary: 'pg-west-1',
      primaryReported: true,
    });
    const patch = server.requests('west').find((r) => r.method === 'PATCH');
    expect(patch).toMatchObject({
      path: '/apis/postgresql.cnpg.io/v1/namespaces/db/clusters/pg-west',
      contentType: 'application/merge-patch+json',
      body: { spec: { replica: { enabled: false } } },
    });
    // It polled while the operator was still promoting, rather than trusting the patch.
    const reads = server.requests('west').filter((r) => r.method === 'GET' && r.path.endsWith('/pg-west'));
    expect(reads.length).toBeGreaterThanOrEqual(3);
    expect(server.cnpgCluster('west', 'db', 'pg-west').status.timelineID).toBe(2);

    server.clearRequests();
    const again = await clusters.promoteCnpgCluster(site, 'west', PG, { timeoutMs: 5_000, pollMs: 50 });
    expect(again.changed).toBe(false);
    expect(server.requests('west').map((r) => r.method)).toEqual(['GET']);
  });

  it('promotes a Cluster of a distributed topology by naming itself primary', async () => {
    server.updateCnpgCluster('west', 'db', 'pg-dist', (object) => {
      object.spec.replica = { primary: 'pg-east', self: 'pg-dist', source: 'pg-east' };
    });
    const result = await clusters.promoteCnpgCluster(
      site,
      'west',
      { namespace: 'db', name: 'pg-dist' },
      { timeoutMs: 5_000, pollMs: 20 },
    );
    expect(result).toMatchObject({ changed: true, status: { promoted: true } });
    expect(server.requests('west').find((r) => r.method === 'PATCH')?.body).toEqual({
      spec: { replica: { primary: 'pg-dist' } },
    });
  });

  it('reports a promotion that does not finish, with the phase it is stuck in', async () => {
    const ref = { namespace: 'db', name: 'pg-stuck' };
    const error = await rejection(
      clusters.promoteCnpgCluster(site, 'west', ref, { timeoutMs: 200, pollMs: 50 }),
    );
    expect(error).toMatchObject({ code: 'not-ready', retriable: true });
    expect(error.message).toContain('phase "Promoting to primary cluster", Ready false');
    expect(await clusters.cnpgClusterStatus(site, 'west', ref)).toMatchObject({
      replica: false,
      promoted: false,
    });

    server.updateCnpgCluster('west', 'db', 'pg-stuck', (object) => {
      object.status.phase = 'Cluster is unrecoverable and needs manual intervention';
    });
    const stuck = await rejection(
      clusters.promoteCnpgCluster(site, 'west', ref, { timeoutMs: 5_000, pollMs: 50 }),
    );
    expect(stuck).toMatchObject({ code: 'cnpg-promotion-failed', retriable: false });
    expect(stuck.message).toContain('kubectl cnpg status -n db pg-stuck');
  });

  it('refuses an unknown context, naming it and the contexts that exist', async () => {
    const other: SiteConfig = {
      ...site,
      clusters: { ...site.clusters, west: { kubeContext: 'dr-cluster', healthUrl: 'https://x/health' } },
    };
    const error = await rejection(clusters.readyNodeCount(other, 'west'));
    expect(error.code).toBe('unknown-kube-context');
    expect(error.message).toContain('no context "dr-cluster"');
    expect(error.message).toContain('active-cluster, passive-cluster');
    const unknown = await rejection(clusters.readyNodeCount(site, 'north'));
    expect(unknown.code).toBe('unknown-cluster');
  });

  it('uses the current context for a cluster without kubeContext', async () => {
    const plain: SiteConfig = {
      ...site,
      clusters: { east: { healthUrl: 'https://x/health' }, west: site.clusters.west! },
    };
    const current = new KubernetesClusters({
      kubeConfig: load(server.kubeConfig(CONTEXTS, { currentContext: 'passive-cluster' })),
      log,
      retry: FAST,
    });
    expect(await current.readyNodeCount(plain, 'east')).toBe(1190);
  });

  it('does not trust an API server whose CA is not in the kubeconfig', async () => {
    const document = server.kubeConfig(CONTEXTS);
    const untrusted = {
      ...document,
      clusters: document.clusters.map((c) => ({ name: c.name, cluster: { server: c.cluster.server } })),
    } as unknown as KubeconfigDocument;
    const client = new KubernetesClusters({ kubeConfig: load(untrusted), log, retry: FAST });
    const error = await rejection(client.readyNodeCount(site, 'west'));
    expect(error).toMatchObject({ code: 'cluster-tls', retriable: false });
    expect(error.message).toContain('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(server.requests('west')).toHaveLength(0);
  });

  it('loads KUBECONFIG files, merged as kubectl merges them, and refuses a missing one', async () => {
    const eastFile = join(dir, 'east.yaml');
    const westFile = join(dir, 'west.yaml');
    await writeFile(eastFile, server.kubeconfigYaml({ east: 'active-cluster' }));
    await writeFile(westFile, server.kubeconfigYaml({ west: 'passive-cluster' }));
    const merged = KubernetesClusters.fromEnvironment({
      kubeconfigPath: `${eastFile}${delimiter}${westFile}`,
      log,
      retry: FAST,
    });
    expect(await merged.readyNodeCount(site, 'east')).toBe(4);
    expect(await merged.readyNodeCount(site, 'west')).toBe(1190);
    const missing = (() => {
      try {
        KubernetesClusters.fromEnvironment({ kubeconfigPath: join(dir, 'absent.yaml'), log });
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(missing).toMatchObject({ code: 'config-invalid' });
    expect((missing as Error).message).toContain('absent.yaml');
  });

  it('never writes the bearer token to the logs', () => {
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('\n')).not.toContain(TOKEN);
  });
});
