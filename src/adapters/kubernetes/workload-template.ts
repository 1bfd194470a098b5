/**
 * A Deployment's or StatefulSet's pod template, as readiness compares it between clusters (drift) and sums it
 * (capacity): per container the image, the names of its env entries (never their values: they may be secrets) and
 * its requests; the ConfigMaps and Secrets the template refers to; and one pod's effective request.
 */
import type { V1Container, V1PodSpec, V1Volume } from '@kubernetes/client-node';
import type { WorkloadRef, WorkloadTemplate } from '../../core/ports.js';
import type { Target } from './kube-clients.js';
import type { KubeRequestPolicy } from './kube-retry.js';
import { containerRequests, podRequests } from './pod-requests.js';
import { getWorkloadObject } from './workloads.js';

/** Reads the workload's pod template; null when the workload does not exist. */
export async function readWorkloadTemplate(
  policy: KubeRequestPolicy,
  target: Target,
  workload: WorkloadRef,
  signal?: AbortSignal,
): Promise<WorkloadTemplate | null> {
  const object = await getWorkloadObject(policy, target, workload, signal);
  return object && podTemplateOf(object.spec?.template?.spec);
}

/** What a pod spec runs and refers to. */
export function podTemplateOf(spec: V1PodSpec | undefined): WorkloadTemplate {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const all: V1Container[] = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
  for (const container of all) {
    for (const env of container.env ?? []) {
      addName(configMaps, env.valueFrom?.configMapKeyRef?.name);
      addName(secrets, env.valueFrom?.secretKeyRef?.name);
    }
    for (const source of container.envFrom ?? []) {
      addName(configMaps, source.configMapRef?.name);
      addName(secrets, source.secretRef?.name);
    }
  }
  for (const volume of spec?.volumes ?? []) volumeReferences(volume, configMaps, secrets);
  for (const pullSecret of spec?.imagePullSecrets ?? []) addName(secrets, pullSecret.name);
  return {
    containers: (spec?.containers ?? []).map((container) => ({
      name: container.name,
      image: container.image ?? '',
      envNames: [...new Set((container.env ?? []).map((env) => env.name))].sort(),
      requests: containerRequests(container),
    })),
    configMaps: [...configMaps].sort(),
    secrets: [...secrets].sort(),
    podRequests: podRequests(spec),
  };
}

/** The ConfigMaps and Secrets a volume mounts: directly, or among a projected volume's sources. */
function volumeReferences(volume: V1Volume, configMaps: Set<string>, secrets: Set<string>): void {
  addName(configMaps, volume.configMap?.name);
  addName(secrets, volume.secret?.secretName);
  for (const source of volume.projected?.sources ?? []) {
    addName(configMaps, source.configMap?.name);
    addName(secrets, source.secret?.name);
  }
  // Secrets that drivers read to mount or attach (CSI inline volumes, and the in-tree ones that take a secretRef).
  addName(secrets, volume.csi?.nodePublishSecretRef?.name);
  addName(secrets, volume.cephfs?.secretRef?.name);
  addName(secrets, volume.rbd?.secretRef?.name);
  addName(secrets, volume.azureFile?.secretName);
}

function addName(names: Set<string>, name: string | undefined): void {
  if (name) names.add(name);
}
