/**
 * PostgreSQL behind Baton's {@link DatabasePort}: role and lag, the fence (read-only, overrides refused, sessions
 * ended, prepared transactions listed, the final position and transaction mark taken last), writes after a fence,
 * how a standby follows its primary, promotion (requested, then proved writable) and the waits, each bounded by the
 * step's signal. Sessions and error classification: `postgres/pg-sessions.ts`; the fence: `postgres/fence-database.ts`;
 * replication and replay: `postgres/replication.ts`.
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
 * -- fence and follower checks: see other roles' sessions and pg_stat_wal_receiver's details
 * GRANT pg_read_all_stats TO baton;
 * ```
 *
 * `pg_signal_backend` cannot end a superuser's sessions: fencing leaves those that are idle (they read the read-only
 * default before their next transaction) and fails if one is inside a transaction that began before the fence. With
 * CloudNativePG, ALTER SYSTEM needs `.spec.postgresql.enableAlterSystem: true`; a planned switchover demotes the
 * source Cluster instead and promotes the target with the demotion token.
 */
import type { ClusterId, SiteConfig } from '../config/topology.js';
import { systemClock } from '../core/clock.js';
import type {
  CallOptions,
  Clock,
  DatabasePort,
  DatabaseStatus,
  FenceMark,
  Log,
  ReplicationState,
  WaitOptions,
  WritesSince,
} from '../core/ports.js';
import { waitUntil } from '../core/wait.js';
import { lsnDiff } from '../core/lsn.js';
import { BatonError, describeError } from '../errors.js';
import type { FenceContext } from './postgres/fence-database.js';
import { fenceDatabase, MARK_SQL, unfenceDatabase, writesSince } from './postgres/fence-database.js';
import { one, PgSessions } from './postgres/pg-sessions.js';
import type { PgSessionsOptions } from './postgres/pg-sessions.js';
import { readReplication, waitForReplay } from './postgres/replication.js';

/** CloudNativePG's side of a promotion and a switchover, through the Kubernetes API. */
export interface CnpgOperator {
  /** Demotes `cluster`'s Cluster in favour of `newPrimary`'s; resolves with the demotion token and its LSN. */
  demote(
    site: SiteConfig,
    cluster: ClusterId,
    newPrimary: ClusterId,
    options: CallOptions,
  ): Promise<{ token: string; lsn: string }>;
  /** Promotes `cluster`'s replica Cluster; with the demoted source's token, a switchover without data loss. */
  promote(
    site: SiteConfig,
    cluster: ClusterId,
    options: CallOptions & { promotionToken?: string },
  ): Promise<void>;
}

export interface PostgresDatabasesOptions extends PgSessionsOptions {
  log: Log;
  /** Required for sites with `promotion: cloudnative-pg`. */
  cnpg?: CnpgOperator;
  /**
   * How long fence and unfence wait for the reloaded setting to reach new sessions, and for each ended session
   * to exit (default 5000 ms).
   */
  settleTimeoutMs?: number;
  clock?: Clock;
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

/** {@link DatabasePort} over real PostgreSQL servers (`pg`), one short-lived session per call. */
export class PostgresDatabases implements DatabasePort {
  private readonly sessions: PgSessions;
  private readonly log: Log;
  private readonly cnpg: CnpgOperator | undefined;
  private readonly settleTimeoutMs: number;
  private readonly clock: Clock;

  constructor(options: PostgresDatabasesOptions) {
    this.sessions = new PgSessions(options);
    this.log = options.log.child({ component: 'postgres' });
    this.cnpg = options.cnpg;
    this.settleTimeoutMs = options.settleTimeoutMs ?? 5_000;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Role, fence flag, WAL position and lag. A standby's lag is measured against the site's other cluster when that
   * one is a reachable primary (its pg_current_wal_lsn() minus our replay position, signed: negative is a standby
   * ahead of it). With the primary unreadable the lag is unknown (null), never the standby's own received-minus-
   * replayed, which says nothing about what the primary had.
   */
  async status(site: SiteConfig, cluster: ClusterId, options: CallOptions = {}): Promise<DatabaseStatus> {
    const own = await this.sessions.session(
      site,
      cluster,
      'status',
      (client) =>
        one<StatusRow>(
          client,
          `SELECT pg_is_in_recovery() AS in_recovery,
                  current_setting('default_transaction_read_only') AS read_only,
                  ${POSITION_SQL} AS lsn,
                  pg_last_wal_receive_lsn()::text AS receive_lsn,
                  extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS replay_age`,
        ),
      { signal: options.signal },
    );
    const readOnly = own.read_only === 'on';
    if (!own.in_recovery) {
      return { inRecovery: false, readOnly, lagBytes: null, lagSeconds: null, lsn: own.lsn };
    }
    // Read after our replay position, so the difference is never an underestimate.
    const primary = own.lsn === null ? null : await this.primaryPosition(site, cluster, options);
    const lagBytes = own.lsn !== null && primary?.lsn ? lsnDiff(primary.lsn, own.lsn) : null;
    const replayedAll = lagBytes === 0 || (own.receive_lsn !== null && own.receive_lsn === own.lsn);
    const lagSeconds = replayedAll
      ? 0
      : own.replay_age === null
        ? null
        : Math.max(0, Math.round(own.replay_age * 1000) / 1000);
    return {
      inRecovery: true,
      readOnly,
      lagBytes,
      lagSeconds,
      lsn: own.lsn,
      receiveLsn: own.receive_lsn,
      ...(lagBytes === null && { lagUnknown: primary?.why ?? 'its primary could not be read' }),
    };
  }

  /** See {@link DatabasePort.fence} and `postgres/fence-database.ts`. Idempotent. */
  async fence(
    site: SiteConfig,
    cluster: ClusterId,
    options: CallOptions & { demoteTo?: ClusterId } = {},
  ): Promise<FenceMark> {
    const database = this.sessions.database(site, cluster);
    if (options.demoteTo !== undefined && database.promotion === 'cloudnative-pg') {
      return this.demote(site, cluster, options.demoteTo, options);
    }
    return fenceDatabase(this.fenceContext(options.signal), site, cluster);
  }

  /**
   * Lets new transactions write again (`ALTER SYSTEM RESET` and a reload); a CloudNativePG Cluster this run demoted is
   * promoted back (it is still the most advanced side). Idempotent.
   */
  async unfence(site: SiteConfig, cluster: ClusterId, options: CallOptions = {}): Promise<void> {
    const database = this.sessions.database(site, cluster);
    if (database.promotion === 'cloudnative-pg' && (await this.inRecovery(site, cluster, options))) {
      await this.cnpgOperator(site, cluster).promote(site, cluster, options);
      await this.waitUntilWritable(site, cluster, { ...options, clearFence: true });
      return;
    }
    await unfenceDatabase(this.fenceContext(options.signal), site, cluster);
  }

  /** pg_promote(wait => false), or the CloudNativePG patch; returns at once. A primary is left alone. */
  async requestPromotion(
    site: SiteConfig,
    cluster: ClusterId,
    options: CallOptions & { promotionToken?: string } = {},
  ): Promise<void> {
    const database = this.sessions.database(site, cluster);
    if (!(await this.inRecovery(site, cluster, options))) return;
    if (database.promotion === 'cloudnative-pg') {
      await this.cnpgOperator(site, cluster).promote(site, cluster, options);
    } else {
      await this.sessions.session(
        site,
        cluster,
        'promote',
        async (client) => {
          try {
            await client.query('SELECT pg_promote(false)');
          } catch (error) {
            // "recovery is not in progress": promoted between our check and now.
            if ((error as { code?: unknown }).code !== '55000') throw error;
          }
        },
        { signal: options.signal },
      );
    }
    this.log.info({ site: site.name, cluster }, 'promotion requested');
  }

  /**
   * Until `cluster` has left recovery and proves it takes writes. A server restarting under its operator is waited
   * for; a read-only flag copied from the fenced primary by a base backup is cleared when `clearFence` is set.
   */
  async waitUntilWritable(
    site: SiteConfig,
    cluster: ClusterId,
    options: WaitOptions & { clearFence?: boolean },
  ): Promise<void> {
    await waitUntil(this.clock, { ...options, pollMs: options.pollMs ?? 50 }, async () => {
      let row: { in_recovery: boolean; read_only: string };
      try {
        row = await this.sessions.session(
          site,
          cluster,
          'promote',
          (client) =>
            one<{ in_recovery: boolean; read_only: string }>(
              client,
              "SELECT pg_is_in_recovery() AS in_recovery, current_setting('default_transaction_read_only') AS read_only",
            ),
          { signal: options.signal },
        );
      } catch (error) {
        const code = error instanceof BatonError ? error.code : '';
        if (code !== 'database-unreachable' && code !== 'database-unavailable') throw error;
        return { done: false, seen: describeError(error) };
      }
      if (row.in_recovery) return { done: false, seen: `${cluster}'s database is still in recovery` };
      if (row.read_only === 'on' && options.clearFence) {
        // Copied from a fenced primary by a base backup: the new primary would refuse every write.
        this.log.warn({ site: site.name, cluster }, 'promoted database was fenced; clearing read-only');
        await unfenceDatabase(this.fenceContext(options.signal), site, cluster);
      }
      const xid = await this.proveWritableXid(site, cluster, options);
      this.log.info({ site: site.name, cluster, proofXid: xid }, 'database is a writable primary');
      return { done: true, value: undefined };
    });
  }

  /**
   * Proves that an ordinary new session can write, without touching user tables: it is not in recovery, its default
   * transaction is read-write, gets a transaction id and commits, and no absent synchronous standby blocks commits.
   */
  async proveWritable(site: SiteConfig, cluster: ClusterId, options: CallOptions = {}): Promise<void> {
    await this.proveWritableXid(site, cluster, options);
  }

  async waitForReplay(
    site: SiteConfig,
    cluster: ClusterId,
    lsn: string,
    options: WaitOptions,
  ): Promise<{ lsn: string }> {
    return waitForReplay(this.sessions, this.clock, site, cluster, lsn, options);
  }

  async writesSince(
    site: SiteConfig,
    cluster: ClusterId,
    mark: FenceMark,
    options: CallOptions = {},
  ): Promise<WritesSince> {
    return writesSince(this.fenceContext(options.signal), site, cluster, mark);
  }

  async replication(
    site: SiteConfig,
    standby: ClusterId,
    primary: ClusterId,
    options: CallOptions = {},
  ): Promise<ReplicationState> {
    return readReplication(this.sessions, site, standby, primary, options.signal);
  }

  /** Ends sessions still open (a call in flight fails). Each call opens its own, so this is only for shutdown. */
  close(): Promise<void> {
    return this.sessions.close();
  }

  // -------------------------------------------------------------------------------------------------------------

  private fenceContext(signal: AbortSignal | undefined): FenceContext {
    return {
      sessions: this.sessions,
      clock: this.clock,
      log: this.log,
      settleTimeoutMs: this.settleTimeoutMs,
      signal,
    };
  }

  private cnpgOperator(site: SiteConfig, cluster: ClusterId): CnpgOperator {
    if (!this.cnpg) {
      throw new BatonError(
        'cnpg-promoter-missing',
        `${site.name}: database promotion is cloudnative-pg, but Baton has no CloudNativePG access configured ` +
          `for ${cluster} — start Baton with Kubernetes access to the Cluster resource, or promote by hand`,
      );
    }
    return this.cnpg;
  }

  /** A CloudNativePG switchover's fence: the transaction mark while it is still primary, then the demotion. */
  private async demote(
    site: SiteConfig,
    cluster: ClusterId,
    newPrimary: ClusterId,
    options: CallOptions,
  ): Promise<FenceMark> {
    const operator = this.cnpgOperator(site, cluster);
    const before = await this.sessions.session(
      site,
      cluster,
      'fence',
      (client) => one<{ next_xid: string; open_xids: string[]; in_recovery: boolean }>(client, MARK_SQL),
      { signal: options.signal },
    );
    const { token, lsn } = await operator.demote(site, cluster, newPrimary, options);
    this.log.info({ site: site.name, cluster, lsn }, 'CloudNativePG cluster demoted');
    return {
      lsn,
      nextXid: before.next_xid,
      openXids: before.open_xids,
      prepared: [],
      endedSessions: 0,
      standby: false,
      promotionToken: token,
    };
  }

  private async inRecovery(site: SiteConfig, cluster: ClusterId, options: CallOptions): Promise<boolean> {
    const row = await this.sessions.session(
      site,
      cluster,
      'status',
      (client) => one<{ in_recovery: boolean }>(client, 'SELECT pg_is_in_recovery() AS in_recovery'),
      { signal: options.signal },
    );
    return row.in_recovery;
  }

  private async proveWritableXid(
    site: SiteConfig,
    cluster: ClusterId,
    options: CallOptions,
  ): Promise<string> {
    return this.sessions.session(
      site,
      cluster,
      'promote',
      async (client) => {
        const { in_recovery: inRecovery } = await one<{ in_recovery: boolean }>(
          client,
          'SELECT pg_is_in_recovery() AS in_recovery',
        );
        if (inRecovery) {
          throw new BatonError(
            'database-in-recovery',
            `${cluster}'s database is still a standby (in recovery)`,
            {
              retriable: true,
            },
          );
        }
        await client.query('BEGIN');
        try {
          const row = await one<{
            read_only: string;
            xid: string;
            sync_names: string;
            sync_standbys: number;
          }>(
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
      },
      { signal: options.signal },
    );
  }

  /** The other cluster's pg_current_wal_lsn() when it is a reachable primary; otherwise why not. */
  private async primaryPosition(
    site: SiteConfig,
    cluster: ClusterId,
    options: CallOptions,
  ): Promise<{ lsn: string | null; why?: string }> {
    const other = Object.keys(site.database?.members ?? {}).find((id) => id !== cluster);
    if (other === undefined) return { lsn: null, why: 'no other database member' };
    try {
      const row = await this.sessions.session(
        site,
        other,
        'status',
        (client) =>
          one<{ in_recovery: boolean; lsn: string | null }>(
            client,
            `SELECT pg_is_in_recovery() AS in_recovery, ${POSITION_SQL} AS lsn`,
          ),
        { signal: options.signal },
      );
      return row.in_recovery ? { lsn: null, why: `${other} is not a primary` } : { lsn: row.lsn };
    } catch (error) {
      if (options.signal?.aborted) throw error;
      this.log.debug(
        { site: site.name, cluster, primary: other, err: describeError(error) },
        'primary not readable; lag unknown',
      );
      return {
        lsn: null,
        why: `${other} ${error instanceof BatonError && error.code === 'database-unreachable' ? 'unreachable' : 'could not be read'}`,
      };
    }
  }
}
