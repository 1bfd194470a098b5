/**
 * Argo CD `Application` objects (argoproj.io/v1alpha1): list, get and PATCH, and what their sync policy means for the
 * workloads they sync. An Application whose `spec.syncPolicy.automated` is set (and its `enabled` is not false) with
 * `selfHeal: true` puts a workload's spec.replicas back to Git's value a delay after it changed (the self-heal
 * controller acts on it); removing `automated` turns that off (argo-cd.readthedocs.io, user-guide/auto_sync). An
 * Application owned by an ApplicationSet gets its spec put back by the ApplicationSet controller on its next
 * reconcile, as the real one does unless the ApplicationSet ignores that field (user-guide/application-set,
 * "Application Pruning & Resource Deletion" and ignoreApplicationDifferences): modelled on a later read.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { ClusterState } from './cluster-state.js';
import { nextRevision } from './cluster-state.js';
import { pageList } from './list-query.js';
import { applyPatch, isObject } from './patches.js';
import type { Attributes, Request } from './request-attributes.js';
import { badRequest, conflict, methodNotAllowed, notFound } from './status-errors.js';
import { timestamp } from '../timestamp.js';

/** An Application the stand-in starts with. */
export interface StandInApplication {
  /** Default `argocd`. */
  namespace?: string;
  name: string;
  /** spec.syncPolicy.automated; null or absent: manual sync. */
  automated?: Record<string, unknown> | null;
  /** The workloads (`namespace/name`) it syncs; their replicas in Git are each workload's `git`. */
  workloads: 'all' | string[];
  /** The ApplicationSet that owns it (ownerReferences). */
  ownedBy?: string;
  /** How long after a change self-heal reverts it (default 5 s, Argo CD's --self-heal-timeout-seconds). */
  selfHealDelayMs?: number;
}

export interface ApplicationObject {
  apiVersion: 'argoproj.io/v1alpha1';
  kind: 'Application';
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    generation: number;
    creationTimestamp: string;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string }[];
  };
  spec: { project: string; syncPolicy?: { automated?: Record<string, unknown> | null } };
}

export interface ApplicationRecord {
  object: ApplicationObject;
  workloads: 'all' | string[];
  /** The spec the owning ApplicationSet's template gives it (put back on a later read). */
  templateSpec?: ApplicationObject['spec'];
  /** When automated sync was last turned on (self-heal reverts only changes it has seen since). */
  automatedSince: number;
  selfHealDelayMs?: number;
}

/** Whether the Application syncs on its own with self-heal. */
export function selfHeals(record: ApplicationRecord): boolean {
  const automated = record.object.spec.syncPolicy?.automated;
  return isObject(automated) && automated.enabled !== false && automated.selfHeal === true;
}

export function createApplicationRecord(spec: StandInApplication, revision: () => string): ApplicationRecord {
  const object: ApplicationObject = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: {
      name: spec.name,
      namespace: spec.namespace ?? 'argocd',
      uid: randomUUID(),
      resourceVersion: revision(),
      generation: 1,
      creationTimestamp: timestamp(),
      ...(spec.ownedBy && {
        ownerReferences: [
          {
            apiVersion: 'argoproj.io/v1alpha1',
            kind: 'ApplicationSet',
            name: spec.ownedBy,
            uid: randomUUID(),
          },
        ],
      }),
    },
    spec: { project: 'default', ...(spec.automated && { syncPolicy: { automated: { ...spec.automated } } }) },
  };
  return {
    object,
    workloads: spec.workloads === 'all' ? 'all' : [...spec.workloads],
    ...(spec.ownedBy && { templateSpec: structuredClone(object.spec) }),
    automatedSince: 0,
    ...(spec.selfHealDelayMs !== undefined && { selfHealDelayMs: spec.selfHealDelayMs }),
  };
}

/** The ApplicationSet controller puts the template's spec back on the Applications it owns. */
export function reconcileApplicationSets(state: ClusterState, now: number): void {
  for (const record of state.applications) {
    if (!record.templateSpec || isDeepStrictEqual(record.object.spec, record.templateSpec)) continue;
    record.object.spec = structuredClone(record.templateSpec);
    record.object.metadata.generation += 1;
    record.object.metadata.resourceVersion = nextRevision(state);
    if (selfHeals(record)) record.automatedSince = now;
  }
}

/** Applications: list, get, and PATCH (merge or JSON patch) of metadata and spec. */
export function serveArgoApplications(
  state: ClusterState,
  attributes: Attributes,
  request: Request,
): unknown {
  const inScope = state.applications.filter(
    (a) => !attributes.namespace || a.object.metadata.namespace === attributes.namespace,
  );
  if (!attributes.name) {
    if (request.method !== 'GET') throw methodNotAllowed();
    const items = inScope.map((a) => structuredClone(a.object));
    return pageList(state, 'ApplicationList', 'argoproj.io/v1alpha1', items, request.query);
  }
  const record = inScope.find((a) => a.object.metadata.name === attributes.name);
  if (!record) throw notFound('applications', 'argoproj.io', attributes.name);
  if (request.method === 'GET') return structuredClone(record.object);
  if (request.method !== 'PATCH') throw methodNotAllowed();
  const before = record.object;
  const patched = applyPatch(before, request.contentType, request.body, false);
  if (!isObject(patched) || !isObject(patched.metadata) || !isObject(patched.spec)) {
    throw badRequest('the patched object is not an Application');
  }
  const requested = patched.metadata.resourceVersion;
  if (requested !== undefined && requested !== before.metadata.resourceVersion) {
    throw conflict('applications', 'argoproj.io', before.metadata.name);
  }
  if (
    patched.metadata.name !== before.metadata.name ||
    patched.metadata.namespace !== before.metadata.namespace
  ) {
    throw badRequest(`the name of the object does not match the name on the URL (${before.metadata.name})`);
  }
  const after = structuredClone({
    ...(patched as unknown as ApplicationObject),
    apiVersion: before.apiVersion,
    kind: before.kind,
    metadata: {
      ...(patched.metadata as ApplicationObject['metadata']),
      uid: before.metadata.uid,
      creationTimestamp: before.metadata.creationTimestamp,
      resourceVersion: before.metadata.resourceVersion,
      generation: before.metadata.generation,
    },
  });
  if (isDeepStrictEqual(after, before)) return structuredClone(before);
  if (request.query.get('dryRun') === 'All') return after;
  const wasHealing = selfHeals(record);
  if (!isDeepStrictEqual(after.spec, before.spec)) after.metadata.generation = before.metadata.generation + 1;
  after.metadata.resourceVersion = nextRevision(state);
  record.object = after;
  if (!wasHealing && selfHeals(record)) record.automatedSince = Date.now();
  return structuredClone(record.object);
}
