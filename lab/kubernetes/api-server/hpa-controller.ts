/**
 * The HorizontalPodAutoscaler controller of the stand-in's controller manager: every sync period (15 s by default,
 * kube-controller-manager's --horizontal-pod-autoscaler-sync-period) it sets each target's replicas to what the
 * metrics recommend, clamped into [minReplicas, maxReplicas]. So a Deployment scaled outside the range is scaled
 * back at the next sync, as on a real cluster. A target at 0 replicas is left alone: the HPA is disabled while
 * the workload is scaled to zero. Applied lazily, when a read settles the cluster, at the sync instants that passed.
 */
import { timestamp } from '../timestamp.js';
import type { ClusterState } from './cluster-state.js';
import { nextRevision } from './cluster-state.js';
import { changeSpec } from './workload-controller.js';

export const DEFAULT_HPA_SYNC_PERIOD_MS = 15_000;

/** Runs the syncs due by `now` (at most the latest one: each sync reads the state as it is). */
export function syncAutoscalers(state: ClusterState, now: number): void {
  const period = state.options.hpaSyncPeriodMs ?? DEFAULT_HPA_SYNC_PERIOD_MS;
  if (now < state.hpaNextSyncAt) return;
  const at = state.hpaNextSyncAt + Math.floor((now - state.hpaNextSyncAt) / period) * period;
  state.hpaNextSyncAt = at + period;
  for (const hpa of state.autoscalers) {
    const workload = state.workloads.find(
      (w) => w.namespace === hpa.namespace && w.kind === hpa.target.kind && w.name === hpa.target.name,
    );
    if (!workload || workload.replicas === 0) continue;
    const desired = Math.min(hpa.maxReplicas, Math.max(hpa.minReplicas, hpa.recommendedReplicas));
    hpa.currentReplicas = workload.replicas;
    hpa.desiredReplicas = desired;
    if (desired === workload.replicas) continue;
    changeSpec(state, workload, { replicas: desired }, at);
    hpa.lastScaleTime = timestamp(at);
    hpa.resourceVersion = nextRevision(state);
  }
}
