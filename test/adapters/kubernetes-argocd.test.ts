/**
 * The Kubernetes adapter's Argo CD calls against the API stand-in, whose Applications self-heal their workloads'
 * replicas while automated sync with selfHeal is on: a scale is reverted to Git's count; paused by Baton it holds, the
 * policy it removed recorded on the Application in the same write; resumed, the exact policy is back and self-heal
 * reverts again. An ApplicationSet puts a paused Application's policy back, which syncState reports as its owner.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { KubernetesClusters } from '../../src/adapters/kubernetes.js';
import { HELD_SYNC_POLICY } from '../../src/adapters/kubernetes/argocd-applications.js';
import type { SiteConfig } from '../../src/config/topology.js';
import type { WorkloadRef } from '../../src/core/ports.js';
import { createLogger } from '../../src/logger.js';
import { startKubeApiServer } from '../../lab/kubernetes/kube-api-server.js';
import type { KubeApiServer, StandInApplication } from '../../lab/kubernetes/kube-api-server.js';
import { waitFor } from '../support/integration.js';

const WEB: WorkloadRef = { namespace: 'default', kind: 'Deployment', name: 'web' };
const APP = { namespace: 'argocd', name: 'production-west' };
const POLICY = { selfHeal: true, prune: true };

const site = {
  name: 'production',
  homeCluster: 'east',
  clusters: { east: { kubeContext: 'east' }, west: { kubeContext: 'west' } },
  workloads: [{ ...WEB, replicas: 5, standbyReplicas: 1 }],
} as unknown as SiteConfig; // the adapter reads only the clusters

let server: KubeApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(application: Partial<StandInApplication> = {}) {
  server = await startKubeApiServer({
    clusters: {
      east: { nodes: 1 },
      west: {
        nodes: 1,
        workloads: [{ ...WEB, replicas: 1, images: ['registry.example/web:1'], git: { replicas: 1 } }],
        applications: [
          { ...APP, automated: POLICY, workloads: ['default/web'], selfHealDelayMs: 100, ...application },
        ],
      },
    },
  });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(JSON.stringify(server.kubeConfig({ east: 'east', west: 'west' })));
  const clusters = new KubernetesClusters({
    kubeConfig,
    log: createLogger({ level: 'silent' }),
    retry: { attempts: 2, baseDelayMs: 10 },
  });
  return { server, clusters };
}

const replicas = async (clusters: KubernetesClusters) =>
  (await clusters.getWorkload(site, 'west', WEB))?.replicas;

describe('Argo CD Applications through the adapter', () => {
  it('self-heal reverts a scale while automated; paused it holds; resumed the same policy is back', async () => {
    const { server, clusters } = await start();
    expect(await clusters.syncState(site, 'west', APP)).toEqual({ automated: true, pausedByBaton: false });

    // Without the pause, Argo CD puts Git's count back.
    await clusters.scaleWorkload(site, 'west', WEB, 5);
    await waitFor('self-heal to revert the scale', async () =>
      (await replicas(clusters)) === 1 ? true : undefined,
    );

    await clusters.pauseSync(site, 'west', APP);
    const paused = server.application('west', APP.namespace, APP.name);
    expect(paused.spec.syncPolicy?.automated).toBeUndefined();
    expect(JSON.parse(paused.metadata.annotations?.[HELD_SYNC_POLICY] ?? 'null')).toEqual(POLICY);
    expect(await clusters.syncState(site, 'west', APP)).toEqual({ automated: false, pausedByBaton: true });
    await clusters.pauseSync(site, 'west', APP); // twice is once
    expect(server.application('west', APP.namespace, APP.name).metadata.resourceVersion).toBe(
      paused.metadata.resourceVersion,
    );

    await clusters.scaleWorkload(site, 'west', WEB, 5);
    await new Promise((resolve) => setTimeout(resolve, 400)); // four self-heal delays
    expect(await replicas(clusters)).toBe(5);

    await clusters.resumeSync(site, 'west', APP);
    const resumed = server.application('west', APP.namespace, APP.name);
    expect(resumed.spec.syncPolicy?.automated).toEqual(POLICY);
    expect(resumed.metadata.annotations?.[HELD_SYNC_POLICY]).toBeUndefined();
    await waitFor('self-heal to act again', async () =>
      (await replicas(clusters)) === 1 ? true : undefined,
    );
  });

  it('a missing Application is null; an ApplicationSet-owned one names its owner and undoes a pause', async () => {
    const { server, clusters } = await start({ ownedBy: 'production-everywhere' });
    expect(await clusters.syncState(site, 'west', { namespace: 'argocd', name: 'nope' })).toBeNull();
    expect(await clusters.syncState(site, 'west', APP)).toEqual({
      automated: true,
      pausedByBaton: false,
      ownedBy: 'production-everywhere',
    });
    await clusters.pauseSync(site, 'west', APP);
    // The ApplicationSet controller puts its template's policy back on its next reconcile.
    expect(server.application('west', APP.namespace, APP.name).spec.syncPolicy?.automated).toEqual(POLICY);
  });
});
