/**
 * How the simulated PostgreSQL pair behaves, on a WorldState and without I/O: WAL positions as LSN text, a standby
 * replaying its upstream's WAL `lagBytes` behind, a requested promotion landing on a new timeline, what a fence
 * leaves, and an old primary rebuilt as a standby.
 */
import type { ClusterId } from '../../src/config/topology.js';
import type { DatabaseStatus, FenceMark } from '../../src/core/ports.js';
import { BatonError } from '../../src/errors.js';
import type { SimDatabase, WorldState } from './world-state.js';
import { reachCluster } from './world-state.js';

export const lsnText = (n: number): string =>
  `${Math.floor(n / 2 ** 32)
    .toString(16)
    .toUpperCase()}/${(n % 2 ** 32).toString(16).toUpperCase()}`;

export function lsnNumber(lsn: string): number {
  const [hi, lo] = lsn.split('/');
  return parseInt(hi ?? '0', 16) * 2 ** 32 + parseInt(lo ?? '0', 16);
}

/** The database of `id` as a port reaches it, with a requested promotion landed if its time has come. */
export function reachDatabase(state: WorldState, id: ClusterId, now: number): SimDatabase {
  const db = reachCluster(state, id, 'db').db;
  settlePromotion(db, state, now);
  return db;
}

/** A requested promotion lands: the standby stops following, keeps what it replayed, and starts a new timeline. */
export function settlePromotion(db: SimDatabase, state: WorldState, now: number): void {
  if (db.promoteAt === undefined || now < db.promoteAt || db.role === 'primary') return;
  const upstream = db.upstream ? state.clusters[db.upstream]?.db : undefined;
  if (upstream) db.lsn = Math.max(0, upstream.lsn - state.lagBytes);
  db.role = 'primary';
  db.timeline += 1;
  delete db.upstream;
  delete db.promoteAt;
  // A CloudNativePG Cluster demoted in its favour follows it from now on, without a rebuild.
  for (const c of Object.values(state.clusters)) {
    if (c.db.demotedFor === undefined || state.clusters[c.db.demotedFor]?.db !== db) continue;
    c.db.upstream = c.db.demotedFor;
    c.db.timeline = db.timeline;
    delete c.db.demotedFor;
    delete c.db.demotionToken;
  }
  // Transaction ids carry on from what was replicated; the old primary's later ones are its own.
  if (upstream) db.nextXid = Math.max(db.nextXid, upstream.nextXid);
}

/**
 * The old primary `id` rebuilt as a standby of the current primary (SimulatedWorld.rebuildAsStandby); also for
 * callers holding a WorldState (benchmarks).
 */
export function rebuildDatabase(state: WorldState, id: ClusterId): void {
  const entry = Object.entries(state.clusters).find(([other, c]) => other !== id && c.db.role === 'primary');
  const target = state.clusters[id];
  if (!entry || !target) throw new Error(`no primary for ${id} to follow`);
  const [primaryId, primary] = entry;
  target.db = {
    ...target.db,
    role: 'standby',
    readOnly: false,
    upstream: primaryId,
    timeline: primary.db.timeline,
    lsn: primary.db.lsn,
    nextXid: primary.db.nextXid,
    commits: [],
  };
  delete target.db.promoteAt;
}

/** Where `db` has replayed to (a primary: what it wrote). */
export function replayOf(state: WorldState, db: SimDatabase): number {
  const upstream = db.upstream ? state.clusters[db.upstream]?.db : undefined;
  if (db.role !== 'standby' || !upstream) return db.lsn;
  // A standby follows its upstream's WAL, `lagBytes` behind; promotion freezes what it has.
  db.lsn = Math.max(0, upstream.lsn - state.lagBytes);
  return db.lsn;
}

export function databaseStatus(state: WorldState, id: ClusterId, now: number): DatabaseStatus {
  const db = reachDatabase(state, id, now);
  if (db.role === 'primary')
    return { inRecovery: false, readOnly: db.readOnly, lagBytes: null, lsn: lsnText(db.lsn) };
  const replay = replayOf(state, db);
  const upstream = db.upstream ? state.clusters[db.upstream] : undefined;
  const primaryReadable = upstream?.db.reachable && upstream.db.refuses === undefined;
  return {
    inRecovery: true,
    readOnly: db.readOnly,
    lagBytes: primaryReadable && upstream ? upstream.db.lsn - replay : null,
    ...(!primaryReadable && { lagUnknown: `${db.upstream ?? 'its primary'} unreachable` }),
    lsn: lsnText(replay),
    receiveLsn: lsnText(replay),
  };
}

export function fenceMark(state: WorldState, db: SimDatabase): FenceMark {
  return {
    lsn: lsnText(replayOf(state, db)),
    nextXid: String(db.nextXid),
    openXids: [],
    prepared: [],
    endedSessions: 0,
    standby: db.role === 'standby',
  };
}

/** Throws unless `db` takes writes: a primary whose new transactions are not read-only. */
export function assertWritable(db: SimDatabase, id: ClusterId): void {
  if (db.role !== 'primary') {
    throw new BatonError('database-in-recovery', `${id}'s database is still in recovery`, {
      retriable: true,
    });
  }
  if (db.readOnly) {
    throw new BatonError(
      'database-read-only',
      `${id}'s database is a primary but new transactions are read-only`,
    );
  }
}
