import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesClusters, parseCnpgDemotionToken } from '../../src/adapters/kubernetes.js';
import type { RetryPolicy } from '../../src/adapters/kubernetes.js';
import type { SiteConfig } from '../../src/config/topology.js';
import type { WorkloadRef } from '../../src/core/ports.js';
import { BatonError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { startKubeApiServer } from '../../lab/kubernetes/kube-api-server.js';
import type { KubeApiServer, KubeconfigDocument } from '../../lab/kubernetes/kube-api-server.js';

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

/** Polls until a workload's controller has acted on its latest spec (it does so after a delay, as a real one). */
async function untilObserved(server: KubeApiServer, cluster: string, workload: WorkloadRef): Promise<void> {
  for (;;) {
    const state = server.workload(cluster, workload.namespace, workload.kind, workload.name);
    if (state.observedGeneration === state.generation) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
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
      labels: { app: 'web' },
      annotations: { 'deployment.kubernetes.io/revision': '1' },
    });
    expect(await clusters.getWorkload(site, 'east', QUEUE)).toEqual({
      replicas: 1,
      readyReplicas: 1,
      images: ['registry.example/queue:2'],
      labels: { app: 'queue' },
      annotations: {},
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

    // A budget far beyond this test's own timeout: the wait can only have ended because the pods became Ready, and
    // it did not end before (1 of 3 was Ready when it began).
    const status = await clusters.waitForReady(site, 'west', WEB, 3, { timeoutMs: 10 * 60_000, pollMs: 50 });
    expect(status).toMatchObject({ replicas: 3, readyReplicas: 3 });

    // Already at the count: nothing is written.
    server.clearRequests();
    await clusters.scaleWorkload(site, 'west', WEB, 3);
    expect(server.requests('west').map((r) => r.method)).toEqual(['GET']);
    await clusters.scaleWorkload(site, 'west', WEB, 1);
    await untilObserved(server, 'west', WEB);
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
    await untilObserved(server, 'east', QUEUE);
    expect(server.workload('east', 'default', 'StatefulSet', 'queue').pods.map((p) => p.name)).toEqual([
      'queue-0',
    ]);
  });

  it('gives up waiting with the counts when pods do not become Ready in time', async () => {
    // The new pods take ten minutes, however slow this machine: the wait can only end by giving up.
    server.setPodReadyAfter('west', 600_000);
    try {
      await clusters.scaleWorkload(site, 'west', WEB, 4);
      const error = await rejection(
        clusters.waitForReady(site, 'west', WEB, 4, { timeoutMs: 150, pollMs: 50 }),
      );
      expect(error.code).toBe('not-ready');
      expect(error.retriable).toBe(true);
      expect(error.message).toContain('Deployment default/web on west: 1/4 Ready');
    } finally {
      server.setPodReadyAfter('west', null);
      await clusters.scaleWorkload(site, 'west', WEB, 1);
    }
  });

  it('stops waiting when the caller aborts', async () => {
    await clusters.scaleWorkload(site, 'west', WEB, 2);
    const controller = new AbortController();
    const reason = new BatonError('step-timeout', 'scale-up-target timed out', { retriable: true });
    setTimeout(() => controller.abort(reason), 100);
    try {
      // The abort reason's code and message, plus what the wait last saw when it was cut short in a pause.
      const error = await rejection(
        clusters.waitForReady(site, 'west', WEB, 2, {
          timeoutMs: 10_000,
          pollMs: 20,
          signal: controller.signal,
        }),
      );
      expect(error).toMatchObject({ code: 'step-timeout', retriable: true });
      expect(error.message).toMatch(/^scale-up-target timed out/);
    } finally {
      await clusters.scaleWorkload(site, 'west', WEB, 1);
    }
  });

  it('reads again and writes again when the scale write meets a 409 Conflict', async () => {
    // The previous test's scale is still pending in the controller: once it acts, the status (and resourceVersion)
    // changes, which would add a real conflict of its own between this test's GET and PUT.
    await untilObserved(server, 'west', WEB);
    server.clearRequests();
    server.failNext('west', { status: 409, method: 'PUT', path: '/scale' });
    try {
      await clusters.scaleWorkload(site, 'west', WEB, 2);
      expect(server.workload('west', 'default', 'Deployment', 'web').replicas).toBe(2);
      // The scale subresource's calls only: a wait the previous test abandoned may still poll the Deployment itself.
      const scaleCalls = server.requests('west').filter((r) => r.path.endsWith('/scale'));
      expect(scaleCalls.map((r) => `${r.method} ${r.status}`)).toEqual([
        'GET 200',
        'PUT 409',
        'GET 200',
        'PUT 200',
      ]);
    } finally {
      await clusters.scaleWorkload(site, 'west', WEB, 1);
      await untilObserved(server, 'west', WEB);
    }
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
    // Held far longer than this test runs (the stand-in drops the held requests when it closes).
    server.setLatency('east', 10 * 60_000);
    const error = await rejection(impatient.readyNodeCount(site, 'east'));
    expect(error).toMatchObject({ code: 'cluster-unreachable', retriable: true });
    expect(error.message).toContain('did not answer within 200 ms (2 attempts)');
    // Both attempts were given up while the API server still held them: neither has been answered.
    const attempts = server.requests('east').filter((r) => r.path === '/api/v1/nodes');
    expect(attempts.map((r) => r.status)).toEqual([0, 0]);
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
      // CloudNativePG's webhook wants every name spec.replica uses among the external clusters.
      object.spec.externalClusters = [{ name: 'pg-east' }, { name: 'pg-dist' }];
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

describe('CloudNativePG switchover against the API stand-in', () => {
  const EAST_PG = { namespace: 'db', name: 'pg-east' };
  const WEST_PG = { namespace: 'db', name: 'pg-west' };
  const WAIT = { pollMs: 20, timeoutMs: 5_000 };
  let server: KubeApiServer;
  let clusters: KubernetesClusters;

  /** A distributed topology: pg-east primary, pg-west its replica cluster; plus a plain primary and a standalone replica. */
  async function start(timing: { switchAfterMs?: number; replayLagMs?: number } = {}): Promise<void> {
    const operator = { reconcileAfterMs: 20, switchAfterMs: timing.switchAfterMs ?? 80 };
    server = await startKubeApiServer({
      clusters: {
        east: {
          cnpgClusters: [
            { ...EAST_PG, distributed: { primary: 'pg-east', source: 'pg-west' }, ...operator },
            { namespace: 'db', name: 'pg-solo', ...operator },
          ],
        },
        west: {
          cnpgClusters: [
            {
              ...WEST_PG,
              distributed: { primary: 'pg-east', source: 'pg-east' },
              replayLagMs: timing.replayLagMs ?? 100,
              ...operator,
            },
            { namespace: 'db', name: 'pg-standby', replica: true, ...operator },
          ],
        },
      },
    });
    clusters = new KubernetesClusters({ kubeConfig: load(server.kubeConfig(CONTEXTS)), log, retry: FAST });
  }
  afterEach(async () => {
    await server?.close();
  });

  const patches = (cluster: string) =>
    server
      .requests(cluster)
      .filter((r) => r.method === 'PATCH')
      .map((r) => r.body);

  it('switches over with the demotion and promotion tokens, and back again', async () => {
    await start();
    const systemId = server.cnpgCluster('east', 'db', 'pg-east').status.systemID;
    const demoted = await clusters.demoteCnpgCluster(site, 'east', EAST_PG, {
      newPrimary: 'pg-west',
      ...WAIT,
    });
    expect(demoted.changed).toBe(true);
    expect(parseCnpgDemotionToken(demoted.demotionToken)).toMatchObject({
      timeline: 1,
      redoLsn: '0/5000060',
      redoWalFile: '000000010000000000000005',
      systemIdentifier: systemId,
      operatorVersion: '1.27.0',
    });
    expect(patches('east')).toEqual([{ spec: { replica: { primary: 'pg-west' } } }]);
    // It polled until the token appeared; the phase said "healthy" all along, so only the token tells.
    const reads = server.requests('east').filter((r) => r.method === 'GET' && r.path.endsWith('/pg-east'));
    expect(reads.length).toBeGreaterThanOrEqual(3);
    expect(await clusters.cnpgClusterStatus(site, 'east', EAST_PG)).toMatchObject({
      replica: true,
      phase: 'Cluster in healthy state',
      demotionToken: demoted.demotionToken,
      demoting: false,
      primaryReported: false,
    });

    const promoted = await clusters.promoteCnpgCluster(site, 'west', WEST_PG, {
      promotionToken: demoted.demotionToken,
      ...WAIT,
    });
    expect(promoted).toMatchObject({
      changed: true,
      status: {
        replica: false,
        promoted: true,
        primaryReported: true,
        lastPromotionToken: demoted.demotionToken,
      },
    });
    expect(patches('west')).toEqual([
      { spec: { replica: { primary: 'pg-west', promotionToken: demoted.demotionToken } } },
    ]);
    expect(server.cnpgCluster('west', 'db', 'pg-west').status.timelineID).toBe(2);
    // The old primary stopped where the new timeline forked: it follows it, no rebuild.
    expect(server.cnpgCluster('east', 'db', 'pg-east').status).toMatchObject({
      timelineID: 2,
      instancesReportedState: { 'pg-east-1': { isPrimary: false, timeLineID: 2 } },
    });

    server.clearRequests();
    const again = await clusters.promoteCnpgCluster(site, 'west', WEST_PG, {
      promotionToken: demoted.demotionToken,
      ...WAIT,
    });
    expect(again.changed).toBe(false);
    expect(server.requests('west').map((r) => r.method)).toEqual(['GET']);

    // Back home. The promoted Cluster still carries its token: it goes in the same write (cloudnative-pg #9273).
    const back = await clusters.demoteCnpgCluster(site, 'west', WEST_PG, { newPrimary: 'pg-east', ...WAIT });
    expect(patches('west')).toEqual([{ spec: { replica: { primary: 'pg-east', promotionToken: null } } }]);
    expect(parseCnpgDemotionToken(back.demotionToken)).toMatchObject({
      timeline: 2,
      systemIdentifier: systemId,
    });
    const home = await clusters.promoteCnpgCluster(site, 'east', EAST_PG, {
      promotionToken: back.demotionToken,
      ...WAIT,
    });
    expect(home).toMatchObject({ changed: true, status: { promoted: true } });
    expect(server.cnpgCluster('east', 'db', 'pg-east').status.timelineID).toBe(3);
  });

  it('demotes idempotently: waits again after a timeout; a demoted Cluster gives its token, unwritten', async () => {
    await start({ switchAfterMs: 300 });
    const early = await rejection(
      clusters.demoteCnpgCluster(site, 'east', EAST_PG, {
        newPrimary: 'pg-west',
        pollMs: 20,
        timeoutMs: 100,
      }),
    );
    expect(early).toMatchObject({ code: 'not-ready', retriable: true });
    expect(early.message).toContain('has published no demotion token after 100 ms: no demotion token yet');
    expect(early.message).toContain('"Starting the Replica cluster transition", fenced');
    expect(early.message).toContain('kubectl cnpg status -n db pg-east');

    const finished = await clusters.demoteCnpgCluster(site, 'east', EAST_PG, {
      newPrimary: 'pg-west',
      ...WAIT,
    });
    expect(finished.changed).toBe(false);
    expect(patches('east')).toHaveLength(1);

    server.clearRequests();
    const again = await clusters.demoteCnpgCluster(site, 'east', EAST_PG, { newPrimary: 'pg-west', ...WAIT });
    expect(again).toEqual(finished);
    expect(server.requests('east').map((r) => r.method)).toEqual(['GET']);
  });

  it('refuses a token that does not parse before writing, and stops when CloudNativePG refuses one', async () => {
    await start();
    const garbage = await rejection(
      clusters.promoteCnpgCluster(site, 'west', WEST_PG, { promotionToken: 'not-a-token', ...WAIT }),
    );
    expect(garbage.code).toBe('cnpg-token-invalid');
    expect(server.requests('west')).toEqual([]);

    await clusters.demoteCnpgCluster(site, 'east', EAST_PG, { newPrimary: 'pg-west', ...WAIT });
    // Well formed, but from another database: only the instance manager can tell.
    const foreign = Buffer.from(
      JSON.stringify({
        latestCheckpointTimelineID: '1',
        redoWalFile: '000000010000000000000005',
        databaseSystemIdentifier: '7000000000000000001',
        latestCheckpointREDOLocation: '0/5000060',
        timeOfLatestCheckpoint: 'Tue Apr 30 10:00:00 2024',
        operatorVersion: '1.27.0',
      }),
    ).toString('base64');
    // A budget far beyond this test's own timeout: it can only have stopped because CloudNativePG refused.
    const refused = await rejection(
      clusters.promoteCnpgCluster(site, 'west', WEST_PG, {
        promotionToken: foreign,
        pollMs: 20,
        timeoutMs: 10 * 60_000,
      }),
    );
    expect(refused).toMatchObject({ code: 'cnpg-token-rejected', retriable: false });
    expect(refused.message).toContain('Promotion token content is not correct for current instance');
    expect(refused.message).toContain('system identifier 7000000000000000001');
    expect(refused.message).toContain('kubectl cnpg status -n db pg-west');
    expect(await clusters.cnpgClusterStatus(site, 'west', WEST_PG)).toMatchObject({
      promoted: false,
      primaryReported: false,
      phase: 'Cluster is unrecoverable and needs manual intervention',
    });
    expect(server.cnpgCluster('west', 'db', 'pg-west').status.timelineID).toBe(1);
  });

  it('rejects promptly with the signal’s reason when aborted mid-wait, saying what it last saw', async () => {
    await start({ switchAfterMs: 10_000, replayLagMs: 10_000 });
    const reason = new BatonError('step-timeout', 'fence-source timed out', { retriable: true });
    const controller = new AbortController();
    // Abort once the adapter has polled the fenced Cluster at least twice after its write.
    const watch = setInterval(() => {
      const log = server.requests('east').map((r) => r.method);
      if (log.slice(log.indexOf('PATCH')).filter((m) => m === 'GET').length >= 3) {
        clearInterval(watch);
        controller.abort(reason);
      }
    }, 5);
    const demoting = await rejection(
      clusters.demoteCnpgCluster(site, 'east', EAST_PG, {
        newPrimary: 'pg-west',
        pollMs: 20,
        signal: controller.signal,
      }),
    );
    clearInterval(watch);
    expect(demoting).toMatchObject({ code: 'step-timeout', retriable: true, cause: reason });
    // Rejected while the demotion was still under way (its token comes 10 s after the write), not once it was done.
    expect(server.cnpgCluster('east', 'db', 'pg-east').status.demotionToken).toBeUndefined();
    expect(demoting.message).toMatch(/^fence-source timed out — last seen: no demotion token yet, .*fenced/);

    // A read in flight is cut short too; a plain abort rejects with exactly its reason.
    server.setLatency('west', 2_000);
    const plain = new AbortController();
    setTimeout(() => plain.abort(), 100);
    const cut = await clusters
      .promoteCnpgCluster(site, 'west', WEST_PG, { signal: plain.signal, pollMs: 20 })
      .catch((error: unknown) => error);
    expect(cut).toBe(plain.signal.reason);
    expect(cut).toMatchObject({ name: 'AbortError' });
    await server.clearFaults();
    // Nothing was written: the abort came during the first read.
    expect(patches('west')).toEqual([]);
  });

  it('sees the operator act only after the write: the PATCH answer still shows the old status', async () => {
    await start();
    // Someone else (kubectl, or an earlier attempt) demotes it with the official client.
    const custom = load(server.kubeConfig(CONTEXTS)).makeApiClient(CustomObjectsApi);
    const answer = (await custom.patchNamespacedCustomObject(
      {
        group: 'postgresql.cnpg.io',
        version: 'v1',
        plural: 'clusters',
        ...EAST_PG,
        body: { spec: { replica: { primary: 'pg-west' } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as { spec: { replica: { primary: string } }; status: Record<string, unknown> };
    expect(answer.spec.replica.primary).toBe('pg-west');
    expect(answer.status.demotionToken).toBeUndefined();
    expect(answer.status.instancesReportedState).toEqual({ 'pg-east-1': { isPrimary: true, timeLineID: 1 } });
    expect(answer.status.switchReplicaClusterStatus).toEqual({});

    // Baton's demotion finds it under way, writes nothing and waits for the token.
    const demoted = await clusters.demoteCnpgCluster(site, 'east', EAST_PG, {
      newPrimary: 'pg-west',
      ...WAIT,
    });
    expect(demoted.changed).toBe(false);
    expect(parseCnpgDemotionToken(demoted.demotionToken).redoLsn).toBe('0/5000060');
    expect(patches('east')).toHaveLength(1);
  });

  it('refuses what CloudNativePG cannot switch over, naming what to do', async () => {
    await start();
    const notDistributed = await rejection(
      clusters.demoteCnpgCluster(
        site,
        'east',
        { namespace: 'db', name: 'pg-solo' },
        { newPrimary: 'pg-west' },
      ),
    );
    expect(notDistributed.code).toBe('cnpg-not-distributed');
    expect(notDistributed.message).toContain('replica_cluster/#distributed-topology');
    const replica = await rejection(
      clusters.demoteCnpgCluster(site, 'west', WEST_PG, { newPrimary: 'pg-north' }),
    );
    expect(replica.code).toBe('cnpg-not-primary');
    expect(replica.message).toContain('names pg-east as primary, not pg-north');
    const standalone = await rejection(
      clusters.promoteCnpgCluster(
        site,
        'west',
        { namespace: 'db', name: 'pg-standby' },
        { promotionToken: token() },
      ),
    );
    expect(standalone.code).toBe('cnpg-not-distributed');
    // The webhook's 422, with the field it names.
    const unknown = await rejection(
      clusters.demoteCnpgCluster(site, 'east', EAST_PG, { newPrimary: 'pg-north', ...WAIT }),
    );
    expect(unknown).toMatchObject({ code: 'cnpg-patch-rejected', retriable: false });
    expect(unknown.message).toContain(
      'spec.replicaCluster.primary: Invalid value: "pg-north": External cluster pg-north not found',
    );
    expect(unknown.message).toContain('kubectl get cluster -n db pg-east -o yaml');
    server.updateCnpgCluster('west', 'db', 'pg-west', (object) => {
      object.spec.replica = { ...object.spec.replica, minApplyDelay: '1h' };
    });
    const delayed = await rejection(
      clusters.promoteCnpgCluster(site, 'west', WEST_PG, { promotionToken: token(), ...WAIT }),
    );
    expect(delayed.code).toBe('cnpg-apply-delay');
    expect(server.requests().filter((r) => r.method === 'PATCH' && r.status < 400)).toEqual([]);
  });
});

/** A well-formed token, as CloudNativePG's own parser test builds it (pkg/utils/parser_test.go). */
function token(): string {
  return Buffer.from(
    JSON.stringify({
      latestCheckpointTimelineID: '3',
      redoWalFile: '000000010000000000000003',
      databaseSystemIdentifier: '12345678901234567890123456789012',
      latestCheckpointREDOLocation: '0/3000CC0',
      timeOfLatestCheckpoint: '2024-04-30 10:00:00 UTC',
      operatorVersion: '1.27.0',
    }),
  ).toString('base64');
}
