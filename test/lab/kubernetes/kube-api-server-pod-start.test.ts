/**
 * The stand-in's pod start time, changed at run time (`setPodReadyAfter`, what the sandbox's `podStart` break and
 * the drill's aborted game day use): pods created after the change take the new time to become Ready, as the
 * Deployment's status shows through the official client; pods already there keep theirs; `null` restores the time
 * the cluster started with; another cluster is not affected.
 */
import { AppsV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeApiServer } from '../../../lab/kubernetes/kube-api-server.js';
import type { KubeApiServer } from '../../../lab/kubernetes/kube-api-server.js';

/** Long enough that a slow pod never becomes Ready during the test. */
const SLOW_MS = 10 * 60_000;

let server: KubeApiServer;
let apps: Record<string, AppsV1Api>;

beforeAll(async () => {
  const web = {
    namespace: 'default',
    kind: 'Deployment' as const,
    name: 'web',
    replicas: 1,
    images: ['registry.example/web:1'],
  };
  server = await startKubeApiServer({
    clusters: {
      east: { workloads: [web], podReadyAfterMs: 0 },
      west: { workloads: [web], podReadyAfterMs: 0 },
    },
  });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(JSON.stringify(server.kubeConfig({ east: 'east', west: 'west' })));
  apps = Object.fromEntries(
    ['east', 'west'].map((cluster) => {
      kubeConfig.setCurrentContext(cluster);
      return [cluster, kubeConfig.makeApiClient(AppsV1Api)];
    }),
  );
});
afterAll(async () => {
  await server?.close();
});

/** Scales `web` on `cluster` as Baton does, and returns its status once the controller has acted on the change. */
async function scale(cluster: string, replicas: number) {
  const api = apps[cluster] as AppsV1Api;
  await api.replaceNamespacedDeploymentScale({
    namespace: 'default',
    name: 'web',
    body: { metadata: { name: 'web', namespace: 'default' }, spec: { replicas } },
  });
  for (;;) {
    const deployment = await api.readNamespacedDeployment({ namespace: 'default', name: 'web' });
    if (deployment.status?.observedGeneration === deployment.metadata?.generation)
      return { replicas: deployment.status?.replicas, ready: deployment.status?.readyReplicas ?? 0 };
    await new Promise((r) => setTimeout(r, 20));
  }
}

const readiness = (cluster: string) =>
  server
    .workload(cluster, 'default', 'Deployment', 'web')
    .pods.map((p) => p.ready)
    .sort();

describe('setPodReadyAfter', () => {
  it('slows the pods created from then on, keeps the others, and is undone with null', async () => {
    server.setPodReadyAfter('east', SLOW_MS);
    expect(await scale('east', 3)).toEqual({ replicas: 3, ready: 1 });
    expect(readiness('east')).toEqual([false, false, true]);
    // West keeps its own start time.
    expect(await scale('west', 3)).toEqual({ replicas: 3, ready: 3 });

    server.setPodReadyAfter('east', null);
    // The new pod is Ready at once again; the two slow ones keep their time.
    expect(await scale('east', 4)).toEqual({ replicas: 4, ready: 2 });
    expect(readiness('east')).toEqual([false, false, true, true]);
  });
});
