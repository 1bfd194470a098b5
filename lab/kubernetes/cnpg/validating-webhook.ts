/**
 * CloudNativePG's validating webhook (vcluster.cnpg.io) on an update of a Cluster: the replica-cluster rules only,
 * with the operator's wording, as the API server answers a refused write (a 422).
 */
import { isReplicaSpec } from './cluster-object.js';
import type { CnpgClusterObject, CnpgDenial } from './cluster-object.js';
import { parseToken } from './promotion-token.js';

/**
 * The webhook on an update of `before` into `after` (cluster_webhook.go ValidateUpdate). Null when it admits the
 * write.
 */
export function admitClusterUpdate(before: CnpgClusterObject, after: CnpgClusterObject): CnpgDenial | null {
  const errors: { reason: string; field: string; detail: string; value?: string }[] = [];
  const invalid = (field: string, value: string, detail: string) =>
    errors.push({ reason: 'FieldValueInvalid', field, value, detail });
  const forbidden = (field: string, detail: string) =>
    errors.push({ reason: 'FieldValueForbidden', field, detail });
  const replica = after.spec.replica;
  if (replica) {
    if (replica.enabled !== undefined && replica.enabled !== null && replica.primary) {
      forbidden(
        'spec.replicaCluster.enabled',
        'replica mode enabled is not compatible with the primary field',
      );
    }
    const external = new Set((after.spec.externalClusters ?? []).map((c) => c.name));
    if (!external.has(replica.source ?? '')) {
      invalid(
        'spec.replicaCluster.primaryServerName',
        replica.source ?? '',
        `External cluster ${replica.source ?? ''} not found`,
      );
    }
    if (replica.self && !external.has(replica.self)) {
      invalid('spec.replicaCluster.self', replica.self, `External cluster ${replica.self} not found`);
    }
    if (replica.primary && !external.has(replica.primary)) {
      invalid(
        'spec.replicaCluster.primary',
        replica.primary,
        `External cluster ${replica.primary} not found`,
      );
    }
    const token = replica.promotionToken ?? '';
    if (token) {
      if (replica.minApplyDelay) {
        invalid(
          'spec.replicaCluster.minApplyDelay',
          token,
          'minApplyDelay cannot be applied with a promotion token',
        );
      } else if (isReplicaSpec(after)) {
        // What a failback that forgets to remove the old token runs into (cloudnative-pg issue #9273).
        invalid('spec.replicaCluster.token', token, 'promotionToken is only allowed for primary clusters');
      } else {
        const parsed = parseToken(token);
        if (typeof parsed === 'string') {
          invalid(
            'spec.replicaCluster.token',
            token,
            `${parsed.includes('is empty') ? 'Invalid promotionToken content' : 'Invalid promotionToken format'}: ${parsed}`,
          );
        }
      }
    }
  }
  if (
    isReplicaSpec(before) !== isReplicaSpec(after) &&
    before.status.switchReplicaClusterStatus?.inProgress
  ) {
    forbidden(
      'spec.replica.enabled',
      'cannot modify the field while there is an ongoing operation to enable the replica cluster',
    );
  }
  if (errors.length === 0) return null;
  const texts = errors.map((e) =>
    e.reason === 'FieldValueForbidden'
      ? `${e.field}: Forbidden: ${e.detail}`
      : `${e.field}: Invalid value: ${JSON.stringify(e.value)}: ${e.detail}`,
  );
  const name = after.metadata.name;
  return {
    message:
      `admission webhook "vcluster.cnpg.io" denied the request: Cluster.cluster.cnpg.io "${name}" is invalid: ` +
      (texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`),
    details: {
      name,
      group: 'cluster.cnpg.io',
      kind: 'Cluster',
      causes: errors.map((e, i) => ({
        reason: e.reason,
        message: (texts[i] ?? '').slice(e.field.length + 2),
        field: e.field,
      })),
    },
  };
}
