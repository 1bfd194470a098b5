/**
 * The simulated clusters' pod templates and node capacity, for readiness's drift and capacity checks: one container
 * per image (named after it, as the Kubernetes stand-in names them), each with the workload's env names and
 * requests; `readyNodes` nodes of the cluster's size, the running pods' requests spread evenly over them.
 */
import type { NodeCapacity, ResourceAmounts, WorkloadTemplate } from '../../src/core/ports.js';
import type { SimCluster, SimWorkload } from './world-state.js';
import { SIM_NODE_SIZE, SIM_POD_REQUESTS } from './world-state.js';

export function simTemplate(workload: SimWorkload): WorkloadTemplate {
  const requests = workload.template?.requests ?? SIM_POD_REQUESTS;
  const envNames = [...new Set(workload.template?.envNames ?? [])].sort();
  const used = new Map<string, number>();
  const containers = workload.images.map((image) => {
    const base =
      (image.split('/').pop() ?? image).replace(/[:@].*$/, '').replace(/[^a-z0-9-]/g, '-') || 'app';
    const count = (used.get(base) ?? 0) + 1;
    used.set(base, count);
    return { name: count === 1 ? base : `${base}-${count}`, image, envNames, requests: { ...requests } };
  });
  return {
    containers,
    configMaps: [...new Set(workload.template?.configMaps ?? [])].sort(),
    secrets: [...new Set(workload.template?.secrets ?? [])].sort(),
    podRequests: {
      cpuMillis: requests.cpuMillis * containers.length,
      memoryBytes: requests.memoryBytes * containers.length,
    },
  };
}

export function simNodeCapacity(id: string, cluster: SimCluster): NodeCapacity[] {
  const size = cluster.nodeSize ?? SIM_NODE_SIZE;
  const nodes = cluster.readyNodes;
  if (nodes <= 0) return [];
  const total: ResourceAmounts & { pods: number } = { cpuMillis: 0, memoryBytes: 0, pods: 0 };
  for (const workload of Object.values(cluster.workloads)) {
    const perPod = simTemplate(workload).podRequests ?? { cpuMillis: 0, memoryBytes: 0 };
    total.cpuMillis += perPod.cpuMillis * workload.replicas;
    total.memoryBytes += perPod.memoryBytes * workload.replicas;
    total.pods += workload.replicas;
  }
  // Node i gets its even share, the remainder going to the first nodes (as a spreading scheduler would).
  const share = (amount: number, i: number) => Math.floor(amount / nodes) + (i < amount % nodes ? 1 : 0);
  return Array.from({ length: nodes }, (_, i) => ({
    name: `${id}-node-${i + 1}`,
    allocatable: { ...size },
    requested: {
      cpuMillis: share(total.cpuMillis, i),
      memoryBytes: share(total.memoryBytes, i),
      pods: share(total.pods, i),
    },
  }));
}
