/**
 * HorizontalPodAutoscalers (autoscaling/v2) that target a workload: listing them, and setting their replica range
 * with Baton's record of the range to give back, in one merge patch. KEDA's ScaledObjects create ordinary HPAs, so
 * they are covered too. Reached through the generic objects client: an HPA is served at
 * /apis/autoscaling/v2/namespaces/<ns>/horizontalpodautoscalers like any other group's resource.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { AutoscalerRange, AutoscalerRef, AutoscalerStatus, WorkloadRef } from '../../core/ports.js';
import type { Target } from './kube-clients.js';
import type { Operation } from './kube-errors.js';
import { sendWithRetry } from './kube-retry.js';
import type { KubeRequestPolicy } from './kube-retry.js';

const HPAS = { group: 'autoscaling', version: 'v2', plural: 'horizontalpodautoscalers' } as const;

/** The annotation holding the range Baton raised the HPA from (JSON), written and removed with the range itself. */
export const HELD_FROM_ANNOTATION = 'baton/held-from';

interface HpaObject {
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  spec?: {
    scaleTargetRef?: { apiVersion?: string; kind?: string; name?: string };
    minReplicas?: number;
    maxReplicas?: number;
  };
}

/** The HPAs in the workload's namespace whose scaleTargetRef is that Deployment or StatefulSet. */
export async function listAutoscalers(
  policy: KubeRequestPolicy,
  target: Target,
  workload: WorkloadRef,
  signal?: AbortSignal,
): Promise<AutoscalerStatus[]> {
  const operation: Operation = {
    verb: 'list',
    group: HPAS.group,
    resource: HPAS.plural,
    object: `HorizontalPodAutoscalers in ${workload.namespace}`,
    namespace: workload.namespace,
    write: false,
  };
  const list = (await sendWithRetry(
    policy,
    target,
    operation,
    (options) =>
      target.clients.custom.listNamespacedCustomObject({ ...HPAS, namespace: workload.namespace }, options),
    { signal },
  )) as { items?: HpaObject[] };
  return (list.items ?? [])
    .filter((hpa) => {
      const ref = hpa.spec?.scaleTargetRef;
      // scaleTargetRef.apiVersion is "apps/v1" for both kinds; an unset one is read the same way.
      return (
        ref?.kind === workload.kind &&
        ref.name === workload.name &&
        (ref.apiVersion ?? 'apps/v1').startsWith('apps/')
      );
    })
    .map((hpa) => ({
      namespace: hpa.metadata?.namespace ?? workload.namespace,
      name: hpa.metadata?.name ?? '',
      // The API defaults minReplicas to 1 (autoscaling/v2 HorizontalPodAutoscalerSpec).
      minReplicas: hpa.spec?.minReplicas ?? 1,
      maxReplicas: hpa.spec?.maxReplicas ?? 1,
      heldFrom: parseHeldFrom(hpa.metadata?.annotations?.[HELD_FROM_ANNOTATION]),
    }));
}

/** Sets the HPA's range and Baton's record of what to give back (null removes it), in one merge patch. */
export async function setAutoscalerRange(
  policy: KubeRequestPolicy,
  target: Target,
  ref: AutoscalerRef,
  range: AutoscalerRange & { heldFrom: AutoscalerRange | null },
  signal?: AbortSignal,
): Promise<void> {
  const operation: Operation = {
    verb: 'patch',
    group: HPAS.group,
    resource: HPAS.plural,
    object: `HorizontalPodAutoscaler ${ref.namespace}/${ref.name}`,
    namespace: ref.namespace,
    name: ref.name,
    write: true,
  };
  const body = {
    metadata: {
      annotations: {
        [HELD_FROM_ANNOTATION]: range.heldFrom
          ? JSON.stringify({
              minReplicas: range.heldFrom.minReplicas,
              maxReplicas: range.heldFrom.maxReplicas,
            })
          : null,
      },
    },
    spec: { minReplicas: range.minReplicas, maxReplicas: range.maxReplicas },
  };
  await sendWithRetry(
    policy,
    target,
    operation,
    (options) =>
      target.clients.custom.patchNamespacedCustomObject(
        { ...HPAS, namespace: ref.namespace, name: ref.name, body },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch, options),
      ),
    { signal },
  );
  policy.log.info(
    { site: target.site.name, cluster: target.cluster, autoscaler: `${ref.namespace}/${ref.name}`, ...range },
    range.heldFrom ? 'raised autoscaler range' : 'gave autoscaler range back',
  );
}

function parseHeldFrom(value: string | undefined): AutoscalerRange | null {
  if (!value) return null;
  try {
    const parsed = JSON.parse(value) as Partial<AutoscalerRange>;
    return typeof parsed.minReplicas === 'number' && typeof parsed.maxReplicas === 'number'
      ? { minReplicas: parsed.minReplicas, maxReplicas: parsed.maxReplicas }
      : null;
  } catch {
    return null;
  }
}
