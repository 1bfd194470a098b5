/**
 * A Route 53 stand-in: a real HTTP server speaking the 2013-04-01 REST-XML API as the official SDK sends it
 * (SigV4-signed requests, XML change batches, `ErrorResponse` errors), plus an authoritative DNS server (UDP and
 * TCP) that answers from the same records. Tests, benchmarks, `baton sandbox` and the drill point the unmodified AWS
 * SDK at `endpoint` and a `node:dns` Resolver (or dig) at `dnsAddress`.
 *
 * Semantics chosen to match the real service where its documentation is explicit:
 * - A change batch is validated as a whole and applied atomically; the API (ListResourceRecordSets) shows the new
 *   records at once, while the change stays PENDING for `insyncAfterMs`. Changes to one zone become INSYNC in the
 *   order they were submitted.
 * - The DNS server answers from the records as of the newest INSYNC change — what every Route 53 name server
 *   serves once a change has propagated — so a client that reads DNS before INSYNC may still see the old answer.
 * - Failover records: the PRIMARY unless its health check (or, for an alias with EvaluateTargetHealth, the alias
 *   target) is unhealthy, then the SECONDARY; when both are unhealthy, the PRIMARY (Route 53 answers as if all were
 *   healthy). A health check is healthy when more than 18% of its checkers see it healthy, after inversion.
 * - UpdateHealthCheck's `Inverted` reaches the checkers after `healthCheckPropagationMs` (real checkers pick up
 *   a change within one request interval). A disabled check counts as healthy, inverted as the opposite; CALCULATED
 *   checks aggregate their children against HealthThreshold and are refused by GetHealthCheckStatus.
 * - An alias must point into a zone that exists: one of the stand-in's hosted zones, or AWS's own zone of a load
 *   balancer (`aliasTargetZones`, its names in `aliasTargets`). Otherwise InvalidChangeBatch, worded as the service
 *   words it ("… but the alias target name does not lie within the target zone", "… but that target was not
 *   found").
 * - Errors carry the real codes and HTTP statuses; messages use the real wording where it is documented or widely
 *   quoted (InvalidChangeBatch lists every problem, bracketed, as the service does). The wording for two failover
 *   records with one role, and the inverted-check note in GetHealthCheckStatus, are the stand-in's own.
 * Not modelled: geolocation, latency, geoproximity and CIDR routing, traffic policies, private zones, zone and
 * health-check creation through the API (seed them through the options).
 *
 * This file wires the parts, one job each: the HTTP side (`route53-http-api.ts`, `verify-sigv4.ts`,
 * `route53-errors.ts`), request and response XML (`parse-request-xml.ts`, `write-response-xml.ts`), the zones and
 * their change batches (`hosted-zones.ts`, `change-batch.ts`, `record-sets.ts`, `hosted-zone-api.ts`), health
 * checks (`health-checks.ts`, `health-check-api.ts`), DNS answers (`answer-dns.ts`) and seeds (`route53-seed.ts`).
 */
import { startDnsServer } from '../dns/dns-server.js';
import type { DnsServer } from '../dns/dns-server.js';
import { DnsAnswers } from './answer-dns.js';
import type { AliasTarget } from './answer-dns.js';
import { getHealthCheck, getHealthCheckStatus, updateHealthCheck } from './health-check-api.js';
import { HealthChecks } from './health-checks.js';
import {
  changeResourceRecordSets,
  getChange,
  getHostedZone,
  listResourceRecordSets,
} from './hosted-zone-api.js';
import { HostedZones } from './hosted-zones.js';
import { cloneRecord } from './record-sets.js';
import { Route53HttpApi } from './route53-http-api.js';
import type { ApiCall } from './route53-http-api.js';
import { plainName } from './route53-names.js';
import type { Route53StandIn, Route53StandInOptions } from './route53-types.js';

export { CHECKER_REGIONS } from './health-checks.js';
export { plainName, route53Name } from './route53-names.js';
export { route53SeedFor } from './route53-seed.js';
export type { Route53Seed, SeedSiteOptions } from './route53-seed.js';
export { ROUTE53_ACTIONS } from './route53-types.js';
export type {
  AliasTargetSpec,
  ChangeView,
  FailoverRole,
  HealthCheckSeed,
  HealthCheckView,
  HostedZoneSeed,
  LoggedChange,
  RecordSetSpec,
  Route53Action,
  Route53Fault,
  Route53RequestLogEntry,
  Route53StandIn,
  Route53StandInOptions,
} from './route53-types.js';
export { ROUTE53_XMLNS } from './write-response-xml.js';

/** Starts the stand-in on 127.0.0.1: the HTTP API and (unless `dns: false`) the DNS server. */
export async function startRoute53ApiServer(options: Route53StandInOptions = {}): Promise<Route53StandIn> {
  const now = options.now ?? Date.now;
  let insyncAfterMs = options.insyncAfterMs ?? 0;
  const healthChecks = new HealthChecks(
    options.healthChecks ?? [],
    now,
    options.healthCheckPropagationMs ?? 0,
  );
  const zones = new HostedZones(options.zones ?? [], now);
  const aliasTargets = new Map<string, AliasTarget>();
  for (const [name, addresses] of Object.entries(options.aliasTargets ?? {})) {
    aliasTargets.set(plainName(name), { addresses: [...addresses], healthy: true });
  }
  const aliasTargetZones = new Map(
    Object.entries(options.aliasTargetZones ?? {}).map(([id, name]) => [id, plainName(name)]),
  );
  const aliasTargetZone = (zoneId: string) => {
    const name = aliasTargetZones.get(zoneId);
    if (name === undefined) return undefined;
    // A load balancer's name answers A and AAAA (dualstack); that is all an alias to it can be.
    const has = (target: string, type: string) =>
      (type === 'A' || type === 'AAAA') && aliasTargets.has(target.replace(/^dualstack\./, ''));
    return { name, has };
  };

  const handle = ({ action, id, query, body, entry }: ApiCall): string => {
    switch (action) {
      case 'ChangeResourceRecordSets':
        return changeResourceRecordSets(zones, zones.get(id), {
          body,
          insyncAfterMs,
          requireHealthCheck: (healthCheckId) => void healthChecks.get(healthCheckId),
          aliasTargetZone,
          onChanges: (changes) => {
            entry.changes = changes;
          },
        });
      case 'ListResourceRecordSets':
        return listResourceRecordSets(zones.get(id), query);
      case 'GetHostedZone':
        return getHostedZone(zones.get(id));
      case 'GetChange':
        return getChange(zones, id);
      case 'GetHealthCheck':
        return getHealthCheck(healthChecks.get(id));
      case 'UpdateHealthCheck':
        return updateHealthCheck(healthChecks, healthChecks.get(id), body);
      case 'GetHealthCheckStatus':
        return getHealthCheckStatus(healthChecks, healthChecks.get(id), now());
    }
  };

  const api = await Route53HttpApi.start({
    now,
    handle,
    latencyMs: options.latencyMs ?? 0,
    ...(options.port !== undefined && { port: options.port }),
    ...(options.requestsPerSecond !== undefined && { requestsPerSecond: options.requestsPerSecond }),
    ...(options.credentials !== undefined && { credentials: options.credentials }),
  });

  const answers = new DnsAnswers(zones, healthChecks, aliasTargets, now);
  const aliasZoneNames = new Set(aliasTargetZones.values());
  let dnsServer: DnsServer | undefined;
  let aliasDnsServer: DnsServer | undefined;
  try {
    if (options.dns !== false) {
      dnsServer = await startDnsServer({ answer: (question) => answers.answer(question) });
      aliasDnsServer = await startDnsServer({
        answer: (question) => answers.answerAliasZone(question, aliasZoneNames),
      });
    }
  } catch (error) {
    await Promise.all([api.close(), dnsServer?.close()]);
    throw error;
  }

  return {
    endpoint: api.endpoint,
    dnsAddress: dnsServer?.address ?? '',
    dnsPort: dnsServer?.port ?? 0,
    aliasDnsAddress: aliasDnsServer?.address ?? '',
    aliasDnsPort: aliasDnsServer?.port ?? 0,
    requests: api.requests,
    clearRequests: () => void api.requests.splice(0, api.requests.length),
    records: (zoneId) => zones.get(zoneId).records.map(cloneRecord),
    servedRecords: (zoneId) => zones.served(zones.get(zoneId), now()).map(cloneRecord),
    change: (changeId) => {
      const change = zones.change(changeId);
      return change && zones.view(change);
    },
    changes: () => zones.changes(),
    healthCheck: (id) => healthChecks.view(id),
    failNext: (count, fault, failOptions) => api.failNext(count, fault, failOptions?.action),
    setOutage: (on) => {
      api.outage = on;
    },
    setLatencyMs: (ms) => {
      api.latencyMs = ms;
    },
    setInsyncAfterMs: (ms) => {
      insyncAfterMs = ms;
    },
    setHealthCheckPropagationMs: (ms) => {
      healthChecks.propagationMs = ms;
    },
    setHealth: (id, healthy) => healthChecks.setHealth(id, healthy),
    setAliasTarget: (dnsName, addresses, aliasOptions) => {
      aliasTargets.set(plainName(dnsName), {
        addresses: [...addresses],
        healthy: aliasOptions?.healthy ?? true,
      });
    },
    close: async () => {
      await Promise.all([
        api.close(),
        dnsServer?.close() ?? Promise.resolve(),
        aliasDnsServer?.close() ?? Promise.resolve(),
      ]);
    },
  };
}
