/**
 * Resource record sets as the stand-in stores them: normalized from what a request or a seed gives, identified by
 * name, type and set identifier, compared and ordered as Route 53 does, and written back as `ResourceRecordSet`.
 */
import { ascii, route53Name, sortName } from './route53-names.js';
import type { RecordSetSpec } from './route53-types.js';
import { el } from './write-response-xml.js';

/** A record set with its name (and alias target's name) in route53Name form. */
export interface StoredRecord extends RecordSetSpec {
  name: string;
}

/** The record types the API accepts, in the order its validation messages list them. */
export const RECORD_TYPES = [
  'SOA',
  'A',
  'TXT',
  'NS',
  'CNAME',
  'MX',
  'NAPTR',
  'PTR',
  'SRV',
  'SPF',
  'AAAA',
  'CAA',
  'DS',
];

export const cloneRecord = (record: StoredRecord): StoredRecord => ({
  ...record,
  ...(record.values && { values: [...record.values] }),
  ...(record.aliasTarget && { aliasTarget: { ...record.aliasTarget } }),
});

/** What makes a record set unique in a zone. */
export const recordKey = (record: Pick<RecordSetSpec, 'name' | 'type' | 'setIdentifier'>): string =>
  `${record.name}|${record.type}|${record.setIdentifier ?? ''}`;

/** ListResourceRecordSets order: name (labels reversed), then type, then set identifier. */
export function compareRecords(a: StoredRecord, b: StoredRecord): number {
  return (
    ascii(sortName(a.name), sortName(b.name)) ||
    ascii(a.type, b.type) ||
    ascii(a.setIdentifier ?? '', b.setIdentifier ?? '')
  );
}

/** `[name='…', type='…', set-identifier='…']`, as InvalidChangeBatch messages name a record set. */
export function describeRecord(record: Pick<RecordSetSpec, 'name' | 'type' | 'setIdentifier'>): string {
  const identifier = record.setIdentifier === undefined ? '' : `, set-identifier='${record.setIdentifier}'`;
  return `[name='${record.name}', type='${record.type}'${identifier}]`;
}

/** Whether a DELETE's record set matches the stored one in every field (values in any order). */
export function sameRecord(a: StoredRecord, b: StoredRecord): boolean {
  const values = (record: StoredRecord) => JSON.stringify([...(record.values ?? [])].sort());
  const alias = (record: StoredRecord) =>
    record.aliasTarget
      ? `${record.aliasTarget.hostedZoneId}|${route53Name(record.aliasTarget.dnsName)}|${record.aliasTarget.evaluateTargetHealth}`
      : '';
  return (
    recordKey(a) === recordKey(b) &&
    a.ttl === b.ttl &&
    values(a) === values(b) &&
    alias(a) === alias(b) &&
    a.failover === b.failover &&
    a.weight === b.weight &&
    a.region === b.region &&
    a.multiValueAnswer === b.multiValueAnswer &&
    a.healthCheckId === b.healthCheckId
  );
}

/** A spec as stored: names in route53Name form, the alias zone without `/hostedzone/`, no undefined fields. */
export function normalizeRecord(spec: RecordSetSpec): StoredRecord {
  const record: StoredRecord = { name: route53Name(spec.name), type: spec.type };
  if (spec.setIdentifier !== undefined) record.setIdentifier = spec.setIdentifier;
  if (spec.weight !== undefined) record.weight = spec.weight;
  if (spec.region !== undefined) record.region = spec.region;
  if (spec.failover !== undefined) record.failover = spec.failover;
  if (spec.multiValueAnswer !== undefined) record.multiValueAnswer = spec.multiValueAnswer;
  if (spec.ttl !== undefined) record.ttl = spec.ttl;
  if (spec.values !== undefined) record.values = [...spec.values];
  if (spec.aliasTarget !== undefined) {
    record.aliasTarget = {
      hostedZoneId: spec.aliasTarget.hostedZoneId.replace(/^\/hostedzone\//, ''),
      dnsName: route53Name(spec.aliasTarget.dnsName),
      evaluateTargetHealth: spec.aliasTarget.evaluateTargetHealth,
    };
  }
  if (spec.healthCheckId !== undefined) record.healthCheckId = spec.healthCheckId;
  return record;
}

/** The `ResourceRecordSet` element, fields in the API reference's order. */
export function recordXml(record: StoredRecord): string | undefined {
  return el('ResourceRecordSet', [
    el('Name', record.name),
    el('Type', record.type),
    el('SetIdentifier', record.setIdentifier),
    el('Weight', record.weight),
    el('Region', record.region),
    el('Failover', record.failover),
    el('MultiValueAnswer', record.multiValueAnswer),
    el('TTL', record.ttl),
    record.values
      ? el(
          'ResourceRecords',
          record.values.map((value) => el('ResourceRecord', [el('Value', value)])),
        )
      : undefined,
    record.aliasTarget
      ? el('AliasTarget', [
          el('HostedZoneId', record.aliasTarget.hostedZoneId),
          el('DNSName', record.aliasTarget.dnsName),
          el('EvaluateTargetHealth', record.aliasTarget.evaluateTargetHealth),
        ])
      : undefined,
    el('HealthCheckId', record.healthCheckId),
  ]);
}
