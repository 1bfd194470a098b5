/**
 * The controllers behind Deployments and StatefulSets: a spec change recorded at once (generation bumped) and acted
 * on a delay later; the ReplicaSet's and the StatefulSet's pods created and removed then, each becoming Ready after
 * a delay of its own; and the status counts they add up to, which describe the spec the controller last observed.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ClusterState, PodState, WorkloadRecord } from './cluster-state.js';
import { nextRevision } from './cluster-state.js';

/**
 * How long after a spec change the controller acts on it (and writes status.observedGeneration): the watch event
 * reaching its informer cache and the work queue, a few tens of milliseconds on a quiet kube-controller-manager.
 */
export const DEFAULT_CONTROLLER_DELAY_MS = 50;

/** The spec as the controller last observed it: what the status and the pods describe. */
export interface ObservedSpec {
  generation: number;
  replicas: number;
  images: string[];
}

/** A spec written to the API but not yet seen by the controller, and when it was written. */
export interface PendingSpec extends ObservedSpec {
  at: number;
}

export function podReady(pod: PodState, now: number): boolean {
  return now >= pod.readyAt;
}

export function visiblePods(workload: WorkloadRecord, now: number): PodState[] {
  return workload.pods.filter((pod) => now >= pod.createdAt);
}

export interface WorkloadStatusCounts {
  replicas: number;
  readyReplicas: number;
  availableReplicas: number;
  updatedReplicas: number;
}

/** The counts the controller last wrote: its pods against the template of the spec it observed. */
export function workloadStatus(workload: WorkloadRecord, now: number): WorkloadStatusCounts {
  const pods = visiblePods(workload, now);
  const ready = pods.filter((pod) => podReady(pod, now)).length;
  const hash = templateHash(workload.observed.images);
  return {
    replicas: pods.length,
    readyReplicas: ready,
    availableReplicas: ready,
    updatedReplicas: pods.filter((pod) => pod.templateHash === hash).length,
  };
}

export function templateHash(images: string[]): string {
  // Kubernetes' pod-template-hash is a short safe-encoded hash of the template; any stable hash reads the same.
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const digest = createHash('sha256').update(images.join('\n')).digest();
  return Array.from(digest.subarray(0, 10), (byte) => alphabet[byte % alphabet.length]).join('');
}

function podSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return Array.from(randomBytes(5), (byte) => alphabet[byte % alphabet.length]).join('');
}

/**
 * Writes a spec change as the API server does: metadata.generation is bumped at once, while the controller sees it
 * `controllerDelayMs` later, from its informer cache; until then status.observedGeneration and every count describe
 * the previous spec. The Kubernetes API conventions (kubernetes/community, sig-architecture/api-conventions.md):
 * generation is "a sequence number representing a specific generation of the desired state. Set by the system";
 * observedGeneration "can be used ... to ensure that the reported status reflects the most recent desired status".
 * The caller has applied the passage of time up to `at`.
 */
export function changeSpec(
  state: ClusterState,
  workload: WorkloadRecord,
  change: { replicas?: number; images?: string[] },
  at: number,
): void {
  catchUpController(state, workload, at);
  if (change.replicas !== undefined) {
    workload.replicas = change.replicas;
    workload.specChangedAt = at;
  }
  if (change.images) workload.images = [...change.images];
  workload.generation += 1;
  workload.pending.push({
    generation: workload.generation,
    replicas: workload.replicas,
    images: [...workload.images],
    at,
  });
  workload.resourceVersion = nextRevision(state);
}

/**
 * The controller acting, in order, on each spec change it has seen by `now`: each is seen `controllerDelayMs` after
 * it was written (the cache lags the API server, so an intermediate spec is acted on if it was there long enough).
 * A new template relabels the pods, as a finished rollout would; pods keep their readiness.
 */
export function catchUpController(state: ClusterState, workload: WorkloadRecord, now: number): void {
  const delay = state.options.controllerDelayMs ?? DEFAULT_CONTROLLER_DELAY_MS;
  for (let next = workload.pending[0]; next && next.at + delay <= now; next = workload.pending[0]) {
    workload.pending.shift();
    const { at: _at, ...spec } = next;
    workload.observed = spec;
    const hash = templateHash(spec.images);
    for (const pod of workload.pods) Object.assign(pod, { images: [...spec.images], templateHash: hash });
    reconcilePods(state, workload, next.at + delay, state.options.podReadyAfterMs ?? 0);
  }
}

/**
 * Creates or removes pods so that the observed spec's replicas of them exist; new ones become Ready after the
 * delay.
 */
export function reconcilePods(
  state: ClusterState,
  workload: WorkloadRecord,
  now: number,
  readyAfterMs: number,
): void {
  const { replicas, images } = workload.observed;
  const hash = templateHash(images);
  if (workload.kind === 'Deployment') {
    while (workload.pods.length > replicas) {
      // A ReplicaSet scales down the pods that are not Ready first, then the newest.
      const notReady = workload.pods.findIndex((pod) => !podReady(pod, now));
      workload.pods.splice(notReady >= 0 ? notReady : workload.pods.length - 1, 1);
    }
    while (workload.pods.length < replicas) {
      workload.pods.push(
        newPod(state, workload, `${workload.name}-${hash}-${podSuffix()}`, now, now + readyAfterMs),
      );
    }
    return;
  }
  // StatefulSet, OrderedReady: pod N is created only once pod N-1 is Ready; scale-down removes the highest ordinal.
  workload.pods.length = Math.min(workload.pods.length, replicas);
  while (workload.pods.length < replicas) {
    const previous = workload.pods[workload.pods.length - 1];
    const createdAt = Math.max(now, previous?.readyAt ?? now);
    workload.pods.push(
      newPod(
        state,
        workload,
        `${workload.name}-${workload.pods.length}`,
        createdAt,
        createdAt + readyAfterMs,
      ),
    );
  }
}

function newPod(
  state: ClusterState,
  workload: WorkloadRecord,
  name: string,
  createdAt: number,
  readyAt: number,
): PodState {
  state.podSeq += 1;
  const node = state.nodes[state.podSeq % Math.max(1, state.nodes.length)]?.name ?? '';
  return {
    name,
    createdAt,
    readyAt,
    node,
    ip: `10.244.${Math.floor(state.podSeq / 250) % 250}.${(state.podSeq % 250) + 2}`,
    templateHash: templateHash(workload.observed.images),
    images: [...workload.observed.images],
  };
}

export function containerNames(images: string[]): string[] {
  const used = new Map<string, number>();
  return images.map((image) => {
    const base =
      (image.split('@')[0] ?? image)
        .split('/')
        .pop()
        ?.replace(/:.*$/, '')
        .replace(/[^a-z0-9-]/g, '-') || 'app';
    const count = (used.get(base) ?? 0) + 1;
    used.set(base, count);
    return count === 1 ? base : `${base}-${count}`;
  });
}
