/**
 * Capacity: could the standby (`to`) run the serving replica count? For each workload the pods still to add
 * (serving replicas − the target's current spec.replicas, never negative) times one pod's requests, summed, against
 * what the target's Ready, schedulable nodes have free (allocatable − what their pods already request), summed.
 *
 * It sums; it does not bin-pack. Free space spread over nodes is counted as if it were one pool, so the sum is a
 * necessary condition, not a sufficient one: when the sum does not fit, no placement can, and the refusal is never a
 * false alarm; when it fits, the scheduler may still leave pods Pending (fragmentation, affinity, taints, topology
 * spread — rules Baton does not see). That is the right first approximation for a check that pages people: certain
 * when it says no, and cheap. The worst fragmentation — one pod bigger than any node — is refused on its own.
 * Pure.
 */
import type { ClusterId } from '../../config/topology.js';
import type { NodeCapacity, ResourceAmounts } from '../ports.js';
import { formatBytes } from '../steps/step.js';
import { formatAmounts, formatCpu } from './resource-format.js';

export interface CapacityDemand {
  /** e.g. `web`. */
  label: string;
  /** The serving replica count (the topology's `replicas`). */
  replicas: number;
  /** The target's spec.replicas now (its standby replicas, or more when already warmed). */
  current: number;
  /** One pod's effective request. */
  podRequests: ResourceAmounts;
}

export interface CapacityVerdict {
  fits: boolean;
  /** One line: "west needs 2 more nodes of 4 CPU / 16 GiB (short 6.5 CPU, 20 GiB)", or what fits. */
  detail: string;
}

type Amounts = ResourceAmounts & { pods: number };

/** Whether `demands` fit on `nodes` (the target's Ready, schedulable nodes), and the line that says so. */
export function capacityVerdict(
  cluster: ClusterId,
  demands: CapacityDemand[],
  nodes: NodeCapacity[],
): CapacityVerdict {
  const need: Amounts = { cpuMillis: 0, memoryBytes: 0, pods: 0 };
  for (const demand of demands) {
    const add = Math.max(0, demand.replicas - demand.current);
    need.cpuMillis += add * demand.podRequests.cpuMillis;
    need.memoryBytes += add * demand.podRequests.memoryBytes;
    need.pods += add;
  }
  if (need.pods === 0) {
    return { fits: true, detail: `${cluster} already runs the serving replica count: nothing to add` };
  }
  if (nodes.length === 0) {
    return { fits: false, detail: `${cluster} has no Ready, schedulable node for ${need.pods} more pods` };
  }
  for (const demand of demands) {
    if (demand.replicas <= demand.current) continue;
    const { cpuMillis, memoryBytes } = demand.podRequests;
    const fitsOne = nodes.some(
      (n) => cpuMillis <= n.allocatable.cpuMillis && memoryBytes <= n.allocatable.memoryBytes,
    );
    if (!fitsOne) {
      const largest = nodes.reduce((a, b) => (largerNode(b, a) ? b : a));
      return {
        fits: false,
        detail:
          `${demand.label}: one pod requests ${formatAmounts(demand.podRequests)}, more than any ${cluster} node ` +
          `offers (largest ${formatAmounts(largest.allocatable)}) — lower its requests or add bigger nodes`,
      };
    }
  }
  const free: Amounts = { cpuMillis: 0, memoryBytes: 0, pods: 0 };
  for (const node of nodes) {
    free.cpuMillis += Math.max(0, node.allocatable.cpuMillis - node.requested.cpuMillis);
    free.memoryBytes += Math.max(0, node.allocatable.memoryBytes - node.requested.memoryBytes);
    free.pods += Math.max(0, node.allocatable.pods - node.requested.pods);
  }
  const short: Amounts = {
    cpuMillis: Math.max(0, need.cpuMillis - free.cpuMillis),
    memoryBytes: Math.max(0, need.memoryBytes - free.memoryBytes),
    pods: Math.max(0, need.pods - free.pods),
  };
  const wants = `${need.pods} more pods (${formatAmounts(need)})`;
  if (short.cpuMillis === 0 && short.memoryBytes === 0 && short.pods === 0) {
    return {
      fits: true,
      detail: `${cluster} has room for ${wants}: ${formatAmounts(free)} free on ${nodes.length} nodes`,
    };
  }
  const size = commonSize(nodes);
  const count = Math.max(
    perNode(short.cpuMillis, size.cpuMillis),
    perNode(short.memoryBytes, size.memoryBytes),
    perNode(short.pods, size.pods),
  );
  const shortBy = [
    short.cpuMillis > 0 && formatCpu(short.cpuMillis),
    short.memoryBytes > 0 && formatBytes(short.memoryBytes),
    short.pods > 0 && `${short.pods} pods`,
  ].filter(Boolean);
  if (!Number.isFinite(count)) {
    return {
      fits: false,
      detail: `${cluster} is short ${shortBy.join(', ')} for ${wants}, and its nodes offer none of it — add nodes`,
    };
  }
  return {
    fits: false,
    detail:
      `${cluster} needs ${count} more ${count === 1 ? 'node' : 'nodes'} of ${formatAmounts(size)} ` +
      `(short ${shortBy.join(', ')}) — for ${wants}; add nodes or lower requests before failing over`,
  };
}

/** Nodes of this size to cover `short` (0 when nothing is short; a size of 0 cannot cover anything). */
function perNode(short: number, size: number): number {
  if (short <= 0) return 0;
  return size > 0 ? Math.ceil(short / size) : Infinity;
}

/** The most common allocatable among the nodes (ties: the larger), as "N more nodes of this size" means. */
function commonSize(nodes: NodeCapacity[]): Amounts {
  const counts = new Map<string, { size: Amounts; count: number }>();
  for (const node of nodes) {
    const key = `${node.allocatable.cpuMillis}/${node.allocatable.memoryBytes}/${node.allocatable.pods}`;
    const seen = counts.get(key) ?? { size: node.allocatable, count: 0 };
    seen.count += 1;
    counts.set(key, seen);
  }
  const best = [...counts.values()].reduce((a, b) =>
    b.count > a.count || (b.count === a.count && larger(b.size, a.size)) ? b : a,
  );
  return best.size;
}

const larger = (a: ResourceAmounts, b: ResourceAmounts): boolean =>
  a.cpuMillis > b.cpuMillis || (a.cpuMillis === b.cpuMillis && a.memoryBytes > b.memoryBytes);

const largerNode = (a: NodeCapacity, b: NodeCapacity): boolean => larger(a.allocatable, b.allocatable);
