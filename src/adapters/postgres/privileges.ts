/**
 * What Baton's PostgreSQL role may do, read without doing it, for `baton doctor`: one short session per side that
 * asks the catalog (`has_function_privilege`, `has_parameter_privilege`, `pg_has_role`) about exactly the
 * privileges the steps use, and whether the server is in recovery. A superuser passes every check, as the server
 * itself would let it (https://www.postgresql.org/docs/current/functions-info.html#FUNCTIONS-INFO-ACCESS).
 */
import type { ClusterId, SiteConfig } from '../../config/topology.js';
import { one, PgSessions } from './pg-sessions.js';
import type { PgSessionsOptions } from './pg-sessions.js';

/** The role's rights that a failover needs, on one server. */
export interface RolePrivileges {
  /** current_user. */
  role: string;
  superuser: boolean;
  /** server_version_num, e.g. 160004. */
  serverVersion: number;
  inRecovery: boolean;
  /** EXECUTE on pg_promote(boolean, integer): promoting a standby. */
  promote: boolean;
  /**
   * ALTER SYSTEM SET default_transaction_read_only: the fence. PostgreSQL 15+ grants it per parameter
   * (`GRANT ALTER SYSTEM ON PARAMETER`); before 15 only a superuser may.
   */
  alterSystem: boolean;
  /** EXECUTE on pg_reload_conf(): the fence takes effect. */
  reloadConf: boolean;
  /** Member of pg_signal_backend: pg_terminate_backend() of other roles' sessions during the fence. */
  signalBackend: boolean;
  /** Member of pg_read_all_stats: other sessions and the WAL receiver's details. */
  readAllStats: boolean;
}

interface Row {
  role: string;
  superuser: boolean;
  version: number;
  in_recovery: boolean;
  promote: boolean;
  reload_conf: boolean;
  signal_backend: boolean;
  read_all_stats: boolean;
}

const PRIVILEGES_SQL = `
  SELECT current_user::text AS role,
         (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
         current_setting('server_version_num')::int AS version,
         pg_is_in_recovery() AS in_recovery,
         has_function_privilege('pg_catalog.pg_promote(boolean, integer)', 'EXECUTE') AS promote,
         has_function_privilege('pg_catalog.pg_reload_conf()', 'EXECUTE') AS reload_conf,
         pg_has_role('pg_signal_backend', 'MEMBER') AS signal_backend,
         pg_has_role('pg_read_all_stats', 'MEMBER') AS read_all_stats`;

// has_parameter_privilege exists from PostgreSQL 15 on; asked separately so that older servers can answer the rest.
const ALTER_SYSTEM_SQL = `SELECT has_parameter_privilege('default_transaction_read_only', 'ALTER SYSTEM') AS allowed`;

/** Reads the role's privileges on each side of a site, one short session each. */
export class PostgresPrivileges {
  private readonly sessions: PgSessions;

  constructor(options: PgSessionsOptions) {
    this.sessions = new PgSessions(options);
  }

  /** Connects to `cluster`'s database as Baton does and reads its role's rights; throws what connecting throws. */
  async read(site: SiteConfig, cluster: ClusterId, signal?: AbortSignal): Promise<RolePrivileges> {
    return this.sessions.session(
      site,
      cluster,
      'read privileges',
      async (client) => {
        const row = await one<Row>(client, PRIVILEGES_SQL);
        const superuser = row.superuser === true;
        const alterSystem =
          superuser ||
          (row.version >= 150_000 && (await one<{ allowed: boolean }>(client, ALTER_SYSTEM_SQL)).allowed);
        return {
          role: row.role,
          superuser,
          serverVersion: row.version,
          inRecovery: row.in_recovery,
          promote: superuser || row.promote,
          alterSystem,
          reloadConf: superuser || row.reload_conf,
          signalBackend: superuser || row.signal_backend,
          readAllStats: superuser || row.read_all_stats,
        };
      },
      { signal },
    );
  }

  async close(): Promise<void> {
    await this.sessions.close();
  }
}
