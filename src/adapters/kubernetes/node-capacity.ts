/**
 * What the Ready, schedulable nodes of a cluster offer and what is already asked of them, as `kubectl describe node`
 * shows it ("Allocated resources"): each node's status.allocatable, and the summed effective requests of the pods
 * bound to it that are not Succeeded or Failed (kubectl lists them with
 * `fieldSelector=spec.nodeName=<node>,status.phase!=Succeeded,status.phase!=Failed`; here one cluster-wide list with
 * the phase selector, paged, grouped by spec.nodeName: one request per 500 pods instead of one per node).
 */
import type { V1Node } from '@kubernetes/client-node';
import type { NodeCapacity, ResourceAmounts } from '../../core/ports.js';
import type { Target } from './kube-clients.js';
import type { Operation } from './kube-errors.js';
import { sendWithRetry } from './kube-retry.js';
import type { KubeRequestPolicy } from './kube-retry.js';
import { amountsOf, podRequests } from './pod-requests.js';
import { wholeUnits } from './quantity.js';

const LIST_NODES: Operation = { verb: 'list', group: '', resource: 'nodes', object: 'nodes', write: false };
const LIST_PODS: Operation = { verb: 'list', group: '', resource: 'pods', object: 'pods', write: false };
const PAGE = 500;
/** Pods in a terminal phase hold no resources on their node (the scheduler's NodeInfo leaves them out too). */
const NOT_TERMINATED = 'status.phase!=Succeeded,status.phase!=Failed';

/** Every node whose Ready condition is True and that is not cordoned, with its allocatable and requested amounts. */
export async function readNodeCapacity(
  policy: KubeRequestPolicy,
  target: Target,
  signal?: AbortSignal,
): Promise<NodeCapacity[]> {
  const nodes: V1Node[] = [];
  let next: string | undefined;
  do {
    const page = await sendWithRetry(
      policy,
      target,
      LIST_NODES,
      (options) => target.clients.core.listNode({ limit: PAGE, ...(next && { _continue: next }) }, options),
      { signal },
    );
    nodes.push(...page.items.filter(takesNewPods));
    next = page.metadata?._continue || undefined;
  } while (next);
  if (nodes.length === 0) return [];

  const requested = new Map<string, ResourceAmounts & { pods: number }>();
  do {
    const page = await sendWithRetry(
      policy,
      target,
      LIST_PODS,
      (options) =>
        target.clients.core.listPodForAllNamespaces(
          { limit: PAGE, fieldSelector: NOT_TERMINATED, ...(next && { _continue: next }) },
          options,
        ),
      { signal },
    );
    for (const pod of page.items) {
      const node = pod.spec?.nodeName;
      if (!node) continue; // not scheduled yet: it holds nothing on any node
      const sum = requested.get(node) ?? { cpuMillis: 0, memoryBytes: 0, pods: 0 };
      const pods = podRequests(pod.spec);
      requested.set(node, {
        cpuMillis: sum.cpuMillis + pods.cpuMillis,
        memoryBytes: sum.memoryBytes + pods.memoryBytes,
        pods: sum.pods + 1,
      });
    }
    next = page.metadata?._continue || undefined;
  } while (next);

  return nodes.map((node) => {
    const name = node.metadata?.name ?? '';
    const allocatable = node.status?.allocatable;
    return {
      name,
      allocatable: { ...amountsOf(allocatable), pods: wholeUnits(allocatable?.pods) },
      requested: requested.get(name) ?? { cpuMillis: 0, memoryBytes: 0, pods: 0 },
    };
  });
}

/** Ready=True and not cordoned (`spec.unschedulable`, which `kubectl cordon` and drains set). */
function takesNewPods(node: V1Node): boolean {
  const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  return ready && node.spec?.unschedulable !== true;
}
