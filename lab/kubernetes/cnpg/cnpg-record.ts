/**
 * What the operator keeps about each served Cluster: the object, the small model of its PostgreSQL (system
 * identifier, timeline, WAL positions), the work in progress; how a record is made from a test's declaration, and
 * how the instances report that model in status.
 */
import { randomUUID } from 'node:crypto';
import { timestamp } from '../timestamp.js';
import { HEALTHY, isReplicaSpec, readyCondition } from './cluster-object.js';
import type { CnpgClusterObject, StandInCnpgCluster } from './cluster-object.js';
import { defaultSystemId, parseLsn } from './promotion-token.js';

/**
 * What the operator is doing about a spec change. Its steps are due at times counted from `since`, whenever the
 * next read comes, so what a client sees does not depend on how often it polls.
 */
export interface Work {
  kind: 'demote' | 'promote';
  /** When the spec asked for it. */
  since: number;
  /** Demotion: 0 not noticed, 1 fenced, 2 shut down (token next). Promotion: 0 not noticed, 1 promoting. */
  stage: number;
}

/** The PostgreSQL of a Cluster's designated primary, as pg_controldata would describe it. */
export interface Database {
  systemId: string;
  timeline: number;
  role: 'primary' | 'replica';
  /** End of WAL: written on a primary, replayed on a replica. */
  lsn: bigint;
  /** Latest checkpoint's (on a replica: restartpoint's) REDO location. */
  redo: bigint;
  /** Where each earlier timeline ended, as its history files say. */
  history: Map<number, bigint>;
  /** When the WAL last moved, for replicas `replayLagMs` behind. */
  changedAt: number;
  /** A replica of a served Cluster has taken its base backup. */
  cloned: boolean;
  explicitSystemId: boolean;
}

export interface CnpgRecord {
  object: CnpgClusterObject;
  /** The stand-in API server that serves it. */
  readonly clusterId: string;
  /** That server's next resourceVersion. */
  readonly bump: () => string;
  readonly timing: { switchAfterMs: number; reconcileAfterMs: number; replayLagMs: number };
  db: Database;
  work: Work | null;
  /** When spec was last written. */
  specAt: number;
}

/** A Cluster served by the API server `clusterId`; `bump` gives that server's next resourceVersion. */
export function createCnpgRecord(
  clusterId: string,
  spec: StandInCnpgCluster,
  bump: () => string,
  now: number,
): CnpgRecord {
  const instances = spec.instances ?? 1;
  const names = Array.from({ length: instances }, (_, i) => `${spec.name}-${i + 1}`);
  const primary = names[0] ?? `${spec.name}-1`;
  const replicaSpec = spec.distributed
    ? {
        primary: spec.distributed.primary,
        source: spec.distributed.source,
        ...(spec.distributed.self && { self: spec.distributed.self }),
      }
    : spec.replica
      ? { enabled: true, source: spec.source ?? `${spec.name}-origin` }
      : undefined;
  const external =
    spec.externalClusters ??
    [
      ...new Set(
        [
          replicaSpec?.source,
          ...(spec.distributed ? [spec.distributed.primary, spec.distributed.self ?? spec.name] : []),
        ].filter((n): n is string => !!n),
      ),
    ].sort();
  const object: CnpgClusterObject = {
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Cluster',
    metadata: {
      name: spec.name,
      namespace: spec.namespace,
      uid: randomUUID(),
      resourceVersion: bump(),
      generation: 1,
      creationTimestamp: timestamp(now),
    },
    spec: {
      instances,
      imageName: 'ghcr.io/cloudnative-pg/postgresql:16.4',
      storage: { size: '1Gi' },
      ...(replicaSpec && { replica: replicaSpec }),
      ...(external.length > 0 && {
        externalClusters: external.map((name) => ({ name, connectionParameters: {} })),
      }),
    },
    status: {
      instances,
      readyInstances: instances,
      phase: HEALTHY,
      currentPrimary: primary,
      targetPrimary: primary,
      currentPrimaryTimestamp: timestamp(now),
      timelineID: 1,
      instanceNames: names,
      instancesReportedState: {},
      conditions: [readyCondition(true, now)],
      switchReplicaClusterStatus: {},
      writeService: `${spec.name}-rw`,
      readService: `${spec.name}-r`,
    },
  };
  const replica = isReplicaSpec(object);
  const lsn = parseLsn(spec.lsn ?? '0/5000060');
  if (lsn === null) throw new Error(`${spec.name}: lsn ${spec.lsn} is not a WAL position`);
  const record: CnpgRecord = {
    object,
    clusterId,
    bump,
    timing: {
      switchAfterMs: spec.switchAfterMs ?? 0,
      reconcileAfterMs: spec.reconcileAfterMs ?? 0,
      replayLagMs: spec.replayLagMs ?? 0,
    },
    db: {
      systemId:
        spec.systemIdentifier ??
        defaultSystemId(spec.distributed?.primary ?? replicaSpec?.source ?? `${spec.namespace}/${spec.name}`),
      timeline: spec.timeline ?? 1,
      role: replica ? 'replica' : 'primary',
      lsn,
      redo: lsn - 0x28n,
      history: new Map(),
      changedAt: now,
      cloned: !replica,
      explicitSystemId: spec.systemIdentifier !== undefined,
    },
    work: null,
    specAt: -Infinity,
  };
  render(record);
  return record;
}

/** The instances' reports: the designated primary is a primary only when its PostgreSQL is. */
export function render(record: CnpgRecord): void {
  const { status } = record.object;
  const { db } = record;
  status.timelineID = db.timeline;
  status.systemID = db.systemId;
  status.instancesReportedState = Object.fromEntries(
    status.instanceNames.map((name) => [
      name,
      { isPrimary: db.role === 'primary' && name === status.currentPrimary, timeLineID: db.timeline },
    ]),
  );
}
