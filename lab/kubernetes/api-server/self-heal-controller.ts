/**
 * A GitOps controller with self-heal on (Argo CD `syncPolicy.automated.selfHeal: true`, or Flux reconciling a
 * Kustomization/HelmRelease): a workload whose spec.replicas differs from its manifest in Git is put back a delay
 * after the change. Argo CD only syncs fields present in Git, so a manifest without `replicas` (the documented setup
 * for an HPA-owned workload) is never reverted, nor is one whose Application ignores /spec/replicas with
 * `RespectIgnoreDifferences=true` (argo-cd.readthedocs.io, user-guide/diffing and sync-options). Per cluster: all
 * workloads or the named ones (`namespace/name`). Applied lazily, when a read settles the cluster.
 */
import type { ClusterState, WorkloadRecord } from './cluster-state.js';
import { selfHeals } from './argocd-resources.js';
import { changeSpec } from './workload-controller.js';

/** Argo CD's default self-heal timeout (argocd-application-controller --self-heal-timeout-seconds 5). */
export const DEFAULT_SELF_HEAL_DELAY_MS = 5_000;

/** Self-heal of one stand-in cluster. */
export interface SelfHealOptions {
  /** `all`, or `namespace/name` of each workload the GitOps controller manages with self-heal. */
  workloads: 'all' | string[];
  /** How long after a change it is reverted (default 5 s). */
  delayMs?: number;
}

/** What Git holds for a workload: its replicas (null: the manifest has none), and whether the app ignores them. */
export interface GitManifest {
  replicas: number | null;
  ignoreReplicas?: boolean;
}

function managed(options: SelfHealOptions, workload: WorkloadRecord): boolean {
  return options.workloads === 'all' || options.workloads.includes(`${workload.namespace}/${workload.name}`);
}

/**
 * Reverts every managed workload whose replicas have differed from Git for the delay, by `now`: those of the
 * cluster-wide switch (`setSelfHeal`), and those an Argo CD Application syncs while its automated sync with selfHeal
 * is on (argocd-resources.ts), counted from when it was turned on.
 */
export function selfHeal(state: ClusterState, now: number): void {
  const options = state.selfHeal;
  if (options) {
    const delay = options.delayMs ?? DEFAULT_SELF_HEAL_DELAY_MS;
    for (const workload of state.workloads) {
      if (managed(options, workload)) revert(state, workload, options.since ?? 0, delay, now);
    }
  }
  for (const application of state.applications) {
    if (!selfHeals(application)) continue;
    for (const workload of state.workloads) {
      if (managed({ workloads: application.workloads }, workload))
        revert(
          state,
          workload,
          application.automatedSince,
          application.selfHealDelayMs ?? DEFAULT_SELF_HEAL_DELAY_MS,
          now,
        );
    }
  }
}

function revert(
  state: ClusterState,
  workload: WorkloadRecord,
  since: number,
  delay: number,
  now: number,
): void {
  const git = workload.git;
  if (git.replicas === null || git.ignoreReplicas || workload.replicas === git.replicas) return;
  const at = Math.max(workload.specChangedAt, since) + delay;
  if (now < at) return;
  changeSpec(state, workload, { replicas: git.replicas }, at);
}
