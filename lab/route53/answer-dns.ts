/**
 * What the zone's name servers answer, from the records as of the newest INSYNC change: failover (the PRIMARY
 * unless its health check, or its alias target with EvaluateTargetHealth, is unhealthy; the PRIMARY again when
 * both are), aliases resolved in place, CNAMEs chased, wildcards, NXDOMAIN inside a zone and REFUSED outside —
 * a load balancer's name included: Route 53 resolves an alias to it internally, but only the load balancers' own
 * zone's name servers (`answerAliasZone`) answer a query for it. dns-server.ts puts the answers on the wire.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { DNS_TYPES } from '../dns/dns-server.js';
import type { DnsQuestion, DnsRecord, DnsResponse, DnsTypeName } from '../dns/dns-server.js';
import type { HealthChecks } from './health-checks.js';
import type { HostedZones, ZoneState } from './hosted-zones.js';
import type { StoredRecord } from './record-sets.js';
import { inZone, plainName } from './route53-names.js';

/** A name outside the hosted zones that aliases point at (a load balancer): its addresses and health. */
export interface AliasTarget {
  addresses: string[];
  healthy: boolean;
}

const DNS_SERVABLE = new Set<string>(['A', 'AAAA', 'CNAME', 'NS', 'SOA', 'TXT', 'MX']);
const ALIAS_TTL = 60;
const MAX_CHASE = 8;

type Lookup =
  | { kind: 'refused' }
  | { kind: 'nxdomain'; zone: ZoneState }
  | { kind: 'data'; zone?: ZoneState; records: DnsRecord[] };

const typeName = (code: number): DnsTypeName | undefined =>
  (Object.keys(DNS_TYPES) as (keyof typeof DNS_TYPES)[]).find(
    (name) => DNS_TYPES[name] === code && DNS_SERVABLE.has(name),
  ) as DnsTypeName | undefined;

const toDns = (owner: string, record: StoredRecord): DnsRecord[] =>
  (record.values ?? []).map((value) => ({
    name: owner,
    type: record.type as DnsTypeName,
    ttl: record.ttl ?? ALIAS_TTL,
    data: value,
  }));

export class DnsAnswers {
  constructor(
    private readonly zones: HostedZones,
    private readonly healthChecks: HealthChecks,
    private readonly aliasTargets: Map<string, AliasTarget>,
    private readonly now: () => number,
  ) {}

  /**
   * The DnsServer callback of the load balancers' own zone's name servers: the alias target names and their
   * addresses, NXDOMAIN for other names in a zone the stand-in knows as one of AWS's (`aliasTargetZones`), REFUSED
   * for everything else.
   */
  answerAliasZone(question: DnsQuestion, aliasZones: ReadonlySet<string>): DnsResponse {
    const name = question.name;
    if (this.aliasTargets.has(name)) {
      const result = this.aliasTargetLookup(name, question.type);
      return { rcode: 'NOERROR', authoritative: true, answers: result.kind === 'data' ? result.records : [] };
    }
    const inside = [...aliasZones].some((zone) => inZone(name, zone));
    return inside
      ? { rcode: 'NXDOMAIN', authoritative: true, answers: [] }
      : { rcode: 'REFUSED', authoritative: false, answers: [] };
  }

  /** The DnsServer callback. */
  answer(question: DnsQuestion): DnsResponse {
    const time = this.now();
    const result = this.lookup(question.name, question.type, time, 0);
    if (result.kind === 'refused') return { rcode: 'REFUSED', authoritative: false, answers: [] };
    if (result.kind === 'nxdomain') {
      return {
        rcode: 'NXDOMAIN',
        authoritative: true,
        answers: [],
        authority: this.soaFor(result.zone, time),
      };
    }
    return {
      rcode: 'NOERROR',
      authoritative: true,
      answers: result.records,
      ...(result.records.length === 0 && result.zone && { authority: this.soaFor(result.zone, time) }),
    };
  }

  private recordHealthy(record: StoredRecord, time: number): boolean {
    if (record.healthCheckId !== undefined) {
      const check = this.healthChecks.find(record.healthCheckId);
      if (check && !this.healthChecks.effectiveHealthy(check, time)) return false;
    }
    if (record.aliasTarget?.evaluateTargetHealth) {
      const target = this.aliasTargets.get(plainName(record.aliasTarget.dnsName));
      if (target && !target.healthy) return false;
    }
    return true;
  }

  /** Route 53's choice among the record sets of one name and type. */
  private routeRecords(records: StoredRecord[], time: number): StoredRecord[] {
    if (records.length <= 1) return records;
    const healthy = records.filter((record) => this.recordHealthy(record, time));
    if (records.some((record) => record.failover !== undefined)) {
      const primary = records.find((record) => record.failover === 'PRIMARY');
      const secondary = records.find((record) => record.failover === 'SECONDARY');
      if (primary && healthy.includes(primary)) return [primary];
      if (secondary && healthy.includes(secondary)) return [secondary];
      // All unhealthy: Route 53 answers as if all were healthy.
      return primary ? [primary] : secondary ? [secondary] : [];
    }
    // Weighted, latency and multivalue records: answer the healthy ones (not modelled further).
    return healthy.length > 0 ? healthy : records;
  }

  private aliasTargetLookup(name: string, qtype: number): Lookup {
    const alias = this.aliasTargets.get(name);
    if (!alias) return { kind: 'refused' };
    const wantV6 = qtype === DNS_TYPES.AAAA;
    const addresses = qtype === DNS_TYPES.A || wantV6 || qtype === DNS_TYPES.ANY ? alias.addresses : [];
    return {
      kind: 'data',
      records: addresses
        .filter((address) => (qtype === DNS_TYPES.ANY ? true : wantV6 ? isIPv6(address) : isIPv4(address)))
        .map((address) => ({ name, type: isIPv6(address) ? 'AAAA' : 'A', ttl: ALIAS_TTL, data: address })),
    };
  }

  /** `viaAlias`: Route 53 is resolving an alias target in place, the only way it reaches a load balancer's name. */
  private lookup(name: string, qtype: number, time: number, depth: number, viaAlias = false): Lookup {
    const zone = this.zones.zoneFor(name);
    if (!zone) return viaAlias ? this.aliasTargetLookup(name, qtype) : { kind: 'refused' };
    const served = this.zones.served(zone, time);
    let atName = served.filter((record) => plainName(record.name) === name);
    if (atName.length === 0) {
      const hasDescendant = served.some((record) => plainName(record.name).endsWith(`.${name}`));
      if (hasDescendant) return { kind: 'data', zone, records: [] };
      // Wildcards: the closest `*.parent` inside the zone.
      const labels = name.split('.');
      const zonePlain = plainName(zone.name);
      for (let index = 1; index < labels.length && atName.length === 0; index++) {
        const parent = labels.slice(index).join('.');
        if (!inZone(parent, zonePlain)) break;
        atName = served.filter((record) => plainName(record.name) === `*.${parent}`);
      }
      if (atName.length === 0) return { kind: 'nxdomain', zone };
    }
    const answers: DnsRecord[] = [];
    const answerType = (type: string) => {
      const candidates = atName.filter((candidate) => candidate.type === type);
      for (const record of this.routeRecords(candidates, time)) {
        if (!record.aliasTarget) {
          answers.push(...toDns(name, record));
          continue;
        }
        if (depth > MAX_CHASE) continue;
        const target = plainName(record.aliasTarget.dnsName);
        const resolved = this.lookup(target, DNS_TYPES[type as DnsTypeName], time, depth + 1, true);
        if (resolved.kind === 'data') {
          answers.push(...resolved.records.filter((rr) => rr.type === type).map((rr) => ({ ...rr, name })));
        }
      }
    };
    const cname = atName.some((record) => record.type === 'CNAME');
    if (cname && qtype !== DNS_TYPES.CNAME) {
      answerType('CNAME');
      const target = answers.find((rr) => rr.type === 'CNAME');
      if (target && depth <= MAX_CHASE) {
        const chased = this.lookup(plainName(target.data), qtype, time, depth + 1);
        if (chased.kind === 'data') answers.push(...chased.records);
      }
      return { kind: 'data', zone, records: answers };
    }
    if (qtype === DNS_TYPES.ANY) {
      for (const type of new Set(atName.map((record) => record.type))) {
        if (DNS_SERVABLE.has(type)) answerType(type);
      }
    } else {
      const wanted = typeName(qtype);
      if (wanted) answerType(wanted);
    }
    return { kind: 'data', zone, records: answers };
  }

  /** The zone's SOA for the authority section, its TTL capped by the SOA minimum (negative caching). */
  private soaFor(zone: ZoneState, time: number): DnsRecord[] {
    const soa = this.zones
      .served(zone, time)
      .find((record) => record.type === 'SOA' && record.name === zone.name);
    const data = soa?.values?.[0];
    if (!soa || data === undefined) return [];
    const minimum = Number(data.trim().split(/\s+/)[6] ?? soa.ttl);
    return [{ name: plainName(zone.name), type: 'SOA', ttl: Math.min(soa.ttl ?? 900, minimum), data }];
  }
}
