/**
 * The controllers behind Deployments and StatefulSets: the ReplicaSet's and the StatefulSet's pods created and
 * removed on a scale, each becoming Ready after a delay, and the status counts they add up to.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ClusterState, PodState, WorkloadRecord } from './cluster-state.js';

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

export function workloadStatus(workload: WorkloadRecord, now: number): WorkloadStatusCounts {
  const pods = visiblePods(workload, now);
  const ready = pods.filter((pod) => podReady(pod, now)).length;
  const hash = templateHash(workload.images);
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

/** Creates or removes pods so that `workload.replicas` of them exist; new ones become Ready after the delay. */
export function reconcilePods(
  state: ClusterState,
  workload: WorkloadRecord,
  now: number,
  readyAfterMs: number,
): void {
  const hash = templateHash(workload.images);
  if (workload.kind === 'Deployment') {
    while (workload.pods.length > workload.replicas) {
      // A ReplicaSet scales down the pods that are not Ready first, then the newest.
      const notReady = workload.pods.findIndex((pod) => !podReady(pod, now));
      workload.pods.splice(notReady >= 0 ? notReady : workload.pods.length - 1, 1);
    }
    while (workload.pods.length < workload.replicas) {
      workload.pods.push(
        newPod(state, workload, `${workload.name}-${hash}-${podSuffix()}`, now, now + readyAfterMs),
      );
    }
    return;
  }
  // StatefulSet, OrderedReady: pod N is created only once pod N-1 is Ready; scale-down removes the highest ordinal.
  workload.pods.length = Math.min(workload.pods.length, workload.replicas);
  while (workload.pods.length < workload.replicas) {
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
    templateHash: templateHash(workload.images),
    images: [...workload.images],
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
