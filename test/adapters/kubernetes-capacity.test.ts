/**
 * The Kubernetes adapter's readiness reads against the API stand-in: a workload's pod template (images, env names,
 * requests, the ConfigMaps and Secrets it refers to, one pod's effective request), and the Ready, schedulable nodes'
 * allocatable resources with what their pods request — quantities as the API serves them (`250m`, `1Gi`, `512M`).
 */
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { KubernetesClusters } from '../../src/adapters/kubernetes.js';
import type { SiteConfig } from '../../src/config/topology.js';
import type { WorkloadRef } from '../../src/core/ports.js';
import { createLogger } from '../../src/logger.js';
import { startKubeApiServer } from '../../lab/kubernetes/kube-api-server.js';
import type { KubeApiServer, StandInClusterOptions } from '../../lab/kubernetes/kube-api-server.js';

const WEB: WorkloadRef = { namespace: 'shop', kind: 'Deployment', name: 'web' };
const QUEUE: WorkloadRef = { namespace: 'shop', kind: 'StatefulSet', name: 'queue' };
const KiB = 1024;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

const site = {
  name: 'production',
  homeCluster: 'east',
  clusters: { east: { kubeContext: 'east' }, west: { kubeContext: 'west' } },
  workloads: [
    { ...WEB, replicas: 4, standbyReplicas: 1 },
    { ...QUEUE, replicas: 2, standbyReplicas: 1 },
  ],
} as unknown as SiteConfig; // only what the adapter reads

let server: KubeApiServer | undefined;

async function start(west: StandInClusterOptions): Promise<KubernetesClusters> {
  server = await startKubeApiServer({ clusters: { east: { nodes: 1 }, west } });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(JSON.stringify(server.kubeConfig({ east: 'east', west: 'west' })));
  return new KubernetesClusters({
    kubeConfig,
    log: createLogger({ level: 'silent' }),
    retry: { attempts: 2, baseDelayMs: 10 },
  });
}

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('workloadTemplate', () => {
  it('reads images, env names, requests and every ConfigMap and Secret the template refers to', async () => {
    const clusters = await start({
      workloads: [
        {
          ...WEB,
          replicas: 1,
          images: ['registry.example/web:1.5', 'registry.example/envoy:1.31'],
          template: {
            containers: [
              {
                env: [
                  { name: 'LOG_LEVEL', value: 'info' },
                  { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'web-db', key: 'url' } } },
                  {
                    name: 'FEATURES',
                    valueFrom: { configMapKeyRef: { name: 'web-features', key: 'flags' } },
                  },
                ],
                envFrom: [{ configMapRef: { name: 'web-config' } }, { secretRef: { name: 'web-api-keys' } }],
                requests: { cpu: '250m', memory: '1Gi' },
              },
              { requests: { cpu: '0.1', memory: '512M' } },
            ],
            initContainers: [
              { name: 'migrate', image: 'registry.example/web:1.5', requests: { cpu: '1', memory: '256Mi' } },
            ],
            volumes: [
              { name: 'certs', secret: { secretName: 'web-tls' } },
              { name: 'settings', configMap: { name: 'web-settings' } },
              {
                name: 'bundle',
                projected: {
                  sources: [{ configMap: { name: 'ca-bundle' } }, { secret: { name: 'web-token' } }],
                },
              },
            ],
            imagePullSecrets: ['registry-pull'],
          },
        },
      ],
    });
    const template = await clusters.workloadTemplate(site, 'west', WEB);
    expect(template).toEqual({
      containers: [
        {
          name: 'web',
          image: 'registry.example/web:1.5',
          envNames: ['DATABASE_URL', 'FEATURES', 'LOG_LEVEL'],
          requests: { cpuMillis: 250, memoryBytes: 1 * GiB },
        },
        {
          name: 'envoy',
          image: 'registry.example/envoy:1.31',
          envNames: [],
          requests: { cpuMillis: 100, memoryBytes: 512_000_000 },
        },
      ],
      configMaps: ['ca-bundle', 'web-config', 'web-features', 'web-settings'],
      secrets: ['registry-pull', 'web-api-keys', 'web-db', 'web-tls', 'web-token'],
      // The init container's 1 CPU outweighs the containers' 350m; their memory (1 GiB + 512 MB) outweighs its.
      podRequests: { cpuMillis: 1000, memoryBytes: 1 * GiB + 512_000_000 },
    });
  });

  it('reads a StatefulSet the same way, and null for a workload that does not exist', async () => {
    const clusters = await start({
      workloads: [{ ...QUEUE, replicas: 1, images: ['registry.example/queue:2'] }],
    });
    const template = await clusters.workloadTemplate(site, 'west', QUEUE);
    // The stand-in's default container requests: 100m, 128Mi.
    expect(template?.containers).toEqual([
      {
        name: 'queue',
        image: 'registry.example/queue:2',
        envNames: [],
        requests: { cpuMillis: 100, memoryBytes: 128 * MiB },
      },
    ]);
    expect(await clusters.workloadTemplate(site, 'west', WEB)).toBeNull();
  });
});

describe('nodeCapacity', () => {
  it('lists Ready, uncordoned nodes with their allocatable and what their pods request', async () => {
    const clusters = await start({
      nodes: [
        { name: 'w1', ready: true, allocatable: { cpu: '3920m', memory: '15218612Ki', pods: '110' } },
        { name: 'w2', ready: true, allocatable: { cpu: '8', memory: '31Gi', pods: '58' } },
        { name: 'w3', ready: false },
        { name: 'w4', ready: true, unschedulable: true },
      ],
      workloads: [
        // Pods go to the nodes in turn (w2, w3, w4, w1, …), as the stand-in's scheduler spreads them.
        {
          ...WEB,
          replicas: 4,
          images: ['registry.example/web:1'],
          template: { containers: [{ requests: { cpu: '250m', memory: '1Gi' } }] },
        },
      ],
    });
    const nodes = await clusters.nodeCapacity(site, 'west');
    expect(nodes.map((n) => n.name)).toEqual(['w1', 'w2']);
    expect(nodes[0]?.allocatable).toEqual({ cpuMillis: 3920, memoryBytes: 15_218_612 * KiB, pods: 110 });
    expect(nodes[1]?.allocatable).toEqual({ cpuMillis: 8000, memoryBytes: 31 * GiB, pods: 58 });
    const onePod = { cpuMillis: 250, memoryBytes: 1 * GiB, pods: 1 };
    expect(nodes.map((n) => n.requested)).toEqual([onePod, onePod]);
  });

  it('leaves out a node cordoned or gone NotReady since, and counts it again once back', async () => {
    const clusters = await start({ nodes: 3 });
    expect(await clusters.nodeCapacity(site, 'west')).toHaveLength(3);
    server?.setNodeUnschedulable('west', 'west-node-1', true);
    server?.setNodeReady('west', 'west-node-2', false);
    expect((await clusters.nodeCapacity(site, 'west')).map((n) => n.name)).toEqual(['west-node-3']);
    server?.setNodeUnschedulable('west', 'west-node-1', false);
    expect((await clusters.nodeCapacity(site, 'west')).map((n) => n.name)).toEqual([
      'west-node-1',
      'west-node-3',
    ]);
  });

  it('sums the pods of a node, asking in one cluster-wide list only for pods that still hold resources', async () => {
    const clusters = await start({
      nodes: 1,
      workloads: [
        {
          ...WEB,
          replicas: 3,
          images: ['registry.example/web:1'],
          template: { containers: [{ requests: { cpu: '1.5', memory: '1.5Gi' } }] },
        },
      ],
    });
    const [node] = await clusters.nodeCapacity(site, 'west');
    expect(node?.requested).toEqual({ cpuMillis: 4500, memoryBytes: 4.5 * GiB, pods: 3 });
    const podLists = server?.requests('west').filter((r) => r.path === '/api/v1/pods') ?? [];
    expect(podLists).toHaveLength(1);
    expect(new URLSearchParams(podLists[0]?.query).get('fieldSelector')).toBe(
      'status.phase!=Succeeded,status.phase!=Failed',
    );
  });

  it('says which cluster and what it could not list when RBAC refuses the pods', async () => {
    const clusters = await start({ nodes: 1 });
    server?.deny('west', { verb: 'list', resource: 'pods' });
    await expect(clusters.nodeCapacity(site, 'west')).rejects.toMatchObject({ code: 'cluster-forbidden' });
  });
});
