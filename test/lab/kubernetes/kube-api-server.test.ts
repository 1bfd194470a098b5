import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startKubeApiServer } from '../../../lab/kubernetes/kube-api-server.js';
import type { KubeApiServer } from '../../../lab/kubernetes/kube-api-server.js';
import { skipWhenMissing } from '../../support/skip-when-missing.js';

const execFileAsync = promisify(execFile);
const hasKubectl = await execFileAsync('kubectl', ['version', '--client'], { timeout: 10_000 }).then(
  () => true,
  () => false,
);

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // Responses are JSON of many shapes; the tests read fields by path.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** One HTTPS request on the wire, trusting only the stand-in's CA. */
function call(
  server: KubeApiServer,
  cluster: string,
  method: string,
  path: string,
  options: { body?: unknown; contentType?: string; token?: string; trustCa?: boolean } = {},
): Promise<Reply> {
  const url = new URL(path, server.url(cluster));
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent: false,
        ...(options.trustCa !== false && { ca: server.caCertificate }),
        headers: {
          Accept: 'application/json',
          ...(payload !== undefined && { 'Content-Type': options.contentType ?? 'application/json' }),
          ...(options.token !== undefined && { Authorization: `Bearer ${options.token}` }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(text) }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until the workload's controller has acted on its latest spec (it does so after a delay, as a real one). */
async function untilObserved(
  server: KubeApiServer,
  kind: 'Deployment' | 'StatefulSet',
  name: string,
): Promise<void> {
  for (;;) {
    const workload = server.workload('east', 'default', kind, name);
    if (workload.observedGeneration === workload.generation) return;
    await sleep(10);
  }
}
const WEB = '/apis/apps/v1/namespaces/default/deployments/web';
const PG = '/apis/postgresql.cnpg.io/v1/namespaces/db/clusters/pg-west';

describe('Kubernetes API stand-in on the wire', () => {
  let server: KubeApiServer;

  beforeAll(async () => {
    server = await startKubeApiServer({
      clusters: {
        east: {
          nodes: 3,
          podReadyAfterMs: 300,
          workloads: [
            {
              namespace: 'default',
              kind: 'Deployment',
              name: 'web',
              replicas: 2,
              images: ['registry.example/web:1.4', 'envoy:1.30'],
            },
            {
              namespace: 'default',
              kind: 'StatefulSet',
              name: 'queue',
              replicas: 1,
              images: ['registry.example/queue:2'],
            },
            {
              namespace: 'default',
              kind: 'Deployment',
              name: 'idle',
              replicas: 0,
              images: ['registry.example/idle:1'],
            },
          ],
        },
        west: {
          nodes: [
            { name: 'w1', ready: true },
            { name: 'w2', ready: false },
          ],
          token: 'west-secret-token',
          cnpgClusters: [
            { namespace: 'db', name: 'pg-west', replica: true, instances: 2, switchAfterMs: 300 },
          ],
        },
      },
    });
  });
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(async () => {
    await server.clearFaults();
    server.clearRequests();
  });

  it('serves plain discovery documents (what kubectl falls back to)', async () => {
    const version = await call(server, 'east', 'GET', '/version');
    expect(version.json).toMatchObject({ major: '1', gitVersion: expect.stringMatching(/^v1\.\d+\.\d+$/) });
    const api = await call(server, 'east', 'GET', '/api');
    expect(api.json).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const groups = await call(server, 'east', 'GET', '/apis');
    expect(groups.headers['content-type']).toBe('application/json');
    expect(groups.json.kind).toBe('APIGroupList');
    expect(groups.json.groups.map((g: { name: string }) => g.name)).toEqual([
      'apps',
      'authorization.k8s.io',
      'autoscaling',
      'argoproj.io',
      'postgresql.cnpg.io',
    ]);
    const autoscaling = await call(server, 'east', 'GET', '/apis/autoscaling/v2');
    expect(
      autoscaling.json.resources.find((r: { name: string }) => r.name === 'horizontalpodautoscalers'),
    ).toMatchObject({ kind: 'HorizontalPodAutoscaler', namespaced: true, verbs: ['get', 'list', 'patch'] });
    const apps = await call(server, 'east', 'GET', '/apis/apps/v1');
    const scale = apps.json.resources.find((r: { name: string }) => r.name === 'deployments/scale');
    expect(scale).toMatchObject({
      kind: 'Scale',
      group: 'autoscaling',
      version: 'v1',
      verbs: ['get', 'patch', 'update'],
    });
    const core = await call(server, 'east', 'GET', '/api/v1');
    expect(core.json.resources.map((r: { name: string }) => r.name)).toEqual(['namespaces', 'nodes', 'pods']);
    const cnpg = await call(server, 'east', 'GET', '/apis/postgresql.cnpg.io/v1');
    expect(cnpg.json.resources[0]).toMatchObject({ name: 'clusters', kind: 'Cluster', namespaced: true });
    const unknown = await call(server, 'east', 'GET', '/apis/batch/v1/jobs');
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'NotFound',
      code: 404,
    });
  });

  it('verifies as 127.0.0.1 against its own CA, and only against it', async () => {
    expect((await call(server, 'east', 'GET', '/version')).status).toBe(200);
    await expect(call(server, 'east', 'GET', '/version', { trustCa: false })).rejects.toMatchObject({
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
  });

  it('lists nodes with Ready conditions, per cluster, and follows readiness changes', async () => {
    const east = await call(server, 'east', 'GET', '/api/v1/nodes');
    expect(east.json.kind).toBe('NodeList');
    expect(east.json.items.map((n: { metadata: { name: string } }) => n.metadata.name)).toEqual([
      'east-node-1',
      'east-node-2',
      'east-node-3',
    ]);
    const readyOf = (items: { status: { conditions: { type: string; status: string }[] } }[]) =>
      items.map((n) => n.status.conditions.find((c) => c.type === 'Ready')?.status);
    expect(readyOf(east.json.items)).toEqual(['True', 'True', 'True']);
    const west = await call(server, 'west', 'GET', '/api/v1/nodes', { token: 'west-secret-token' });
    expect(readyOf(west.json.items)).toEqual(['True', 'Unknown']);

    server.setNodeReady('east', 'east-node-2', false);
    const after = await call(server, 'east', 'GET', '/api/v1/nodes');
    expect(readyOf(after.json.items)).toEqual(['True', 'Unknown', 'True']);
    expect(Number(after.json.metadata.resourceVersion)).toBeGreaterThan(
      Number(east.json.metadata.resourceVersion),
    );
    server.setNodeReady('east', 'east-node-2', true);
  });

  it('pages lists with limit and continue', async () => {
    const first = await call(server, 'east', 'GET', '/api/v1/nodes?limit=2');
    expect(first.json.items).toHaveLength(2);
    expect(first.json.metadata.remainingItemCount).toBe(1);
    const second = await call(
      server,
      'east',
      'GET',
      `/api/v1/nodes?limit=2&continue=${first.json.metadata.continue}`,
    );
    expect(second.json.items.map((n: { metadata: { name: string } }) => n.metadata.name)).toEqual([
      'east-node-3',
    ]);
    expect(second.json.metadata.continue).toBeUndefined();
  });

  it('serves Deployments and StatefulSets as apps/v1 does, omitting zero counts', async () => {
    const web = await call(server, 'east', 'GET', WEB);
    expect(web.json).toMatchObject({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default', generation: 1 },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } } },
      status: {
        replicas: 2,
        readyReplicas: 2,
        availableReplicas: 2,
        updatedReplicas: 2,
        observedGeneration: 1,
      },
    });
    expect(web.json.spec.template.spec.containers.map((c: { image: string }) => c.image)).toEqual([
      'registry.example/web:1.4',
      'envoy:1.30',
    ]);
    const idle = await call(server, 'east', 'GET', '/apis/apps/v1/namespaces/default/deployments/idle');
    expect(idle.json.status).toEqual(
      expect.not.objectContaining({ readyReplicas: expect.anything(), replicas: expect.anything() }),
    );
    const sts = await call(server, 'east', 'GET', '/apis/apps/v1/namespaces/default/statefulsets/queue');
    expect(sts.json).toMatchObject({
      kind: 'StatefulSet',
      spec: { replicas: 1, podManagementPolicy: 'OrderedReady' },
      status: { replicas: 1, readyReplicas: 1 },
    });
    const list = await call(server, 'east', 'GET', '/apis/apps/v1/namespaces/default/deployments');
    expect(list.json.kind).toBe('DeploymentList');
    expect(list.json.items.map((d: { metadata: { name: string } }) => d.metadata.name)).toEqual([
      'web',
      'idle',
    ]);
  });

  it('answers a missing object with a NotFound Status naming it', async () => {
    const missing = await call(server, 'east', 'GET', '/apis/apps/v1/namespaces/default/deployments/x/scale');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'deployments.apps "x" not found',
      reason: 'NotFound',
      details: { name: 'x', group: 'apps', kind: 'deployments' },
      code: 404,
    });
  });

  it('replaces the scale subresource honouring resourceVersion', async () => {
    const scale = await call(server, 'east', 'GET', `${WEB}/scale`);
    expect(scale.json).toMatchObject({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: 'web', namespace: 'default' },
      spec: { replicas: 2 },
      status: { replicas: 2, selector: 'app=web' },
    });
    const before = server.workload('east', 'default', 'Deployment', 'web');
    const put = await call(server, 'east', 'PUT', `${WEB}/scale`, {
      body: { ...scale.json, spec: { replicas: 2 } },
    });
    expect(put.status).toBe(200);
    expect(server.workload('east', 'default', 'Deployment', 'web').resourceVersion).toBe(
      before.resourceVersion,
    );

    const stale = {
      ...scale.json,
      metadata: { ...scale.json.metadata, resourceVersion: '1' },
      spec: { replicas: 3 },
    };
    const conflict = await call(server, 'east', 'PUT', `${WEB}/scale`, { body: stale });
    expect(conflict.status).toBe(409);
    expect(conflict.json).toMatchObject({
      reason: 'Conflict',
      code: 409,
      message:
        'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again',
      details: { name: 'web', group: 'apps', kind: 'deployments' },
    });
    expect(server.workload('east', 'default', 'Deployment', 'web').replicas).toBe(2);

    const ok = await call(server, 'east', 'PUT', `${WEB}/scale`, {
      body: { ...scale.json, spec: { replicas: 3 } },
    });
    expect(ok.status).toBe(200);
    expect(ok.json.spec.replicas).toBe(3);
    const after = server.workload('east', 'default', 'Deployment', 'web');
    expect(after.replicas).toBe(3);
    expect(after.generation).toBe(before.generation + 1);
    expect(Number(ok.json.metadata.resourceVersion)).toBeGreaterThan(
      Number(scale.json.metadata.resourceVersion),
    );
    // The old resourceVersion is now stale.
    expect((await call(server, 'east', 'PUT', `${WEB}/scale`, { body: scale.json })).status).toBe(409);
    await call(server, 'east', 'PUT', `${WEB}/scale`, { body: { spec: { replicas: 2 } } });
  });

  it('accepts merge, strategic-merge and JSON patches of the scale, and refuses other content types', async () => {
    const merge = await call(server, 'east', 'PATCH', `${WEB}/scale`, {
      body: { spec: { replicas: 4 } },
      contentType: 'application/merge-patch+json',
    });
    expect(merge.json.spec.replicas).toBe(4);
    const strategic = await call(server, 'east', 'PATCH', `${WEB}/scale`, {
      body: { spec: { replicas: 3 } },
      contentType: 'application/strategic-merge-patch+json',
    });
    expect(strategic.json.spec.replicas).toBe(3);
    const replace = await call(server, 'east', 'PATCH', `${WEB}/scale`, {
      body: [{ op: 'replace', path: '/spec/replicas', value: 1 }],
      contentType: 'application/json-patch+json',
    });
    expect(replace.json.spec.replicas).toBe(1);
    const add = await call(server, 'east', 'PATCH', `${WEB}/scale`, {
      body: [{ op: 'add', path: '/spec/replicas', value: 2 }],
      contentType: 'application/json-patch+json',
    });
    expect(add.json.spec.replicas).toBe(2);
    expect(server.workload('east', 'default', 'Deployment', 'web').replicas).toBe(2);

    const failedTest = await call(server, 'east', 'PATCH', `${WEB}/scale`, {
      body: [
        { op: 'test', path: '/spec/replicas', value: 9 },
        { op: 'replace', path: '/spec/replicas', value: 5 },
      ],
      contentType: 'application/json-patch+json',
    });
    expect(failedTest.status).toBe(422);
    const plain = await call(server, 'east', 'PATCH', `${WEB}/scale`, {
      body: { spec: { replicas: 5 } },
      contentType: 'application/json',
    });
    expect(plain.status).toBe(415);
    expect(plain.json).toMatchObject({ reason: 'UnsupportedMediaType', code: 415 });
    expect(plain.json.message).toContain('application/merge-patch+json');
    expect(server.workload('east', 'default', 'Deployment', 'web').replicas).toBe(2);
  });

  it('validates replicas like the API: 422 Invalid with causes, 400 for a wrong type', async () => {
    const negative = await call(server, 'east', 'PATCH', `${WEB}/scale`, {
      body: { spec: { replicas: -1 } },
      contentType: 'application/merge-patch+json',
    });
    expect(negative.status).toBe(422);
    expect(negative.json).toMatchObject({
      reason: 'Invalid',
      message:
        'Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
      details: {
        name: 'web',
        group: 'autoscaling',
        kind: 'Scale',
        causes: [
          {
            reason: 'FieldValueInvalid',
            field: 'spec.replicas',
            message: 'Invalid value: -1: must be greater than or equal to 0',
          },
        ],
      },
    });
    const text = await call(server, 'east', 'PATCH', `${WEB}/scale`, {
      body: { spec: { replicas: 'two' } },
      contentType: 'application/merge-patch+json',
    });
    expect(text.status).toBe(400);
    expect(text.json.reason).toBe('BadRequest');
  });

  it('creates pods on scale-up that become Ready after the delay; scale-down is immediate once observed', async () => {
    await sleep(350); // pods created by earlier tests become Ready
    await call(server, 'east', 'PATCH', `${WEB}/scale`, {
      body: { spec: { replicas: 4 } },
      contentType: 'application/merge-patch+json',
    });
    await untilObserved(server, 'Deployment', 'web');
    const pods = await call(server, 'east', 'GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb');
    expect(pods.json.kind).toBe('PodList');
    const readiness = (items: { status: { conditions: { type: string; status: string }[] } }[]) =>
      items.map((p) => p.status.conditions.find((c) => c.type === 'Ready')?.status).sort();
    expect(readiness(pods.json.items)).toEqual(['False', 'False', 'True', 'True']);
    const during = await call(server, 'east', 'GET', WEB);
    expect(during.json.status).toMatchObject({
      replicas: 4,
      readyReplicas: 2,
      unavailableReplicas: 2,
      observedGeneration: during.json.metadata.generation,
    });

    await sleep(350);
    const later = await call(
      server,
      'east',
      'GET',
      '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb',
    );
    expect(readiness(later.json.items)).toEqual(['True', 'True', 'True', 'True']);
    const ready = await call(server, 'east', 'GET', WEB);
    expect(ready.json.status).toMatchObject({ replicas: 4, readyReplicas: 4, availableReplicas: 4 });
    // The status change is a write of its own, as the controller's would be.
    expect(Number(ready.json.metadata.resourceVersion)).toBeGreaterThan(
      Number(during.json.metadata.resourceVersion),
    );

    await call(server, 'east', 'PATCH', `${WEB}/scale`, {
      body: { spec: { replicas: 1 } },
      contentType: 'application/merge-patch+json',
    });
    await untilObserved(server, 'Deployment', 'web');
    const down = await call(server, 'east', 'GET', WEB);
    expect(down.json.status).toMatchObject({ replicas: 1, readyReplicas: 1 });
    const others = await call(
      server,
      'east',
      'GET',
      '/api/v1/namespaces/default/pods?labelSelector=app%20notin%20(web)',
    );
    expect(others.json.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual([
      'queue-0',
    ]);
    await call(server, 'east', 'PATCH', `${WEB}/scale`, {
      body: { spec: { replicas: 2 } },
      contentType: 'application/merge-patch+json',
    });
    await sleep(350);
  });

  it('creates StatefulSet pods one at a time, each after the previous is Ready', async () => {
    await call(server, 'east', 'PATCH', '/apis/apps/v1/namespaces/default/statefulsets/queue/scale', {
      body: { spec: { replicas: 3 } },
      contentType: 'application/merge-patch+json',
    });
    await untilObserved(server, 'StatefulSet', 'queue');
    expect(server.workload('east', 'default', 'StatefulSet', 'queue').pods).toEqual([
      { name: 'queue-0', ready: true },
      { name: 'queue-1', ready: false },
    ]);
    await sleep(350);
    expect(server.workload('east', 'default', 'StatefulSet', 'queue').pods).toEqual([
      { name: 'queue-0', ready: true },
      { name: 'queue-1', ready: true },
      { name: 'queue-2', ready: false },
    ]);
    await sleep(350);
    expect(server.workload('east', 'default', 'StatefulSet', 'queue').readyReplicas).toBe(3);
    await call(server, 'east', 'PUT', '/apis/apps/v1/namespaces/default/statefulsets/queue/scale', {
      body: { spec: { replicas: 1 } },
    });
    await untilObserved(server, 'StatefulSet', 'queue');
    expect(server.workload('east', 'default', 'StatefulSet', 'queue').pods.map((p) => p.name)).toEqual([
      'queue-0',
    ]);
  });

  it('requires the bearer token where one is configured', async () => {
    const none = await call(server, 'west', 'GET', '/api/v1/nodes');
    expect(none.status).toBe(401);
    expect(none.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
    expect((await call(server, 'west', 'GET', '/api/v1/nodes', { token: 'wrong' })).status).toBe(401);
    expect((await call(server, 'west', 'GET', '/api/v1/nodes', { token: 'west-secret-token' })).status).toBe(
      200,
    );
    const log = server.requests('west');
    expect(log.map((r) => [r.authorization, r.status])).toEqual([
      [false, 401],
      [true, 401],
      [true, 200],
    ]);
    expect(JSON.stringify(log)).not.toContain('west-secret-token');
  });

  it('injects failures by method and path, with Retry-After on 429', async () => {
    server.failNext('east', { status: 429, retryAfterSeconds: 2, method: 'GET', path: '/deployments/web' });
    server.failNext('east', { status: 503, times: 2, path: /\/nodes$/ });
    const throttled = await call(server, 'east', 'GET', WEB);
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBe('2');
    expect(throttled.json).toMatchObject({
      reason: 'TooManyRequests',
      details: { retryAfterSeconds: 2 },
      code: 429,
    });
    expect((await call(server, 'east', 'GET', WEB)).status).toBe(200);
    expect((await call(server, 'east', 'GET', '/api/v1/nodes')).json.reason).toBe('ServiceUnavailable');
    expect((await call(server, 'east', 'GET', '/api/v1/nodes')).status).toBe(503);
    expect((await call(server, 'east', 'GET', '/api/v1/nodes')).status).toBe(200);

    server.failNext('east', { status: 500 });
    expect((await call(server, 'east', 'GET', '/version')).json).toMatchObject({
      reason: 'InternalError',
      code: 500,
    });
    server.failNext('east', { status: 409, method: 'PUT' });
    const conflict = await call(server, 'east', 'PUT', `${WEB}/scale`, { body: { spec: { replicas: 2 } } });
    expect(conflict.json.message).toContain('Operation cannot be fulfilled on deployments.apps "web"');
  });

  it('adds latency', async () => {
    server.setLatency('east', 200);
    const started = Date.now();
    await call(server, 'east', 'GET', '/version');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('denies a verb on a resource with the real RBAC message', async () => {
    server.deny('east', {
      verb: 'patch',
      group: 'apps',
      resource: 'deployments',
      subresource: 'scale',
      namespace: 'default',
    });
    server.deny('east', { verb: 'list', resource: 'nodes' });
    const patch = await call(server, 'east', 'PATCH', `${WEB}/scale`, {
      body: { spec: { replicas: 3 } },
      contentType: 'application/merge-patch+json',
    });
    expect(patch.status).toBe(403);
    expect(patch.json).toMatchObject({
      reason: 'Forbidden',
      code: 403,
      message:
        'deployments.apps "web" is forbidden: User "system:serviceaccount:baton:baton" cannot patch resource "deployments/scale" in API group "apps" in the namespace "default"',
      details: { name: 'web', group: 'apps', kind: 'deployments' },
    });
    const nodes = await call(server, 'east', 'GET', '/api/v1/nodes');
    expect(nodes.json.message).toBe(
      'nodes is forbidden: User "system:serviceaccount:baton:baton" cannot list resource "nodes" in API group "" at the cluster scope',
    );
    // Other verbs are still allowed.
    expect((await call(server, 'east', 'GET', `${WEB}/scale`)).status).toBe(200);
  });

  it('resets connections or refuses them during an outage, and recovers', async () => {
    await server.setOutage('east', 'reset');
    await expect(call(server, 'east', 'GET', '/version')).rejects.toMatchObject({ code: 'ECONNRESET' });
    await server.setOutage('east', 'refused');
    await expect(call(server, 'east', 'GET', '/version')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect((await call(server, 'west', 'GET', '/version', { token: 'west-secret-token' })).status).toBe(200);
    await server.setOutage('east', null);
    expect((await call(server, 'east', 'GET', '/version')).status).toBe(200);
  });

  it('serves CloudNativePG Clusters and promotes a replica after its delay', async () => {
    const token = 'west-secret-token';
    const before = await call(server, 'west', 'GET', PG, { token });
    expect(before.json).toMatchObject({
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Cluster',
      spec: { instances: 2, replica: { enabled: true, source: 'pg-west-origin' } },
      status: {
        phase: 'Cluster in healthy state',
        currentPrimary: 'pg-west-1',
        targetPrimary: 'pg-west-1',
        instancesReportedState: { 'pg-west-1': { isPrimary: false }, 'pg-west-2': { isPrimary: false } },
        conditions: [{ type: 'Ready', status: 'True', reason: 'ClusterIsReady' }],
      },
    });
    const strategic = await call(server, 'west', 'PATCH', PG, {
      token,
      body: { spec: { replica: { enabled: false } } },
      contentType: 'application/strategic-merge-patch+json',
    });
    expect(strategic.status).toBe(415);
    const stale = await call(server, 'west', 'PATCH', PG, {
      token,
      body: { metadata: { resourceVersion: '1' }, spec: { replica: { enabled: false } } },
      contentType: 'application/merge-patch+json',
    });
    expect(stale.status).toBe(409);

    const patched = await call(server, 'west', 'PATCH', PG, {
      token,
      body: { spec: { replica: { enabled: false } } },
      contentType: 'application/merge-patch+json',
    });
    expect(patched.status).toBe(200);
    expect(patched.json.metadata.generation).toBe(2);
    // The write changes spec only: the operator acts on it afterwards, as the real reconciler does.
    expect(patched.json.spec.replica).toEqual({ enabled: false, source: 'pg-west-origin' });
    expect(patched.json.status).toMatchObject({
      phase: 'Cluster in healthy state',
      conditions: [{ type: 'Ready', status: 'True' }],
    });
    const promoting = await call(server, 'west', 'GET', PG, { token });
    expect(promoting.json.status).toMatchObject({
      phase: 'Promoting to primary cluster',
      conditions: [{ type: 'Ready', status: 'False', reason: 'ClusterIsNotReady' }],
    });
    expect(Number(promoting.json.metadata.resourceVersion)).toBeGreaterThan(
      Number(patched.json.metadata.resourceVersion),
    );
    await sleep(350);
    const after = await call(server, 'west', 'GET', PG, { token });
    expect(after.json.status).toMatchObject({
      phase: 'Cluster in healthy state',
      timelineID: 2,
      instancesReportedState: {
        'pg-west-1': { isPrimary: true, timeLineID: 2 },
        'pg-west-2': { isPrimary: false },
      },
      conditions: [{ type: 'Ready', status: 'True' }],
    });
    // Writes to the main resource leave status alone.
    const statusWrite = await call(server, 'west', 'PATCH', PG, {
      token,
      body: [{ op: 'replace', path: '/status/phase', value: 'hacked' }],
      contentType: 'application/json-patch+json',
    });
    expect(statusWrite.json.status.phase).toBe('Cluster in healthy state');
    const list = await call(server, 'west', 'GET', '/apis/postgresql.cnpg.io/v1/namespaces/db/clusters', {
      token,
    });
    expect(list.json).toMatchObject({ kind: 'ClusterList', items: [{ metadata: { name: 'pg-west' } }] });
    expect(
      (
        await call(server, 'west', 'GET', '/apis/postgresql.cnpg.io/v1/namespaces/db/clusters/nope', {
          token,
        })
      ).json.message,
    ).toBe('clusters.postgresql.cnpg.io "nope" not found');
  });

  it('writes a kubeconfig with one cluster, user and context per cluster and the CA', () => {
    const config = server.kubeConfig({ east: 'active-cluster', west: 'passive-cluster' });
    expect(config['current-context']).toBe('active-cluster');
    expect(config.contexts).toEqual([
      { name: 'active-cluster', context: { cluster: 'active-cluster', user: 'active-cluster-user' } },
      { name: 'passive-cluster', context: { cluster: 'passive-cluster', user: 'passive-cluster-user' } },
    ]);
    expect(config.clusters[1]?.cluster.server).toBe(server.url('west'));
    expect(
      Buffer.from(config.clusters[0]?.cluster['certificate-authority-data'] ?? '', 'base64').toString(),
    ).toBe(server.caCertificate);
    expect(config.users[1]?.user.token).toBe('west-secret-token');
    expect(server.kubeconfigYaml({ east: 'a' })).toContain('current-context: a');
  });

  describe('through kubectl', () => {
    const skipKubectl = skipWhenMissing('the kubectl tests', hasKubectl ? [] : ['kubectl']);
    let dir: string;
    let kubeconfig: string;
    const kubectl = async (...args: string[]) =>
      (
        await execFileAsync(
          'kubectl',
          ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args],
          {
            timeout: 20_000,
          },
        )
      ).stdout;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'baton-kubectl-'));
      kubeconfig = join(dir, 'config');
      await writeFile(kubeconfig, server.kubeconfigYaml({ east: 'active-cluster', west: 'passive-cluster' }));
    });
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it.skipIf(skipKubectl)('gets nodes of each context', async () => {
      expect(await kubectl('--context', 'active-cluster', 'get', 'nodes')).toMatch(
        /east-node-1[\s\S]*east-node-3/,
      );
      const west = await kubectl('--context', 'passive-cluster', 'get', 'nodes', '-o', 'name');
      expect(west.trim().split('\n')).toEqual(['node/w1', 'node/w2']);
    });

    it.skipIf(skipKubectl)('gets a Deployment as JSON', async () => {
      const web = JSON.parse(
        await kubectl('--context', 'active-cluster', 'get', 'deploy', 'web', '-n', 'default', '-o', 'json'),
      );
      expect(web).toMatchObject({ kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 2 } });
    });

    it.skipIf(skipKubectl)('scales a Deployment through the scale subresource', async () => {
      expect(
        await kubectl('--context', 'active-cluster', 'scale', 'deploy/web', '-n', 'default', '--replicas=3'),
      ).toContain('deployment.apps/web scaled');
      expect(server.workload('east', 'default', 'Deployment', 'web').replicas).toBe(3);
      const patch = server.requests('east').find((r) => r.method === 'PATCH');
      expect(patch).toMatchObject({
        path: `${WEB}/scale`,
        contentType: 'application/merge-patch+json',
        body: { spec: { replicas: 3 } },
      });
      await expect(
        kubectl('--context', 'active-cluster', 'get', 'deploy', 'nope', '-n', 'default'),
      ).rejects.toThrow(/deployments\.apps "nope" not found/);
    });
  });
});

describe('the CloudNativePG operator of the stand-in', () => {
  const EAST = '/apis/postgresql.cnpg.io/v1/namespaces/db/clusters/pg-east';
  const WEST = '/apis/postgresql.cnpg.io/v1/namespaces/db/clusters/pg-west';
  const MERGE = 'application/merge-patch+json';
  let server: KubeApiServer;

  beforeEach(async () => {
    const timing = { reconcileAfterMs: 40, switchAfterMs: 120 };
    server = await startKubeApiServer({
      clusters: {
        east: {
          cnpgClusters: [
            {
              namespace: 'db',
              name: 'pg-east',
              distributed: { primary: 'pg-east', source: 'pg-west' },
              ...timing,
            },
          ],
        },
        west: {
          cnpgClusters: [
            {
              namespace: 'db',
              name: 'pg-west',
              distributed: { primary: 'pg-east', source: 'pg-east' },
              replayLagMs: 400,
              ...timing,
            },
          ],
        },
      },
    });
  });
  afterEach(async () => {
    await server?.close();
  });

  const decode = (token: string): Record<string, string> =>
    JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as Record<string, string>;
  const condition = (json: { status: { conditions: { type: string }[] } }, type: string) =>
    json.status.conditions.find((c) => c.type === type);

  it('demotes asynchronously: fences, shuts down, then publishes a pg_controldata token', async () => {
    const before = await call(server, 'east', 'GET', EAST);
    expect(before.json.spec.replica).toEqual({ primary: 'pg-east', source: 'pg-west' });
    expect(before.json.spec.externalClusters.map((c: { name: string }) => c.name)).toEqual([
      'pg-east',
      'pg-west',
    ]);
    const systemId = before.json.status.systemID;
    expect(systemId).toMatch(/^\d{19}$/);
    // The replica cluster is a clone of the same database.
    expect((await call(server, 'west', 'GET', WEST)).json.status).toMatchObject({
      systemID: systemId,
      instancesReportedState: { 'pg-west-1': { isPrimary: false, timeLineID: 1 } },
    });

    const patched = await call(server, 'east', 'PATCH', EAST, {
      body: { spec: { replica: { primary: 'pg-west' } } },
      contentType: MERGE,
    });
    expect(patched.status).toBe(200);
    expect(patched.json.status).toEqual(before.json.status);
    expect(patched.json.metadata.annotations).toBeUndefined();

    await sleep(60);
    const fenced = await call(server, 'east', 'GET', EAST);
    expect(fenced.json.metadata.annotations).toEqual({ 'cnpg.io/fencedInstances': '["*"]' });
    expect(fenced.json.status).toMatchObject({
      // The real operator leaves the phase alone while it demotes: only the token says it is done.
      phase: 'Cluster in healthy state',
      switchReplicaClusterStatus: { inProgress: true },
    });
    expect(fenced.json.status.demotionToken).toBeUndefined();
    expect(condition(fenced.json, 'ReplicaClusterSwitch')).toMatchObject({
      status: 'False',
      message: 'Starting the Replica cluster transition',
    });
    expect(condition(fenced.json, 'ReplicaClusterFencing')).toMatchObject({ status: 'True' });

    await sleep(150);
    const demoted = await call(server, 'east', 'GET', EAST);
    expect(demoted.json.metadata.annotations).toBeUndefined();
    expect(demoted.json.status).toMatchObject({
      switchReplicaClusterStatus: {},
      instancesReportedState: { 'pg-east-1': { isPrimary: false, timeLineID: 1 } },
    });
    expect(condition(demoted.json, 'ReplicaClusterSwitch')).toMatchObject({
      status: 'True',
      message: 'Completed the Replica cluster transition',
    });
    expect(condition(demoted.json, 'ReplicaClusterFencing')).toBeUndefined();
    const token = decode(demoted.json.status.demotionToken);
    expect(Object.keys(token)).toEqual([
      'latestCheckpointTimelineID',
      'redoWalFile',
      'databaseSystemIdentifier',
      'latestCheckpointREDOLocation',
      'timeOfLatestCheckpoint',
      'operatorVersion',
    ]);
    expect(token).toMatchObject({
      latestCheckpointTimelineID: '1',
      databaseSystemIdentifier: systemId,
      latestCheckpointREDOLocation: '0/5000060',
      // Timeline 1, segment 5 of 16 MiB.
      redoWalFile: '000000010000000000000005',
      timeOfLatestCheckpoint: expect.stringMatching(/^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/),
    });
  });

  it('refuses through its webhook what CloudNativePG refuses, with a 422 naming the field', async () => {
    const refused = async (cluster: string, path: string, replica: Record<string, unknown>) => {
      const reply = await call(server, cluster, 'PATCH', path, {
        body: { spec: { replica } },
        contentType: MERGE,
      });
      expect(reply.status).toBe(422);
      expect(reply.json).toMatchObject({ reason: 'Invalid', details: { kind: 'Cluster' } });
      return reply.json.message as string;
    };
    expect(await refused('east', EAST, { primary: 'pg-north' })).toBe(
      'admission webhook "vcluster.cnpg.io" denied the request: Cluster.cluster.cnpg.io "pg-east" is invalid: ' +
        'spec.replicaCluster.primary: Invalid value: "pg-north": External cluster pg-north not found',
    );
    expect(await refused('east', EAST, { enabled: true })).toContain(
      'spec.replicaCluster.enabled: Forbidden: replica mode enabled is not compatible with the primary field',
    );
    expect(await refused('west', WEST, { promotionToken: 'e30=' })).toContain(
      'promotionToken is only allowed for primary clusters',
    );
    expect(await refused('west', WEST, { primary: 'pg-west', promotionToken: '***(((|||)))' })).toContain(
      'Invalid promotionToken format: invalid promotion token (Base64 decoding failed)',
    );
    expect(await refused('west', WEST, { primary: 'pg-west', promotionToken: 'e30=' })).toContain(
      'Invalid promotionToken content: invalid promotion token (LatestCheckpointTimelineID is empty)',
    );
    const token = Buffer.from(JSON.stringify({ latestCheckpointTimelineID: '1' })).toString('base64');
    expect(
      await refused('west', WEST, { primary: 'pg-west', promotionToken: token, minApplyDelay: '1h' }),
    ).toContain('minApplyDelay cannot be applied with a promotion token');
    // Nothing was written.
    expect((await call(server, 'west', 'GET', WEST)).json.metadata.generation).toBe(1);
  });

  it('promotes with the token only once the replica has replayed up to it; the old primary follows', async () => {
    await call(server, 'east', 'PATCH', EAST, {
      body: { spec: { replica: { primary: 'pg-west' } } },
      contentType: MERGE,
    });
    await sleep(220);
    const token = (await call(server, 'east', 'GET', EAST)).json.status.demotionToken as string;
    expect(token).toBeTruthy();

    const patched = await call(server, 'west', 'PATCH', WEST, {
      body: { spec: { replica: { primary: 'pg-west', promotionToken: token } } },
      contentType: MERGE,
    });
    expect(patched.status).toBe(200);
    expect(patched.json.status.phase).toBe('Cluster in healthy state');
    await sleep(140);
    // The replica replays 400 ms behind: the instance manager waits for the token's LSN.
    const waiting = await call(server, 'west', 'GET', WEST);
    expect(waiting.json.status).toMatchObject({
      phase: 'Promoting to primary cluster',
      phaseReason: 'Replica cluster promotion in progress',
      instancesReportedState: { 'pg-west-1': { isPrimary: false, timeLineID: 1 } },
    });
    expect(waiting.json.status.lastPromotionToken).toBeUndefined();

    await sleep(300);
    const promoted = await call(server, 'west', 'GET', WEST);
    expect(promoted.json.status).toMatchObject({
      phase: 'Cluster in healthy state',
      timelineID: 2,
      lastPromotionToken: token,
      instancesReportedState: { 'pg-west-1': { isPrimary: true, timeLineID: 2 } },
      conditions: [{ type: 'Ready', status: 'True' }],
    });
    // The demoted primary stopped exactly where the new timeline forked: it follows onto it.
    expect((await call(server, 'east', 'GET', EAST)).json.status).toMatchObject({
      timelineID: 2,
      instancesReportedState: { 'pg-east-1': { isPrimary: false, timeLineID: 2 } },
    });
  });

  it('marks a replica unrecoverable on a token of another database, and does not promote it', async () => {
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
    const patched = await call(server, 'west', 'PATCH', WEST, {
      body: { spec: { replica: { primary: 'pg-west', promotionToken: foreign } } },
      contentType: MERGE,
    });
    expect(patched.status).toBe(200);
    await sleep(160);
    const refused = await call(server, 'west', 'GET', WEST);
    expect(refused.json.status).toMatchObject({
      phase: 'Cluster is unrecoverable and needs manual intervention',
      phaseReason: 'Promotion token content is not correct for current instance',
      timelineID: 1,
      instancesReportedState: { 'pg-west-1': { isPrimary: false } },
      conditions: [{ type: 'Ready', status: 'False' }],
    });
    expect(refused.json.status.lastPromotionToken).toBeUndefined();
  });

  it('promotes without a token as a failover: the old primary has diverged and cannot follow', async () => {
    await call(server, 'west', 'PATCH', WEST, {
      body: { spec: { replica: { primary: 'pg-west' } } },
      contentType: MERGE,
    });
    await sleep(160);
    expect((await call(server, 'west', 'GET', WEST)).json.status).toMatchObject({
      phase: 'Cluster in healthy state',
      timelineID: 2,
      instancesReportedState: { 'pg-west-1': { isPrimary: true } },
    });
    // Two primaries now, as with the real operator: the old one was never told.
    expect((await call(server, 'east', 'GET', EAST)).json.status.instancesReportedState['pg-east-1']).toEqual(
      {
        isPrimary: true,
        timeLineID: 1,
      },
    );
    await call(server, 'east', 'PATCH', EAST, {
      body: { spec: { replica: { primary: 'pg-west' } } },
      contentType: MERGE,
    });
    await sleep(600);
    // Its shutdown checkpoint lies past the fork point of timeline 2: it stays on timeline 1 (it must be rebuilt).
    expect((await call(server, 'east', 'GET', EAST)).json.status).toMatchObject({
      timelineID: 1,
      instancesReportedState: { 'pg-east-1': { isPrimary: false, timeLineID: 1 } },
    });
  });
});
