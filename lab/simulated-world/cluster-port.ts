/**
 * The simulated Kubernetes side of the world behind Baton's ClusterPort: ready nodes, workloads whose scaled-up
 * replicas become Ready after `podsReadyAfterMs`, the wait for them, and the HorizontalPodAutoscalers that target
 * them (their range only: the HPA controller itself is the Kubernetes stand-in's).
 */
import type { ClusterPort } from '../../src/core/ports.js';
import { workloadKey, workloadLabel } from '../../src/core/steps/step.js';
import { waitUntil } from '../../src/core/wait.js';
import { BatonError } from '../../src/errors.js';
import type { SimWorkload } from './world-state.js';
import { simNodeCapacity, simTemplate } from './sim-templates.js';
import { reachCluster } from './world-state.js';
import type { WorldContext } from './world-store.js';

export function simulatedClusterPort({ store, clock, timing, enter }: WorldContext): ClusterPort {
  const ready = (w: SimWorkload, now: number): number => (now >= w.readyAt ? w.replicas : w.readyReplicas);
  const getWorkload: ClusterPort['getWorkload'] = async (_site, id, ref) => {
    await enter('cluster.getWorkload', id);
    const w = reachCluster(await store.read(), id).workloads[workloadKey(ref)];
    return w
      ? {
          replicas: w.replicas,
          readyReplicas: ready(w, clock.now()),
          images: w.images,
          ...(w.labels && { labels: { ...w.labels } }),
          ...(w.annotations && { annotations: { ...w.annotations } }),
        }
      : null;
  };

  return {
    readyNodeCount: async (_site, id) => {
      await enter('cluster.readyNodeCount', id);
      return reachCluster(await store.read(), id).readyNodes;
    },
    getWorkload,
    workloadTemplate: async (_site, id, ref) => {
      await enter('cluster.workloadTemplate', id);
      const w = reachCluster(await store.read(), id).workloads[workloadKey(ref)];
      return w ? simTemplate(w) : null;
    },
    nodeCapacity: async (_site, id) => {
      await enter('cluster.nodeCapacity', id);
      return simNodeCapacity(id, reachCluster(await store.read(), id));
    },
    scaleWorkload: async (_site, id, ref, replicas) => {
      await enter('cluster.scaleWorkload', id);
      await store.update((state) => {
        const w = reachCluster(state, id).workloads[workloadKey(ref)];
        if (!w) throw new BatonError('workload-missing', `${workloadKey(ref)} not found on ${id}`);
        const now = clock.now();
        w.readyReplicas = Math.min(ready(w, now), replicas);
        w.replicas = replicas;
        w.readyAt = now + timing.podsReadyAfterMs;
        state.actions.push(`scale ${id} ${workloadKey(ref)} ${replicas}`);
      });
    },
    listAutoscalers: async (_site, id, ref) => {
      await enter('cluster.listAutoscalers', id);
      const all = Object.values(reachCluster(await store.read(), id).autoscalers ?? {});
      return all
        .filter((a) => a.target === workloadKey(ref))
        .map(({ namespace, name, minReplicas, maxReplicas, heldFrom }) => ({
          namespace,
          name,
          minReplicas,
          maxReplicas,
          heldFrom: heldFrom && { ...heldFrom },
        }));
    },
    setAutoscalerRange: async (_site, id, ref, range) => {
      await enter('cluster.setAutoscalerRange', id);
      await store.update((state) => {
        const a = reachCluster(state, id).autoscalers?.[`${ref.namespace}/${ref.name}`];
        if (!a)
          throw new BatonError(
            'not-found',
            `HorizontalPodAutoscaler ${ref.namespace}/${ref.name} not found on ${id}`,
          );
        a.minReplicas = range.minReplicas;
        a.maxReplicas = range.maxReplicas;
        a.heldFrom = range.heldFrom && { ...range.heldFrom };
        state.actions.push(
          `autoscaler ${id} ${ref.namespace}/${ref.name} ${range.minReplicas}-${range.maxReplicas}` +
            (range.heldFrom ? ' held' : ''),
        );
      });
    },
    waitForReady: (site, id, ref, replicas, options) =>
      waitUntil(clock, { pollMs: 250, ...options }, async () => {
        const status = await getWorkload(site, id, ref, options);
        if (!status) {
          throw new BatonError(
            'workload-missing',
            `${ref.kind} ${workloadLabel(ref)} does not exist on ${id}`,
          );
        }
        return status.readyReplicas >= replicas
          ? { done: true, value: status }
          : {
              done: false,
              seen: `${workloadLabel(ref)} on ${id}: ${status.readyReplicas}/${replicas} Ready`,
            };
      }),
  };
}
