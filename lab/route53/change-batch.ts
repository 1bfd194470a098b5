/**
 * ChangeResourceRecordSets' change batch: read from the request body, each change checked as the API's input
 * validation does (InvalidInput, first problem only), then the batch as a whole against the zone as Route 53
 * does (InvalidChangeBatch, every problem). Nothing here changes a zone: the result is the zone's records after
 * the batch, for the caller to commit atomically.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { child, childrenNamed, parseRequestXml, textOf } from './parse-request-xml.js';
import type { XmlElement } from './parse-request-xml.js';
import {
  cloneRecord,
  describeRecord,
  normalizeRecord,
  RECORD_TYPES,
  recordKey,
  sameRecord,
} from './record-sets.js';
import type { StoredRecord } from './record-sets.js';
import { invalidChangeBatch, invalidInput } from './route53-errors.js';
import { inZone, plainName } from './route53-names.js';
import type { RecordSetSpec } from './route53-types.js';

export interface ParsedChange {
  action: 'CREATE' | 'DELETE' | 'UPSERT';
  record: StoredRecord;
}

export interface ChangeBatch {
  comment?: string;
  changes: ParsedChange[];
}

const ACTIONS = ['CREATE', 'DELETE', 'UPSERT'] as const;
const UNSUPPORTED = ['GeoLocation', 'TrafficPolicyInstanceId', 'CidrRoutingConfig', 'GeoProximityLocation'];

const validationError = (value: string | null, at: string, constraint: string) =>
  invalidInput(
    `1 validation error detected: Value ${value === null ? 'null' : `'${value}'`} at '${at}' failed to satisfy ` +
      `constraint: ${constraint}`,
  );

function readRecordSet(set: XmlElement, at: string): RecordSetSpec {
  const name = textOf(set, 'Name') ?? '';
  const type = textOf(set, 'Type') ?? '';
  if (name === '') throw validationError(null, `${at}.resourceRecordSet.name`, 'Member must not be null');
  if (!RECORD_TYPES.includes(type)) {
    throw validationError(
      type,
      `${at}.resourceRecordSet.type`,
      `Member must satisfy enum value set: [${RECORD_TYPES.join(', ')}]`,
    );
  }
  for (const unsupported of UNSUPPORTED) {
    if (child(set, unsupported)) {
      throw invalidInput(`Invalid request: ${unsupported} is not supported by the Route 53 stand-in`);
    }
  }
  const spec: RecordSetSpec = { name, type };
  const setIdentifier = textOf(set, 'SetIdentifier');
  if (setIdentifier !== undefined) spec.setIdentifier = setIdentifier;
  const failover = textOf(set, 'Failover');
  if (failover !== undefined) {
    if (failover !== 'PRIMARY' && failover !== 'SECONDARY') {
      throw validationError(
        failover,
        `${at}.resourceRecordSet.failover`,
        'Member must satisfy enum value set: [PRIMARY, SECONDARY]',
      );
    }
    spec.failover = failover;
  }
  const weight = textOf(set, 'Weight');
  if (weight !== undefined) spec.weight = Number(weight);
  const region = textOf(set, 'Region');
  if (region !== undefined) spec.region = region;
  const multi = textOf(set, 'MultiValueAnswer');
  if (multi !== undefined) spec.multiValueAnswer = multi === 'true';
  const ttl = textOf(set, 'TTL');
  if (ttl !== undefined) spec.ttl = Number(ttl);
  const resourceRecords = child(set, 'ResourceRecords');
  if (resourceRecords !== undefined) {
    spec.values = childrenNamed(resourceRecords, 'ResourceRecord').map((rr) => textOf(rr, 'Value') ?? '');
  }
  const alias = child(set, 'AliasTarget');
  if (alias !== undefined) {
    spec.aliasTarget = {
      hostedZoneId: textOf(alias, 'HostedZoneId') ?? '',
      dnsName: textOf(alias, 'DNSName') ?? '',
      evaluateTargetHealth: textOf(alias, 'EvaluateTargetHealth') === 'true',
    };
  }
  const healthCheckId = textOf(set, 'HealthCheckId');
  if (healthCheckId !== undefined) spec.healthCheckId = healthCheckId;
  return spec;
}

/** The shape rules of one record set: plain or alias, a routing policy with its SetIdentifier, and only one. */
function checkShape(action: string, spec: RecordSetSpec): void {
  const where = `in Change with [Action=${action}, Name=${spec.name}, Type=${spec.type}, SetIdentifier=${spec.setIdentifier ?? 'null'}]`;
  const hasPlain = spec.ttl !== undefined && spec.values !== undefined;
  const hasAlias = spec.aliasTarget !== undefined;
  if (hasPlain === hasAlias || (hasAlias && (spec.ttl !== undefined || spec.values !== undefined))) {
    const found = hasPlain || hasAlias ? 'more than one' : 'none';
    throw invalidInput(
      `Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or ` +
        `TrafficPolicyInstanceId], but found ${found} ${where}`,
    );
  }
  if (spec.values !== undefined && spec.values.length === 0) {
    throw invalidInput(`Invalid request: ResourceRecords must contain at least one ResourceRecord ${where}`);
  }
  const policies = [spec.failover, spec.weight, spec.region, spec.multiValueAnswer].filter(
    (value) => value !== undefined,
  );
  if (policies.length > 0 && spec.setIdentifier === undefined) {
    throw invalidInput(`Invalid request: Missing field 'SetIdentifier' ${where}`);
  }
  if (spec.setIdentifier !== undefined && policies.length === 0) {
    throw invalidInput(
      `Invalid request: Missing field 'Weight', 'Region', 'Failover' or 'MultiValueAnswer' ${where}`,
    );
  }
  if (policies.length > 1) throw invalidInput(`Invalid request: More than one routing policy ${where}`);
}

/**
 * The batch in a ChangeResourceRecordSetsRequest body. `requireHealthCheck` throws (NoSuchHealthCheck) for a
 * HealthCheckId the stand-in does not have.
 */
export function readChangeBatch(body: string, requireHealthCheck: (id: string) => void): ChangeBatch {
  const root = parseRequestXml(body, 'ChangeResourceRecordSetsRequest');
  const batch = child(root, 'ChangeBatch');
  const elements = childrenNamed(child(batch, 'Changes'), 'Change');
  if (elements.length === 0) throw validationError(null, 'changeBatch.changes', 'Member must not be null');
  const changes = elements.map((element, index): ParsedChange => {
    const at = `changeBatch.changes.${index + 1}.member`;
    const action = textOf(element, 'Action') ?? '';
    if (!ACTIONS.includes(action as ParsedChange['action'])) {
      throw validationError(
        action,
        `${at}.action`,
        'Member must satisfy enum value set: [UPSERT, CREATE, DELETE]',
      );
    }
    const set = child(element, 'ResourceRecordSet');
    if (set === undefined) throw validationError(null, `${at}.resourceRecordSet`, 'Member must not be null');
    const spec = readRecordSet(set, at);
    checkShape(action, spec);
    if (spec.healthCheckId !== undefined) requireHealthCheck(spec.healthCheckId);
    return { action: action as ParsedChange['action'], record: normalizeRecord(spec) };
  });
  const comment = textOf(batch, 'Comment');
  return { ...(comment !== undefined && { comment }), changes };
}

function valueProblems(record: StoredRecord): string[] {
  const problems: string[] = [];
  for (const value of record.values ?? []) {
    if (record.type === 'A' && !isIPv4(value)) {
      problems.push(
        `Invalid Resource Record: 'FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '${value}''`,
      );
    }
    if (record.type === 'AAAA' && !isIPv6(value)) {
      problems.push(
        `Invalid Resource Record: 'FATAL problem: AAAARRDATAIllegalIPv6Address (Value is not a valid IPv6 address) encountered with '${value}''`,
      );
    }
  }
  if (record.type === 'CNAME' && (record.values?.length ?? 0) > 1) {
    problems.push(`RRSet of type CNAME with DNS name ${record.name} has more than one resource record`);
  }
  return problems;
}

/** Documented request limits; an UPSERT counts twice. */
function limitProblems(changes: ParsedChange[]): string[] {
  let resourceRecords = 0;
  let characters = 0;
  for (const { action, record } of changes) {
    const weight = action === 'UPSERT' ? 2 : 1;
    resourceRecords += (record.values?.length ?? 0) * weight;
    characters += (record.values ?? []).reduce((sum, value) => sum + value.length, 0) * weight;
  }
  const problems: string[] = [];
  if (resourceRecords > 1000) problems.push('Number of records limit of 1000 exceeded.');
  if (characters > 32000) problems.push('Number of characters limit of 32000 exceeded.');
  return problems;
}

/** One record set may appear once per batch; the only repeat allowed is DELETE followed by CREATE. */
function repeatProblems(changes: ParsedChange[]): string[] {
  const byKey = new Map<string, { actions: string[]; record: StoredRecord }>();
  for (const { action, record } of changes) {
    const entry = byKey.get(recordKey(record)) ?? { actions: [], record };
    entry.actions.push(action);
    byKey.set(recordKey(record), entry);
  }
  return [...byKey.values()]
    .filter(
      ({ actions }) =>
        actions.length > 1 && !(actions.length === 2 && actions[0] === 'DELETE' && actions[1] === 'CREATE'),
    )
    .map(
      ({ record }) =>
        `The request contains an invalid set of changes for a resource record set '${record.type} ${record.name}'`,
    );
}

/** Rules on the zone after the batch, for the names the batch touched. */
function zoneProblems(zoneName: string, working: Map<string, StoredRecord>, touched: Set<string>): string[] {
  const problems: string[] = [];
  const byName = new Map<string, StoredRecord[]>();
  for (const record of working.values()) {
    const list = byName.get(record.name) ?? [];
    list.push(record);
    byName.set(record.name, list);
  }
  for (const name of touched) {
    const records = byName.get(name) ?? [];
    if (
      records.some((record) => record.type === 'CNAME') &&
      records.some((record) => record.type !== 'CNAME')
    ) {
      problems.push(
        `RRSet of type CNAME with DNS name ${name} is not permitted as it conflicts with other records with the same DNS name in zone ${zoneName}`,
      );
    }
    for (const type of new Set(records.map((record) => record.type))) {
      const sameType = records.filter((record) => record.type === type);
      if (sameType.length > 1 && sameType.some((record) => record.setIdentifier === undefined)) {
        problems.push(
          `RRSet with DNS name ${name}, type ${type} cannot be created as other RRSets exist with the same name and type.`,
        );
      }
      for (const role of ['PRIMARY', 'SECONDARY'] as const) {
        const holders = sameType.filter((record) => record.failover === role);
        if (holders.length > 1) {
          problems.push(
            `RRSet with DNS name ${name}, type ${type} and failover ${role} already exists ` +
              `(set identifiers ${holders.map((record) => `'${record.setIdentifier}'`).join(', ')})`,
          );
        }
      }
    }
  }
  return problems;
}

/** A zone an alias may point into: one of the stand-in's hosted zones, or AWS's own (a load balancer's). */
export interface AliasZone {
  /** Plain form (`elb.amazonaws.com`). */
  name: string;
  /** Whether the zone has a record of `type` at `name` (plain form). */
  has: (name: string, type: string) => boolean;
}

/**
 * Route 53's two refusals of an alias target, worded as the service words them (quoted in public reports such as
 * barnybug/cli53#213 and aws/aws-cdk#19643): a name outside the zone its HostedZoneId names — also what a wrong
 * zone id gets, e.g. the site's own zone id for a load balancer — and a name inside it that has no record.
 */
function aliasProblem(record: StoredRecord, zone: AliasZone | undefined): string | undefined {
  const target = record.aliasTarget;
  if (!target) return undefined;
  const name = plainName(target.dnsName);
  const prefix = `Tried to create an alias that targets ${target.dnsName}, type ${record.type} in zone ${target.hostedZoneId}, but`;
  if (!zone || !inZone(name, zone.name))
    return `${prefix} the alias target name does not lie within the target zone`;
  if (!zone.has(name, record.type)) return `${prefix} that target was not found`;
  return undefined;
}

/**
 * The zone's records after `changes`, or InvalidChangeBatch listing every problem. `aliasZone` gives another zone
 * an alias may point into (the stand-in's, or a load balancer's), undefined for a zone id nobody has.
 */
export function applyChangeBatch(
  zone: { id: string; name: string; records: readonly StoredRecord[] },
  changes: ParsedChange[],
  aliasZone: (zoneId: string) => AliasZone | undefined,
): StoredRecord[] {
  const problems = [...limitProblems(changes), ...repeatProblems(changes)];
  // Applied to a copy; the caller commits only a valid batch.
  const working = new Map(zone.records.map((record) => [recordKey(record), cloneRecord(record)]));
  const zonePlain = plainName(zone.name);
  for (const { action, record } of changes) {
    if (!inZone(plainName(record.name), zonePlain)) {
      problems.push(`RRSet with DNS name ${record.name} is not permitted in zone ${zone.name}`);
      continue;
    }
    problems.push(...valueProblems(record));
    const key = recordKey(record);
    const existing = working.get(key);
    if (action === 'CREATE') {
      if (existing)
        problems.push(`Tried to create resource record set ${describeRecord(record)} but it already exists`);
      else working.set(key, record);
    } else if (action === 'DELETE') {
      if (!existing)
        problems.push(`Tried to delete resource record set ${describeRecord(record)} but it was not found`);
      else if (!sameRecord(existing, record)) {
        problems.push(
          `Tried to delete resource record set ${describeRecord(record)} but the values provided do not match the current values`,
        );
      } else working.delete(key);
    } else {
      working.set(key, record);
    }
  }
  const touched = new Set(changes.map(({ record }) => record.name));
  problems.push(...zoneProblems(zone.name, working, touched));
  const ownZone: AliasZone = {
    name: zonePlain,
    has: (name, type) =>
      [...working.values()].some(
        (candidate) => plainName(candidate.name) === name && candidate.type === type,
      ),
  };
  for (const record of working.values()) {
    const target = record.aliasTarget;
    if (!target || !touched.has(record.name)) continue;
    const problem = aliasProblem(
      record,
      target.hostedZoneId === zone.id ? ownZone : aliasZone(target.hostedZoneId),
    );
    if (problem !== undefined) problems.push(problem);
  }
  if (problems.length > 0) throw invalidChangeBatch(problems);
  return [...working.values()];
}
