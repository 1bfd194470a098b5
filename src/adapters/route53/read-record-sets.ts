/** Reading the site's record sets from its hosted zone (ListResourceRecordSets, paged). */
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import type { ResourceRecordSet, RRType } from '@aws-sdk/client-route-53';
import type { SiteConfig } from '../../config/topology.js';
import type { CallOptions } from '../../core/ports.js';
import { normalizeDnsName } from '../resolve-dns.js';
import { hostedZone } from './route53-ids.js';
import type { Route53Requests } from './route53-requests.js';

/** The record sets with the site's name and type, read from the start of that name/type until the first other. */
export async function readRecordSets(
  requests: Route53Requests,
  site: SiteConfig,
  options: CallOptions = {},
): Promise<ResourceRecordSet[]> {
  const { dns } = site;
  const want = normalizeDnsName(dns.recordName);
  const found: ResourceRecordSet[] = [];
  let start: { name: string; type: RRType; identifier?: string } = {
    name: `${want}.`,
    type: dns.recordType,
  };
  for (let page = 0; page < 50; page++) {
    const output = await requests.call(
      'ListResourceRecordSets',
      hostedZone(site),
      (abortSignal) =>
        requests.client.send(
          new ListResourceRecordSetsCommand({
            HostedZoneId: dns.hostedZoneId,
            StartRecordName: start.name,
            StartRecordType: start.type,
            ...(start.identifier !== undefined && { StartRecordIdentifier: start.identifier }),
            MaxItems: 10,
          }),
          { abortSignal },
        ),
      options.signal,
    );
    for (const record of output.ResourceRecordSets ?? []) {
      if (normalizeDnsName(record.Name ?? '') !== want || record.Type !== dns.recordType) return found;
      found.push(record);
    }
    if (!output.IsTruncated || output.NextRecordName === undefined) return found;
    start = {
      name: output.NextRecordName,
      type: output.NextRecordType ?? dns.recordType,
      ...(output.NextRecordIdentifier !== undefined && { identifier: output.NextRecordIdentifier }),
    };
  }
  return found;
}
