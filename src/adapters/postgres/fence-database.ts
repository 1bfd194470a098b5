/**
 * The fence of a PostgreSQL primary, complete every time it runs (it is idempotent, so every attempt runs all of it):
 *
 * 1. `ALTER SYSTEM SET default_transaction_read_only = on` and a reload, until a new session sees it;
 * 2. no role or database setting (`pg_db_role_setting`) overrides it;
 * 3. every other client session ended, and none left (a superuser's, which Baton's role cannot end) inside a
 *    transaction that began before the fence;
 * 4. prepared transactions listed: they survive all of this and can still be committed;
 * 5. last, the final WAL position, with the transaction mark (`pg_current_snapshot()`) that later tells whether
 *    anything committed after it.
 *
 * A session may still `SET default_transaction_read_only = off` or `BEGIN READ WRITE` after the fence: SQL alone
 * cannot stop a client that insists. `writesSince` detects such commits; the promote step refuses to promote while
 * they happen, and measures any that land after.
 */
import type { Client } from 'pg';
import { DatabaseError } from 'pg';
import type { ClusterId, SiteConfig } from '../../config/topology.js';
import type { Clock, FenceMark, Log, WritesSince } from '../../core/ports.js';
import { BatonError } from '../../errors.js';
import type { PgSessions } from './pg-sessions.js';
import { one } from './pg-sessions.js';

export interface FenceContext {
  sessions: PgSessions;
  clock: Clock;
  log: Log;
  /** How long the reload may take to reach new sessions, and each ended session to exit. */
  settleTimeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** The final position and transaction mark, read in one statement of a fresh session. */
export const MARK_SQL = `
  WITH s AS (SELECT pg_current_snapshot() AS snap)
  SELECT current_setting('default_transaction_read_only') AS read_only,
         pg_is_in_recovery() AS in_recovery,
         (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS lsn,
         pg_snapshot_xmax(s.snap)::text AS next_xid,
         ARRAY(SELECT x::text FROM pg_snapshot_xip(s.snap) AS x) AS open_xids
    FROM s`;

interface MarkRow {
  read_only: string;
  in_recovery: boolean;
  lsn: string;
  next_xid: string;
  open_xids: string[];
}

/** At most this many transaction ids are examined by writesSince; beyond it the count says "at least". */
const XID_SCAN_CAP = 1_000_000;

export async function fenceDatabase(
  ctx: FenceContext,
  site: SiteConfig,
  cluster: ClusterId,
): Promise<FenceMark> {
  const { sessions, signal } = ctx;
  const ended = await sessions.session(
    site,
    cluster,
    'fence',
    async (client) => {
      const { in_recovery: inRecovery } = await one<{ in_recovery: boolean }>(
        client,
        'SELECT pg_is_in_recovery() AS in_recovery',
      );
      await client.query('ALTER SYSTEM SET default_transaction_read_only = on');
      await client.query('SELECT pg_reload_conf()');
      if (!inRecovery) await refuseOverrides(client, site, cluster, sessions);
      await waitForDefault(ctx, site, cluster, 'on', 'fence');
      // A standby takes no writes: the flag only keeps it read-only should it be promoted by mistake.
      if (inRecovery) return 0;
      return endSessions(ctx, site, cluster, client);
    },
    // pg_terminate_backend waits up to settleTimeoutMs for each session to exit.
    { signal, statementTimeoutMs: sessions.statementTimeoutMs + ctx.settleTimeoutMs },
  );
  const { mark, prepared } = await sessions.session(
    site,
    cluster,
    'fence',
    async (client) => {
      const prepared = await client.query<{ gid: string; xid: string; owner: string; database: string }>(
        'SELECT gid, transaction::text AS xid, owner, database FROM pg_prepared_xacts ORDER BY prepared',
      );
      return { prepared: prepared.rows, mark: await one<MarkRow>(client, MARK_SQL) };
    },
    { signal },
  );
  if (mark.read_only !== 'on') throw notEffective(sessions, site, cluster, 'fence', mark.read_only);
  if (prepared.length) {
    ctx.log.warn(
      { site: site.name, cluster, prepared: prepared.map((p) => `${p.gid} (${p.owner}@${p.database})`) },
      'prepared transactions survive the fence; a COMMIT PREPARED after it would be a write after the final position',
    );
  }
  ctx.log.info({ site: site.name, cluster, endedSessions: ended, lsn: mark.lsn }, 'database fenced');
  return {
    lsn: mark.lsn,
    nextXid: mark.next_xid,
    openXids: mark.open_xids,
    prepared,
    endedSessions: ended,
    standby: mark.in_recovery,
  };
}

export async function unfenceDatabase(
  ctx: FenceContext,
  site: SiteConfig,
  cluster: ClusterId,
): Promise<void> {
  await ctx.sessions.session(
    site,
    cluster,
    'unfence',
    async (client) => {
      await client.query('ALTER SYSTEM RESET default_transaction_read_only');
      await client.query('SELECT pg_reload_conf()');
    },
    { signal: ctx.signal },
  );
  await waitForDefault(ctx, site, cluster, 'off', 'unfence');
  ctx.log.info({ site: site.name, cluster }, 'database unfenced');
}

/**
 * Transactions committed on `cluster` after `mark`: ids at or above its next id, and those open at the mark, whose
 * status (pg_xact_status) is now committed. A standby cannot commit its own, so it has none.
 */
export async function writesSince(
  ctx: FenceContext,
  site: SiteConfig,
  cluster: ClusterId,
  mark: FenceMark,
): Promise<WritesSince> {
  return ctx.sessions.session(
    site,
    cluster,
    'read writes since the fence',
    async (client) => {
      const now = await one<MarkRow>(client, MARK_SQL);
      if (now.in_recovery) return { lsn: now.lsn, committed: 0, writers: [] };
      const from = BigInt(mark.nextXid);
      const to = BigInt(now.next_xid);
      const last = to - from > BigInt(XID_SCAN_CAP) ? from + BigInt(XID_SCAN_CAP) : to;
      const { committed } = await one<{ committed: number }>(
        client,
        `SELECT count(*)::int AS committed
           FROM (SELECT g FROM generate_series($1::bigint, $2::bigint - 1) AS g
                 UNION SELECT unnest($3::bigint[])) AS ids(x)
          WHERE pg_xact_status(x::text::xid8) = 'committed'`,
        [from.toString(), last.toString(), mark.openXids],
      );
      const writers = await client.query<{ pid: number; who: string }>(
        `SELECT pid, coalesce(usename, '?') || '@' || coalesce(host(client_addr), 'local') ||
                CASE WHEN application_name <> '' THEN ' (' || application_name || ')' ELSE '' END AS who
           FROM pg_stat_activity
          WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
      );
      return {
        lsn: now.lsn,
        committed,
        ...(last < to && { capped: true }),
        writers: writers.rows.map((row) => `pid ${row.pid} ${row.who}`),
      };
    },
    { signal: ctx.signal },
  );
}

/** A role or database setting of default_transaction_read_only other than on overrides ALTER SYSTEM: refuse it. */
async function refuseOverrides(
  client: Client,
  site: SiteConfig,
  cluster: ClusterId,
  sessions: PgSessions,
): Promise<void> {
  const overrides = await client.query<{ role: string | null; database: string | null; setting: string }>(
    `SELECT r.rolname AS role, d.datname AS database, c AS setting
       FROM pg_db_role_setting s
       LEFT JOIN pg_roles r ON r.oid = s.setrole
       LEFT JOIN pg_database d ON d.oid = s.setdatabase,
            unnest(s.setconfig) AS c
      WHERE c ILIKE 'default_transaction_read_only=%'
        AND lower(split_part(c, '=', 2)) NOT IN ('on', 'true', 'yes', '1')`,
  );
  if (overrides.rows.length === 0) return;
  const fixes = overrides.rows.map((row) => {
    const target = row.role
      ? `ROLE "${row.role}"${row.database ? ` IN DATABASE "${row.database}"` : ''}`
      : `DATABASE "${row.database ?? '?'}"`;
    return `ALTER ${target} RESET default_transaction_read_only`;
  });
  throw new BatonError(
    'fence-overridden',
    `${cluster}'s database: ${overrides.rows.map((r) => `${r.role ?? 'every role'} in ${r.database ?? 'every database'} has ${r.setting}`).join('; ')}, ` +
      // The database is already read-only by default, so the fix needs a read-write transaction of its own.
      `which overrides the fence — as a superuser run BEGIN READ WRITE; ${fixes.join('; ')}; COMMIT; then Retry ` +
      `(${sessions.envName(site, cluster)})`,
  );
}

/**
 * Ends every other client session. The reload only changes the default for transactions that start after a session
 * has read it: a transaction that began before (a long UPDATE, or one idle in transaction) stays read-write and could
 * still commit after the final position. Ending the sessions aborts those; clients that reconnect get read-only ones.
 */
async function endSessions(
  ctx: FenceContext,
  site: SiteConfig,
  cluster: ClusterId,
  client: Client,
): Promise<number> {
  // Transactions that began before this moment may predate the read-only default; later ones cannot.
  const { since } = await one<{ since: string }>(client, 'SELECT clock_timestamp()::text AS since');
  const sessions = await client.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
  );
  let ended = 0;
  for (const { pid } of sessions.rows) {
    try {
      const result = await one<{ ended: boolean }>(client, 'SELECT pg_terminate_backend($1, $2) AS ended', [
        pid,
        ctx.settleTimeoutMs,
      ]);
      if (result.ended) ended += 1;
    } catch (error) {
      // A superuser's session: pg_signal_backend may not end it. Judged below by what it is doing.
      if (!(error instanceof DatabaseError && error.code === '42501')) throw error;
    }
  }
  const pids = sessions.rows.map((row) => row.pid);
  const left = await client.query<{ pid: number; usename: string | null; risky: boolean }>(
    `SELECT pid, usename, xact_start IS NOT NULL AND xact_start < $2::timestamptz AS risky
       FROM pg_stat_activity WHERE pid = ANY($1::int[])`,
    [pids, since],
  );
  const risky = left.rows.filter((row) => row.risky);
  if (risky.length > 0) {
    const who = risky.map((row) => `pid ${row.pid} (${row.usename ?? 'unknown role'})`).join(', ');
    throw new BatonError(
      'fence-incomplete',
      `${cluster}'s database is read-only for new transactions, but ${who} could not be ended and ` +
        'is inside a transaction that may still write — end it as a superuser (SELECT pg_terminate_backend(pid)), ' +
        'then Retry',
      { retriable: true },
    );
  }
  if (left.rows.length > 0) {
    ctx.log.warn(
      { site: site.name, cluster, sessions: left.rows.map((row) => ({ pid: row.pid, role: row.usename })) },
      'sessions could not be ended; they are idle and start read-only transactions from now on',
    );
  }
  return ended;
}

/** Polls new sessions until default_transaction_read_only is `expected`: the reload is asynchronous. */
async function waitForDefault(
  ctx: FenceContext,
  site: SiteConfig,
  cluster: ClusterId,
  expected: 'on' | 'off',
  action: 'fence' | 'unfence',
): Promise<void> {
  const { sessions, clock } = ctx;
  const deadline = clock.now() + ctx.settleTimeoutMs;
  for (;;) {
    const { read_only: seen } = await sessions.session(
      site,
      cluster,
      action,
      (client) =>
        one<{ read_only: string }>(
          client,
          "SELECT current_setting('default_transaction_read_only') AS read_only",
        ),
      { signal: ctx.signal },
    );
    if (seen === expected) return;
    if (clock.now() > deadline) throw notEffective(sessions, site, cluster, action, seen);
    await clock.sleep(25, ctx.signal);
  }
}

function notEffective(
  sessions: PgSessions,
  site: SiteConfig,
  cluster: ClusterId,
  action: 'fence' | 'unfence',
  seen: string,
): BatonError {
  return new BatonError(
    action === 'fence' ? 'fence-not-effective' : 'unfence-not-effective',
    `${cluster}'s database: new sessions still get default_transaction_read_only = ${seen} after ALTER SYSTEM ` +
      'and pg_reload_conf(): a setting on the server command line, or ALTER ROLE/DATABASE … SET, overrides it — ' +
      `remove that, then Retry (${sessions.envName(site, cluster)})`,
    { retriable: true },
  );
}
