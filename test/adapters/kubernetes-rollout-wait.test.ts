/**
 * The Kubernetes adapter's readiness wait against a stand-in whose controllers answer a spec change a while after
 * it is written, as kube-controller-manager does: metadata.generation moves at once, status.observedGeneration and
 * the counts follow later. A workload scaled down and straight back up still shows the old generation with all its
 * pods Ready; a wait that only compares readyReplicas with replicas believes it, then the controller removes those
 * pods. Baton's wait (kubectl rollout status's conditions) waits for the controller and the new pods.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesClusters } from '../../src/adapters/kubernetes.js';
import type { SiteConfig } from '../../src/config/topology.js';
import type { WorkloadRef } from '../../src/core/ports.js';
import { createLogger } from '../../src/logger.js';
import { startKubeApiServer } from '../../lab/kubernetes/kube-api-server.js';
import type { KubeApiServer } from '../../lab/kubernetes/kube-api-server.js';

const WEB: WorkloadRef = { namespace: 'default', kind: 'Deployment', name: 'web' };
const QUEUE: WorkloadRef = { namespace: 'default', kind: 'StatefulSet', name: 'queue' };
/** Long enough that the two scales and the first read of a wait fall inside it, even on a loaded machine. */
const CONTROLLER_DELAY_MS = 300;
const POD_READY_AFTER_MS = 150;

const site = {
  name: 'production',
  homeCluster: 'east',
  clusters: { east: { kubeContext: 'east' } },
  workloads: [],
  checks: { minReadyNodes: 1 },
  alerts: [],
} as unknown as SiteConfig; // only what the adapter reads: the cluster's kube context

let server: KubeApiServer;
let clusters: KubernetesClusters;

beforeAll(async () => {
  server = await startKubeApiServer({
    clusters: {
      east: {
        nodes: 1,
        controllerDelayMs: CONTROLLER_DELAY_MS,
        podReadyAfterMs: POD_READY_AFTER_MS,
        workloads: [
          { ...WEB, replicas: 3, images: ['registry.example/web:1'] },
          { ...QUEUE, replicas: 3, images: ['registry.example/queue:1'] },
        ],
      },
    },
  });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(JSON.stringify(server.kubeConfig({ east: 'east' })));
  clusters = new KubernetesClusters({
    kubeConfig,
    log: createLogger({ level: 'silent' }),
    retry: { attempts: 2, baseDelayMs: 10 },
  });
});
afterAll(async () => {
  await server?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const WAIT = { timeoutMs: 10_000, pollMs: 20 };

type Wait = (workload: WorkloadRef, replicas: number) => Promise<unknown>;

/** The wait before issue 14, reproduced: done as soon as readyReplicas ≥ replicas, whatever generation it shows. */
const naiveWait: Wait = async (workload, replicas) => {
  for (;;) {
    const status = await clusters.getWorkload(site, 'east', workload);
    if (status && status.readyReplicas >= replicas) return status;
    await sleep(WAIT.pollMs);
  }
};

const batonWait: Wait = (workload, replicas) => clusters.waitForReady(site, 'east', workload, replicas, WAIT);

const state = (workload: WorkloadRef) =>
  server.workload('east', workload.namespace, workload.kind, workload.name);

/**
 * Scales the workload from 3 down to 1 and straight back up to 3 (within the controller's delay), then waits for 3
 * with `wait`. Returns what was true when the wait returned, and the fewest Ready pods seen from then until the
 * controller had acted on both changes and 3 pods were Ready again: whether the 3 the wait vouched for stayed.
 */
async function scaleDownThenUp(workload: WorkloadRef, wait: Wait) {
  await clusters.scaleWorkload(site, 'east', workload, 1);
  await clusters.scaleWorkload(site, 'east', workload, 3);
  await wait(workload, 3);
  const atReturn = state(workload);
  let fewestReadyAfterwards = atReturn.readyReplicas;
  const settled = (now: typeof atReturn) =>
    now.observedGeneration === now.generation && now.readyReplicas >= 3;
  for (let now = atReturn; !settled(now); now = state(workload)) {
    fewestReadyAfterwards = Math.min(fewestReadyAfterwards, now.readyReplicas);
    await sleep(10);
  }
  // Leave the workload at 3 Ready pods for the next case.
  await batonWait(workload, 3);
  return {
    controllerHadObserved: atReturn.observedGeneration === atReturn.generation,
    readyAtReturn: atReturn.pods.filter((pod) => pod.ready).length,
    fewestReadyAfterwards,
  };
}

describe.each([
  ['Deployment', WEB],
  ['StatefulSet', QUEUE],
])('waiting for a %s after a scale down and up', (_kind, workload) => {
  it('the stand-in shows the new generation at once and the old status until its controller acts', async () => {
    const before = state(workload);
    await clusters.scaleWorkload(site, 'east', workload, 1);
    const written = state(workload);
    expect(written).toMatchObject({
      replicas: 1,
      generation: before.generation + 1,
      observedGeneration: before.generation,
      readyReplicas: 3,
    });
    // The adapter reads the same lagging status: spec.replicas 1, the old three pods still counted Ready.
    expect(await clusters.getWorkload(site, 'east', workload)).toMatchObject({
      replicas: 1,
      readyReplicas: 3,
    });
    await batonWait(workload, 1);
    expect(state(workload)).toMatchObject({ observedGeneration: written.generation, readyReplicas: 1 });
    await clusters.scaleWorkload(site, 'east', workload, 3);
    await batonWait(workload, 3);
  });

  it('a wait on readyReplicas alone returns before the controller has seen the change, and is wrong', async () => {
    const seen = await scaleDownThenUp(workload, naiveWait);
    expect(seen.controllerHadObserved).toBe(false);
    // It vouched for 3 Ready pods; the controller then acted on the scale-down and removed two of them.
    expect(seen.fewestReadyAfterwards).toBe(1);
  });

  it("Baton's wait returns only once the controller has acted on the latest spec and its pods are Ready", async () => {
    const seen = await scaleDownThenUp(workload, batonWait);
    expect(seen).toEqual({ controllerHadObserved: true, readyAtReturn: 3, fewestReadyAfterwards: 3 });
  });
});
