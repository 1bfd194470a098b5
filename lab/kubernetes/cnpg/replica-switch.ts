/**
 * What the operator and the instance manager do when a Cluster's spec changes sides in a replica-cluster switchover:
 * the demotion (fence, shut down as a designated primary, publish the token, clean up) and the promotion (with a
 * token, only once it matches), each step due at a time counted from the spec change.
 */
import { timestamp } from '../timestamp.js';
import {
  HEALTHY,
  isReplicaSpec,
  PROMOTING,
  setCondition,
  setPhase,
  TOKEN_REJECTED,
  UNRECOVERABLE,
} from './cluster-object.js';
import { render } from './cnpg-record.js';
import type { CnpgRecord, Work } from './cnpg-record.js';
import { demotionToken, parseToken, verifyToken } from './promotion-token.js';

const FENCED = 'cnpg.io/fencedInstances';
const DESIGNATED_PRIMARY_TRANSITION = 'ReplicaClusterDesignatedPrimaryTransition';
const FENCE = 'ReplicaClusterFencing';
const SWITCH = 'ReplicaClusterSwitch';
/** A checkpoint record, MAXALIGNed: what a shutdown checkpoint or a promotion adds to the WAL. */
const CHECKPOINT_RECORD = 0x78n;

/** What every status update does (cluster_status.go): a primary has no demotion token; no token, no last token. */
export function housekeeping(record: CnpgRecord): void {
  const { status, spec } = record.object;
  if (!isReplicaSpec(record.object)) delete status.demotionToken;
  if (spec.replica && !spec.replica.promotionToken) delete status.lastPromotionToken;
}

/** pkg/reconciler/replicaclusterswitch: fence, shut down as a designated primary, publish the token, clean up. */
export function demote(record: CnpgRecord, work: Work, now: number): void {
  const { object, db, timing } = record;
  const { status } = object;
  if (!isReplicaSpec(object)) {
    if (work.stage === 0) record.work = null;
    return;
  }
  const fenceAt = work.since + timing.reconcileAfterMs;
  const shutdownAt = work.since + Math.max(timing.switchAfterMs, timing.reconcileAfterMs);
  const tokenAt = shutdownAt + timing.reconcileAfterMs;
  if (work.stage === 0 && now >= fenceAt) {
    // startTransition: every instance fenced, the transition requested. The phase stays as it was.
    object.metadata.annotations = { ...object.metadata.annotations, [FENCED]: '["*"]' };
    setCondition(
      status,
      DESIGNATED_PRIMARY_TRANSITION,
      'False',
      'ReplicaClusterAfterCreation',
      'Enabled external cluster after a node was generated',
      now,
    );
    setCondition(
      status,
      FENCE,
      'True',
      'ReplicaClusterAfterCreation',
      'Enabled external cluster after a node was generated',
      now,
    );
    setCondition(
      status,
      SWITCH,
      'False',
      'ReplicaEnabledSetTrue',
      'Starting the Replica cluster transition',
      now,
    );
    status.switchReplicaClusterStatus = { inProgress: true };
    status.readyInstances = 0;
    work.stage = 1;
  }
  if (work.stage === 1 && now >= shutdownAt) {
    // The instance manager shuts PostgreSQL down (a shutdown checkpoint: its REDO is the record itself) and
    // restarts it as the designated primary of a replica cluster.
    db.redo = db.lsn;
    db.lsn += CHECKPOINT_RECORD;
    db.role = 'replica';
    db.changedAt = shutdownAt;
    setCondition(
      status,
      DESIGNATED_PRIMARY_TRANSITION,
      'True',
      'TransitionCompleted',
      'Instance Manager has completed the DesignatedPrimary transition',
      now,
    );
    render(record);
    work.stage = 2;
  }
  if (work.stage === 2 && now >= tokenAt) {
    // reconcileDemotionToken: the token from pg_controldata, then the transition's metadata cleaned up.
    status.demotionToken = demotionToken(db, shutdownAt);
    if (object.metadata.annotations) {
      delete object.metadata.annotations[FENCED];
      if (Object.keys(object.metadata.annotations).length === 0) delete object.metadata.annotations;
    }
    status.conditions = status.conditions.filter(
      (c) => c.type !== DESIGNATED_PRIMARY_TRANSITION && c.type !== FENCE,
    );
    setCondition(
      status,
      SWITCH,
      'True',
      'ReplicaEnabledSetTrue',
      'Completed the Replica cluster transition',
      now,
    );
    status.switchReplicaClusterStatus = {};
    status.readyInstances = status.instances;
    record.work = null;
  }
}

/** A replica cluster told it is the primary: with a token it promotes only once the token matches. */
export function promote(record: CnpgRecord, work: Work, now: number): void {
  const { object, db, timing } = record;
  const { status } = object;
  if (isReplicaSpec(object)) {
    // Asked back before it happened.
    record.work = null;
    if (status.phase === PROMOTING) setPhase(status, HEALTHY, undefined, now);
    return;
  }
  const token = object.spec.replica?.promotionToken || undefined;
  const withToken = token !== undefined && token !== status.lastPromotionToken;
  if (work.stage === 0 && now >= work.since + Math.min(timing.reconcileAfterMs, timing.switchAfterMs)) {
    setPhase(status, PROMOTING, 'Replica cluster promotion in progress', now);
    work.stage = 1;
  }
  if (work.stage !== 1 || now < work.since + timing.switchAfterMs) return;
  if (withToken) {
    const parsed = parseToken(token);
    // The webhook refuses a token that does not parse, so this is the "webhook not installed" case.
    if (typeof parsed === 'string') return;
    const verdict = verifyToken(parsed, db);
    // `never`: the instance manager gives up on this token. `wait`: it checks again on its next reconcile.
    if (verdict === 'never') setPhase(status, UNRECOVERABLE, TOKEN_REJECTED, now);
    if (verdict !== 'ok') return;
  }
  // Promotion: the timeline ends where replay stopped; the new one starts with an end-of-recovery record.
  db.history.set(db.timeline, db.lsn);
  db.timeline += 1;
  db.lsn += CHECKPOINT_RECORD;
  db.role = 'primary';
  db.changedAt = now;
  status.currentPrimaryTimestamp = timestamp(now);
  if (token !== undefined) status.lastPromotionToken = token;
  delete status.demotionToken;
  setPhase(status, HEALTHY, undefined, now);
  render(record);
  record.work = null;
}
