/**
 * Changing the site's record sets (ChangeResourceRecordSets, UPSERT only) for the `failover-records` and
 * `simple-record` strategies, through the zone's change batches (change-batches.ts), and reading a change's status
 * (GetChange).
 */
import { GetChangeCommand } from '@aws-sdk/client-route-53';
import type { Change, ResourceRecordSet } from '@aws-sdk/client-route-53';
import type { ClusterId, DnsTarget, SiteConfig } from '../../config/topology.js';
import type { CallOptions, DnsChange, Log } from '../../core/ports.js';
import { BatonError } from '../../errors.js';
import type { ZoneChanges } from './change-batches.js';
import type { ZoneReads } from './read-record-sets.js';
import { targetMatches } from './record-match.js';
import { stripIdPrefix } from './route53-ids.js';
import type { Route53Requests } from './route53-requests.js';

/** How a switch reads the zone and sends its change. */
export interface SwitchPaths {
  reads: ZoneReads;
  changes: ZoneChanges;
}

/**
 * `failover-records`: one atomic batch that makes `cluster`'s record PRIMARY and the other SECONDARY. Throws
 * `dns-record-missing` when a cluster has no record with its SetIdentifier.
 */
export async function swapFailoverRoles(
  paths: SwitchPaths,
  site: SiteConfig,
  cluster: ClusterId,
  log: Log,
  options: CallOptions,
): Promise<DnsChange> {
  const { dns } = site;
  const records = await paths.reads.read(site, { ...options, urgent: true });
  const changes: Change[] = [];
  for (const other of Object.keys(site.clusters)) {
    const identifier = dns.setIdentifiers?.[other] ?? other;
    const record = records.find((candidate) => candidate.SetIdentifier === identifier);
    if (!record) {
      throw new BatonError(
        'dns-record-missing',
        `Hosted zone ${dns.hostedZoneId} has no failover record ${dns.recordName} ${dns.recordType} with ` +
          `SetIdentifier "${identifier}" (cluster ${other}) — create the PRIMARY/SECONDARY pair, or fix ` +
          `dns.setIdentifiers`,
      );
    }
    if (!targetMatches(dns.targets[other], record, dns.recordType)) {
      log.warn(
        { cluster: other, setIdentifier: identifier },
        'failover record does not point at the configured target',
      );
    }
    // Everything but the role is kept as it is in Route 53 (TTL, health check, alias settings).
    const updated: ResourceRecordSet = {
      Name: record.Name,
      Type: record.Type,
      SetIdentifier: record.SetIdentifier,
      Failover: other === cluster ? 'PRIMARY' : 'SECONDARY',
      ...(record.TTL !== undefined && { TTL: record.TTL }),
      ...(record.ResourceRecords && { ResourceRecords: record.ResourceRecords }),
      ...(record.AliasTarget && { AliasTarget: record.AliasTarget }),
      ...(record.HealthCheckId !== undefined && { HealthCheckId: record.HealthCheckId }),
    };
    // The demotion goes first, so the batch never reads as two PRIMARY records even if checked in order.
    if (other === cluster) changes.push({ Action: 'UPSERT', ResourceRecordSet: updated });
    else changes.unshift({ Action: 'UPSERT', ResourceRecordSet: updated });
  }
  return submitChanges(paths, site, changes, cluster, options);
}

/** `simple-record`: one UPSERT of the record with `cluster`'s alias or values (a DNS target it must have). */
export async function upsertSimpleRecord(
  paths: SwitchPaths,
  site: SiteConfig,
  cluster: ClusterId,
  options: CallOptions,
): Promise<DnsChange> {
  return submitChanges(
    paths,
    site,
    [{ Action: 'UPSERT', ResourceRecordSet: simpleRecord(site, cluster) }],
    cluster,
    options,
  );
}

function simpleRecord(site: SiteConfig, cluster: ClusterId): ResourceRecordSet {
  const { dns } = site;
  const target = dns.targets[cluster] as DnsTarget;
  const record: ResourceRecordSet = { Name: dns.recordName, Type: dns.recordType };
  if ('values' in target) {
    record.TTL = dns.ttl;
    record.ResourceRecords = target.values.map((value) => ({ Value: value }));
  } else {
    record.AliasTarget = {
      HostedZoneId: target.aliasHostedZoneId,
      DNSName: target.aliasDnsName,
      EvaluateTargetHealth: target.evaluateTargetHealth,
    };
  }
  return record;
}

async function submitChanges(
  paths: SwitchPaths,
  site: SiteConfig,
  changes: Change[],
  cluster: ClusterId,
  options: CallOptions,
): Promise<DnsChange> {
  const summary = `${site.name} served by ${cluster}`;
  return { changeId: await paths.changes.submit({ site, changes, summary }, options) };
}

/** A submitted change's status: INSYNC once every Route 53 name server serves it. */
export async function recordChangeStatus(
  requests: Route53Requests,
  changeId: string,
  options: CallOptions,
): Promise<'PENDING' | 'INSYNC'> {
  const id = stripIdPrefix(changeId);
  const output = await requests.call(
    'GetChange',
    { kind: 'change', id },
    (abortSignal) => requests.client.send(new GetChangeCommand({ Id: id }), { abortSignal }),
    options.signal,
  );
  return output.ChangeInfo?.Status === 'INSYNC' ? 'INSYNC' : 'PENDING';
}
