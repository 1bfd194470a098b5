/**
 * West as a GitOps-run standby: its HorizontalPodAutoscaler on `web`, and, in a lab started with `gitops`, a second
 * workload (`worker`) and both workloads tracked by an Argo CD Application. The sandbox's switch turns that
 * Application's self-heal on, with or without the fix the operator guide gives, and this reads back what the page
 * shows: which workloads Argo CD manages, what Git holds for their replicas, and each HPA's range, live.
 *
 * Argo CD only syncs fields present in Git, so `web` (an HPA owns its replicas, Git has none, as Argo CD's docs
 * recommend) is never reverted; `worker` is left alone only with `ignoreDifferences` on /spec/replicas and
 * `RespectIgnoreDifferences=true` (argo-cd.readthedocs.io, user-guide/best_practices and user-guide/diffing).
 */
import type { StandInAutoscaler, StandInWorkload } from '../kubernetes/api-server/types.js';
import type { KubeApiServer } from '../kubernetes/kube-api-server.js';

type WorkloadRef = Pick<StandInWorkload, 'namespace' | 'kind' | 'name'>;

/** The cluster Argo CD manages in the lab, and its Application. */
export const GITOPS_CLUSTER = 'west';
export const ARGO_APPLICATION = 'production-west';

/** The lab's second workload (with `gitops`): serving 3 replicas, 1 on the standby, no HPA. */
export const WORKER = {
  namespace: 'default',
  kind: 'Deployment',
  name: 'worker',
  replicas: 3,
  standbyReplicas: 1,
} as const;

/** West's HPA on `web`: the idle standby runs its floor of 1; up to 10 under load. */
export const WEST_HPA: StandInAutoscaler = {
  namespace: 'default',
  name: 'web',
  target: { kind: 'Deployment', name: 'web' },
  minReplicas: 1,
  maxReplicas: 10,
  recommendedReplicas: 1,
};

/** `off`; `on` with the guide's fix (no replicas in Git under an HPA, ignored elsewhere); `on-without-fix`. */
export const SELF_HEAL_MODES = ['off', 'on', 'on-without-fix'] as const;
export type SelfHealMode = (typeof SELF_HEAL_MODES)[number];

/**
 * Argo CD's tracking annotation (`<application>:<group>/<kind>:<namespace>/<name>`), which it sets on every
 * resource it syncs (the default tracking method since Argo CD 3.0; user-guide/resource_tracking).
 */
export function argoTracking(workload: WorkloadRef): Record<string, string> {
  return {
    'argocd.argoproj.io/tracking-id': `${ARGO_APPLICATION}:apps/${workload.kind}:${workload.namespace}/${workload.name}`,
  };
}

/** What an HPA on a workload shows: its range now, and whether Baton holds it (the `baton/held-from` annotation). */
export interface AutoscalerView {
  name: string;
  minReplicas: number;
  maxReplicas: number;
  held: boolean;
}

/** What the page shows of a GitOps-managed workload. */
export interface GitOpsWorkloadView {
  app: string;
  /** What Git holds for its replicas, in words. */
  git: string;
  /** Whether self-heal, as switched now, puts its replicas back to Git's. */
  reverts: boolean;
}

/** The sandbox's self-heal switch for the lab's GitOps cluster, and the reading of it the page shows. */
export interface GitOpsSwitch {
  readonly cluster: string;
  /** Null: the lab was started without `gitops` (no Application manages anything). */
  mode(): SelfHealMode | null;
  set(mode: SelfHealMode): void;
  /** How Argo CD manages the workload on `cluster` now (null: it does not). */
  workload(cluster: string, workload: WorkloadRef): GitOpsWorkloadView | null;
  /** The HPA on the workload on `cluster`, its range read now (null: none). */
  autoscaler(cluster: string, workload: WorkloadRef): AutoscalerView | null;
}

export function gitOpsSwitch(
  lab: {
    kube: KubeApiServer;
    gitops: boolean;
    autoscalers: { cluster: string; hpa: StandInAutoscaler }[];
    topology: { sites: { workloads: (WorkloadRef & { standbyReplicas: number })[] }[] };
  },
  options: { delayMs?: number } = {},
): GitOpsSwitch {
  let mode: SelfHealMode = 'off';
  const hpaOn = (cluster: string, w: WorkloadRef) =>
    lab.autoscalers.find(
      (a) =>
        a.cluster === cluster &&
        a.hpa.namespace === w.namespace &&
        a.hpa.target.kind === w.kind &&
        a.hpa.target.name === w.name,
    )?.hpa;
  const workloads = () => lab.topology.sites[0]?.workloads ?? [];
  return {
    cluster: GITOPS_CLUSTER,
    mode: () => (lab.gitops ? mode : null),
    set(next) {
      if (!lab.gitops) throw new Error('this lab runs without GitOps: start it with `gitops: true`');
      for (const w of workloads()) {
        if (hpaOn(GITOPS_CLUSTER, w)) continue; // Git has no replicas for it, fix or not
        lab.kube.setGitManifest(GITOPS_CLUSTER, w.namespace, w.kind, w.name, {
          replicas: w.standbyReplicas,
          ignoreReplicas: next === 'on',
        });
      }
      lab.kube.setSelfHeal(
        GITOPS_CLUSTER,
        next === 'off'
          ? null
          : { workloads: 'all', ...(options.delayMs !== undefined && { delayMs: options.delayMs }) },
      );
      mode = next;
    },
    workload(cluster, w) {
      if (!lab.gitops || cluster !== GITOPS_CLUSTER) return null;
      if (hpaOn(cluster, w))
        return { app: ARGO_APPLICATION, git: 'no replicas (its HPA owns them)', reverts: false };
      const inGit = workloads().find(
        (c) => c.namespace === w.namespace && c.kind === w.kind && c.name === w.name,
      );
      const git = `replicas: ${inGit?.standbyReplicas ?? '?'}`;
      return mode === 'on-without-fix'
        ? { app: ARGO_APPLICATION, git: `${git} — self-heal puts them back`, reverts: true }
        : {
            app: ARGO_APPLICATION,
            git: `${git}, ignored (ignoreDifferences /spec/replicas)`,
            reverts: false,
          };
    },
    autoscaler(cluster, w) {
      const hpa = hpaOn(cluster, w);
      if (!hpa) return null;
      const now = lab.kube.autoscaler(cluster, hpa.namespace, hpa.name);
      return {
        name: hpa.name,
        minReplicas: now.minReplicas,
        maxReplicas: now.maxReplicas,
        held: 'baton/held-from' in now.annotations,
      };
    },
  };
}
