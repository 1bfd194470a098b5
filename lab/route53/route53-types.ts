/**
 * The Route 53 stand-in's public shapes: what it is seeded with, the options it starts with, the API actions it
 * serves, and the handle tests and the sandbox drive it through.
 */

export type FailoverRole = 'PRIMARY' | 'SECONDARY';

export interface AliasTargetSpec {
  hostedZoneId: string;
  dnsName: string;
  evaluateTargetHealth: boolean;
}

/** A resource record set as the API carries it (names as given on input; normalized and escaped when read back). */
export interface RecordSetSpec {
  name: string;
  type: string;
  setIdentifier?: string;
  weight?: number;
  region?: string;
  failover?: FailoverRole;
  multiValueAnswer?: boolean;
  ttl?: number;
  values?: string[];
  aliasTarget?: AliasTargetSpec;
  healthCheckId?: string;
}

export interface HostedZoneSeed {
  /** Without the `/hostedzone/` prefix. */
  id: string;
  /** e.g. `example.com`. */
  name: string;
  /** The delegation set GetHostedZone reports (default: four awsdns-style names). */
  nameServers?: string[];
  records?: RecordSetSpec[];
}

export interface HealthCheckSeed {
  id: string;
  /** Whether the endpoint answers (what the checkers see before inversion); default true. */
  healthy?: boolean;
  inverted?: boolean;
  disabled?: boolean;
  type?: 'HTTP' | 'HTTPS' | 'TCP' | 'CALCULATED';
  /** CALCULATED only: the ids of the child checks (seeded in the same list). */
  childHealthChecks?: string[];
  /** CALCULATED only: how many children must be healthy (default: all of them). */
  healthThreshold?: number;
  fqdn?: string;
  ipAddress?: string;
  port?: number;
  resourcePath?: string;
}

export interface Route53StandInOptions {
  zones?: HostedZoneSeed[];
  healthChecks?: HealthCheckSeed[];
  /** Addresses the DNS server answers for alias target names outside the hosted zones, e.g. load balancers. */
  aliasTargets?: Record<string, string[]>;
  /**
   * AWS's own hosted zones that aliases may point into, zone id → zone name: a load balancer's canonical hosted
   * zone (`Z35SXDOTRQ7X7K` → `elb.amazonaws.com`). An alias whose HostedZoneId is neither one of these nor a hosted
   * zone of the stand-in, or whose name lies outside that zone, is refused as Route 53 refuses it; one inside it
   * must name an `aliasTargets` entry.
   */
  aliasTargetZones?: Record<string, string>;
  /** How long a change stays PENDING (default 0). */
  insyncAfterMs?: number;
  /** How long an UpdateHealthCheck `Inverted` takes to reach the checkers (default 0). */
  healthCheckPropagationMs?: number;
  /** Added before every response (default 0). */
  latencyMs?: number;
  /**
   * Emulates the account quota (Route 53 allows five requests per second): a request beyond this many in the
   * trailing second is answered `Throttling`. Off by default.
   */
  requestsPerSecond?: number;
  /** When set, SigV4 signatures are verified against these credentials; otherwise only their presence is checked. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Start the UDP DNS server (default true). */
  dns?: boolean;
  /** HTTP port (default: a free one). */
  port?: number;
  /** Wall clock in ms (default Date.now); change timings and health propagation read it. */
  now?: () => number;
}

/** The IAM actions (API operations) the stand-in serves. */
export const ROUTE53_ACTIONS = [
  'ChangeResourceRecordSets',
  'ListResourceRecordSets',
  'GetHostedZone',
  'GetChange',
  'GetHealthCheck',
  'UpdateHealthCheck',
  'GetHealthCheckStatus',
] as const;
export type Route53Action = (typeof ROUTE53_ACTIONS)[number];

export type Route53Fault =
  'Throttling' | 'PriorRequestNotComplete' | 'AccessDenied' | 'InternalFailure' | 'ServiceUnavailable';

/** One change of a ChangeResourceRecordSets request, as IAM's condition keys see it. */
export interface LoggedChange {
  action: string;
  /** route53Name form (`app.example.com.`). */
  name: string;
  type: string;
}

export interface Route53RequestLogEntry {
  /** When the request arrived (ms, from `now`). */
  at: number;
  method: string;
  path: string;
  action: Route53Action | 'Unknown';
  /** The zone, change or health check id in the path (absent for paths the stand-in does not serve). */
  resourceId?: string;
  /** For a ChangeResourceRecordSets request whose body parsed: its changes, in order. */
  changes?: LoggedChange[];
  /** HTTP status sent, 0 when the connection was reset. */
  status: number;
  errorCode?: string;
  /** The connection was reset (an injected outage). */
  reset?: boolean;
}

export interface ChangeView {
  id: string;
  zoneId: string;
  status: 'PENDING' | 'INSYNC';
  submittedAt: string;
  comment?: string;
}

export interface HealthCheckView {
  id: string;
  version: number;
  /** As configured (what GetHealthCheck says). */
  inverted: boolean;
  disabled: boolean;
  /** Checkers that see the endpoint healthy, before inversion (of CHECKER_REGIONS.length); 0 for CALCULATED. */
  healthyCheckers: number;
  /** What Route 53 routes on now: more than 18% of checkers healthy, after inversion as the checkers know it. */
  effectiveHealthy: boolean;
}

export interface Route53StandIn {
  /** Base URL for the SDK's `endpoint` (or AWS_ENDPOINT_URL_ROUTE_53). */
  endpoint: string;
  /** `127.0.0.1:port` of the DNS server (empty when `dns: false`). */
  dnsAddress: string;
  dnsPort: number;
  /**
   * `127.0.0.1:port` of the load balancers' own zone's name servers (empty when `dns: false`): they answer the
   * `aliasTargets` names, which the hosted zones' server refuses, as Route 53's name servers do.
   */
  aliasDnsAddress: string;
  aliasDnsPort: number;
  /** Requests received (the latest 10,000), oldest first. */
  readonly requests: readonly Route53RequestLogEntry[];
  clearRequests(): void;
  /** The zone's records as ListResourceRecordSets returns them (normalized names), in its order. */
  records(zoneId: string): RecordSetSpec[];
  /** The records the DNS server answers from now (as of the newest INSYNC change). */
  servedRecords(zoneId: string): RecordSetSpec[];
  change(changeId: string): ChangeView | undefined;
  /** All changes, oldest first. */
  changes(): ChangeView[];
  healthCheck(id: string): HealthCheckView | undefined;
  /**
   * Fails the next `count` requests (only those of `action`, when given) with `fault`. Faults are answered after
   * authentication, as the real service does.
   */
  failNext(count: number, fault: Route53Fault, options?: { action?: Route53Action }): void;
  /** Resets every connection (no HTTP response) while on. */
  setOutage(on: boolean): void;
  setLatencyMs(ms: number): void;
  /** Applies to changes submitted from now on. */
  setInsyncAfterMs(ms: number): void;
  setHealthCheckPropagationMs(ms: number): void;
  /** What the checkers see at the endpoint: healthy or not, or how many of the checkers see it healthy. */
  setHealth(healthCheckId: string, healthy: boolean | number): void;
  /** Addresses and health of an alias target name (e.g. a load balancer) outside the hosted zones. */
  setAliasTarget(dnsName: string, addresses: string[], options?: { healthy?: boolean }): void;
  close(): Promise<void>;
}
