/**
 * The stand-in's nodes and pod templates as readiness reads them, through the official client: nodes with
 * status.allocatable and spec.unschedulable (and the cordon taint), pods bound to nodes with their requests, the
 * field selectors the API server supports for them (and its 400 for one it does not), and pod templates with env,
 * envFrom, volumes and imagePullSecrets that a test sets per cluster.
 */
import { ApiException, AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeApiServer } from '../../../lab/kubernetes/kube-api-server.js';
import type { KubeApiServer } from '../../../lab/kubernetes/kube-api-server.js';

let server: KubeApiServer;
let core: CoreV1Api;
let apps: AppsV1Api;

beforeAll(async () => {
  server = await startKubeApiServer({
    clusters: {
      west: {
        nodes: [
          { name: 'w1', ready: true },
          {
            name: 'w2',
            ready: true,
            unschedulable: true,
            allocatable: { cpu: '8', memory: '32Gi', pods: '58' },
          },
        ],
        workloads: [
          {
            namespace: 'shop',
            kind: 'Deployment',
            name: 'web',
            replicas: 2,
            images: ['registry.example/web:1'],
            template: {
              containers: [
                {
                  env: [{ name: 'LOG_LEVEL', value: 'info' }],
                  envFrom: [{ secretRef: { name: 'web-env' } }],
                  requests: { cpu: '250m', memory: '512Mi' },
                },
              ],
              volumes: [{ name: 'config', configMap: { name: 'web-config' } }],
              imagePullSecrets: ['registry-pull'],
            },
          },
        ],
      },
    },
  });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(JSON.stringify(server.kubeConfig({ west: 'west' })));
  core = kubeConfig.makeApiClient(CoreV1Api);
  apps = kubeConfig.makeApiClient(AppsV1Api);
});

afterAll(async () => {
  await server?.close();
});

describe('the stand-in for readiness', () => {
  it('serves allocatable and capacity, and a cordoned node as kubectl cordon leaves it', async () => {
    const nodes = (await core.listNode()).items;
    expect(nodes[0]?.status?.allocatable).toEqual({ cpu: '3920m', memory: '15218612Ki', pods: '110' });
    expect(nodes[0]?.status?.capacity).toEqual({ cpu: '4', memory: '16202612Ki', pods: '110' });
    expect(nodes[0]?.spec?.unschedulable).toBeUndefined();
    expect(nodes[1]?.status?.allocatable).toEqual({ cpu: '8', memory: '32Gi', pods: '58' });
    expect(nodes[1]?.spec?.unschedulable).toBe(true);
    expect(nodes[1]?.spec?.taints?.map((t) => `${t.key}:${t.effect}`)).toEqual([
      'node.kubernetes.io/unschedulable:NoSchedule',
    ]);
    const schedulable = await core.listNode({ fieldSelector: 'spec.unschedulable=false' });
    expect(schedulable.items.map((n) => n.metadata?.name)).toEqual(['w1']);
  });

  it('binds pods to nodes with their requests, selectable by node and phase', async () => {
    const all = await core.listPodForAllNamespaces({
      fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed',
    });
    expect(all.items).toHaveLength(2);
    const pod = all.items[0];
    expect(pod?.spec?.containers[0]?.resources?.requests).toEqual({ cpu: '250m', memory: '512Mi' });
    expect(pod?.status?.qosClass).toBe('Burstable');
    const node = pod?.spec?.nodeName ?? '';
    const onNode = await core.listPodForAllNamespaces({
      fieldSelector: `spec.nodeName=${node},status.phase!=Succeeded,status.phase!=Failed`,
    });
    expect(onNode.items.every((p) => p.spec?.nodeName === node)).toBe(true);
    expect(onNode.items.length).toBeGreaterThan(0);
  });

  it('refuses a field selector the pod registry does not support, with 400 as the API server does', async () => {
    const refused = await core
      .listPodForAllNamespaces({ fieldSelector: 'spec.containers.image=registry.example/web:1' })
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(refused).toBeInstanceOf(ApiException);
    expect((refused as ApiException<string>).code).toBe(400);
    expect(String((refused as ApiException<string>).body)).toContain(
      'field label not supported: spec.containers.image',
    );
  });

  it('serves the pod template, and a new one set for one cluster as a new generation', async () => {
    const before = await apps.readNamespacedDeployment({ namespace: 'shop', name: 'web' });
    const spec = before.spec?.template.spec;
    expect(spec?.containers[0]?.env).toEqual([{ name: 'LOG_LEVEL', value: 'info' }]);
    expect(spec?.containers[0]?.envFrom).toEqual([{ secretRef: { name: 'web-env' } }]);
    expect(spec?.volumes).toEqual([{ name: 'config', configMap: { name: 'web-config' } }]);
    expect(spec?.imagePullSecrets).toEqual([{ name: 'registry-pull' }]);

    server.setPodTemplate('west', 'shop', 'Deployment', 'web', { containers: [{ requests: {} }] });
    const after = await apps.readNamespacedDeployment({ namespace: 'shop', name: 'web' });
    expect(after.metadata?.generation).toBe((before.metadata?.generation ?? 0) + 1);
    expect(after.spec?.template.spec?.containers[0]?.env).toBeUndefined();
    expect(after.spec?.template.spec?.containers[0]?.resources).toEqual({});
  });
});
