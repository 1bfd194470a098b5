/**
 * Seeds for the stand-in from Baton's own site configuration: the zones, records, health checks and alias target
 * addresses that put each site's DNS in the state Baton expects at rest.
 */
import type { ClusterId, DnsTarget, SiteConfig } from '../../src/config/topology.js';
import { plainName } from './route53-names.js';
import type { RecordSetSpec, Route53StandInOptions } from './route53-types.js';

export interface SeedSiteOptions {
  /** Which cluster the record serves at the start (default each site's home cluster). */
  serving?: Record<string, ClusterId>;
  /** Hosted zone name per zone id (default: the record name without its first label). */
  zoneNames?: Record<string, string>;
  nameServers?: string[];
}

export type Route53Seed = Required<
  Pick<Route53StandInOptions, 'zones' | 'healthChecks' | 'aliasTargets' | 'aliasTargetZones'>
>;

/** The labels `a` and `b` end with in common (`x.elb.amazonaws.com`, `y.elb.amazonaws.com` → `elb.amazonaws.com`). */
function commonSuffix(a: string, b: string): string {
  const left = a.split('.').reverse();
  const right = b.split('.').reverse();
  const shared: string[] = [];
  for (let index = 0; index < left.length && left[index] === right[index]; index++)
    shared.push(left[index] ?? '');
  return shared.reverse().join('.');
}

function recordTarget(target: DnsTarget, ttl: number): Pick<RecordSetSpec, 'ttl' | 'values' | 'aliasTarget'> {
  if ('values' in target) return { ttl, values: [...target.values] };
  return {
    aliasTarget: {
      hostedZoneId: target.aliasHostedZoneId,
      dnsName: target.aliasDnsName,
      evaluateTargetHealth: target.evaluateTargetHealth,
    },
  };
}

/**
 * Zones, records and health checks that put each site's DNS record in the state Baton expects at rest: the
 * strategy's records pointing at the serving cluster (the home cluster unless `serving` says otherwise). Alias
 * targets get addresses of their own (cluster n → 10.0.n.10 and fd00::n:10), so DNS answers tell clusters apart.
 */
export function route53SeedFor(sites: SiteConfig | SiteConfig[], options: SeedSiteOptions = {}): Route53Seed {
  const seed: Route53Seed = { zones: [], healthChecks: [], aliasTargets: {}, aliasTargetZones: {} };
  for (const site of Array.isArray(sites) ? sites : [sites]) {
    const { dns } = site;
    const serving = options.serving?.[site.name] ?? site.homeCluster;
    const clusters = Object.keys(site.clusters);
    const zoneName =
      options.zoneNames?.[dns.hostedZoneId] ?? plainName(dns.recordName).split('.').slice(1).join('.');
    let zone = seed.zones.find((candidate) => candidate.id === dns.hostedZoneId);
    if (!zone) {
      zone = { id: dns.hostedZoneId, name: zoneName, records: [] };
      if (options.nameServers) zone.nameServers = [...options.nameServers];
      seed.zones.push(zone);
    }
    clusters.forEach((cluster, index) => {
      const target = dns.targets[cluster];
      if (target && 'aliasDnsName' in target) {
        const name = plainName(target.aliasDnsName);
        seed.aliasTargets[name] = [`10.0.${index + 1}.10`, `fd00::${index + 1}:10`];
        // The load balancer's own hosted zone: its parent name, or what it shares with the zone's other names.
        const parent = name.split('.').slice(1).join('.');
        const known = seed.aliasTargetZones[target.aliasHostedZoneId];
        seed.aliasTargetZones[target.aliasHostedZoneId] =
          known === undefined ? parent : commonSuffix(known, parent);
      }
    });
    const records = (zone.records ??= []);
    if (dns.strategy === 'simple-record') {
      const target = dns.targets[serving];
      if (target)
        records.push({ name: dns.recordName, type: dns.recordType, ...recordTarget(target, dns.ttl) });
      continue;
    }
    // Failover strategies: the records' roles follow the serving cluster for failover-records; for
    // health-check-inversion they stay fixed (home is PRIMARY) and the other side's check is inverted instead.
    const primary = dns.strategy === 'failover-records' ? serving : site.homeCluster;
    for (const cluster of clusters) {
      const target = dns.targets[cluster];
      if (!target) continue;
      const record: RecordSetSpec = {
        name: dns.recordName,
        type: dns.recordType,
        setIdentifier: dns.setIdentifiers?.[cluster] ?? cluster,
        failover: cluster === primary ? 'PRIMARY' : 'SECONDARY',
        ...recordTarget(target, dns.ttl),
      };
      const healthCheckId = dns.healthCheckIds?.[cluster];
      if (healthCheckId !== undefined) {
        record.healthCheckId = healthCheckId;
        const url = new URL(site.clusters[cluster]?.healthUrl ?? 'https://localhost/');
        seed.healthChecks.push({
          id: healthCheckId,
          type: url.protocol === 'http:' ? 'HTTP' : 'HTTPS',
          fqdn: url.hostname,
          resourcePath: url.pathname,
          ...(url.port !== '' && { port: Number(url.port) }),
          // Serving away from home: the home cluster's (PRIMARY's) check is inverted, as Baton's switch leaves it.
          inverted: dns.strategy === 'health-check-inversion' && cluster === primary && cluster !== serving,
        });
      }
      records.push(record);
    }
  }
  return seed;
}
