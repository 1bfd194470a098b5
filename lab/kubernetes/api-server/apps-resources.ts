/**
 * The apps group: Deployments and StatefulSets, their status, and the scale subresource (GET, PUT and the three
 * PATCH types) that scales pods up and down, validated as the API validates a Scale; the objects serialized as the
 * API serves them (spec, status counts and conditions, zero counts left out).
 */
import type { ClusterState, WorkloadRecord } from './cluster-state.js';
import { pageList, parseLabelSelector } from './list-query.js';
import { applyPatch, isObject } from './patches.js';
import type { Attributes, Request } from './request-attributes.js';
import { badRequest, conflict, methodNotAllowed, notFound, statusError } from './status-errors.js';
import type { ObjectMeta } from './types.js';
import { podSpecFields } from './pod-template.js';
import { changeSpec, templateHash, workloadStatus } from './workload-controller.js';

/** Deployments and StatefulSets: list, get, status, and the scale subresource. */
export function serveApps(state: ClusterState, attributes: Attributes, request: Request): unknown {
  const now = Date.now();
  const kind = attributes.resource === 'deployments' ? 'Deployment' : 'StatefulSet';
  const inScope = state.workloads.filter(
    (w) => w.kind === kind && (!attributes.namespace || w.namespace === attributes.namespace),
  );
  if (!attributes.name) {
    if (request.method !== 'GET') throw methodNotAllowed();
    const requirements = parseLabelSelector(request.query.get('labelSelector') ?? '');
    const items = inScope
      .map((w) => {
        const { apiVersion: _a, kind: _k, ...object } = serializeWorkload(w, now);
        return object;
      })
      .filter((o) =>
        requirements.every((r) => r(((o.metadata as ObjectMeta).labels ?? {}) as Record<string, string>)),
      );
    return pageList(state, `${kind}List`, 'apps/v1', items, request.query);
  }
  const workload = inScope.find((w) => w.name === attributes.name);
  if (!workload) throw notFound(attributes.resource, 'apps', attributes.name);
  if (attributes.subresource === 'status' || attributes.subresource === '') {
    if (request.method !== 'GET') throw methodNotAllowed();
    return serializeWorkload(workload, now);
  }
  // The scale subresource.
  const current = serializeScale(workload, now);
  if (request.method === 'GET') return current;
  let updated: unknown;
  if (request.method === 'PUT') {
    if (request.contentType !== 'application/json') {
      throw statusError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`,
      );
    }
    updated = request.body;
  } else if (request.method === 'PATCH') {
    updated = applyPatch(current, request.contentType, request.body, true);
  } else {
    throw methodNotAllowed();
  }
  const replicas = validateScale(updated, workload, attributes.resource);
  if (request.query.get('dryRun') === 'All') return { ...current, spec: { replicas } };
  // Only a change of the spec is a new generation; the controller acts on it later (see changeSpec).
  if (replicas !== workload.replicas) changeSpec(state, workload, { replicas }, now);
  return serializeScale(workload, now);
}

/** The replica count a PUT body or patched Scale asks for, validated as the API validates it. */
function validateScale(value: unknown, workload: WorkloadRecord, resource: string): number {
  if (!isObject(value)) throw badRequest('the body of the request was not a Scale object');
  if (value.kind !== undefined && value.kind !== 'Scale') {
    throw badRequest(
      `Scale in version "v1" cannot be handled as a ${String(value.kind)}: the object kind is not Scale`,
    );
  }
  const metadata = isObject(value.metadata) ? value.metadata : {};
  if (metadata.name !== undefined && metadata.name !== workload.name) {
    throw badRequest(
      `the name of the object (${String(metadata.name)}) does not match the name on the URL (${workload.name})`,
    );
  }
  const resourceVersion = metadata.resourceVersion;
  if (
    resourceVersion !== undefined &&
    resourceVersion !== '' &&
    resourceVersion !== workload.resourceVersion
  ) {
    throw conflict(resource, 'apps', workload.name);
  }
  const spec = isObject(value.spec) ? value.spec : {};
  const replicas = spec.replicas ?? 0;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || Math.abs(replicas) > 2 ** 31 - 1) {
    throw badRequest(
      `Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal ${typeof replicas === 'string' ? 'string' : 'number ' + String(replicas)} into Go struct field ScaleSpec.spec.replicas of type int32`,
    );
  }
  if (replicas < 0) {
    const detail = `Invalid value: ${replicas}: must be greater than or equal to 0`;
    throw statusError(
      422,
      'Invalid',
      `Scale.autoscaling "${workload.name}" is invalid: spec.replicas: ${detail}`,
      {
        name: workload.name,
        group: 'autoscaling',
        kind: 'Scale',
        causes: [{ reason: 'FieldValueInvalid', message: detail, field: 'spec.replicas' }],
      },
    );
  }
  return replicas;
}

function podTemplate(workload: WorkloadRecord): Record<string, unknown> {
  return {
    metadata: { labels: { app: workload.name } },
    spec: {
      ...podSpecFields(workload.images, workload.template),
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      securityContext: {},
    },
  };
}

/** Omits zero counts, as the API does for Deployment status fields (`omitempty`). */
function withoutZeros(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, value]) => value !== 0));
}

function serializeWorkload(workload: WorkloadRecord, now: number): Record<string, unknown> {
  const counts = workloadStatus(workload, now);
  const metadata = {
    name: workload.name,
    namespace: workload.namespace,
    uid: workload.uid,
    resourceVersion: workload.resourceVersion,
    generation: workload.generation,
    creationTimestamp: workload.creationTimestamp,
    labels: { ...workload.labels },
    annotations: {
      ...workload.annotations,
      ...(workload.kind === 'Deployment' && { 'deployment.kubernetes.io/revision': '1' }),
    },
  };
  const selector = { matchLabels: { app: workload.name } };
  // The status is the controller's last write: it describes the spec it observed, not the one just written.
  const observed = workload.observed;
  if (workload.kind === 'Deployment') {
    const maxUnavailable = Math.floor(observed.replicas * 0.25);
    const available = counts.availableReplicas >= observed.replicas - maxUnavailable;
    const complete =
      counts.updatedReplicas === observed.replicas && counts.availableReplicas === observed.replicas;
    const rs = `${workload.name}-${templateHash(observed.images)}`;
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata,
      spec: {
        replicas: workload.replicas,
        selector,
        template: podTemplate(workload),
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
      },
      status: {
        observedGeneration: observed.generation,
        ...withoutZeros({
          replicas: counts.replicas,
          updatedReplicas: counts.updatedReplicas,
          readyReplicas: counts.readyReplicas,
          availableReplicas: counts.availableReplicas,
          unavailableReplicas: Math.max(0, observed.replicas - counts.availableReplicas),
        }),
        conditions: [
          {
            type: 'Available',
            status: available ? 'True' : 'False',
            reason: available ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
            message: available
              ? 'Deployment has minimum availability.'
              : 'Deployment does not have minimum availability.',
            lastUpdateTime: workload.creationTimestamp,
            lastTransitionTime: workload.creationTimestamp,
          },
          {
            type: 'Progressing',
            status: 'True',
            reason: complete ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
            message: complete
              ? `ReplicaSet "${rs}" has successfully progressed.`
              : `ReplicaSet "${rs}" is progressing.`,
            lastUpdateTime: workload.creationTimestamp,
            lastTransitionTime: workload.creationTimestamp,
          },
        ],
      },
    };
  }
  const revision = `${workload.name}-${templateHash(observed.images).slice(0, 10)}`;
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata,
    spec: {
      replicas: workload.replicas,
      selector,
      serviceName: workload.name,
      template: podTemplate(workload),
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 10,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
    },
    status: {
      observedGeneration: observed.generation,
      // StatefulSetStatus.replicas is not omitempty; the other counts are.
      replicas: counts.replicas,
      ...withoutZeros({
        readyReplicas: counts.readyReplicas,
        currentReplicas: counts.updatedReplicas,
        updatedReplicas: counts.updatedReplicas,
        availableReplicas: counts.availableReplicas,
      }),
      currentRevision: revision,
      updateRevision: revision,
      collisionCount: 0,
    },
  };
}

function serializeScale(workload: WorkloadRecord, now: number): Record<string, unknown> {
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: workload.name,
      namespace: workload.namespace,
      uid: workload.uid,
      resourceVersion: workload.resourceVersion,
      creationTimestamp: workload.creationTimestamp,
    },
    spec: { replicas: workload.replicas },
    status: { replicas: workloadStatus(workload, now).replicas, selector: `app=${workload.name}` },
  };
}
