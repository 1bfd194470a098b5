/**
 * Deployments and StatefulSets: reading their status, scaling them through the scale subresource, and waiting until
 * they are Ready.
 */
import type { V1Deployment, V1Scale, V1StatefulSet } from '@kubernetes/client-node';
import type { WaitOptions, WorkloadRef, WorkloadStatus } from '../../core/ports.js';
import { waitUntil } from '../../core/wait.js';
import { BatonError, isBatonError } from '../../errors.js';
import { formatMs } from './format-ms.js';
import { describeTarget } from './kube-clients.js';
import type { Target } from './kube-clients.js';
import type { Operation } from './kube-errors.js';
import { sendWithRetry } from './kube-retry.js';
import type { KubeRequestPolicy } from './kube-retry.js';
import { kubeWaitOptions } from './kube-wait.js';

/** A workload's status, whether its controller has seen its latest spec, and how far its rollout is. */
export interface ReadWorkload {
  status: WorkloadStatus;
  generation: number;
  observedGeneration: number;
  /** status.replicas: every pod of the workload, old template or new. */
  podReplicas: number;
  updatedReplicas: number;
  availableReplicas: number;
}

/** The Deployment or StatefulSet object as the API returns it; null when it does not exist. */
export async function getWorkloadObject(
  policy: KubeRequestPolicy,
  target: Target,
  workload: WorkloadRef,
  signal?: AbortSignal,
): Promise<V1Deployment | V1StatefulSet | null> {
  const request = { name: workload.name, namespace: workload.namespace };
  const { apps } = target.clients;
  const operation: Operation = {
    verb: 'get',
    group: 'apps',
    resource: workload.kind === 'Deployment' ? 'deployments' : 'statefulsets',
    object: `${workload.kind} ${workload.namespace}/${workload.name}`,
    namespace: workload.namespace,
    name: workload.name,
    write: false,
  };
  try {
    return await sendWithRetry(
      policy,
      target,
      operation,
      (options): Promise<V1Deployment | V1StatefulSet> =>
        workload.kind === 'Deployment'
          ? apps.readNamespacedDeployment(request, options)
          : apps.readNamespacedStatefulSet(request, options),
      { signal },
    );
  } catch (error) {
    if (isBatonError(error) && error.code === 'not-found') return null;
    throw error;
  }
}

/** Reads a Deployment or StatefulSet; null when it does not exist. */
export async function readWorkload(
  policy: KubeRequestPolicy,
  target: Target,
  workload: WorkloadRef,
  signal?: AbortSignal,
): Promise<ReadWorkload | null> {
  const object = await getWorkloadObject(policy, target, workload, signal);
  if (!object) return null;
  return {
    status: {
      replicas: object.spec?.replicas ?? 1,
      // The API omits zero counts.
      readyReplicas: object.status?.readyReplicas ?? 0,
      images: (object.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? ''),
      ...(object.metadata?.labels && { labels: object.metadata.labels }),
      ...(object.metadata?.annotations && { annotations: object.metadata.annotations }),
    },
    generation: object.metadata?.generation ?? 0,
    observedGeneration: object.status?.observedGeneration ?? 0,
    podReplicas: object.status?.replicas ?? 0,
    updatedReplicas: object.status?.updatedReplicas ?? 0,
    availableReplicas: object.status?.availableReplicas ?? 0,
  };
}

/**
 * Sets a workload's replicas through its scale subresource, writing back the `resourceVersion` it read; no write
 * when the count is already right.
 */
export async function scaleWorkload(
  policy: KubeRequestPolicy,
  target: Target,
  workload: WorkloadRef,
  replicas: number,
  signal?: AbortSignal,
): Promise<void> {
  const { site, cluster } = target;
  const object = `${workload.kind} ${workload.namespace}/${workload.name}`;
  const resource = `${workload.kind === 'Deployment' ? 'deployments' : 'statefulsets'}/scale`;
  const scope = { group: 'apps', resource, object, namespace: workload.namespace, name: workload.name };
  const request = { name: workload.name, namespace: workload.namespace };
  const { apps } = target.clients;
  // A stale resourceVersion (someone else scaled in between) is answered by reading again, not by resending.
  for (let round = 1; ; round += 1) {
    const scale = await sendWithRetry(
      policy,
      target,
      { ...scope, verb: 'get', write: false },
      (options) =>
        workload.kind === 'Deployment'
          ? apps.readNamespacedDeploymentScale(request, options)
          : apps.readNamespacedStatefulSetScale(request, options),
      { signal },
    );
    const from = scale.spec?.replicas ?? 0;
    if (from === replicas) return;
    const body: V1Scale = { ...scale, spec: { ...scale.spec, replicas } };
    try {
      await sendWithRetry(
        policy,
        target,
        { ...scope, verb: 'update', write: true },
        (options) =>
          workload.kind === 'Deployment'
            ? apps.replaceNamespacedDeploymentScale({ ...request, body }, options)
            : apps.replaceNamespacedStatefulSetScale({ ...request, body }, options),
        { retryConflicts: false, signal },
      );
      policy.log.info({ site: site.name, cluster, workload: object, from, to: replicas }, 'scaled workload');
      return;
    } catch (error) {
      if (!(isBatonError(error) && error.code === 'cluster-conflict') || round >= policy.retry.attempts)
        throw error;
      policy.log.debug(
        { site: site.name, cluster, workload: object, round },
        'scale conflict; reading again',
      );
    }
  }
}

/**
 * Resolves once the rollout is complete at `replicas` or more (see `rolloutProgress`). Bounded by the signal (the
 * step's timeout) or `timeoutMs` (`not-ready`); either way the error says what it last saw.
 */
export async function waitForWorkloadReady(
  policy: KubeRequestPolicy,
  target: Target,
  workload: WorkloadRef,
  replicas: number,
  options: WaitOptions,
): Promise<WorkloadStatus> {
  const label = `${workload.kind} ${workload.namespace}/${workload.name}`;
  return waitUntil(
    policy.clock,
    kubeWaitOptions(
      options,
      (seen) =>
        new BatonError(
          'not-ready',
          `${label} on ${target.cluster}: ${seen} after ${formatMs(options.timeoutMs ?? 0)} — look at its pods ` +
            `(kubectl -n ${workload.namespace} get pods, describe): image pulls, scheduling, readiness probes; ` +
            'Retry when they are Ready',
          { retriable: true },
        ),
    ),
    async () => {
      const found = await readWorkload(policy, target, workload, options.signal);
      if (!found) {
        throw new BatonError(
          'workload-missing',
          `${label} does not exist on ${describeTarget(target)} — create it there (same images as the other side), then Retry`,
        );
      }
      const waiting = rolloutProgress(workload.kind, found, replicas);
      return waiting === null
        ? { done: true, value: found.status }
        : { done: false, seen: `${waiting} (spec.replicas ${found.status.replicas})` };
    },
  );
}

/**
 * What a rollout still waits for, or null when it is complete — the conditions of `kubectl rollout status`
 * (k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go), with `replicas` as the count to reach: the controller
 * has observed the latest generation (until then every count describes the old spec, so Ready pods prove nothing),
 * `replicas` pods run the current template, a Deployment has no old pods left and its updated pods are available,
 * and `replicas` are Ready.
 */
export function rolloutProgress(
  kind: WorkloadRef['kind'],
  found: ReadWorkload,
  replicas: number,
): string | null {
  if (found.observedGeneration < found.generation) {
    return `waiting for the controller to observe generation ${found.generation} (it has seen ${found.observedGeneration})`;
  }
  if (found.updatedReplicas < replicas) return `${found.updatedReplicas}/${replicas} updated`;
  if (kind === 'Deployment' && found.podReplicas > found.updatedReplicas) {
    return `${found.podReplicas - found.updatedReplicas} old replicas pending termination`;
  }
  if (found.status.readyReplicas < replicas) return `${found.status.readyReplicas}/${replicas} Ready`;
  if (kind === 'Deployment' && found.availableReplicas < replicas) {
    return `${found.availableReplicas}/${replicas} available`;
  }
  return null;
}
