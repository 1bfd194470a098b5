/**
 * One reading of a site's actual state: Baton's own record beside what Route 53 and each cluster's PostgreSQL say
 * now. `/failover status` shows it (src/slack/blocks/views.ts); each source that could not be read is named, with
 * why, and a disagreement between the record and the sources is spelled out before anyone acts on it.
 */
import type { SiteConfig } from '../config/topology.js';
import { automaticFailover, describeAutomaticFailover } from '../core/automatic-failover.js';
import type { AutomaticFailover } from '../core/automatic-failover.js';
import type { Run } from '../core/model.js';
import type { CallOptions, Ports } from '../core/ports.js';
import type { Reading } from '../core/reading.js';
import { read, unreadable } from '../core/reading.js';
import { describeError } from '../errors.js';
import type { OpenFenceDebt } from '../store/fence-debts.js';
import type { RunStore } from '../store/run-store.js';

/** What a cluster's database is, as far as a failover is concerned. */
export type DatabaseRole = 'primary' | 'fenced primary' | 'standby';

export interface SiteObservation {
  site: string;
  servingPerBaton: string;
  /** The cluster Route 53 sends users to; null when it points at neither. */
  route53: Reading<string | null>;
  /** Each cluster's database, in the topology's order; absent when the site has no database. */
  databases?: { cluster: string; role: Reading<DatabaseRole> }[];
  openRun?: Run;
  fenceDebt?: OpenFenceDebt;
  /** failover-records: where Route 53 would send users by itself, and what would trigger it. */
  automaticFailover?: AutomaticFailover;
}

/** What status shows of the sources of truth: each one read, or why not. */
export interface SourcesOfTruth {
  route53: Reading<string | null>;
  /** The cluster whose database takes writes; null when none does. Absent when the site has no database. */
  databasePrimary?: Reading<string | null>;
  /** One line per source that could not be read, naming it and why. */
  unreadable: string[];
  /** Where Baton's record and the sources disagree (or the sources among themselves); undefined when they agree. */
  disagreement?: string;
  /** Route 53 could send users by itself to a side whose database takes no writes, and the operator's choice. */
  exposure?: string;
}

export async function observeSite(
  site: SiteConfig,
  ports: Ports,
  store: RunStore,
  options: CallOptions = {},
): Promise<SiteObservation> {
  const [state, openRun, fenceDebt] = await Promise.all([
    store.site(site.name),
    store.openRun(site.name),
    store.debts.get(site.name),
  ]);
  const dns = ports.dns;
  const [route53, databases, triggers] = await Promise.all([
    dns.currentTarget(site, options).then(read, (error: unknown) => unreadable(describeError(error))),
    site.database
      ? Promise.all(
          Object.keys(site.clusters).map(async (cluster) => ({
            cluster,
            role: await ports.database.status(site, cluster, options).then(
              (status): Reading<DatabaseRole> =>
                read(status.inRecovery ? 'standby' : status.readOnly ? 'fenced primary' : 'primary'),
              (error: unknown) => unreadable<DatabaseRole>(describeError(error)),
            ),
          })),
        )
      : undefined,
    // Best effort: Route 53 unreadable is already reported through `route53`.
    dns.failoverTriggers?.(site, options).catch(() => undefined),
  ]);
  const exposure =
    route53.ok && route53.value !== null && triggers
      ? automaticFailover(site, triggers, route53.value)
      : null;
  return {
    site: site.name,
    servingPerBaton: state.serving ?? site.homeCluster,
    route53,
    ...(databases && { databases }),
    ...(openRun && { openRun }),
    ...(fenceDebt && { fenceDebt }),
    ...(exposure && { automaticFailover: exposure }),
  };
}

/** The sources of truth of an observation, and where they disagree with Baton's record. */
export function sourcesOfTruth(observation: SiteObservation): SourcesOfTruth {
  const { route53, databases, servingPerBaton } = observation;
  const unreadableLines: string[] = [];
  const parts: string[] = [];
  if (!route53.ok) unreadableLines.push(`Route 53: ${route53.why}`);
  else if (route53.value === null) parts.push('Route 53 points at neither cluster');
  else if (route53.value !== servingPerBaton)
    parts.push(`Route 53 sends users to ${route53.value}, Baton records ${servingPerBaton}`);

  let databasePrimary: Reading<string | null> | undefined;
  if (databases) {
    const writable = databases.filter((d) => d.role.ok && d.role.value === 'primary').map((d) => d.cluster);
    const failed = databases.filter((d) => !d.role.ok);
    for (const d of failed) if (!d.role.ok) unreadableLines.push(`${d.cluster} database: ${d.role.why}`);
    if (writable.length > 1) parts.push(`both databases accept writes (${writable.join(', ')})`);
    // A primary found is an answer even when the other side is unreadable; none found among partial answers is not.
    databasePrimary =
      writable.length === 1
        ? read(writable[0] ?? null)
        : writable.length === 0 && failed.length
          ? unreadable(`${failed.map((d) => d.cluster).join(' and ')} could not be read`)
          : read(null);
    if (writable.length === 1 && writable[0] !== servingPerBaton)
      parts.push(`the database primary is on ${writable[0]}, Baton records ${servingPerBaton}`);
  }
  const exposure = exposureOf(observation);
  return {
    route53,
    ...(exposure && { exposure }),
    ...(databasePrimary && { databasePrimary }),
    unreadable: unreadableLines,
    ...(parts.length && { disagreement: parts.join('; ') }),
  };
}

/** The automatic failover, when the side Route 53 would fall back to has a database that takes no writes. */
function exposureOf({ automaticFailover: exposure, databases }: SiteObservation): string | undefined {
  if (!exposure || !databases) return undefined;
  const role = databases.find((d) => d.cluster === exposure.secondary)?.role;
  if (!role?.ok || role.value === 'primary') return undefined;
  return describeAutomaticFailover(exposure, `its database is a ${role.value}`);
}
