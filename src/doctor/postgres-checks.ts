/**
 * PostgreSQL: each side's URL connects, Baton's role holds every privilege a failover uses (read from the catalog,
 * not tried), and the roles are what a failover expects: one primary and one standby. The grants are the minimal
 * ones of docs/adapters.md; each failing line gives the statement that fixes it.
 */
import type { PostgresPrivileges, RolePrivileges } from '../adapters/postgres/privileges.js';
import type { ClusterId, SiteConfig, Topology } from '../config/topology.js';
import type { DoctorCheck } from './doctor-check.js';
import { fail, failed, ok } from './doctor-check.js';

const quote = (role: string) => `"${role.replace(/"/g, '""')}"`;

interface Need {
  what: string;
  has: (p: RolePrivileges) => boolean;
  grant: (role: string, p: RolePrivileges) => string;
}

const NEEDS: Need[] = [
  {
    what: 'may run pg_promote()',
    has: (p) => p.promote,
    grant: (role) => `GRANT EXECUTE ON FUNCTION pg_promote(boolean, integer) TO ${quote(role)}`,
  },
  {
    what: 'may ALTER SYSTEM SET default_transaction_read_only (the fence)',
    has: (p) => p.alterSystem,
    grant: (role, p) =>
      p.serverVersion >= 150_000
        ? `GRANT ALTER SYSTEM ON PARAMETER default_transaction_read_only TO ${quote(role)}`
        : `PostgreSQL ${Math.floor(p.serverVersion / 10_000)} lets only a superuser run ALTER SYSTEM: upgrade to 15+ and GRANT ALTER SYSTEM ON PARAMETER default_transaction_read_only TO ${quote(role)}, or make the role a superuser`,
  },
  {
    what: 'may run pg_reload_conf()',
    has: (p) => p.reloadConf,
    grant: (role) => `GRANT EXECUTE ON FUNCTION pg_reload_conf() TO ${quote(role)}`,
  },
  {
    what: 'may run pg_terminate_backend() on other roles (pg_signal_backend)',
    has: (p) => p.signalBackend,
    grant: (role) => `GRANT pg_signal_backend TO ${quote(role)}`,
  },
  {
    what: 'may read other sessions and the WAL receiver (pg_read_all_stats)',
    has: (p) => p.readAllStats,
    grant: (role) => `GRANT pg_read_all_stats TO ${quote(role)}`,
  },
];

async function checkSite(
  privileges: Pick<PostgresPrivileges, 'read'>,
  site: SiteConfig,
  signal?: AbortSignal,
): Promise<DoctorCheck[]> {
  const database = site.database;
  if (!database) return [];
  const checks: DoctorCheck[] = [];
  const roles: { cluster: ClusterId; inRecovery: boolean }[] = [];
  const sides = Object.entries(database.members);
  const read = await Promise.all(
    sides.map(async ([cluster, member]) => {
      try {
        return { cluster, member, privileges: await privileges.read(site, cluster, signal) };
      } catch (error) {
        return { cluster, member, error };
      }
    }),
  );
  for (const side of read) {
    const where = `${site.name} ${side.cluster} ($${side.member.urlEnv})`;
    if (!('privileges' in side) || !side.privileges) {
      checks.push(failed('postgresql', `${where}: connects`, side.error));
      continue;
    }
    const p = side.privileges;
    roles.push({ cluster: side.cluster, inRecovery: p.inRecovery });
    checks.push(
      ok(
        'postgresql',
        `${where}: connects`,
        `as ${p.role}${p.superuser ? ' (superuser)' : ''}, PostgreSQL ${Math.floor(p.serverVersion / 10_000)}, ` +
          (p.inRecovery ? 'standby' : 'primary'),
      ),
    );
    for (const need of NEEDS) {
      // CloudNativePG promotes through its Cluster resource, not pg_promote().
      if (need === NEEDS[0] && database.promotion === 'cloudnative-pg') continue;
      const name = `${where}: ${p.role} ${need.what}`;
      checks.push(
        need.has(p)
          ? ok('postgresql', name, p.superuser ? 'superuser' : 'granted')
          : fail(
              'postgresql',
              name,
              'not granted',
              `run on the primary as a superuser: ${need.grant(p.role, p)}`,
            ),
      );
    }
  }
  if (roles.length === sides.length && sides.length === 2) {
    const primaries = roles.filter((r) => !r.inRecovery).map((r) => r.cluster);
    const name = `${site.name}: one primary and one standby`;
    if (primaries.length === 1) {
      const standby = roles.find((r) => r.inRecovery)?.cluster ?? '?';
      checks.push(ok('postgresql', name, `primary on ${primaries[0]}, standby on ${standby}`));
    } else if (primaries.length === 2) {
      checks.push(
        fail(
          'postgresql',
          name,
          `both ${primaries.join(' and ')} are primaries (not in recovery): two databases may be taking writes`,
          'find which side serves, rebuild the other as its standby (pg_basebackup or pg_rewind), then run baton doctor again',
        ),
      );
    } else {
      checks.push(
        fail(
          'postgresql',
          name,
          'both sides are standbys (in recovery): nothing takes writes, and a failover has no primary to fence',
          'promote the side that should serve, or point the urlEnv variables at the right servers',
        ),
      );
    }
  }
  return checks;
}

/** Every site with a database: both sides, concurrently. */
export async function checkPostgres(
  privileges: Pick<PostgresPrivileges, 'read'>,
  topology: Topology,
  signal?: AbortSignal,
): Promise<DoctorCheck[]> {
  return (await Promise.all(topology.sites.map((site) => checkSite(privileges, site, signal)))).flat();
}
