/** Which configured cluster a Route 53 record set points at or belongs to, compared the way Route 53 would. */
import type { ResourceRecordSet } from '@aws-sdk/client-route-53';
import type { ClusterId, DnsTarget, SiteConfig } from '../../config/topology.js';
import { normalizeAddress, normalizeDnsName } from '../resolve-dns.js';
import { stripIdPrefix } from './route53-ids.js';

/** Alias names compare without case, trailing dot, or the `dualstack.` prefix the console adds for load balancers. */
const aliasKey = (name: string): string => normalizeDnsName(name).replace(/^dualstack\./, '');

/**
 * Whether `record` serves `target`: the same set of values (in any order, duplicates ignored), or the same alias
 * name and alias hosted zone.
 */
export function targetMatches(
  target: DnsTarget | undefined,
  record: ResourceRecordSet,
  type: string,
): boolean {
  if (!target) return false;
  if ('values' in target) {
    if (record.AliasTarget || !record.ResourceRecords) return false;
    const normalize = (value: string) =>
      type === 'CNAME' ? normalizeDnsName(value) : normalizeAddress(value);
    const want = [...new Set(target.values.map(normalize))].sort();
    const have = [...new Set(record.ResourceRecords.map((rr) => normalize(rr.Value ?? '')))].sort();
    return want.length === have.length && want.every((value, index) => value === have[index]);
  }
  const alias = record.AliasTarget;
  return (
    alias !== undefined &&
    aliasKey(alias.DNSName ?? '') === aliasKey(target.aliasDnsName) &&
    stripIdPrefix(alias.HostedZoneId ?? '').toUpperCase() ===
      stripIdPrefix(target.aliasHostedZoneId).toUpperCase()
  );
}

/** The cluster a record belongs to: by SetIdentifier, else by health check id, else by its target. */
export function clusterOfRecord(site: SiteConfig, record: ResourceRecordSet): ClusterId | undefined {
  const { dns } = site;
  if (dns.setIdentifiers) {
    return Object.keys(dns.setIdentifiers).find(
      (cluster) => dns.setIdentifiers?.[cluster] === record.SetIdentifier,
    );
  }
  if (dns.healthCheckIds && record.HealthCheckId !== undefined) {
    const byCheck = Object.keys(dns.healthCheckIds).find(
      (cluster) => dns.healthCheckIds?.[cluster] === record.HealthCheckId,
    );
    if (byCheck !== undefined) return byCheck;
  }
  return Object.keys(site.clusters).find((cluster) =>
    targetMatches(dns.targets[cluster], record, dns.recordType),
  );
}
