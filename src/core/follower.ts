/**
 * Is a standby a follower of the current primary? Only then can it be promoted without losing the primary's writes,
 * and only then is a failback onto it safe. Read from both sides: the standby streams (pg_stat_wal_receiver) on the
 * primary's timeline, the primary lists it (pg_stat_replication), and it is not ahead of the primary.
 */
import type { ClusterId } from '../config/topology.js';
import type { ErrorCodeSubset } from '../error-codes.js';
import { lsnDiff } from './lsn.js';
import type { ReplicationState } from './ports.js';
import { formatBytes } from './steps/step.js';

export type FollowerVerdict =
  | { kind: 'follows'; lagBytes: number; detail: string }
  /** The primary could not be read: only the standby's side is known. */
  | { kind: 'unknown'; detail: string }
  | {
      kind: 'broken';
      /** The code of the BatonError a step throws for this verdict. */
      code: ErrorCodeSubset<
        | 'not-a-standby'
        | 'primary-not-primary'
        | 'standby-diverged'
        | 'standby-not-streaming'
        | 'standby-not-listed'
      >;
      detail: string;
      fix: string;
    };

export interface FollowerNames {
  standby: ClusterId;
  primary: ClusterId;
  /** CloudNativePG: the fix is a replica Cluster again, not pg_rewind. */
  cnpg: boolean;
}

export function judgeFollower(state: ReplicationState, names: FollowerNames): FollowerVerdict {
  const { standby, primary } = names;
  const rebuild = names.cnpg
    ? `make ${standby}'s CloudNativePG Cluster a replica of ${primary} again (spec.replica) so the operator re-clones it`
    : `rebuild ${standby}'s database as a standby of ${primary}: pg_rewind (needs wal_log_hints or data checksums), ` +
      `or a new pg_basebackup from ${primary}`;
  const s = state.standby;
  if (!s.inRecovery) {
    return {
      kind: 'broken',
      code: 'not-a-standby',
      detail: `${standby}'s database is a primary, not a standby of ${primary}`,
      fix: rebuild,
    };
  }
  if ('unreachable' in state.primary) {
    return {
      kind: 'unknown',
      detail:
        `${primary} could not be read (${state.primary.unreachable}); ${standby} had received up to ` +
        `${s.receiveLsn ?? s.replayLsn ?? 'an unknown position'}`,
    };
  }
  const p = state.primary;
  if (p.inRecovery) {
    return {
      kind: 'broken',
      code: 'primary-not-primary',
      detail: `${primary}'s database is itself a standby; there is no primary for ${standby} to follow`,
      fix: `find the current primary (/failover status) before moving traffic`,
    };
  }
  const position = s.replayLsn ?? s.receiveLsn;
  const ahead = position === null ? 0 : -lsnDiff(p.lsn, position);
  if (ahead > 0) {
    return {
      kind: 'broken',
      code: 'standby-diverged',
      detail:
        `${standby}'s database has diverged: it replayed up to ${position}, ${formatBytes(ahead)} ahead of ` +
        `${primary}'s current position ${p.lsn}, so it holds writes ${primary} never had`,
      fix: rebuild,
    };
  }
  if (s.receivedTimeline !== null && s.receivedTimeline !== p.timeline) {
    return {
      kind: 'broken',
      code: 'standby-diverged',
      detail: `${standby} follows timeline ${s.receivedTimeline}, but ${primary} writes timeline ${p.timeline}`,
      fix: rebuild,
    };
  }
  if (s.receiver !== 'streaming') {
    return {
      kind: 'broken',
      code: 'standby-not-streaming',
      detail:
        `${standby}'s database is not streaming from ${primary} (WAL receiver: ${s.receiver ?? 'not running'}); ` +
        `if its log says "new timeline … forked off", it has diverged`,
      fix: `check ${standby}'s primary_conninfo and log; if it forked off ${primary}'s timeline, ${rebuild}`,
    };
  }
  if (!p.listsStandby) {
    return {
      kind: 'broken',
      code: 'standby-not-listed',
      detail: `${primary}'s pg_stat_replication does not list ${standby} as streaming: it follows another server`,
      fix: `point ${standby}'s primary_conninfo at ${primary}`,
    };
  }
  const lagBytes = position === null ? 0 : lsnDiff(p.lsn, position);
  return {
    kind: 'follows',
    lagBytes,
    detail: `${standby} streams from ${primary} on timeline ${p.timeline}, ${formatBytes(lagBytes)} behind`,
  };
}
