/**
 * The sandbox's PostgreSQL pair as the page sees it and breaks it: each database's role read from outside (a fenced
 * primary, a standby whose WAL receiver is not streaming), what Baton recorded about the data (the site's open fence
 * debt, the last run's measured RPO), and the things that go wrong with databases in a failover — lag, a crash, an old
 * primary that restarts writable, a client that writes past the fence, an old primary brought back as a standby
 * without a rewind — next to the right way back (a rebuild from a base backup).
 */
import { Client } from 'pg';
import type { Rpo } from '../../src/core/rpo.js';
import { formatRpo, rpoOf } from '../../src/core/rpo.js';
import type { RunStore } from '../../src/store/run-store.js';
import type { PostgresNode, PostgresPair } from './postgres-pair.js';
import { query } from './postgres-pair.js';

/** What "Write on east anyway" did: one INSERT from a session that turned read-only off for itself. */
export interface HostileWrite {
  at: number;
  committed: boolean;
  /** What happened, in words: the row and transaction, or the error. */
  detail: string;
}

export interface DatabaseView {
  role: 'primary' | 'fenced primary' | 'standby' | 'down';
  /** A standby's distance behind the primary's current position, in bytes. */
  lagBytes?: number;
  replayPaused?: boolean;
  /**
   * A standby's WAL receiver is streaming and its primary's pg_stat_replication lists it (false: its primary is down,
   * or it has diverged and cannot follow).
   */
  streaming?: boolean;
  /** The last "Write on east anyway" on this database. */
  lastWrite?: HostileWrite;
}

export interface DatabaseBreaks {
  /** Pauses replay on the cluster's standby and writes on the primary until the standby is > `bytes` behind. */
  lag(cluster: string, on: boolean, bytes?: number): Promise<void>;
  /** Rebuilds the cluster's database as a standby of the other cluster's (what an operator does before failback). */
  rebuildStandby(cluster: string): Promise<void>;
  /** Down: SIGKILL, as a crash. Up: starts it as its data directory says (a crashed primary comes back writable). */
  database(cluster: string, up: boolean): Promise<void>;
  /** One INSERT from a superuser session that turns read-only off for itself, as a client that ignores the fence. */
  writeAnyway(cluster: string): Promise<HostileWrite>;
  /** Restarts the cluster's database as a standby of the other as it is, without pg_rewind: the wrong way back. */
  rejoinWithoutRewind(cluster: string): Promise<void>;
  /** What the cluster's database is now, for the world panel. */
  view(cluster: string): Promise<DatabaseView | null>;
}

export interface FenceDebtView {
  cluster: string;
  /** Its database still has to be made read-only; its workloads scaled to their standby size. */
  database: boolean;
  workloads: boolean;
  since: number;
  runId: string;
  reason: string;
  lastError?: string;
}

export interface LastRunView {
  id: string;
  kind: string;
  mode: string;
  state: string;
  from: string;
  to: string;
  /** `formatRpo(rpoOf(run))` with its kind and detail. */
  rpo: { text: string; kind: Rpo['kind']; detail: string } | null;
}

const HOSTILE_TABLE = 'sandbox_hostile_writes';

/** The database breaks of `pair`; null (no PostgreSQL) makes every break say so and every view null. */
export function databaseBreaks(pair: PostgresPair | null): DatabaseBreaks {
  const lastWrites = new Map<string, HostileWrite>();
  const postgres = (): PostgresPair => {
    if (!pair) throw new Error('the sandbox runs without PostgreSQL (its server programs are missing)');
    return pair;
  };
  const nodeOf = (cluster: string): PostgresNode => {
    const node = postgres().nodes[cluster];
    if (!node) throw new Error(`no database for ${JSON.stringify(cluster)}: use east or west`);
    return node;
  };
  /** The primary `cluster`'s database would follow: the other running primary, writable or fenced. */
  const primaryFor = async (cluster: string): Promise<PostgresNode> => {
    const node = nodeOf(cluster);
    const primary = await primaryOf(postgres());
    if (!primary) throw new Error('no primary database is running to follow');
    if (primary === node)
      throw new Error(`${cluster}'s database is the primary; making it a standby would lose its data`);
    return primary;
  };

  return {
    async lag(cluster, on, bytes = 2 * 1024 * 1024) {
      const node = nodeOf(cluster);
      if (!on) {
        await postgres().resumeReplay(node);
        return;
      }
      const primary = await primaryOf(postgres());
      if (!primary || primary === node)
        throw new Error(`${cluster}'s database is not a standby: lag is added to a standby`);
      await postgres().pauseReplay(node);
      // Replay is paused; WAL written now piles up unreplayed on the standby.
      await query(primary.url, 'create table if not exists sandbox_lag (id bigserial primary key, pad text)');
      const rows = Math.ceil(bytes / 1000) + 100;
      await query(
        primary.url,
        'insert into sandbox_lag (pad) select repeat(md5(g::text), 31) from generate_series(1, $1) g',
        [rows],
      );
    },
    async rebuildStandby(cluster) {
      const node = nodeOf(cluster);
      await postgres().rebuildAsStandby(node, await primaryFor(cluster));
      lastWrites.delete(cluster); // wiped with the rest of its data
      await postgres().waitForStreaming(node, 30_000);
    },
    async database(cluster, up) {
      const node = nodeOf(cluster);
      await (up ? node.start() : node.kill());
    },
    async writeAnyway(cluster) {
      const node = nodeOf(cluster);
      const write = await insertPastTheFence(node);
      lastWrites.set(cluster, write);
      return write;
    },
    async rejoinWithoutRewind(cluster) {
      await postgres().restartAsStandbyOf(nodeOf(cluster), await primaryFor(cluster));
    },
    async view(cluster) {
      const node = pair?.nodes[cluster];
      if (!pair || !node) return null;
      const view = await readDatabase(pair, node);
      const lastWrite = lastWrites.get(cluster);
      return lastWrite ? { ...view, lastWrite } : view;
    },
  };
}

/** What Baton recorded about the site, read from its store: the open fence debt and the newest run's RPO. */
export async function recordsView(
  store: RunStore,
  site: string,
): Promise<{ fenceDebt: FenceDebtView | null; lastRun: LastRunView | null }> {
  const [debt, [run]] = await Promise.all([
    store.debts.get(site).catch(() => null),
    store.history(site, 1).catch(() => []),
  ]);
  const rpo = run ? rpoOf(run) : null;
  return {
    fenceDebt: debt && {
      cluster: debt.cluster,
      database: debt.database,
      workloads: debt.workloads,
      since: debt.since,
      runId: debt.runId,
      reason: debt.reason,
      ...(debt.lastError && { lastError: debt.lastError }),
    },
    lastRun: run
      ? {
          ...{ id: run.id, kind: run.kind, mode: run.mode, state: run.state, from: run.from, to: run.to },
          rpo: rpo && { text: formatRpo(rpo), kind: rpo.kind, detail: rpo.detail },
        }
      : null,
  };
}

/** The writable primary, else a fenced one (a fenced old primary is not in recovery either, but read-only). */
async function primaryOf(pair: PostgresPair): Promise<PostgresNode | undefined> {
  let fenced: PostgresNode | undefined;
  for (const node of Object.values(pair.nodes)) {
    if (!node.isRunning()) continue;
    const [row] = await query<{ recovery: boolean; ro: string }>(
      node.url,
      "select pg_is_in_recovery() as recovery, current_setting('default_transaction_read_only') as ro",
    ).catch(() => []);
    if (row && !row.recovery) {
      if (row.ro !== 'on') return node;
      fenced = node;
    }
  }
  return fenced;
}

/**
 * What a client that ignores the fence does: in its own session, read-only off (`SET default_transaction_read_only
 * = off` is allowed to anyone), then an ordinary INSERT. Baton's fence cannot stop it; Baton must catch it.
 */
async function insertPastTheFence(node: PostgresNode): Promise<HostileWrite> {
  const at = Date.now();
  const client = new Client({ connectionString: node.url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined); // a server that dies mid-write is reported by the query itself
  try {
    await client.connect();
    await client.query('SET default_transaction_read_only = off');
    // One click, one transaction: the table (when missing) and the row commit together.
    await client.query('BEGIN');
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${HOSTILE_TABLE} (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())`,
    );
    const result = await client.query<{ id: string; xid: string; lsn: string }>(
      `INSERT INTO ${HOSTILE_TABLE} DEFAULT VALUES ` +
        'RETURNING id::text, pg_current_xact_id()::text AS xid, pg_current_wal_insert_lsn()::text AS lsn',
    );
    await client.query('COMMIT');
    const row = result.rows[0];
    return {
      at,
      committed: true,
      detail:
        `committed on ${node.name}: row ${row?.id ?? '?'} of ${HOSTILE_TABLE}, transaction ${row?.xid ?? '?'}, ` +
        `WAL at ${row?.lsn ?? '?'}`,
    };
  } catch (error) {
    return {
      at,
      committed: false,
      detail: `not committed on ${node.name}: ${error instanceof Error ? error.message : String(error)}`,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function readDatabase(pair: PostgresPair, node: PostgresNode): Promise<DatabaseView> {
  if (!node.isRunning()) return { role: 'down' };
  try {
    const [row] = await query<{
      recovery: boolean;
      ro: string;
      paused: boolean | null;
      receiver: string | null;
    }>(
      node.url,
      "select pg_is_in_recovery() as recovery, current_setting('default_transaction_read_only') as ro, " +
        'case when pg_is_in_recovery() then pg_is_wal_replay_paused() end as paused, ' +
        '(select status from pg_stat_wal_receiver limit 1) as receiver',
    );
    if (!row) return { role: 'down' };
    if (!row.recovery) return { role: row.ro === 'on' ? 'fenced primary' : 'primary' };
    const primary = Object.values(pair.nodes).find((n) => n !== node && n.isRunning());
    // The standby's word alone is not enough: its WAL receiver reads "streaming" from the moment it starts, before
    // the primary has accepted the timeline and position it asks for (a diverged one is refused). The primary lists
    // it as streaming only once it is sending.
    const [head] = primary
      ? await query<{ lsn: string | null; sender: string | null }>(
          primary.url,
          'select case when pg_is_in_recovery() then null else pg_current_wal_lsn()::text end as lsn, ' +
            '(select state from pg_stat_replication where application_name = $1 limit 1) as sender',
          [node.name],
        ).catch(() => [])
      : [];
    let lagBytes: number | undefined;
    if (head?.lsn) {
      const [diff] = await query<{ lag: string }>(
        node.url,
        'select greatest(pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn()), 0)::text as lag',
        [head.lsn],
      );
      lagBytes = Number(diff?.lag ?? 0);
    }
    return {
      role: 'standby',
      ...(lagBytes !== undefined && { lagBytes }),
      replayPaused: row.paused === true,
      streaming: row.receiver === 'streaming' && (head?.sender === 'streaming' || head?.sender === 'catchup'),
    };
  } catch {
    return { role: 'down' };
  }
}
