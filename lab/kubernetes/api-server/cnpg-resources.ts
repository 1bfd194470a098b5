/**
 * CloudNativePG `Cluster` objects: list, get, and PATCH of spec (status is a subresource), checked by the validating
 * webhook and handed to the operator, which acts on it on a later read.
 */
import { isDeepStrictEqual } from 'node:util';
import type { CnpgClusterObject } from '../cnpg/cluster-object.js';
import type { ClusterState } from './cluster-state.js';
import { nextRevision } from './cluster-state.js';
import { pageList } from './list-query.js';
import { applyPatch, isObject } from './patches.js';
import type { Attributes, Request } from './request-attributes.js';
import { badRequest, conflict, methodNotAllowed, notFound, statusError } from './status-errors.js';
import type { ObjectMeta } from './types.js';

/** CloudNativePG Clusters: list, get, and PATCH of spec (not of status). */
export function serveCnpgClusters(state: ClusterState, attributes: Attributes, request: Request): unknown {
  const inScope = state.cnpg.filter(
    (c) => !attributes.namespace || c.object.metadata.namespace === attributes.namespace,
  );
  if (!attributes.name) {
    if (request.method !== 'GET') throw methodNotAllowed();
    const items = inScope.map((c) => structuredClone(c.object));
    return pageList(state, 'ClusterList', 'postgresql.cnpg.io/v1', items, request.query);
  }
  const record = inScope.find((c) => c.object.metadata.name === attributes.name);
  if (!record) throw notFound('clusters', 'postgresql.cnpg.io', attributes.name);
  if (request.method === 'GET') return structuredClone(record.object);
  if (request.method !== 'PATCH' || attributes.subresource === 'status') throw methodNotAllowed();
  const before = record.object;
  const patched = applyPatch(before, request.contentType, request.body, false);
  if (!isObject(patched) || !isObject(patched.metadata) || !isObject(patched.spec)) {
    throw badRequest('the patched object is not a Cluster');
  }
  const requested = patched.metadata.resourceVersion;
  if (requested !== undefined && requested !== before.metadata.resourceVersion) {
    throw conflict('clusters', 'postgresql.cnpg.io', before.metadata.name);
  }
  if (
    patched.metadata.name !== before.metadata.name ||
    patched.metadata.namespace !== before.metadata.namespace
  ) {
    throw badRequest(
      `the name of the object (${String(patched.metadata.name)}) does not match the name on the URL (${before.metadata.name})`,
    );
  }
  // The status subresource is enabled: writes to the main resource never change status.
  const after = structuredClone({
    ...(patched as unknown as CnpgClusterObject),
    apiVersion: before.apiVersion,
    kind: before.kind,
    metadata: {
      ...(patched.metadata as ObjectMeta),
      uid: before.metadata.uid,
      creationTimestamp: before.metadata.creationTimestamp,
      resourceVersion: before.metadata.resourceVersion,
      generation: before.metadata.generation,
    },
    status: before.status,
  });
  if (isDeepStrictEqual(after, before)) return structuredClone(before);
  // The validating webhook runs on dry runs too (sideEffects: None).
  const denial = state.cnpgOperator.admit(before, after);
  if (denial) throw statusError(422, 'Invalid', denial.message, denial.details);
  if (request.query.get('dryRun') === 'All') return after;
  if (!isDeepStrictEqual(after.spec, before.spec))
    after.metadata.generation = (before.metadata.generation ?? 1) + 1;
  after.metadata.resourceVersion = nextRevision(state);
  record.object = after;
  // The operator acts on the new spec on a later read: the answer to this write still shows the old status.
  state.cnpgOperator.specWritten(record, Date.now());
  return structuredClone(record.object);
}
