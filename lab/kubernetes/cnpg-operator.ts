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
import { createHash, randomUUID } from 'node:crypto';

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

interface Meta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  generation?: number;
  creationTimestamp: string;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

interface Condition {
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

/**
 * What the operator is doing about a spec change. Its steps are due at times counted from `since`, whenever the
 * next read comes, so what a client sees does not depend on how often it polls.
 */
interface Work {
  kind: 'demote' | 'promote';
  /** When the spec asked for it. */
  since: number;
  /** Demotion: 0 not noticed, 1 fenced, 2 shut down (token next). Promotion: 0 not noticed, 1 promoting. */
  stage: number;
}

/** The PostgreSQL of a Cluster's designated primary, as pg_controldata would describe it. */
interface Database {
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

const HEALTHY = 'Cluster in healthy state';
const PROMOTING = 'Promoting to primary cluster';
const UNRECOVERABLE = 'Cluster is unrecoverable and needs manual intervention';
/** instance_controller.go, on a token that can never match. */
const TOKEN_REJECTED = 'Promotion token content is not correct for current instance';
const FENCED = 'cnpg.io/fencedInstances';
const DESIGNATED_PRIMARY_TRANSITION = 'ReplicaClusterDesignatedPrimaryTransition';
const FENCE = 'ReplicaClusterFencing';
const SWITCH = 'ReplicaClusterSwitch';
const OPERATOR_VERSION = '1.27.0';
const WAL_SEGMENT = 16n * 1024n * 1024n;
/** A checkpoint record, MAXALIGNed: what a shutdown checkpoint or a promotion adds to the WAL. */
const CHECKPOINT_RECORD = 0x78n;

const timestamp = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** CloudNativePG's Cluster.IsReplica: an explicit `enabled` wins; else `self` (default: the name) ≠ `primary`. */
export function isReplicaSpec(object: CnpgClusterObject): boolean {
  const replica = object.spec.replica;
  if (!replica) return false;
  if (replica.enabled !== undefined && replica.enabled !== null) return replica.enabled;
  return (replica.self || object.metadata.name) !== replica.primary;
}

const selfName = (object: CnpgClusterObject): string => object.spec.replica?.self || object.metadata.name;

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

// ---------------------------------------------------------------------------------------------------------------
// LSNs, WAL file names and the token
// ---------------------------------------------------------------------------------------------------------------

function parseLsn(text: string): bigint | null {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  return match ? (BigInt(`0x${match[1]}`) << 32n) + BigInt(`0x${match[2]}`) : null;
}

const formatLsn = (lsn: bigint): string =>
  `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;

/** PostgreSQL's XLogFileName with 16 MiB segments. */
function walFileName(timeline: number, lsn: bigint): string {
  const segment = lsn / WAL_SEGMENT;
  const perId = 0x100000000n / WAL_SEGMENT;
  return [BigInt(timeline), segment / perId, segment % perId]
    .map((n) => n.toString(16).toUpperCase().padStart(8, '0'))
    .join('');
}

/** pg_controldata's "Time of latest checkpoint" (strftime %c in the C locale). */
function controldataTime(ms: number): string {
  const date = new Date(ms);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${days[date.getUTCDay()]} ${months[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, ' ')} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} ${date.getUTCFullYear()}`
  );
}

/** PgControldataTokenContent, fields in the order Go marshals them. */
interface TokenContent {
  latestCheckpointTimelineID: string;
  redoWalFile: string;
  databaseSystemIdentifier: string;
  latestCheckpointREDOLocation: string;
  timeOfLatestCheckpoint: string;
  operatorVersion: string;
}

/** PgControlData.CreatePromotionToken: base64 (standard, padded) of the JSON. */
function demotionToken(db: Database, now: number): string {
  const content: TokenContent = {
    latestCheckpointTimelineID: String(db.timeline),
    redoWalFile: walFileName(db.timeline, db.redo),
    databaseSystemIdentifier: db.systemId,
    latestCheckpointREDOLocation: formatLsn(db.redo),
    timeOfLatestCheckpoint: controldataTime(now),
    operatorVersion: OPERATOR_VERSION,
  };
  return Buffer.from(JSON.stringify(content)).toString('base64');
}

/** ParsePgControldataToken and IsValid; the error text is the operator's. */
function parseToken(token: string): TokenContent | string {
  // Go's base64.StdEncoding: padded, standard alphabet; it skips CR and LF.
  const text = token.replace(/[\r\n]/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    return 'invalid promotion token (Base64 decoding failed): illegal base64 data at input byte 0';
  }
  let content: unknown;
  try {
    content = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
  } catch (error) {
    return `invalid promotion token (JSON decoding failed): ${(error as Error).message}`;
  }
  if (typeof content !== 'object' || content === null || Array.isArray(content)) {
    return 'invalid promotion token (JSON decoding failed): json: cannot unmarshal into Go value of type utils.PgControldataTokenContent';
  }
  const fields = content as Record<string, unknown>;
  const read = (key: keyof TokenContent): string => (typeof fields[key] === 'string' ? fields[key] : '');
  const checks: [keyof TokenContent, string][] = [
    ['latestCheckpointTimelineID', 'LatestCheckpointTimelineID'],
    ['redoWalFile', 'REDOWALFile'],
    ['databaseSystemIdentifier', 'DatabaseSystemIdentifier'],
    ['latestCheckpointREDOLocation', 'LatestCheckpointREDOLocation'],
    ['timeOfLatestCheckpoint', 'TimeOfLatestCheckpoint'],
    ['operatorVersion', 'OperatorVersion'],
  ];
  for (const [key, goName] of checks) {
    const value = fields[key];
    if (value !== undefined && value !== null && typeof value !== 'string') {
      return `invalid promotion token (JSON decoding failed): json: cannot unmarshal ${typeof value} into Go struct field PgControldataTokenContent.${key} of type string`;
    }
    if (!read(key)) return `invalid promotion token (${goName} is empty)`;
  }
  return {
    latestCheckpointTimelineID: read('latestCheckpointTimelineID'),
    redoWalFile: read('redoWalFile'),
    databaseSystemIdentifier: read('databaseSystemIdentifier'),
    latestCheckpointREDOLocation: read('latestCheckpointREDOLocation'),
    timeOfLatestCheckpoint: read('timeOfLatestCheckpoint'),
    operatorVersion: read('operatorVersion'),
  };
}

/**
 * promotiontoken.ValidateAgainstInstanceStatus, in its order: `ok`, `wait` (retryable: WAL still to replay, or the
 * timeline not reached yet) or `never` (another system identifier, an older timeline, or replay went past the token).
 */
function verifyToken(token: TokenContent, db: Database): 'ok' | 'wait' | 'never' {
  if (token.databaseSystemIdentifier !== db.systemId) return 'never';
  // strconv.Atoi
  if (!/^[+-]?\d+$/.test(token.latestCheckpointTimelineID)) return 'never';
  const timeline = Number(token.latestCheckpointTimelineID);
  if (timeline > db.timeline) return 'wait';
  if (timeline < db.timeline) return 'never';
  const wanted = parseLsn(token.latestCheckpointREDOLocation);
  if (wanted === null) return 'never';
  // The instance manager runs CHECKPOINT on the replica first: its restartpoint's REDO is the last checkpoint it
  // replayed, which must be exactly the demoted primary's shutdown checkpoint.
  if (wanted < db.redo) return 'never';
  return wanted > db.redo ? 'wait' : 'ok';
}

function defaultSystemId(seed: string): string {
  // PostgreSQL's system identifier: initdb's seconds in the high 32 bits, then microseconds and pid bits.
  const low = BigInt(`0x${createHash('sha256').update(seed).digest('hex').slice(0, 8)}`);
  return String((1_723_650_000n << 32n) | low);
}

// ---------------------------------------------------------------------------------------------------------------
// The operator
// ---------------------------------------------------------------------------------------------------------------

export class CnpgOperator {
  private readonly records: CnpgRecord[] = [];

  /** A Cluster served by the API server `clusterId`; `bump` gives that server's next resourceVersion. */
  add(clusterId: string, spec: StandInCnpgCluster, bump: () => string, now = Date.now()): CnpgRecord {
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
          defaultSystemId(
            spec.distributed?.primary ?? replicaSpec?.source ?? `${spec.namespace}/${spec.name}`,
          ),
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
    this.records.push(record);
    return record;
  }

  /**
   * The validating webhook on an update of `before` into `after` (cluster_webhook.go ValidateUpdate): only the
   * replica-cluster rules. Null when it admits the write.
   */
  admit(before: CnpgClusterObject, after: CnpgClusterObject): CnpgDenial | null {
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

/** What every status update does (cluster_status.go): a primary has no demotion token; no token, no last token. */
function housekeeping(record: CnpgRecord): void {
  const { status, spec } = record.object;
  if (!isReplicaSpec(record.object)) delete status.demotionToken;
  if (spec.replica && !spec.replica.promotionToken) delete status.lastPromotionToken;
}

/** pkg/reconciler/replicaclusterswitch: fence, shut down as a designated primary, publish the token, clean up. */
function demote(record: CnpgRecord, work: Work, now: number): void {
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
function promote(record: CnpgRecord, work: Work, now: number): void {
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

function setPhase(
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

function setCondition(
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

/** The instances' reports: the designated primary is a primary only when its PostgreSQL is. */
function render(record: CnpgRecord): void {
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
