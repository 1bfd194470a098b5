/**
 * The Kubernetes adapter's HorizontalPodAutoscaler calls against the API stand-in, whose HPA controller clamps a
 * target into [minReplicas, maxReplicas] every sync period and whose GitOps controller can self-heal replicas: a
 * scale without raising the HPA's minimum is genuinely lost, a raised one holds, and self-heal reverts a scale
 * unless Git leaves the replicas to the HPA.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesClusters } from '../../src/adapters/kubernetes.js';
import type { SiteConfig } from '../../src/config/topology.js';
import type { WorkloadRef } from '../../src/core/ports.js';
import { createLogger } from '../../src/logger.js';
import { startKubeApiServer } from '../../lab/kubernetes/kube-api-server.js';
import type { KubeApiServer, StandInClusterOptions } from '../../lab/kubernetes/kube-api-server.js';

const WEB: WorkloadRef = { namespace: 'default', kind: 'Deployment', name: 'web' };
const HPA = { namespace: 'default', name: 'web-hpa' };
const SYNC_MS = 100;

const site: SiteConfig = {
  name: 'production',
  homeCluster: 'east',
  clusters: { east: { kubeContext: 'east' }, west: { kubeContext: 'west' } },
  workloads: [{ ...WEB, replicas: 5, standbyReplicas: 1 }],
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
} as unknown as SiteConfig; // clusters without healthUrl: the adapter never reads it

let server: KubeApiServer;
let clusters: KubernetesClusters;

async function start(west: Partial<StandInClusterOptions> = {}): Promise<void> {
  server = await startKubeApiServer({
    clusters: {
      east: { nodes: 1 },
      west: {
        nodes: 1,
        hpaSyncPeriodMs: SYNC_MS,
        workloads: [{ ...WEB, replicas: 1, images: ['registry.example/web:1'] }],
        autoscalers: [{ ...HPA, target: { kind: 'Deployment', name: 'web' }, maxReplicas: 10 }],
        ...west,
      },
    },
  });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(JSON.stringify(server.kubeConfig({ east: 'east', west: 'west' })));
  clusters = new KubernetesClusters({
    kubeConfig,
    log: createLogger({ level: 'silent' }),
    retry: { attempts: 2, baseDelayMs: 10 },
  });
}

const replicas = () => server.workload('west', 'default', 'Deployment', 'web').replicas;
/** Two HPA syncs, so one has certainly run after the change. */
const afterSyncs = () => new Promise((resolve) => setTimeout(resolve, 2 * SYNC_MS + 20));

beforeEach(async () => {
  await start();
});
afterEach(async () => {
  await server?.close();
});

describe('HorizontalPodAutoscalers through the adapter', () => {
  it('lists the HPA that targets the workload, with the API default minReplicas', async () => {
    expect(await clusters.listAutoscalers(site, 'west', WEB)).toEqual([
      { ...HPA, minReplicas: 1, maxReplicas: 10, heldFrom: null },
    ]);
    expect(await clusters.listAutoscalers(site, 'west', { ...WEB, name: 'other' })).toEqual([]);
  });

  it('a scale above the HPA minimum is undone at its next sync', async () => {
    await clusters.scaleWorkload(site, 'west', WEB, 5);
    // The scale landed (its write was answered); reading replicas now would race the 100 ms sync that undoes it.
    expect(
      server
        .requests('west')
        .some((r) => r.method === 'PUT' && r.path.endsWith('/scale') && r.status === 200),
    ).toBe(true);
    await expect.poll(replicas, { timeout: 2_000, interval: 20 }).toBe(1);
  });

  it('holds once minReplicas is raised, and records the range to give back on the object', async () => {
    const heldFrom = { minReplicas: 1, maxReplicas: 10 };
    await clusters.setAutoscalerRange(site, 'west', HPA, { minReplicas: 5, maxReplicas: 10, heldFrom });
    await clusters.scaleWorkload(site, 'west', WEB, 5);
    await afterSyncs();
    expect(replicas()).toBe(5);
    expect(await clusters.listAutoscalers(site, 'west', WEB)).toEqual([
      { ...HPA, minReplicas: 5, maxReplicas: 10, heldFrom },
    ]);

    await clusters.setAutoscalerRange(site, 'west', HPA, { ...heldFrom, heldFrom: null });
    expect(server.autoscaler('west', HPA.namespace, HPA.name)).toMatchObject({
      minReplicas: 1,
      annotations: {},
    });
    await expect.poll(replicas, { timeout: 2_000, interval: 20 }).toBe(1);
  });

  it('a range the API refuses (max below min) is an error that names the HPA', async () => {
    await expect(
      clusters.setAutoscalerRange(site, 'west', HPA, { minReplicas: 5, maxReplicas: 3, heldFrom: null }),
    ).rejects.toThrow(/web-hpa/);
  });
});

describe('GitOps self-heal in the stand-in', () => {
  it('reverts a scale to the replicas in Git a delay after it', async () => {
    await server.close();
    await start({ autoscalers: [], selfHeal: { workloads: 'all', delayMs: 100 } });
    await clusters.scaleWorkload(site, 'west', WEB, 5);
    expect(replicas()).toBe(5);
    await expect.poll(replicas, { timeout: 2_000, interval: 20 }).toBe(1);
  });

  it('leaves replicas alone once the Application ignores them (the fix preflight gives)', async () => {
    await server.close();
    await start({ autoscalers: [], selfHeal: { workloads: ['default/web'], delayMs: 50 } });
    server.setGitManifest('west', 'default', 'Deployment', 'web', { replicas: 1, ignoreReplicas: true });
    await clusters.scaleWorkload(site, 'west', WEB, 5);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(replicas()).toBe(5);
  });

  it('with an HPA owning the replicas (none in Git), the raised minimum holds against self-heal', async () => {
    server.setSelfHeal('west', { workloads: 'all', delayMs: 50 });
    server.setGitManifest('west', 'default', 'Deployment', 'web', { replicas: null });
    await clusters.setAutoscalerRange(site, 'west', HPA, {
      minReplicas: 5,
      maxReplicas: 10,
      heldFrom: { minReplicas: 1, maxReplicas: 10 },
    });
    await clusters.scaleWorkload(site, 'west', WEB, 5);
    await afterSyncs();
    expect(replicas()).toBe(5);
  });
});
