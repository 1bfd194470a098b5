/**
 * The CloudNativePG operator behind the Kubernetes API stand-in. It owns the `postgresql.cnpg.io/v1` `Cluster`
 * objects of every stand-in API server and acts on them as the real operator and its instance managers do: after a
 * write, never inside it. A PATCH changes spec only (status is a subresource); fencing, the demotion token, the
 * promotion and the phases on the way appear on later reads, once `reconcileAfterMs` and `switchAfterMs` have passed.
 * Each Cluster carries a small model of its PostgreSQL (system identifier, timeline, WAL and checkpoint positions), so
 * a demotion token is the real shape and a promotion token is checked the way the instance manager checks it.
 *
 * Read from cloudnative-pg/cloudnative-pg (https://github.com/cloudnative-pg/cloudnative-pg):
 * - docs/src/replica_cluster.md: the switchover of a distributed topology (demote, read the token, promote with it);
 * - pkg/reconciler/replicaclusterswitch/: demotion (fence, ReplicaCluster* conditions, token, clean-up);
 * - pkg/utils/parser.go: the token, base64 of JSON from pg_controldata (PgControldataTokenContent, IsValid);
 * - pkg/promotiontoken/promotion_token.go, internal/management/controller/instance_token.go: the checks;
 * - internal/management/controller/instance_controller.go: "Promoting to primary cluster" while waiting, and
 *   "Cluster is unrecoverable…" when the token can never match;
 * - internal/controller/cluster_status.go: demotionToken cleared on a primary, lastPromotionToken without a token;
 * - internal/webhook/v1/cluster_webhook.go: what the validating webhook (vcluster.cnpg.io) refuses.
 */
import { isReplicaSpec, selfName } from './cluster-object.js';
import type { CnpgClusterObject, CnpgDenial, StandInCnpgCluster } from './cluster-object.js';
import { createCnpgRecord, render } from './cnpg-record.js';
import type { CnpgRecord } from './cnpg-record.js';
import { demote, housekeeping, promote } from './replica-switch.js';
import { admitClusterUpdate } from './validating-webhook.js';

export class CnpgOperator {
  private readonly records: CnpgRecord[] = [];

  /** A Cluster served by the API server `clusterId`; `bump` gives that server's next resourceVersion. */
  add(clusterId: string, spec: StandInCnpgCluster, bump: () => string, now = Date.now()): CnpgRecord {
    const record = createCnpgRecord(clusterId, spec, bump, now);
    this.records.push(record);
    return record;
  }

  /** The validating webhook on an update of `before` into `after`; null when it admits the write. */
  admit(before: CnpgClusterObject, after: CnpgClusterObject): CnpgDenial | null {
    return admitClusterUpdate(before, after);
  }

  /** Spec was written at `now`: the operator acts on it on a later reconcile, never inside the write. */
  specWritten(record: CnpgRecord, now = Date.now()): void {
    record.specAt = now;
    const wanted = isReplicaSpec(record.object) ? 'demote' : 'promote';
    const needed = wanted === 'demote' ? record.db.role === 'primary' : record.db.role === 'replica';
    if (needed && record.work?.kind !== wanted) record.work = { kind: wanted, since: now, stage: 0 };
  }

  /** An out-of-band change (a test or the sandbox playing operator): work in progress is dropped. */
  adopt(record: CnpgRecord): void {
    record.work = null;
  }

  /** Everything the operator and instance managers have done by `now`, on every API server. */
  reconcile(now = Date.now()): void {
    for (const record of this.records) {
      const before = JSON.stringify([record.object.status, record.object.metadata.annotations]);
      this.follow(record, now);
      if (now >= record.specAt + record.timing.reconcileAfterMs) housekeeping(record);
      if (record.work?.kind === 'demote') demote(record, record.work, now);
      else if (record.work?.kind === 'promote') promote(record, record.work, now);
      if (JSON.stringify([record.object.status, record.object.metadata.annotations]) !== before) {
        record.object.metadata.resourceVersion = record.bump();
      }
    }
  }

  /** A replica replays what its source (a served Cluster named by `spec.replica.source`) wrote. */
  private follow(record: CnpgRecord, now: number): void {
    const { db } = record;
    if (db.role !== 'replica') return;
    const sourceName = record.object.spec.replica?.source;
    const source = this.records.find((r) => r !== record && selfName(r.object) === sourceName)?.db;
    if (!source) return;
    if (!db.cloned) {
      // The base backup: same database, same position.
      db.cloned = true;
      if (!db.explicitSystemId || db.systemId === source.systemId) {
        Object.assign(db, {
          systemId: source.systemId,
          timeline: source.timeline,
          lsn: source.lsn,
          redo: source.redo,
          history: new Map(source.history),
          changedAt: now,
        });
        render(record);
      }
      return;
    }
    if (db.systemId !== source.systemId || now < source.changedAt + record.timing.replayLagMs) return;
    if (db.timeline === source.timeline) {
      if (db.lsn >= source.lsn) return;
    } else {
      // recovery_target_timeline = latest: a newer timeline is followed only if it forked at or after our position.
      const fork = source.history.get(db.timeline);
      if (db.timeline > source.timeline || fork === undefined || db.lsn > fork) return;
      db.history = new Map(source.history);
      db.timeline = source.timeline;
    }
    db.lsn = source.lsn;
    db.redo = source.redo;
    db.changedAt = now;
    render(record);
  }
}
