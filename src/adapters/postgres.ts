/**
 * PostgreSQL behind Baton's {@link DatabasePort}: role and lag, fencing (read-only plus ending sessions),
 * promotion with a proof of writability, and waiting for a standby to replay a WAL position.
 *
 * Every call opens its own short-lived session (so "what a new session gets" is what Baton reads) with
 * `statement_timeout`, `lock_timeout` and `application_name = 'baton'`, and always closes it. Connection strings and
 * passwords never reach logs or errors: errors name the cluster and the environment variable holding its URL.
 *
 * ## Minimal grants
 *
 * Baton needs no superuser. Run this on the primary as a superuser (roles and grants replicate to the standby);
 * {@link minimalGrants} returns the same statements:
 *
 * ```sql
 * CREATE ROLE baton LOGIN PASSWORD '…';
 * -- promote a standby: pg_promote()
 * GRANT EXECUTE ON FUNCTION pg_promote(boolean, integer) TO baton;
 * -- fence and unfence: ALTER SYSTEM on this one parameter (PostgreSQL 15+), then reload the configuration
 * GRANT ALTER SYSTEM ON PARAMETER default_transaction_read_only TO baton;
 * GRANT EXECUTE ON FUNCTION pg_reload_conf() TO baton;
 * -- fence: end the sessions that were open when fencing began (pg_terminate_backend)
 * GRANT pg_signal_backend TO baton;
 * -- fence: see other roles' sessions; without it pg_stat_activity hides their backend_type and xact_start
 * GRANT pg_read_all_stats TO baton;
 * ```
 *
 * `pg_signal_backend` cannot end a superuser's sessions: fencing leaves those that are idle (they read the
 * read-only default before their next transaction) and fails if one is inside a transaction that began before
 * the fence. Fencing is a guard against well-behaved clients, not a wall: a session may still `SET
 * default_transaction_read_only = off` or `BEGIN READ WRITE`, and a per-role or per-database setting overrides
 * ALTER SYSTEM. Scaling the source workloads down (fence-source does both) is the other half. With CloudNativePG,
 * ALTER SYSTEM needs `.spec.postgresql.enableAlterSystem: true`.
 */
import { Client, DatabaseError } from 'pg';
import type { ClusterId, DatabaseConfig, SiteConfig } from '../config/topology.js';
import type { DatabasePort, DatabaseStatus, Log } from '../core/ports.js';
import { BatonError, describeError } from '../errors.js';
import { scrubSecrets } from '../logger.js';

export interface PostgresDatabasesOptions {
  /** The URL of `cluster`'s database; the composition root reads it from the member's `urlEnv` variable. */
  urlFor: (site: SiteConfig, cluster: ClusterId) => string;
  log: Log;
  /** `statement_timeout` of every session (default 5000 ms). */
  statementTimeoutMs?: number;
  /** How long to wait for a connection (default 3000 ms). */
  connectTimeoutMs?: number;
  /** Promotes a CloudNativePG replica cluster (`promotion: cloudnative-pg`); required for such sites. */
  promoteWithCnpg?: (site: SiteConfig, cluster: ClusterId) => Promise<void>;
  /** How long a promotion may take until the server leaves recovery (default 60 s). */
  promoteTimeoutMs?: number;
  /**
   * How long fence and unfence wait for the reloaded setting to reach new sessions, and for each ended session
   * to exit (default 5000 ms).
   */
  settleTimeoutMs?: number;
}

export interface WaitForReplayOptions {
  timeoutMs: number;
  /** Default 100 ms. */
  pollMs?: number;
  signal?: AbortSignal;
}

/** The statements that give `role` what Baton needs and nothing more (see the module documentation). */
export function minimalGrants(role: string): string[] {
  const name = `"${role.replace(/"/g, '""')}"`;
  return [
    `GRANT EXECUTE ON FUNCTION pg_promote(boolean, integer) TO ${name}`,
    `GRANT ALTER SYSTEM ON PARAMETER default_transaction_read_only TO ${name}`,
    `GRANT EXECUTE ON FUNCTION pg_reload_conf() TO ${name}`,
    `GRANT pg_signal_backend TO ${name}`,
    `GRANT pg_read_all_stats TO ${name}`,
  ];
}

// What each action needs, for "permission denied" messages.
const GRANT_HINTS: Record<string, string> = {
  fence:
    'GRANT ALTER SYSTEM ON PARAMETER default_transaction_read_only, EXECUTE ON FUNCTION pg_reload_conf(), ' +
    'pg_signal_backend and pg_read_all_stats',
  unfence:
    'GRANT ALTER SYSTEM ON PARAMETER default_transaction_read_only and EXECUTE ON FUNCTION pg_reload_conf()',
  promote:
    'GRANT EXECUTE ON FUNCTION pg_promote(boolean, integer), and for a fenced standby ALTER SYSTEM ON PARAMETER ' +
    'default_transaction_read_only and EXECUTE ON FUNCTION pg_reload_conf()',
};

// Server-side states that mean "not reachable right now": connection exceptions, shutting down, starting up.
const UNREACHABLE_STATES = new Set(['57P01', '57P02', '57P03']);

// The WAL position that matters on each side: written WAL on a primary, replayed WAL on a standby. CASE keeps
// pg_current_wal_lsn() (an error during recovery) from running on a standby.
const POSITION_SQL =
  '(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text';

interface StatusRow {
  in_recovery: boolean;
  read_only: string;
  lsn: string | null;
  receive_lsn: string | null;
  replay_age: number | null;
}

interface SessionOptions {
  /** statement_timeout of this session, when one statement is allowed to wait longer. */
  statementTimeoutMs?: number;
}

/** {@link DatabasePort} over real PostgreSQL servers (`pg`), one short-lived session per call. */
export class PostgresDatabases implements DatabasePort {
  private readonly urlFor: PostgresDatabasesOptions['urlFor'];
  private readonly log: Log;
  private readonly statementTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly promoteWithCnpg: PostgresDatabasesOptions['promoteWithCnpg'];
  private readonly promoteTimeoutMs: number;
  private readonly settleTimeoutMs: number;
  private readonly open = new Set<Client>();

  constructor(options: PostgresDatabasesOptions) {
    this.urlFor = options.urlFor;
    this.log = options.log.child({ component: 'postgres' });
    this.statementTimeoutMs = options.statementTimeoutMs ?? 5_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 3_000;
    this.promoteWithCnpg = options.promoteWithCnpg;
    this.promoteTimeoutMs = options.promoteTimeoutMs ?? 60_000;
    this.settleTimeoutMs = options.settleTimeoutMs ?? 5_000;
  }

  /**
   * Role, fence flag, WAL position and lag. A standby's lag is measured against the site's other cluster when
   * that one is a reachable primary (its pg_current_wal_lsn() minus our replay position), otherwise from the
   * standby's own received-but-not-replayed WAL, which is all that is known when the primary is down.
   */
  async status(site: SiteConfig, cluster: ClusterId): Promise<DatabaseStatus> {
    const own = await this.session(site, cluster, 'status', (client) =>
      one<StatusRow>(
        client,
        `SELECT pg_is_in_recovery() AS in_recovery,
                current_setting('default_transaction_read_only') AS read_only,
                ${POSITION_SQL} AS lsn,
                pg_last_wal_receive_lsn()::text AS receive_lsn,
                extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS replay_age`,
      ),
    );
    const readOnly = own.read_only === 'on';
    if (!own.in_recovery) {
      return { inRecovery: false, readOnly, lagBytes: null, lagSeconds: null, lsn: own.lsn };
    }
    // Read after our replay position, so the difference is never an underestimate.
    const primaryLsn = own.lsn === null ? null : await this.primaryPosition(site, cluster);
    let lagBytes: number | null = null;
    if (own.lsn !== null && primaryLsn !== null) lagBytes = lsnDiff(primaryLsn, own.lsn);
    else if (own.lsn !== null && own.receive_lsn !== null) lagBytes = lsnDiff(own.receive_lsn, own.lsn);
    const replayedAll = lagBytes === 0 || (own.receive_lsn !== null && own.receive_lsn === own.lsn);
    const lagSeconds = replayedAll
      ? 0
      : own.replay_age === null
        ? null
        : Math.max(0, Math.round(own.replay_age * 1000) / 1000);
    return { inRecovery: true, readOnly, lagBytes, lagSeconds, lsn: own.lsn };
  }

  /**
   * Makes the database read-only for every transaction that starts from now on, ends the sessions that may still
   * hold a read-write transaction, proves a new session is read-only, and returns the WAL position after that:
   * every transaction that ever committed here is at or before it. Idempotent.
   */
  async fence(site: SiteConfig, cluster: ClusterId): Promise<{ lsn: string }> {
    const ended = await this.session(
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
        await this.waitForDefault(site, cluster, 'on', 'fence');
        // A standby takes no writes: the flag only keeps it read-only should it be promoted by mistake.
        if (inRecovery) return 0;
        return this.endSessions(site, cluster, client);
      },
      // pg_terminate_backend waits up to settleTimeoutMs for each session to exit.
      { statementTimeoutMs: this.statementTimeoutMs + this.settleTimeoutMs },
    );
    const proof = await this.session(site, cluster, 'fence', (client) =>
      one<{ read_only: string; lsn: string }>(
        client,
        `SELECT current_setting('default_transaction_read_only') AS read_only, ${POSITION_SQL} AS lsn`,
      ),
    );
    if (proof.read_only !== 'on') throw this.notEffective(site, cluster, 'fence', 'off');
    this.log.info({ site: site.name, cluster, endedSessions: ended, lsn: proof.lsn }, 'database fenced');
    return { lsn: proof.lsn };
  }

  /** Lets new transactions write again (`ALTER SYSTEM RESET` and a reload). Idempotent. */
  async unfence(site: SiteConfig, cluster: ClusterId): Promise<void> {
    await this.session(site, cluster, 'unfence', async (client) => {
      await client.query('ALTER SYSTEM RESET default_transaction_read_only');
      await client.query('SELECT pg_reload_conf()');
    });
    await this.waitForDefault(site, cluster, 'off', 'unfence');
    this.log.info({ site: site.name, cluster }, 'database unfenced');
  }

  /**
   * Promotes `cluster`'s standby (pg_promote, or the CloudNativePG promoter), waits until it has left recovery,
   * clears a read-only flag it may carry from an earlier fence, and proves it accepts writes. Already a primary:
   * only the proof, so a retry never unfences an old primary.
   */
  async promote(site: SiteConfig, cluster: ClusterId): Promise<void> {
    const database = this.database(site, cluster);
    const { in_recovery: inRecovery } = await this.session(site, cluster, 'promote', (client) =>
      one<{ in_recovery: boolean }>(client, 'SELECT pg_is_in_recovery() AS in_recovery'),
    );
    if (inRecovery) {
      if (database.promotion === 'cloudnative-pg') {
        if (!this.promoteWithCnpg) {
          throw new BatonError(
            'cnpg-promoter-missing',
            `${site.name}: database promotion is cloudnative-pg, but Baton has no CloudNativePG promoter configured ` +
              `for ${cluster} — start Baton with Kubernetes access to the Cluster resource, or promote by hand`,
          );
        }
        await this.promoteWithCnpg(site, cluster);
      } else {
        await this.promoteWithSql(site, cluster);
      }
      await this.waitUntilPrimary(site, cluster);
      const { read_only: readOnly } = await this.session(site, cluster, 'promote', (client) =>
        one<{ read_only: string }>(
          client,
          "SELECT current_setting('default_transaction_read_only') AS read_only",
        ),
      );
      if (readOnly === 'on') {
        // Copied from a fenced primary by a base backup: the new primary would refuse every write.
        this.log.warn({ site: site.name, cluster }, 'promoted database was fenced; clearing read-only');
        await this.unfence(site, cluster);
      }
    }
    const xid = await this.proveWritable(site, cluster);
    this.log.info(
      { site: site.name, cluster, promoted: inRecovery, proofXid: xid },
      'database is a writable primary',
    );
  }

  /**
   * Waits until `cluster`'s standby has replayed WAL up to `lsn` (e.g. a fenced primary's final position).
   * Throws `replay-timeout` (retriable) naming how far it got, and `not-a-standby` when it left recovery short of
   * `lsn`. Resolves with the replay position seen and how long it took.
   */
  async waitForReplay(
    site: SiteConfig,
    cluster: ClusterId,
    lsn: string,
    options: WaitForReplayOptions,
  ): Promise<{ lsn: string; waitedMs: number }> {
    const target = parseLsn(lsn);
    const started = Date.now();
    const pollMs = options.pollMs ?? 100;
    for (;;) {
      options.signal?.throwIfAborted();
      const row = await this.session(site, cluster, 'wait for replay', (client) =>
        one<{ in_recovery: boolean; replay: string | null; paused: boolean | null }>(
          client,
          `SELECT pg_is_in_recovery() AS in_recovery, pg_last_wal_replay_lsn()::text AS replay,
                  CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END AS paused`,
        ),
      );
      if (row.replay !== null && parseLsn(row.replay) >= target) {
        return { lsn: row.replay, waitedMs: Date.now() - started };
      }
      if (!row.in_recovery) {
        throw new BatonError(
          'not-a-standby',
          `${cluster}'s database left recovery at ${row.replay ?? 'an unknown position'}, short of ${lsn}: ` +
            'it was promoted before catching up, so writes after that point are only on the old primary',
        );
      }
      const waited = Date.now() - started;
      if (waited >= options.timeoutMs) {
        const behind =
          row.replay === null ? 'nothing replayed yet' : `${lsnDiff(lsn, row.replay)} bytes behind`;
        throw new BatonError(
          'replay-timeout',
          `${cluster}'s standby replayed up to ${row.replay ?? '?'}, ${behind} ${lsn}, after ${waited} ms` +
            (row.paused
              ? ' — replay is paused on it: run SELECT pg_wal_replay_resume() there, then Retry'
              : ' — check that it is streaming (pg_stat_wal_receiver), then Retry'),
          { retriable: true },
        );
      }
      await sleep(Math.min(pollMs, options.timeoutMs - waited), options.signal);
    }
  }

  /** Ends sessions still open (a call in flight fails). Each call opens its own, so this is only for shutdown. */
  async close(): Promise<void> {
    await Promise.all([...this.open].map((client) => client.end().catch(() => undefined)));
    this.open.clear();
  }

  // -------------------------------------------------------------------------------------------------------------

  /**
   * Ends every other client session. The reload only changes the default for transactions that start after a
   * session has read it: a transaction that began before (a long UPDATE, or one idle in transaction) stays
   * read-write and could still commit after we read the "final" WAL position — which catch-up would then miss.
   * Ending the sessions aborts those transactions; clients that reconnect get read-only sessions.
   */
  private async endSessions(site: SiteConfig, cluster: ClusterId, client: Client): Promise<number> {
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
          this.settleTimeoutMs,
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
      this.log.warn(
        { site: site.name, cluster, sessions: left.rows.map((row) => ({ pid: row.pid, role: row.usename })) },
        'sessions could not be ended; they are idle and start read-only transactions from now on',
      );
    }
    return ended;
  }

  /** Polls new sessions until default_transaction_read_only is `expected`: the reload is asynchronous. */
  private async waitForDefault(
    site: SiteConfig,
    cluster: ClusterId,
    expected: 'on' | 'off',
    action: 'fence' | 'unfence',
  ): Promise<void> {
    const deadline = Date.now() + this.settleTimeoutMs;
    for (;;) {
      const { read_only: seen } = await this.session(site, cluster, action, (client) =>
        one<{ read_only: string }>(
          client,
          "SELECT current_setting('default_transaction_read_only') AS read_only",
        ),
      );
      if (seen === expected) return;
      if (Date.now() > deadline) throw this.notEffective(site, cluster, action, seen);
      await sleep(25);
    }
  }

  private notEffective(site: SiteConfig, cluster: ClusterId, action: string, seen: string): BatonError {
    return new BatonError(
      `${action}-not-effective`,
      `${cluster}'s database: new sessions still get default_transaction_read_only = ${seen} after ALTER SYSTEM ` +
        'and pg_reload_conf(): a setting on the server command line, or ALTER ROLE/DATABASE … SET, overrides it — ' +
        `remove that, then Retry (${this.envName(site, cluster)})`,
      { retriable: true },
    );
  }

  private async promoteWithSql(site: SiteConfig, cluster: ClusterId): Promise<void> {
    const waitSeconds = Math.max(1, Math.ceil(this.promoteTimeoutMs / 1000));
    await this.session(
      site,
      cluster,
      'promote',
      async (client) => {
        try {
          const { promoted } = await one<{ promoted: boolean }>(
            client,
            'SELECT pg_promote(true, $1) AS promoted',
            [waitSeconds],
          );
          if (!promoted) {
            throw new BatonError(
              'promote-timeout',
              `${cluster}'s database did not finish promoting within ${waitSeconds} s; it may still be finishing — ` +
                'check its log, then Retry',
              { retriable: true },
            );
          }
        } catch (error) {
          // "recovery is not in progress": someone (or an earlier attempt) promoted it between our check and now.
          if (error instanceof DatabaseError && error.code === '55000') return;
          throw error;
        }
      },
      { statementTimeoutMs: (waitSeconds + 5) * 1000 },
    );
  }

  /** pg_promote(wait => true) returns once promoted; the CloudNativePG path returns earlier, so poll. */
  private async waitUntilPrimary(site: SiteConfig, cluster: ClusterId): Promise<void> {
    const deadline = Date.now() + this.promoteTimeoutMs;
    let last = 'still in recovery';
    for (;;) {
      try {
        const { in_recovery: inRecovery } = await this.session(site, cluster, 'promote', (client) =>
          one<{ in_recovery: boolean }>(client, 'SELECT pg_is_in_recovery() AS in_recovery'),
        );
        if (!inRecovery) return;
        last = 'still in recovery';
      } catch (error) {
        // A restart during promotion (CloudNativePG may restart the instance) is not a failure yet.
        if (!(error instanceof BatonError && error.code === 'database-unreachable')) throw error;
        last = error.message;
      }
      if (Date.now() > deadline) {
        throw new BatonError(
          'promote-timeout',
          `${cluster}'s database is not a primary ${this.promoteTimeoutMs} ms after promotion was requested ` +
            `(${last}) — check its log and the operator's status, then Retry`,
          { retriable: true },
        );
      }
      await sleep(50);
    }
  }

  /**
   * Proves that an ordinary new session can write, without touching user tables: its default transaction must be
   * read-write, get a transaction id (`pg_current_xact_id()` fails during recovery; a read-only transaction alone
   * does not stop it, hence the explicit check) and commit. Returns the xid.
   */
  private async proveWritable(site: SiteConfig, cluster: ClusterId): Promise<string> {
    return this.session(site, cluster, 'promote', async (client) => {
      await client.query('BEGIN');
      try {
        const row = await one<{ read_only: string; xid: string; sync_names: string; sync_standbys: number }>(
          client,
          `SELECT current_setting('transaction_read_only') AS read_only, pg_current_xact_id()::text AS xid,
                  current_setting('synchronous_standby_names') AS sync_names,
                  (SELECT count(*)::int FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum'))
                    AS sync_standbys`,
        );
        if (row.read_only === 'on') {
          throw new BatonError(
            'database-read-only',
            `${cluster}'s database is a primary but new transactions are read-only (fenced?) — if it is meant to ` +
              'serve, clear it: ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf()',
          );
        }
        if (row.sync_names.trim() !== '' && row.sync_standbys === 0) {
          // COMMIT would wait for a synchronous standby that is not there, and so would every application commit.
          throw new BatonError(
            'database-commits-blocked',
            `${cluster}'s database is a primary, but synchronous_standby_names = '${row.sync_names}' and no ` +
              'synchronous standby is connected, so every commit waits — clear synchronous_standby_names ' +
              '(ALTER SYSTEM, reload) or bring a standby up',
          );
        }
        await client.query('COMMIT');
        return row.xid;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  /** The other cluster's pg_current_wal_lsn() when it is a reachable primary; null otherwise. */
  private async primaryPosition(site: SiteConfig, cluster: ClusterId): Promise<string | null> {
    const other = Object.keys(site.database?.members ?? {}).find((id) => id !== cluster);
    if (other === undefined) return null;
    try {
      const row = await this.session(site, other, 'status', (client) =>
        one<{ in_recovery: boolean; lsn: string | null }>(
          client,
          `SELECT pg_is_in_recovery() AS in_recovery, ${POSITION_SQL} AS lsn`,
        ),
      );
      return row.in_recovery ? null : row.lsn;
    } catch (error) {
      this.log.debug(
        { site: site.name, cluster, primary: other, err: describeError(error) },
        "primary not reachable; lag measured from the standby's own WAL positions",
      );
      return null;
    }
  }

  private database(site: SiteConfig, cluster: ClusterId): DatabaseConfig {
    const database = site.database;
    if (!database || !database.members[cluster]) {
      throw new BatonError(
        'database-not-configured',
        `${site.name}: no database member for ${cluster} in the topology (database.${cluster}.urlEnv)`,
      );
    }
    return database;
  }

  private envName(site: SiteConfig, cluster: ClusterId): string {
    return site.database?.members[cluster]?.urlEnv ?? `database.${cluster}.urlEnv`;
  }

  /** Opens a session, runs `fn`, always closes it; every failure comes out as a BatonError without the URL. */
  private async session<T>(
    site: SiteConfig,
    cluster: ClusterId,
    action: string,
    fn: (client: Client) => Promise<T>,
    options: SessionOptions = {},
  ): Promise<T> {
    this.database(site, cluster);
    const urlEnv = this.envName(site, cluster);
    let url: string;
    try {
      url = this.urlFor(site, cluster);
    } catch (error) {
      if (error instanceof BatonError) throw error;
      throw new BatonError('config-invalid', `${cluster}'s database: no URL — set ${urlEnv}`);
    }
    const statementTimeoutMs = options.statementTimeoutMs ?? this.statementTimeoutMs;
    let client: Client;
    try {
      client = new Client({
        connectionString: url,
        application_name: 'baton',
        statement_timeout: statementTimeoutMs,
        lock_timeout: this.statementTimeoutMs,
        connectionTimeoutMillis: this.connectTimeoutMs,
        // Client-side bound for a server that stops answering, where statement_timeout cannot fire.
        query_timeout: statementTimeoutMs + 2_000,
      });
    } catch {
      // The parser's error carries the URL itself; say which variable is wrong instead.
      throw new BatonError(
        'config-invalid',
        `${cluster}'s database: ${urlEnv} is not a valid PostgreSQL URL (postgres://user:password@host:5432/db)`,
      );
    }
    // A session ended by the server while idle emits 'error'; the next query reports it.
    client.on('error', () => undefined);
    this.open.add(client);
    try {
      try {
        await client.connect();
      } catch (error) {
        throw this.translate(cluster, urlEnv, 'connect', error);
      }
      try {
        return await fn(client);
      } catch (error) {
        throw this.translate(cluster, urlEnv, action, error);
      }
    } finally {
      this.open.delete(client);
      await client.end().catch(() => undefined);
    }
  }

  private translate(cluster: ClusterId, urlEnv: string, action: string, error: unknown): BatonError {
    if (error instanceof BatonError) return error;
    const where = `${cluster}'s database (${urlEnv})`;
    if (error instanceof DatabaseError) {
      const code = error.code ?? '';
      const detail = scrubSecrets(error.message);
      if (code.startsWith('08') || UNREACHABLE_STATES.has(code)) {
        return new BatonError(
          'database-unreachable',
          `${where} is unreachable: ${detail} — check that it is up`,
          {
            retriable: true,
            cause: error,
          },
        );
      }
      if (code === '28P01' || code === '28000') {
        return new BatonError(
          'database-auth-failed',
          `${where} refused Baton's login: ${detail} — check the user and password in ${urlEnv}`,
          { cause: error },
        );
      }
      if (code === '42501') {
        const hint = GRANT_HINTS[action] ?? 'see the minimal grants in the PostgreSQL adapter documentation';
        return new BatonError(
          'database-permission-denied',
          `${where}: ${action} was refused (${detail}) — Baton's role needs: ${hint}`,
          { cause: error },
        );
      }
      if (code === '57014') {
        return new BatonError(
          'database-timeout',
          `${where}: ${action} did not finish within the statement timeout (${detail}) — Retry; if it repeats, ` +
            'look for locks or load on the server',
          { retriable: true, cause: error },
        );
      }
      return new BatonError('database-error', `${where}: ${action} failed: ${detail} (SQLSTATE ${code})`, {
        cause: error,
      });
    }
    // Not the server's answer: the network, a timeout, or a dropped connection. No cause: such errors may quote
    // the address, and future client versions might quote more.
    return new BatonError(
      'database-unreachable',
      `${where} is unreachable during ${action}: ${networkReason(error, this.connectTimeoutMs)} — check that it is up ` +
        `and that ${urlEnv} points at it`,
      { retriable: true },
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------

async function one<R>(client: Client, sql: string, params: unknown[] = []): Promise<R> {
  const result = await client.query(sql, params);
  const row = result.rows[0] as R | undefined;
  if (row === undefined) throw new Error(`no row from: ${sql.split('\n')[0]}`);
  return row;
}

function networkReason(error: unknown, connectTimeoutMs: number): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name not found';
  if (code === 'ETIMEDOUT' || /timeout/i.test(message))
    return `no answer in time (connect timeout ${connectTimeoutMs} ms)`;
  if (code === 'ECONNRESET' || /terminated|closed|ended/i.test(message)) return 'the connection was closed';
  if (typeof code === 'string') return code;
  return scrubSecrets(describeError(error)).slice(0, 200);
}

/** An LSN (`16/B374D848`) as a byte position. */
function parseLsn(lsn: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn);
  if (!match) throw new BatonError('lsn-invalid', `not a PostgreSQL WAL position: ${JSON.stringify(lsn)}`);
  return (BigInt(`0x${match[1]}`) << 32n) + BigInt(`0x${match[2]}`);
}

/** Bytes from `b` to `a`, never negative. */
function lsnDiff(a: string, b: string): number {
  const diff = parseLsn(a) - parseLsn(b);
  return diff > 0n ? Number(diff) : 0;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
