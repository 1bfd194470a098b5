/**
 * The CloudNativePG `postgresql.cnpg.io/v1` `Cluster` as the stand-in serves it, how a test declares one, how
 * CloudNativePG reads its replica spec, and how the operator writes its status: Ready follows the phase, and a
 * condition keeps its transition time while its value stays the same.
 */
import { timestamp } from '../timestamp.js';

export interface StandInCnpgCluster {
  namespace: string;
  name: string;
  /** A standalone replica cluster (`spec.replica.enabled: true`) following `source`; default false (a primary). */
  replica?: boolean;
  /** PostgreSQL instances (default 1). */
  instances?: number;
  /** The external cluster a standalone replica follows (default `<name>-origin`). */
  source?: string;
  /**
   * A member of a distributed topology: `spec.replica` with `primary`, `source` and optionally `self`. It is a
   * replica unless `primary` names it (`self`, default its name). `replica` and `source` are then ignored.
   */
  distributed?: { primary: string; source: string; self?: string };
  /** Names in `spec.externalClusters` (default: the source, and in a distributed topology the primary and itself). */
  externalClusters?: string[];
  /** How long after a spec change the promotion or demotion completes (default 0: at the next read). */
  switchAfterMs?: number;
  /** How long the operator takes to notice a spec change, and between the steps of a demotion (default 0). */
  reconcileAfterMs?: number;
  /** How long a replica takes to replay what its source wrote (default 0). */
  replayLagMs?: number;
  /** The PostgreSQL system identifier (default: derived from the topology, shared by a replica and its source). */
  systemIdentifier?: string;
  /** The WAL position its PostgreSQL is at (default `0/5000060`; a replica of a served Cluster: its source's). */
  lsn?: string;
  /** Default 1. */
  timeline?: number;
}

export interface Meta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  generation?: number;
  creationTimestamp: string;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  [field: string]: unknown;
}

/** A CloudNativePG `postgresql.cnpg.io/v1` `Cluster` object as served. */
export interface CnpgClusterObject {
  apiVersion: 'postgresql.cnpg.io/v1';
  kind: 'Cluster';
  metadata: Meta;
  spec: {
    instances: number;
    replica?: {
      enabled?: boolean;
      source?: string;
      primary?: string;
      self?: string;
      promotionToken?: string;
      minApplyDelay?: string;
    };
    externalClusters?: { name: string; [field: string]: unknown }[];
    [field: string]: unknown;
  };
  status: {
    instances: number;
    readyInstances: number;
    phase: string;
    phaseReason?: string;
    currentPrimary: string;
    targetPrimary: string;
    currentPrimaryTimestamp?: string;
    timelineID: number;
    systemID?: string;
    instanceNames: string[];
    instancesReportedState: Record<string, { isPrimary: boolean; timeLineID: number }>;
    conditions: Condition[];
    demotionToken?: string;
    lastPromotionToken?: string;
    switchReplicaClusterStatus?: { inProgress?: boolean };
    [field: string]: unknown;
  };
}

/** What the validating webhook answers when it refuses a write: the API server sends it as a 422. */
export interface CnpgDenial {
  message: string;
  details: {
    name: string;
    group: string;
    kind: string;
    causes: { reason: string; message: string; field: string }[];
  };
}

/** CloudNativePG's Cluster.IsReplica: an explicit `enabled` wins; else `self` (default: the name) ≠ `primary`. */
export function isReplicaSpec(object: CnpgClusterObject): boolean {
  const replica = object.spec.replica;
  if (!replica) return false;
  if (replica.enabled !== undefined && replica.enabled !== null) return replica.enabled;
  return (replica.self || object.metadata.name) !== replica.primary;
}

export const selfName = (object: CnpgClusterObject): string =>
  object.spec.replica?.self || object.metadata.name;

export const HEALTHY = 'Cluster in healthy state';
export const PROMOTING = 'Promoting to primary cluster';
export const UNRECOVERABLE = 'Cluster is unrecoverable and needs manual intervention';
/** instance_controller.go, on a token that can never match. */
export const TOKEN_REJECTED = 'Promotion token content is not correct for current instance';

export function readyCondition(ready: boolean, now: number): Condition {
  return ready
    ? {
        type: 'Ready',
        status: 'True',
        reason: 'ClusterIsReady',
        message: 'Cluster is Ready',
        lastTransitionTime: timestamp(now),
      }
    : {
        type: 'Ready',
        status: 'False',
        reason: 'ClusterIsNotReady',
        message: 'Cluster Is Not Ready',
        lastTransitionTime: timestamp(now),
      };
}

export function setPhase(
  status: CnpgClusterObject['status'],
  phase: string,
  reason: string | undefined,
  now: number,
): void {
  status.phase = phase;
  if (reason === undefined) delete status.phaseReason;
  else status.phaseReason = reason;
  // SetClusterReadyCondition: Ready follows the phase (the instance manager's Unrecoverable leaves it False).
  const ready = phase === HEALTHY;
  if (conditionTrue(status, 'Ready') !== ready) {
    status.conditions = [...status.conditions.filter((c) => c.type !== 'Ready'), readyCondition(ready, now)];
  }
}

const conditionTrue = (status: CnpgClusterObject['status'], type: string): boolean =>
  status.conditions.some((c) => c.type === type && c.status === 'True');

export function setCondition(
  status: CnpgClusterObject['status'],
  type: string,
  value: Condition['status'],
  reason: string,
  message: string,
  now: number,
): void {
  const existing = status.conditions.find((c) => c.type === type);
  const lastTransitionTime =
    existing?.status === value && existing.lastTransitionTime ? existing.lastTransitionTime : timestamp(now);
  status.conditions = [
    ...status.conditions.filter((c) => c.type !== type),
    { type, status: value, reason, message, lastTransitionTime },
  ];
}
