/** Counting a cluster's Ready nodes, page by page. */
import { sendWithRetry } from './kube-retry.js';
import type { KubeRequestPolicy } from './kube-retry.js';
import type { Target } from './kube-clients.js';
import type { Operation } from './kube-errors.js';

const LIST_NODES: Operation = { verb: 'list', group: '', resource: 'nodes', object: 'nodes', write: false };

/** How many nodes of the target cluster have the condition Ready=True. */
export async function countReadyNodes(
  policy: KubeRequestPolicy,
  target: Target,
  signal?: AbortSignal,
): Promise<number> {
  let ready = 0;
  let next: string | undefined;
  do {
    const page = await sendWithRetry(
      policy,
      target,
      LIST_NODES,
      (options) => target.clients.core.listNode({ limit: 500, ...(next && { _continue: next }) }, options),
      { signal },
    );
    for (const node of page.items) {
      if (node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ready += 1;
    }
    next = page.metadata?._continue || undefined;
  } while (next);
  return ready;
}
