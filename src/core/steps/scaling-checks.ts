/**
 * Preflight's checks that the target's scale will hold: the HorizontalPodAutoscalers Baton will raise, and GitOps
 * controllers that would put spec.replicas back to what Git says (Argo CD or Flux with self-heal), with the exact fix.
 *
 * How a managed workload is recognised:
 * - Argo CD: the `argocd.argoproj.io/tracking-id` annotation (the default tracking method since Argo CD 3.0), or the
 *   `app.kubernetes.io/instance` label (the default before 3.0; Helm charts set it too, so it is only a hint) —
 *   argo-cd.readthedocs.io, user-guide/resource_tracking.
 * - Flux: the `kustomize.toolkit.fluxcd.io/name` or `helm.toolkit.fluxcd.io/name` label its controllers set.
 */
import type { ClusterId } from '../../config/topology.js';
import type { PreflightCheck } from '../model.js';
import type { AutoscalerStatus, WorkloadStatus } from '../ports.js';
import { workloadLabel } from './step.js';
import type { StepContext } from './step.js';

type Workload = StepContext['site']['workloads'][number];

const ARGO_TRACKING_ID = 'argocd.argoproj.io/tracking-id';
const ARGO_INSTANCE_LABEL = 'app.kubernetes.io/instance';
const FLUX_LABELS = ['kustomize.toolkit.fluxcd.io/name', 'helm.toolkit.fluxcd.io/name'];

/** Which GitOps controller manages the workload, and how Baton knows; null when none is marked. */
export function gitOpsManager(
  status: WorkloadStatus,
): { tool: 'Argo CD' | 'Flux'; app: string; sure: boolean } | null {
  const annotations = status.annotations ?? {};
  const labels = status.labels ?? {};
  const trackingId = annotations[ARGO_TRACKING_ID];
  // `<application>:<group>/<kind>:<namespace>/<name>`
  if (trackingId) return { tool: 'Argo CD', app: trackingId.split(':')[0] ?? trackingId, sure: true };
  for (const label of FLUX_LABELS) {
    const name = labels[label];
    if (name) return { tool: 'Flux', app: name, sure: true };
  }
  const instance = labels[ARGO_INSTANCE_LABEL];
  if (instance) return { tool: 'Argo CD', app: instance, sure: false };
  return null;
}

/** The `ignoreDifferences` an Argo CD Application needs so that self-heal leaves the workload's replicas alone. */
export function argoIgnoreReplicasSnippet(workload: Pick<Workload, 'kind' | 'name' | 'namespace'>): string {
  return [
    'spec:',
    '  ignoreDifferences:',
    '    - group: apps',
    `      kind: ${workload.kind}`,
    `      name: ${workload.name}`,
    `      namespace: ${workload.namespace}`,
    '      jsonPointers: [/spec/replicas]',
    '  syncPolicy:',
    '    syncOptions: [RespectIgnoreDifferences=true]',
  ].join('\n');
}

/** The checks for one workload on the target, from what the preflight read of it. */
export function scalingChecks(
  workload: Workload,
  to: ClusterId,
  status: WorkloadStatus,
  autoscalers: AutoscalerStatus[],
): PreflightCheck[] {
  const checks: PreflightCheck[] = autoscalers.map((hpa) => ({
    id: `autoscaler ${hpa.namespace}/${hpa.name}`,
    status: 'passed',
    detail:
      hpa.minReplicas >= workload.replicas && hpa.maxReplicas >= workload.replicas
        ? `${to}: targets ${workloadLabel(workload)}, already allows ${workload.replicas} (min ${hpa.minReplicas})`
        : `${to}: targets ${workloadLabel(workload)}; Baton raises minReplicas ${hpa.minReplicas} → ${workload.replicas}` +
          (hpa.maxReplicas < workload.replicas
            ? ` and maxReplicas ${hpa.maxReplicas} → ${workload.replicas}`
            : '') +
          ' for as long as it serves',
  }));
  const manager = gitOpsManager(status);
  if (!manager) return checks;
  const id = `gitops ${workloadLabel(workload)}`;
  const who = `${to}: ${workloadLabel(workload)} is managed by ${manager.tool} (${manager.app})${manager.sure ? '' : ', by its app.kubernetes.io/instance label'}`;
  const paused = workload.argocd?.[to];
  if (manager.tool === 'Argo CD' && paused) {
    checks.push({
      id,
      status: 'passed',
      detail: `${who}; Baton pauses Application ${paused}'s automated sync while the site is away from home`,
    });
    return checks;
  }
  if (autoscalers.length > 0) {
    checks.push({
      id,
      status: 'passed',
      detail: `${who}; an HPA owns its replicas — keep spec.replicas out of Git (or ignored) so self-heal leaves them alone`,
    });
    return checks;
  }
  const fix =
    manager.tool === 'Argo CD'
      ? `add to Application ${manager.app}:\n${argoIgnoreReplicasSnippet(workload)}`
      : `remove spec.replicas from the manifest in Git (Flux ${manager.app} re-applies it)`;
  checks.push({
    id,
    status: 'warning',
    detail:
      `${who}: with self-heal on it puts spec.replicas back to Git's value seconds after Baton scales it. ` +
      `Fix: ${fix}; or let a HorizontalPodAutoscaler own the replicas (Baton raises its minReplicas)` +
      (manager.tool === 'Argo CD'
        ? `; or name the Application in the workload's argocd so that Baton pauses its sync`
        : ''),
  });
  return checks;
}
