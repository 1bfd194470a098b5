/**
 * What a CloudNativePG `Cluster` object says about its role: replica or primary, healthy, promoted, demoted (with its
 * demotion token). Pure: the object is read elsewhere.
 */

/** Where the Kubernetes API serves CloudNativePG Clusters. */
export const CNPG_CLUSTERS = { group: 'postgresql.cnpg.io', version: 'v1', plural: 'clusters' } as const;

export interface CnpgClusterRef {
  namespace: string;
  name: string;
}

/** What a CloudNativePG `Cluster` says about itself (status fields from the operator's ClusterStatus). */
export interface CnpgClusterStatus {
  /** spec.replica makes this Cluster follow another one (CloudNativePG's `Cluster.IsReplica`). */
  replica: boolean;
  /** status.phase, e.g. `Cluster in healthy state`, `Promoting to primary cluster`. */
  phase: string | null;
  phaseReason: string | null;
  currentPrimary: string | null;
  targetPrimary: string | null;
  /** The `Ready` condition is True. */
  ready: boolean;
  /** Whether the current primary instance reports itself a primary; null when the operator has not said. */
  primaryReported: boolean | null;
  /** Not a replica, healthy, Ready, primary settled: what a finished promotion looks like. */
  promoted: boolean;
  /** status.demotionToken: published by a demoted primary once it has shut down cleanly. */
  demotionToken: string | null;
  /** status.lastPromotionToken: the token its last promotion was checked against. */
  lastPromotionToken: string | null;
  /** status.switchReplicaClusterStatus.inProgress: a demotion is under way. */
  demoting: boolean;
  /** status.systemID: the PostgreSQL system identifier. */
  systemId: string | null;
}

/** The pieces of a CloudNativePG Cluster object this adapter reads. */
export interface CnpgClusterObject {
  spec?: {
    replica?: {
      enabled?: boolean | null;
      primary?: string;
      self?: string;
      source?: string;
      promotionToken?: string;
      minApplyDelay?: string;
    };
  };
  metadata?: { name?: string };
  status?: {
    phase?: string;
    phaseReason?: string;
    currentPrimary?: string;
    targetPrimary?: string;
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
    instancesReportedState?: Record<string, { isPrimary?: boolean }>;
    demotionToken?: string;
    lastPromotionToken?: string;
    switchReplicaClusterStatus?: { inProgress?: boolean };
    systemID?: string;
  };
}

const HEALTHY = 'Cluster in healthy state';

/** Phases in which CloudNativePG waits for a human; polling longer will not help. */
export const STUCK_PHASES: readonly string[] = [
  'Cluster is unrecoverable and needs manual intervention',
  'Waiting for user action',
  'Unable to create required cluster objects',
];

/** The role and health a Cluster object reports. */
export function cnpgStatus(object: CnpgClusterObject): CnpgClusterStatus {
  const replica = isReplica(object);
  const status = object.status ?? {};
  const ready = (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  const currentPrimary = status.currentPrimary || null;
  const reported = currentPrimary ? status.instancesReportedState?.[currentPrimary]?.isPrimary : undefined;
  const primaryReported = reported === undefined ? null : reported;
  return {
    replica,
    phase: status.phase || null,
    phaseReason: status.phaseReason || null,
    currentPrimary,
    targetPrimary: status.targetPrimary || null,
    ready,
    primaryReported,
    promoted:
      !replica &&
      status.phase === HEALTHY &&
      ready &&
      currentPrimary !== null &&
      currentPrimary === (status.targetPrimary || null) &&
      primaryReported !== false,
    demotionToken: status.demotionToken || null,
    lastPromotionToken: status.lastPromotionToken || null,
    demoting: status.switchReplicaClusterStatus?.inProgress === true,
    systemId: status.systemID || null,
  };
}

/** CloudNativePG's Cluster.IsReplica: an explicit `enabled` wins; else `self` (default: the name) ≠ `primary`. */
function isReplica(object: CnpgClusterObject): boolean {
  const replica = object.spec?.replica;
  if (!replica) return false;
  if (replica.enabled !== undefined && replica.enabled !== null) return replica.enabled;
  return (replica.self || object.metadata?.name) !== replica.primary;
}
