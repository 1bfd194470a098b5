/**
 * One CloudNativePG `Cluster` object as the switchover reaches it: read, and merge-patched, through the adapter's
 * retries and error translation.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Clock, Log } from '../../core/ports.js';
import { BatonError, isBatonError } from '../../errors.js';
import { CNPG_CLUSTERS } from './cnpg-status.js';
import type { CnpgClusterObject, CnpgClusterRef } from './cnpg-status.js';
import { describeTarget } from './kube-clients.js';
import type { Target } from './kube-clients.js';
import type { Operation } from './kube-errors.js';
import { sendWithRetry } from './kube-retry.js';
import type { KubeRequestPolicy } from './kube-retry.js';

/** One Cluster as the Kubernetes adapter reaches it: read, and merge-patched. */
export interface CnpgClusterAccess {
  ref: CnpgClusterRef;
  /** The Kubernetes cluster it is in, for messages (`west`). */
  where: string;
  read(signal?: AbortSignal): Promise<CnpgClusterObject>;
  mergePatch(patch: Record<string, unknown>, signal?: AbortSignal): Promise<void>;
  clock: Clock;
  log: Log;
}

/** One CloudNativePG Cluster, read and merge-patched through this adapter's retries and error translation. */
export function createCnpgAccess(
  policy: KubeRequestPolicy,
  target: Target,
  ref: CnpgClusterRef,
): CnpgClusterAccess {
  const operation: Operation = {
    verb: 'patch',
    group: CNPG_CLUSTERS.group,
    resource: CNPG_CLUSTERS.plural,
    object: `CloudNativePG Cluster ${ref.namespace}/${ref.name}`,
    namespace: ref.namespace,
    name: ref.name,
    write: true,
  };
  return {
    ref,
    where: target.cluster,
    read: (signal) => readCnpgCluster(policy, target, ref, signal),
    mergePatch: async (patch, signal) => {
      await sendWithRetry(
        policy,
        target,
        operation,
        (requestOptions) =>
          target.clients.custom.patchNamespacedCustomObject(
            { ...CNPG_CLUSTERS, namespace: ref.namespace, name: ref.name, body: patch },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch, requestOptions),
          ),
        { signal },
      );
    },
    clock: policy.clock,
    log: policy.log.child({ site: target.site.name, cluster: target.cluster }),
  };
}

/** Reads a Cluster object; `cnpg-cluster-missing` when there is none. */
export async function readCnpgCluster(
  policy: KubeRequestPolicy,
  target: Target,
  ref: CnpgClusterRef,
  signal?: AbortSignal,
): Promise<CnpgClusterObject> {
  const label = `CloudNativePG Cluster ${ref.namespace}/${ref.name}`;
  try {
    return (await sendWithRetry(
      policy,
      target,
      {
        verb: 'get',
        group: CNPG_CLUSTERS.group,
        resource: CNPG_CLUSTERS.plural,
        object: label,
        namespace: ref.namespace,
        name: ref.name,
        write: false,
      },
      (options) =>
        target.clients.custom.getNamespacedCustomObject(
          { ...CNPG_CLUSTERS, namespace: ref.namespace, name: ref.name },
          options,
        ),
      { signal },
    )) as CnpgClusterObject;
  } catch (error) {
    if (isBatonError(error) && error.code === 'not-found') {
      throw new BatonError(
        'cnpg-cluster-missing',
        `${label} does not exist on ${describeTarget(target)} — check database.${target.cluster}.cnpgCluster in the ` +
          'topology and that CloudNativePG runs there',
        { cause: error },
      );
    }
    throw error;
  }
}

/** Merge-patches the Cluster; a patch the operator's webhook rejects becomes `cnpg-patch-rejected`. */
export async function patchCnpgCluster(
  access: CnpgClusterAccess,
  label: string,
  patch: Record<string, unknown>,
  signal: AbortSignal | undefined,
): Promise<void> {
  try {
    await access.mergePatch(patch, signal);
  } catch (error) {
    // 422 from the operator's validating webhook (vcluster.cnpg.io): its message names the field.
    if (isBatonError(error) && error.code === 'cluster-invalid') {
      throw new BatonError(
        'cnpg-patch-rejected',
        `${error.message} — fix ${label}'s spec.replica and externalClusters (kubectl get cluster -n ` +
          `${access.ref.namespace} ${access.ref.name} -o yaml), then Retry`,
        { cause: error },
      );
    }
    throw error;
  }
}
