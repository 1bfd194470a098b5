/**
 * CloudNativePG replica clusters, for the Kubernetes adapter: what a `Cluster` says about its role, the controlled
 * switchover of a distributed topology and the failover. The switchover is the operator's documented one
 * (https://cloudnative-pg.io/documentation/current/replica_cluster/#distributed-topology, docs/src/replica_cluster.md
 * in cloudnative-pg/cloudnative-pg):
 * 1. demote the primary: `spec.replica.primary` names the new primary. The operator fences the Cluster, shuts
 *    PostgreSQL down, archives the shutdown checkpoint's WAL and publishes `status.demotionToken`;
 * 2. promote the replica: `spec.replica.primary` names itself and `spec.replica.promotionToken` carries that token,
 *    in one write. Its instance manager promotes only once it has replayed exactly up to the token.
 * A promotion without a token is a failover: the former primary must be rebuilt.
 */
import { formatLsn, parseLsn } from '../core/lsn.js';
import type { Clock, Log, WaitOptions } from '../core/ports.js';
import { waitUntil } from '../core/wait.js';
import type { Look } from '../core/wait.js';
import { BatonError, isBatonError } from '../errors.js';

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

/** The fields of a demotion token (CloudNativePG's PgControldataTokenContent, from pg_controldata). */
export interface CnpgDemotionToken {
  /** Latest checkpoint's TimeLineID. */
  timeline: number;
  /** Latest checkpoint's REDO location, as PostgreSQL writes an LSN (`0/3000060`). */
  redoLsn: string;
  /** Latest checkpoint's REDO WAL file. */
  redoWalFile: string;
  /** Database system identifier. */
  systemIdentifier: string;
  /** Time of latest checkpoint, as pg_controldata printed it. */
  checkpointTime: string;
  /** The operator version that made the token. */
  operatorVersion: string;
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

/** One Cluster as the Kubernetes adapter reaches it: read, and merge-patched. */
export interface CnpgClusterAccess {
  ref: CnpgClusterRef;
  /** The Kubernetes cluster it is in, for messages (`west`). */
  where: string;
  read(signal?: AbortSignal): Promise<CnpgClusterObject>;
  mergePatch(patch: Record<string, unknown>, signal?: AbortSignal): Promise<void>;
  clock: Clock;
  log: Log;
}

export interface DemoteCnpgOptions extends WaitOptions {
  /** The Cluster that will become primary, as `spec.replica.primary` and `externalClusters` name it. */
  newPrimary: string;
}

export interface PromoteCnpgOptions extends WaitOptions {
  /** The demoted primary's `status.demotionToken`: a switchover. Without it the promotion is a failover. */
  promotionToken?: string;
}

const HEALTHY = 'Cluster in healthy state';
/** Phases in which CloudNativePG waits for a human; polling longer will not help. */
const STUCK = [
  'Cluster is unrecoverable and needs manual intervention',
  'Waiting for user action',
  'Unable to create required cluster objects',
];
/**
 * The phase reason the instance manager sets when a promotion token can never match this replica (another system
 * identifier, an older timeline, or it replayed past the token): internal/management/controller/instance_controller.go.
 */
const TOKEN_REJECTED = 'Promotion token content is not correct for current instance';
const MAX_POLL_MS = 500;

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

/**
 * Decodes a demotion (= promotion) token the way the operator does (pkg/utils/parser.go ParsePgControldataToken and
 * IsValid: standard padded base64 of a JSON object whose six fields are all set), and checks what Baton relies on:
 * the timeline is a number and the REDO location an LSN. Throws `cnpg-token-invalid` on anything else.
 */
export function parseCnpgDemotionToken(token: string): CnpgDemotionToken {
  const invalid = (why: string, cause?: unknown) =>
    new BatonError(
      'cnpg-token-invalid',
      `Not a CloudNativePG demotion token: ${why} — copy it again from the demoted Cluster ` +
        `(kubectl get cluster -n <namespace> <name> -o jsonpath='{.status.demotionToken}', or the "Demotion token" ` +
        'of kubectl cnpg status)',
      cause === undefined ? {} : { cause },
    );
  // Go's base64.StdEncoding: standard alphabet, padded; it skips line breaks.
  const text = token.replace(/[\r\n]/g, '');
  if (text === '' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw invalid('it is not base64');
  }
  let content: unknown;
  try {
    content = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
  } catch (error) {
    throw invalid('it does not hold JSON', error);
  }
  if (typeof content !== 'object' || content === null || Array.isArray(content)) {
    throw invalid('it does not hold a JSON object');
  }
  const fields = content as Record<string, unknown>;
  const field = (key: string): string => {
    const value = fields[key];
    if (typeof value !== 'string' || value === '') throw invalid(`${key} is missing`);
    return value;
  };
  const timelineText = field('latestCheckpointTimelineID');
  const redoWalFile = field('redoWalFile');
  const systemIdentifier = field('databaseSystemIdentifier');
  const redoText = field('latestCheckpointREDOLocation');
  const checkpointTime = field('timeOfLatestCheckpoint');
  const operatorVersion = field('operatorVersion');
  const timeline = Number(timelineText);
  if (!/^\d+$/.test(timelineText) || !Number.isSafeInteger(timeline) || timeline < 1) {
    throw invalid(`latestCheckpointTimelineID ${JSON.stringify(timelineText)} is not a timeline`);
  }
  let redoLsn: string;
  try {
    redoLsn = formatLsn(parseLsn(redoText));
  } catch (error) {
    throw invalid(`latestCheckpointREDOLocation ${JSON.stringify(redoText)} is not a WAL position`, error);
  }
  if (!/^[0-9A-Fa-f]{24}$/.test(redoWalFile)) {
    throw invalid(`redoWalFile ${JSON.stringify(redoWalFile)} is not a WAL file name`);
  }
  if (!/^\d+$/.test(systemIdentifier)) {
    throw invalid(`databaseSystemIdentifier ${JSON.stringify(systemIdentifier)} is not a system identifier`);
  }
  return { timeline, redoLsn, redoWalFile, systemIdentifier, checkpointTime, operatorVersion };
}

/**
 * Demotes the primary Cluster of a distributed topology in favour of `newPrimary` (merge patch
 * `spec.replica.primary: <newPrimary>`), then waits until the operator publishes `status.demotionToken`: the
 * source is shut down and that token is what the new primary's promotion must carry. A Cluster already demoted in
 * favour of `newPrimary` is left alone and its token returned.
 */
export async function demoteCnpg(
  access: CnpgClusterAccess,
  options: DemoteCnpgOptions,
): Promise<{ demotionToken: string; changed: boolean }> {
  const { ref } = access;
  const { newPrimary } = options;
  const label = `CloudNativePG Cluster ${ref.namespace}/${ref.name}`;
  const status = `kubectl cnpg status -n ${ref.namespace} ${ref.name}`;
  options.signal?.throwIfAborted();
  const object = await access.read(options.signal);
  const replica = object.spec?.replica;
  const self = replica?.self || object.metadata?.name || ref.name;
  if (newPrimary === self) {
    throw new BatonError(
      'config-invalid',
      `${label} cannot be demoted in favour of itself (${self}) — name the Cluster that is to become primary`,
    );
  }
  const distributed =
    replica?.primary !== undefined && (replica.enabled === undefined || replica.enabled === null);
  const before = cnpgStatus(object);
  let staleToken: string | null = null;
  let changed = false;
  if (before.replica) {
    if (!distributed || replica?.primary !== newPrimary) {
      throw new BatonError(
        'cnpg-not-primary',
        `${label} on ${access.where} is not a primary: it replicates from ${replica?.source ?? 'another cluster'} ` +
          `${distributed ? `and names ${replica?.primary ?? 'no Cluster'} as primary, not ${newPrimary}` : '(a standalone replica cluster)'} ` +
          `— nothing to demote; see ${status}`,
      );
    }
  } else {
    if (!distributed) {
      throw new BatonError(
        'cnpg-not-distributed',
        `${label} on ${access.where} is not part of a distributed topology (spec.replica.primary/source) — a ` +
          'controlled switchover needs one; configure spec.replica and externalClusters on both Clusters as in ' +
          'https://cloudnative-pg.io/documentation/current/replica_cluster/#distributed-topology, or fail over',
      );
    }
    // The operator clears status.demotionToken while a Cluster is primary; one still shown before this write is
    // left over from an earlier demotion and is not the token of this one.
    staleToken = before.demotionToken;
    // A token left from this Cluster's own promotion must go in the same write: the webhook allows promotionToken
    // on primaries only (cloudnative-pg issue #9273).
    const patch = { primary: newPrimary, ...(replica?.promotionToken && { promotionToken: null }) };
    await patchCluster(access, label, { spec: { replica: patch } }, options.signal);
    changed = true;
    access.log.info({ cnpgCluster: label, newPrimary }, 'requested CloudNativePG demotion');
  }

  const look = (found: CnpgClusterObject): Look<string> => {
    const now = cnpgStatus(found);
    const primary = found.spec?.replica?.primary;
    if (!now.replica || primary !== newPrimary) {
      throw new BatonError(
        'cnpg-demotion-failed',
        `${label} on ${access.where} was changed while Baton waited for its demotion: it now ` +
          `${now.replica ? `names ${primary ?? 'no Cluster'} as primary` : 'is a primary again'} — someone else is ` +
          `switching it; look at ${status} before going on`,
      );
    }
    if (now.phase !== null && STUCK.includes(now.phase)) {
      throw new BatonError(
        'cnpg-demotion-failed',
        `${label} on ${access.where} is in phase "${now.phase}"${now.phaseReason ? ` (${now.phaseReason})` : ''} while ` +
          `demoting — it needs a human: ${status}`,
      );
    }
    const token = now.demotionToken;
    if (token !== null && token !== staleToken && !now.demoting) {
      const content = parseCnpgDemotionToken(token);
      // kubectl cnpg status checks the same: the token belongs to this database.
      if (now.systemId !== null && content.systemIdentifier !== now.systemId) {
        throw new BatonError(
          'cnpg-token-invalid',
          `${label} on ${access.where} published a demotion token of another database (system identifier ` +
            `${content.systemIdentifier}, its own is ${now.systemId}) — do not promote with it; see ${status}`,
        );
      }
      return { done: true, value: token };
    }
    return { done: false, seen: describeDemotion(found, now, token !== null && token === staleToken) };
  };

  const first = changed ? null : look(object);
  const demotionToken =
    first?.done === true
      ? first.value
      : await waitUntil(
          access.clock,
          {
            ...options,
            pollMs: Math.min(options.pollMs ?? 250, MAX_POLL_MS),
            timeoutError: (seen) =>
              new BatonError(
                'not-ready',
                `${label} on ${access.where} has published no demotion token after ` +
                  `${formatMs(options.timeoutMs ?? 0)}: ${seen} — the operator first shuts PostgreSQL down and ` +
                  `archives its last WAL; check ${status} and the operator's log; Retry waits again`,
                { retriable: true },
              ),
          },
          poller(access, options.signal, look),
        );
  const content = parseCnpgDemotionToken(demotionToken);
  access.log.info(
    { cnpgCluster: label, newPrimary, changed, timeline: content.timeline, redoLsn: content.redoLsn },
    'CloudNativePG cluster demoted',
  );
  return { demotionToken, changed };
}

/**
 * Promotes a CloudNativePG replica Cluster, then waits until the operator reports a healthy, Ready primary. With
 * `promotionToken` (a switchover) the merge patch sets `spec.replica.primary` to itself and
 * `spec.replica.promotionToken` in one write, and the wait ends only once the operator has accepted that token.
 * Without one it is a failover: `spec.replica.enabled: false`, or `primary: <self>` in a distributed topology. A
 * Cluster that is already a primary is left alone. Resolves whether this call changed it.
 */
export async function promoteCnpg(
  access: CnpgClusterAccess,
  options: PromoteCnpgOptions,
): Promise<{ changed: boolean; status: CnpgClusterStatus }> {
  const { ref } = access;
  const label = `CloudNativePG Cluster ${ref.namespace}/${ref.name}`;
  const statusCommand = `kubectl cnpg status -n ${ref.namespace} ${ref.name}`;
  const token = options.promotionToken;
  // A token that does not parse is refused before anything is written.
  const content = token === undefined ? null : parseCnpgDemotionToken(token);
  options.signal?.throwIfAborted();
  const object = await access.read(options.signal);
  const replica = object.spec?.replica;
  const self = replica?.self || object.metadata?.name || ref.name;
  const distributed =
    replica?.primary !== undefined && (replica.enabled === undefined || replica.enabled === null);
  const first = cnpgStatus(object);
  const finished = (status: CnpgClusterStatus) =>
    status.promoted && (token === undefined || status.lastPromotionToken === token);

  if (first.promoted) {
    if (finished(first)) {
      access.log.info({ cnpgCluster: label }, 'CloudNativePG cluster is already a primary');
      return { changed: false, status: first };
    }
    throw new BatonError(
      'cnpg-token-conflict',
      `${label} on ${access.where} is already a primary, but was not promoted with this demotion token ` +
        `(last promotion token: ${first.lastPromotionToken ? 'another one' : 'none'}) — it may have diverged ` +
        `from the demoted Cluster: compare both with ${statusCommand} before going on`,
    );
  }
  let changed = false;
  if (first.replica) {
    let patch: Record<string, unknown>;
    if (token !== undefined) {
      if (!distributed) {
        throw new BatonError(
          'cnpg-not-distributed',
          `${label} on ${access.where} uses spec.replica.enabled, not a distributed topology: CloudNativePG has no ` +
            'controlled switchover for it — promote without a token (a failover; the old primary is then rebuilt)',
        );
      }
      if (replica?.minApplyDelay) {
        throw new BatonError(
          'cnpg-apply-delay',
          `${label} on ${access.where} has spec.replica.minApplyDelay ${replica.minApplyDelay}, which CloudNativePG ` +
            'does not allow with a promotion token — remove minApplyDelay, let it catch up, then Retry',
        );
      }
      // Both in one write: a primary field without the token would be a failover (replica_cluster.md).
      patch = { primary: self, promotionToken: token };
    } else {
      // The distributed topology (spec.replica.primary/self, CloudNativePG ≥ 1.24) promotes by naming itself primary.
      patch = distributed ? { primary: self } : { enabled: false };
    }
    await patchCluster(access, label, { spec: { replica: patch } }, options.signal);
    changed = true;
    access.log.info(
      {
        cnpgCluster: label,
        primary: patch.primary ?? null,
        switchover: content !== null,
        ...(content && { tokenTimeline: content.timeline, tokenRedoLsn: content.redoLsn }),
      },
      content
        ? 'requested CloudNativePG promotion with the demotion token'
        : 'requested CloudNativePG promotion',
    );
  } else if (token !== undefined && replica?.promotionToken !== token) {
    // Promotion already asked for, not by this token: writing ours could turn a failover into something else.
    throw new BatonError(
      'cnpg-token-conflict',
      `${label} on ${access.where} is already being promoted ` +
        `${replica?.promotionToken ? 'with another token' : 'without a token (a failover)'} — Baton will not ` +
        `change that; look at ${statusCommand}`,
    );
  }

  const look = (found: CnpgClusterObject): Look<CnpgClusterStatus> => {
    const status = cnpgStatus(found);
    if (finished(status)) return { done: true, value: status };
    if (status.replica) {
      throw new BatonError(
        'cnpg-promotion-failed',
        `${label} on ${access.where} was made a replica again while Baton waited for its promotion — someone else ` +
          `is switching it; look at ${statusCommand}`,
      );
    }
    if (token !== undefined && status.phaseReason === TOKEN_REJECTED) {
      throw new BatonError(
        'cnpg-token-rejected',
        `CloudNativePG refused to promote ${label} on ${access.where} with the demotion token (phase ` +
          `"${status.phase ?? 'none'}": ${TOKEN_REJECTED}) — the token (system identifier ` +
          `${content?.systemIdentifier ?? '?'}, timeline ${content?.timeline ?? '?'}, REDO ${content?.redoLsn ?? '?'}) ` +
          `is not this replica's: another database, an older timeline, or it replayed past that point. It was not ` +
          `promoted. Compare ${statusCommand} with the demoted Cluster; to give up on the switchover, fail over ` +
          '(promote without a token) and rebuild the old primary',
      );
    }
    if (status.phase !== null && STUCK.includes(status.phase)) {
      throw new BatonError(
        'cnpg-promotion-failed',
        `${label} on ${access.where} is in phase "${status.phase}"${status.phaseReason ? ` (${status.phaseReason})` : ''} — ` +
          `it needs a human: ${statusCommand}`,
      );
    }
    const waiting = content ? `, waiting until it has replayed up to the token's ${content.redoLsn}` : '';
    return {
      done: false,
      seen:
        `phase "${status.phase ?? 'none'}", Ready ${status.ready}, current primary ${status.currentPrimary ?? 'none'}` +
        `${status.primaryReported === false ? ' (not yet a primary)' : ''}${waiting}`,
    };
  };

  const status = await waitUntil(
    access.clock,
    {
      ...options,
      pollMs: Math.min(options.pollMs ?? 250, MAX_POLL_MS),
      timeoutError: (seen) =>
        new BatonError(
          'not-ready',
          `${label} on ${access.where} is not a healthy primary after ${formatMs(options.timeoutMs ?? 0)}: ${seen} — ` +
            `check the operator (${statusCommand}); Retry waits again`,
          { retriable: true },
        ),
    },
    poller(access, options.signal, look),
  );
  return { changed, status };
}

/**
 * The polls of one wait. A read cut short by the signal counts as "not yet", so the wait rejects with the signal's
 * reason and what the previous poll saw, rather than with a bare abort.
 */
function poller<T>(
  access: CnpgClusterAccess,
  signal: AbortSignal | undefined,
  look: (object: CnpgClusterObject) => Look<T>,
): () => Promise<Look<T>> {
  let seen = 'nothing yet';
  return async () => {
    let object: CnpgClusterObject;
    try {
      object = await access.read(signal);
    } catch (error) {
      if (signal?.aborted) return { done: false, seen };
      throw error;
    }
    const result = look(object);
    if (!result.done) seen = result.seen;
    return result;
  };
}

async function patchCluster(
  access: CnpgClusterAccess,
  label: string,
  patch: Record<string, unknown>,
  signal: AbortSignal | undefined,
): Promise<void> {
  try {
    await access.mergePatch(patch, signal);
  } catch (error) {
    // 422 from the operator's validating webhook (vcluster.cnpg.io): its message names the field.
    if (isBatonError(error) && error.code === 'cluster-invalid') {
      throw new BatonError(
        'cnpg-patch-rejected',
        `${error.message} — fix ${label}'s spec.replica and externalClusters (kubectl get cluster -n ` +
          `${access.ref.namespace} ${access.ref.name} -o yaml), then Retry`,
        { cause: error },
      );
    }
    throw error;
  }
}

function describeDemotion(object: CnpgClusterObject, status: CnpgClusterStatus, stale: boolean): string {
  const conditions = object.status?.conditions ?? [];
  const transition = conditions.find((c) => c.type === 'ReplicaClusterSwitch');
  const fenced = conditions.some((c) => c.type === 'ReplicaClusterFencing' && c.status === 'True');
  const parts = [
    stale ? 'only the token of an earlier demotion' : 'no demotion token yet',
    transition?.message ? `"${transition.message}"` : 'the operator has not started the transition',
    ...(fenced ? ['fenced'] : []),
    `phase "${status.phase ?? 'none'}"`,
  ];
  return parts.join(', ');
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}
