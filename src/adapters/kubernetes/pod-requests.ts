/**
 * What a pod requests, as the scheduler counts it. Kubernetes' "Effective Pod requests and limits"
 * (kubernetes.io/docs/concepts/resource-management/effective-pod-requests-limits/): init containers run one at a
 * time next to the sidecars (init containers with `restartPolicy: Always`) started before them, so the effective
 * init request is the highest of (each init container's request + the sidecars listed before it); the pod's effective
 * request is the higher of that and (the app containers' sum + every sidecar), plus `spec.overhead`. The scheduler
 * reserves it for the pod's whole life. The same rule as k8s.io/component-helpers/resource `PodRequests`.
 */
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import type { ResourceAmounts } from '../../core/ports.js';
import { cpuMillis, wholeUnits } from './quantity.js';

type Quantities = { [name: string]: string } | undefined;

/** A resource list's CPU (millicores) and memory (bytes); 0 for what it leaves out. */
export function amountsOf(list: Quantities): ResourceAmounts {
  return { cpuMillis: cpuMillis(list?.cpu), memoryBytes: wholeUnits(list?.memory) };
}

/** A container's `resources.requests`. */
export function containerRequests(container: V1Container): ResourceAmounts {
  return amountsOf(container.resources?.requests);
}

/** The pod's effective request (see the file comment). */
export function podRequests(spec: V1PodSpec | undefined): ResourceAmounts {
  const sum = (a: ResourceAmounts, b: ResourceAmounts): ResourceAmounts => ({
    cpuMillis: a.cpuMillis + b.cpuMillis,
    memoryBytes: a.memoryBytes + b.memoryBytes,
  });
  const max = (a: ResourceAmounts, b: ResourceAmounts): ResourceAmounts => ({
    cpuMillis: Math.max(a.cpuMillis, b.cpuMillis),
    memoryBytes: Math.max(a.memoryBytes, b.memoryBytes),
  });
  const zero: ResourceAmounts = { cpuMillis: 0, memoryBytes: 0 };
  let sidecars = zero;
  let init = zero;
  for (const container of spec?.initContainers ?? []) {
    const requests = containerRequests(container);
    if (container.restartPolicy === 'Always') {
      sidecars = sum(sidecars, requests);
      init = max(init, sidecars);
    } else {
      init = max(init, sum(requests, sidecars));
    }
  }
  const running = (spec?.containers ?? []).map(containerRequests).reduce(sum, sidecars);
  return sum(max(running, init), amountsOf(spec?.overhead));
}
