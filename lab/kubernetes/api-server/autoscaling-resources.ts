/**
 * The autoscaling/v2 HorizontalPodAutoscaler resource: list, get, and PATCH of spec and metadata (merge, JSON and
 * strategic merge, as the API accepts them), validated as the API validates an HPA's range; the objects serialized
 * as the API serves them. The controller that acts on them is hpa-controller.ts.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ClusterState } from './cluster-state.js';
import { nextRevision } from './cluster-state.js';
import { pageList } from './list-query.js';
import { applyPatch, isObject } from './patches.js';
import type { Attributes, Request } from './request-attributes.js';
import { badRequest, conflict, methodNotAllowed, notFound, statusError } from './status-errors.js';

/** One HPA of a stand-in cluster. */
export interface AutoscalerRecord {
  namespace: string;
  name: string;
  uid: string;
  creationTimestamp: string;
  resourceVersion: string;
  generation: number;
  annotations: Record<string, string>;
  target: { kind: 'Deployment' | 'StatefulSet'; name: string };
  minReplicas: number;
  maxReplicas: number;
  /** What the metrics ask for (an idle standby: low). The controller clamps it into the range. */
  recommendedReplicas: number;
  /** status.currentReplicas / desiredReplicas as of the last sync. */
  currentReplicas: number;
  desiredReplicas: number;
  lastScaleTime?: string;
}

export function serveAutoscalers(state: ClusterState, attributes: Attributes, request: Request): unknown {
  const inScope = state.autoscalers.filter(
    (a) => !attributes.namespace || a.namespace === attributes.namespace,
  );
  if (!attributes.name) {
    if (request.method !== 'GET') throw methodNotAllowed();
    const items = inScope.map((a) => {
      const { apiVersion: _a, kind: _k, ...object } = serializeAutoscaler(a);
      return object;
    });
    return pageList(state, 'HorizontalPodAutoscalerList', 'autoscaling/v2', items, request.query);
  }
  const record = inScope.find((a) => a.name === attributes.name);
  if (!record) throw notFound('horizontalpodautoscalers', 'autoscaling', attributes.name);
  if (request.method === 'GET') return serializeAutoscaler(record);
  if (request.method !== 'PATCH' || attributes.subresource === 'status') throw methodNotAllowed();
  const before = serializeAutoscaler(record);
  const patched = applyPatch(before, request.contentType, request.body, true);
  if (!isObject(patched) || !isObject(patched.metadata) || !isObject(patched.spec)) {
    throw badRequest('the patched object is not a HorizontalPodAutoscaler');
  }
  const requested = patched.metadata.resourceVersion;
  if (requested !== undefined && requested !== record.resourceVersion) {
    throw conflict('horizontalpodautoscalers', 'autoscaling', record.name);
  }
  const minReplicas = patched.spec.minReplicas ?? 1;
  const maxReplicas = patched.spec.maxReplicas;
  // The API's validation (pkg/apis/autoscaling/validation): minReplicas ≥ 1, maxReplicas ≥ minReplicas.
  const invalid = (field: string, value: unknown, detail: string) =>
    statusError(
      422,
      'Invalid',
      `HorizontalPodAutoscaler.autoscaling "${record.name}" is invalid: ${field}: Invalid value: ${String(value)}: ${detail}`,
      {
        name: record.name,
        group: 'autoscaling',
        kind: 'HorizontalPodAutoscaler',
        causes: [
          { reason: 'FieldValueInvalid', message: `Invalid value: ${String(value)}: ${detail}`, field },
        ],
      },
    );
  if (typeof minReplicas !== 'number' || !Number.isInteger(minReplicas) || minReplicas < 1) {
    throw invalid('spec.minReplicas', minReplicas, 'must be greater than or equal to 1');
  }
  if (typeof maxReplicas !== 'number' || !Number.isInteger(maxReplicas) || maxReplicas < minReplicas) {
    throw invalid('spec.maxReplicas', maxReplicas, 'must be greater than or equal to `minReplicas`');
  }
  const annotations = isObject(patched.metadata.annotations)
    ? (Object.fromEntries(
        Object.entries(patched.metadata.annotations).filter(([, v]) => typeof v === 'string'),
      ) as Record<string, string>)
    : {};
  if (request.query.get('dryRun') === 'All') return patched;
  const specChanged = minReplicas !== record.minReplicas || maxReplicas !== record.maxReplicas;
  if (!specChanged && isDeepStrictEqual(annotations, record.annotations)) return before;
  record.minReplicas = minReplicas;
  record.maxReplicas = maxReplicas;
  record.annotations = annotations;
  if (specChanged) record.generation += 1;
  record.resourceVersion = nextRevision(state);
  return serializeAutoscaler(record);
}

function serializeAutoscaler(a: AutoscalerRecord): Record<string, unknown> {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: {
      name: a.name,
      namespace: a.namespace,
      uid: a.uid,
      resourceVersion: a.resourceVersion,
      creationTimestamp: a.creationTimestamp,
      ...(Object.keys(a.annotations).length > 0 && { annotations: { ...a.annotations } }),
    },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: a.target.kind, name: a.target.name },
      minReplicas: a.minReplicas,
      maxReplicas: a.maxReplicas,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
        },
      ],
    },
    status: {
      observedGeneration: a.generation,
      ...(a.lastScaleTime && { lastScaleTime: a.lastScaleTime }),
      currentReplicas: a.currentReplicas,
      desiredReplicas: a.desiredReplicas,
    },
  };
}
