/**
 * The hosted-zone operations of the API: ChangeResourceRecordSets, ListResourceRecordSets (with Route 53's
 * paging), GetHostedZone and GetChange, each answering the response body the real service sends.
 */
import { applyChangeBatch, readChangeBatch } from './change-batch.js';
import type { AliasZone } from './change-batch.js';
import type { ChangeState, HostedZones, ZoneState } from './hosted-zones.js';
import { RECORD_TYPES, recordXml } from './record-sets.js';
import { ApiError, invalidInput } from './route53-errors.js';
import { ascii, plainName, route53Name, sortName } from './route53-names.js';
import type { LoggedChange } from './route53-types.js';
import { el, xmlDocument } from './write-response-xml.js';

const MAX_ITEMS = 300;

const changeInfoXml = (zones: HostedZones, change: ChangeState) =>
  el('ChangeInfo', [
    el('Id', `/change/${change.id}`),
    el('Status', zones.status(change)),
    el('SubmittedAt', new Date(change.submittedAt).toISOString()),
    el('Comment', change.comment),
  ]);

export interface ChangeRequest {
  body: string;
  /** How long the change stays PENDING. */
  insyncAfterMs: number;
  /** Throws NoSuchHealthCheck for a HealthCheckId the stand-in does not have. */
  requireHealthCheck: (id: string) => void;
  /** Told the batch's changes once the body has been read, for the request log. */
  onChanges: (changes: LoggedChange[]) => void;
  /** AWS's own zones that aliases may point into (a load balancer's), by zone id. */
  aliasTargetZone: (zoneId: string) => AliasZone | undefined;
}

export function changeResourceRecordSets(
  zones: HostedZones,
  zone: ZoneState,
  request: ChangeRequest,
): string {
  const batch = readChangeBatch(request.body, request.requireHealthCheck);
  request.onChanges(
    batch.changes.map(({ action, record }) => ({ action, name: record.name, type: record.type })),
  );
  const records = applyChangeBatch(zone, batch.changes, (id) => {
    const other = zones.find(id);
    if (!other) return request.aliasTargetZone(id);
    return {
      name: plainName(other.name),
      has: (name, type) =>
        other.records.some((record) => plainName(record.name) === name && record.type === type),
    };
  });
  const change = zones.commit(zone, records, batch.comment, request.insyncAfterMs);
  return xmlDocument('ChangeResourceRecordSetsResponse', [changeInfoXml(zones, change)]);
}

/** One page from `name`/`type`/`identifier` on, as many as `maxitems` (at most 300). */
export function listResourceRecordSets(zone: ZoneState, query: URLSearchParams): string {
  const startName = query.get('name');
  const startType = query.get('type');
  const startIdentifier = query.get('identifier');
  const maxText = query.get('maxitems');
  if (startType !== null && startName === null) {
    throw invalidInput('The input is not valid: a type was given without a name');
  }
  if (startType !== null && !RECORD_TYPES.includes(startType)) {
    throw invalidInput(
      `1 validation error detected: Value '${startType}' at 'startRecordType' failed to satisfy constraint: ` +
        `Member must satisfy enum value set: [${RECORD_TYPES.join(', ')}]`,
    );
  }
  if (startIdentifier !== null && startType === null) {
    throw invalidInput('The input is not valid: an identifier was given without a name and type');
  }
  const requested = maxText === null ? MAX_ITEMS : Number(maxText);
  if (!Number.isInteger(requested) || requested < 1) {
    throw invalidInput(`Invalid request: maxitems must be a positive integer, got ${maxText}`);
  }
  const maxItems = Math.min(requested, MAX_ITEMS);
  let records = zone.records;
  if (startName !== null) {
    const startKey = sortName(route53Name(startName));
    records = records.filter((record) => {
      const order = ascii(sortName(record.name), startKey);
      if (order !== 0) return order > 0;
      if (startType === null) return true;
      const typeOrder = ascii(record.type, startType);
      if (typeOrder !== 0) return typeOrder > 0;
      return startIdentifier === null || ascii(record.setIdentifier ?? '', startIdentifier) >= 0;
    });
  }
  const page = records.slice(0, maxItems);
  const next = records[maxItems];
  return xmlDocument('ListResourceRecordSetsResponse', [
    el('ResourceRecordSets', page.map(recordXml)),
    el('IsTruncated', next !== undefined),
    next ? el('NextRecordName', next.name) : undefined,
    next ? el('NextRecordType', next.type) : undefined,
    next ? el('NextRecordIdentifier', next.setIdentifier) : undefined,
    el('MaxItems', requested),
  ]);
}

export function getHostedZone(zone: ZoneState): string {
  return xmlDocument('GetHostedZoneResponse', [
    el('HostedZone', [
      el('Id', `/hostedzone/${zone.id}`),
      el('Name', zone.name),
      el('CallerReference', zone.callerReference),
      el('Config', [el('PrivateZone', false)]),
      el('ResourceRecordSetCount', zone.records.length),
    ]),
    el('DelegationSet', [
      el(
        'NameServers',
        zone.nameServers.map((server) => el('NameServer', server)),
      ),
    ]),
  ]);
}

export function getChange(zones: HostedZones, id: string): string {
  const change = zones.change(id);
  if (!change) {
    throw new ApiError(404, 'NoSuchChange', `A change with the specified change ID does not exist: ${id}`);
  }
  return xmlDocument('GetChangeResponse', [changeInfoXml(zones, change)]);
}
