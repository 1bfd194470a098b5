/**
 * The DNS port against Amazon Route 53, through the official SDK. Every request — first tries and retries alike —
 * passes one rate limiter (Route 53 allows five requests per second per account, shared with every other tool
 * on it), and retries are Baton's own: the SDK's are off so that the limiter sees each attempt.
 *
 * Strategies (`dns.strategy`):
 * - `failover-records`: a PRIMARY/SECONDARY pair told apart by SetIdentifier. `switchTo` swaps the roles in one
 *   atomic change batch (two UPSERTs); `currentTarget` is the cluster whose record is PRIMARY.
 * - `simple-record`: one record; `switchTo` UPSERTs it with the target's alias or values; `currentTarget` is the
 *   cluster whose target the record matches.
 * - `health-check-inversion`: the failover records never change; `switchTo` clears `Inverted` on the target's
 *   health check and sets it on the source's, so the source reports unhealthy and Route 53 answers with the
 *   target. A source check that already reports unhealthy is left alone: inverting it would make a dead cluster
 *   look healthy. The change id is synthetic (`hci:<source check>:<target check>`); `changeStatus` is INSYNC once
 *   GetHealthCheckStatus shows the source unhealthy and the target healthy by Route 53's own rule (more than 18%
 *   of checkers healthy). `currentTarget` is the record Route 53 answers with now: the PRIMARY if its check is
 *   healthy, else the SECONDARY if healthy, else the PRIMARY (Route 53 answers as if all were healthy).
 */
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHealthCheckCommand,
  GetHealthCheckStatusCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  UpdateHealthCheckCommand,
} from '@aws-sdk/client-route-53';
import type {
  Change,
  HealthCheck,
  HealthCheckObservation,
  ResourceRecordSet,
  Route53ClientConfig,
  RRType,
} from '@aws-sdk/client-route-53';
import type { ClusterId, DnsTarget, SiteConfig } from '../config/topology.js';
import { systemClock } from '../core/clock.js';
import type { CallOptions, Clock, DnsChange, DnsPort, Log, WaitOptions } from '../core/ports.js';
import { waitUntil } from '../core/wait.js';
import { BatonError } from '../errors.js';
import { normalizeAddress, normalizeDnsName, parseHostPort, resolveTarget } from './resolve-dns.js';
import type { ResolvedTarget, ResolveTargetOptions } from './resolve-dns.js';

/** The Route 53 API operations Baton calls; each is also the IAM action `route53:<name>`. */
export type Route53Action =
  | 'ChangeResourceRecordSets'
  | 'ListResourceRecordSets'
  | 'GetChange'
  | 'GetHostedZone'
  | 'GetHealthCheck'
  | 'UpdateHealthCheck'
  | 'GetHealthCheckStatus';

export interface Route53RetryOptions {
  /** Attempts per request, the first included (default 5). */
  attempts?: number;
  /** Backoff before the second attempt; doubles each time (default 200 ms). */
  baseDelayMs?: number;
  /** Backoff cap (default 5000 ms). */
  maxDelayMs?: number;
}

export interface Route53DnsOptions {
  /** A ready client (tests, or a custom credential setup); otherwise one is built from the options below. */
  client?: Route53Client;
  /** Endpoint override, e.g. AWS_ENDPOINT_URL_ROUTE_53 (the sandbox's stand-in). */
  endpoint?: string;
  /** Signing region (default us-east-1; Route 53 is global). */
  region?: string;
  /** Default: the SDK's standard chain (env, profile, web identity, container, instance role). */
  credentials?: Route53ClientConfig['credentials'];
  /** Socket timeout per HTTP request (default 10 s). */
  requestTimeoutMs?: number;
  log: Log;
  /** Requests allowed to start in any one second (default 5, Route 53's account quota). */
  maxRequestsPerSecond?: number;
  retry?: Route53RetryOptions;
  clock?: Clock;
  /** [0, 1) source for backoff jitter (default Math.random). */
  random?: () => number;
  /** Replaces DNS verification entirely (e.g. a sandbox without DNS). */
  resolve?: (site: SiteConfig) => Promise<ResolvedTarget>;
  /** Settings for DNS verification through resolve-dns.ts. */
  resolver?: Pick<ResolveTargetOptions, 'timeoutMs' | 'tries' | 'lookup'> & {
    /** Port of the zone's name servers when `dns.resolvers` is not set (default 53). */
    nameServerPort?: number;
  };
}

export interface WaitForInsyncOptions extends WaitOptions {
  /** Default 2000 ms (DESIGN §5: poll about every 2 s). */
  pollMs?: number;
  clock?: Clock;
}

const DEFAULT_RATE = 5;
// Route 53 counts requests when they arrive; the margin keeps network jitter from landing six in one of its seconds.
const RATE_WINDOW_MS = 1000;
const RATE_MARGIN_MS = 100;
const REQUEST_LOG_SIZE = 1000;
const NAME_SERVER_CACHE_MS = 5 * 60_000;
const HCI_PREFIX = 'hci:';

/**
 * Lets at most `limit` requests start in any window of `windowMs`: each start holds one of `limit` tokens, which
 * comes back `windowMs` after that start. Callers are served in arrival order.
 */
export class RequestRateLimiter {
  private readonly recent: number[] = [];
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {
    if (!(limit >= 1)) throw new RangeError(`rate limit must be at least 1 request per window, got ${limit}`);
  }

  /** Resolves with the start time once a request may start. */
  acquire(): Promise<number> {
    const turn = this.tail.then(async () => {
      for (;;) {
        const now = this.clock.now();
        while (this.recent.length > 0 && (this.recent[0] ?? 0) <= now - this.windowMs) this.recent.shift();
        if (this.recent.length < this.limit) {
          this.recent.push(now);
          return now;
        }
        await this.clock.sleep((this.recent[0] ?? now) + this.windowMs - now);
      }
    });
    this.tail = turn.catch(() => undefined);
    return turn;
  }
}

interface Resource {
  kind: 'hosted zone' | 'change' | 'health check';
  id: string;
}

const RETRIABLE_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'PriorRequestNotComplete',
  'ServiceUnavailable',
  'InternalFailure',
  'InternalError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const CREDENTIAL_CODES = new Set([
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'ExpiredToken',
  'ExpiredTokenException',
]);

interface SdkErrorShape {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

const sdkError = (error: unknown): SdkErrorShape =>
  typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};

/** Whether trying the same request again can help: throttling, a busy zone, 5xx, or no HTTP answer at all. */
function isRetriable(error: unknown): boolean {
  const { name = '', $metadata } = sdkError(error);
  if (name === 'AbortError' || name === 'CredentialsProviderError') return false;
  if (RETRIABLE_CODES.has(name)) return true;
  const status = $metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500;
  // No HTTP status: the request never got an answer (reset, refused, timed out).
  return error instanceof Error;
}

const describeSdkError = (error: unknown): string => {
  const { name, message, code } = sdkError(error);
  const label = name && name !== 'Error' ? name : (code ?? 'Error');
  return message ? `${label}: ${message}` : label;
};

/** An SDK error → the BatonError an operator can act on. */
function translate(error: unknown, action: Route53Action, resource: Resource, attempts: number): BatonError {
  const { name = '', message = '', $metadata } = sdkError(error);
  const on = `${resource.kind} ${resource.id}`;
  const cause = { cause: error };
  if (name === 'CredentialsProviderError') {
    return new BatonError(
      'route53-no-credentials',
      `No AWS credentials for Route 53 (${message}) — provide them the AWS SDK way: AWS_ACCESS_KEY_ID and ` +
        `AWS_SECRET_ACCESS_KEY, AWS_PROFILE, a web identity token (IRSA, EKS Pod Identity) or an instance role`,
      cause,
    );
  }
  if (CREDENTIAL_CODES.has(name)) {
    return new BatonError(
      'route53-credentials-rejected',
      `Route 53 rejected Baton's AWS credentials on route53:${action} (${name}: ${message}) — check the access key, ` +
        `secret and session the AWS SDK picks up`,
      { retriable: name.startsWith('ExpiredToken'), ...cause },
    );
  }
  if (name === 'AccessDenied' || name === 'AccessDeniedException' || $metadata?.httpStatusCode === 403) {
    return new BatonError(
      'route53-access-denied',
      `Route 53 denied route53:${action} on ${on} — grant the IAM role route53:${action}`,
      cause,
    );
  }
  switch (name) {
    case 'NoSuchHostedZone':
      return new BatonError(
        'route53-no-such-hosted-zone',
        `Route 53 has no hosted zone ${resource.id} (${message}) — check dns.hostedZoneId in the topology file`,
        cause,
      );
    case 'InvalidChangeBatch':
      return new BatonError(
        'route53-invalid-change-batch',
        `Route 53 rejected the change batch for ${on}: ${message} — compare the zone's records with the site's dns ` +
          `settings (recordName, recordType, setIdentifiers, targets)`,
        cause,
      );
    case 'NoSuchChange':
      return new BatonError(
        'route53-no-such-change',
        `Route 53 has no change ${resource.id} (${message}) — check the record itself with /failover status`,
        cause,
      );
    case 'NoSuchHealthCheck':
      return new BatonError(
        'route53-no-such-health-check',
        `Route 53 has no health check ${resource.id} (${message}) — check dns.healthCheckIds in the topology file`,
        cause,
      );
    case 'HealthCheckVersionMismatch':
      return new BatonError(
        'route53-health-check-conflict',
        `Health check ${resource.id} changed while Baton was updating it (${message}) — someone else is editing ` +
          `it; retrying re-reads it`,
        { retriable: true, ...cause },
      );
    case 'InvalidInput':
      return new BatonError(
        'route53-invalid-input',
        `Route 53 refused route53:${action} on ${on}: ${message}`,
        cause,
      );
  }
  if (isRetriable(error)) {
    const hint =
      name === 'PriorRequestNotComplete'
        ? `Route 53 was still processing an earlier change to ${on}`
        : RETRIABLE_CODES.has(name) && name.startsWith('Thrott')
          ? `the account's 5 requests/s quota is shared with every tool using it (external-dns, Terraform, CI)`
          : 'Route 53 or the network to it is failing';
    return new BatonError(
      'route53-unavailable',
      `Route 53 kept failing route53:${action} on ${on}: ${attempts} attempts, the last ${describeSdkError(error)} — ` +
        `${hint}; the step can be retried`,
      { retriable: true, ...cause },
    );
  }
  return new BatonError(
    'route53-error',
    `route53:${action} on ${on} failed: ${describeSdkError(error)}`,
    cause,
  );
}

const stripPrefix = (id: string): string => id.replace(/^\/(?:hostedzone|change|healthcheck)\//, '');

/** Alias names compare without case, trailing dot, or the `dualstack.` prefix the console adds for load balancers. */
const aliasKey = (name: string): string => normalizeDnsName(name).replace(/^dualstack\./, '');

function targetMatches(target: DnsTarget | undefined, record: ResourceRecordSet, type: string): boolean {
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
    stripPrefix(alias.HostedZoneId ?? '').toUpperCase() ===
      stripPrefix(target.aliasHostedZoneId).toUpperCase()
  );
}

/** Route 53's rule: healthy when more than 18% of the checkers report success. No reports yet: healthy. */
function healthyFromObservations(observations: HealthCheckObservation[] | undefined): boolean {
  const reports = observations ?? [];
  if (reports.length === 0) return true;
  const healthy = reports.filter((report) => report.StatusReport?.Status?.startsWith('Success')).length;
  return healthy / reports.length > 0.18;
}

/**
 * Polls `changeStatus` until INSYNC, about every `pollMs`; stops when the signal aborts, or with a retriable
 * `dns-change-timeout` at `timeoutMs`. Returns how long it waited.
 */
export async function waitForInsync(
  dns: Pick<DnsPort, 'changeStatus'>,
  changeId: string,
  options: WaitForInsyncOptions,
): Promise<number> {
  const clock = options.clock ?? systemClock;
  const started = clock.now();
  await waitUntil(
    clock,
    {
      ...options,
      pollMs: options.pollMs ?? 2000,
      timeoutError: (_seen, waitedMs) =>
        new BatonError(
          'dns-change-timeout',
          `Route 53 change ${changeId} is still PENDING after ${Math.round(waitedMs / 1000)} s — changes normally ` +
            'reach every Route 53 name server within 60 s; check the AWS Health Dashboard, then retry',
          { retriable: true },
        ),
    },
    async () =>
      (await dns.changeStatus(changeId, options.signal ? { signal: options.signal } : {})) === 'INSYNC'
        ? { done: true, value: undefined }
        : { done: false, seen: `change ${changeId} PENDING` },
  );
  return clock.now() - started;
}

/** The DNS port on Amazon Route 53. */
export class Route53Dns implements DnsPort {
  private readonly client: Route53Client;
  private readonly log: Log;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly limiter: RequestRateLimiter;
  private readonly retry: Required<Route53RetryOptions>;
  private readonly starts: number[] = [];
  private readonly nameServers = new Map<string, { servers: string[]; until: number }>();

  constructor(private readonly options: Route53DnsOptions) {
    this.log = options.log.child({ adapter: 'route53' });
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.client =
      options.client ??
      new Route53Client({
        region: options.region ?? 'us-east-1',
        maxAttempts: 1,
        requestHandler: {
          connectionTimeout: 5000,
          requestTimeout: options.requestTimeoutMs ?? 10_000,
        },
        ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
        ...(options.credentials !== undefined && { credentials: options.credentials }),
      });
    this.limiter = new RequestRateLimiter(
      options.maxRequestsPerSecond ?? DEFAULT_RATE,
      RATE_WINDOW_MS + RATE_MARGIN_MS,
      this.clock,
    );
    this.retry = {
      attempts: options.retry?.attempts ?? 5,
      baseDelayMs: options.retry?.baseDelayMs ?? 200,
      maxDelayMs: options.retry?.maxDelayMs ?? 5000,
    };
  }

  /** Closes the SDK client's connections (not those of a client passed in `options.client`). */
  close(): void {
    if (!this.options.client) this.client.destroy();
  }

  /** When each of the most recent requests (up to 1000) started, for benchmarks and tests of the rate limit. */
  requestStarts(): readonly number[] {
    return this.starts;
  }

  /** Every attempt passes the limiter; retriable failures back off with jitter, up to `retry.attempts`. */
  private async call<T>(
    action: Route53Action,
    resource: Resource,
    send: (abortSignal?: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      const startedAt = await this.limiter.acquire();
      this.starts.push(startedAt);
      if (this.starts.length > REQUEST_LOG_SIZE) this.starts.shift();
      try {
        return await send(signal);
      } catch (error) {
        if (!isRetriable(error) || attempt >= this.retry.attempts) {
          throw translate(error, action, resource, attempt);
        }
        // Equal jitter: at least half the exponential delay, so a throttled burst spreads out but still waits.
        const cap = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
        const delayMs = Math.round(cap / 2 + (this.random() * cap) / 2);
        this.log.warn(
          { action, resource: resource.id, attempt, delayMs, error: describeSdkError(error) },
          'Route 53 request failed; retrying',
        );
        await this.clock.sleep(delayMs, signal);
      }
    }
  }

  private zone(site: SiteConfig): Resource {
    return { kind: 'hosted zone', id: stripPrefix(site.dns.hostedZoneId) };
  }

  /** The record sets with the site's name and type, read from the start of that name/type until the first other. */
  async recordSets(site: SiteConfig, options: CallOptions = {}): Promise<ResourceRecordSet[]> {
    const { dns } = site;
    const want = normalizeDnsName(dns.recordName);
    const found: ResourceRecordSet[] = [];
    let start: { name: string; type: RRType; identifier?: string } = {
      name: `${want}.`,
      type: dns.recordType,
    };
    for (let page = 0; page < 50; page++) {
      const output = await this.call(
        'ListResourceRecordSets',
        this.zone(site),
        (abortSignal) =>
          this.client.send(
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

  /** The cluster a record belongs to: by SetIdentifier, else by health check id, else by its target. */
  private clusterOf(site: SiteConfig, record: ResourceRecordSet): ClusterId | undefined {
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

  async currentTarget(site: SiteConfig, options: CallOptions = {}): Promise<ClusterId | null> {
    const records = await this.recordSets(site, options);
    const { dns } = site;
    switch (dns.strategy) {
      case 'simple-record': {
        const record = records.find((candidate) => candidate.SetIdentifier === undefined);
        if (!record) return null;
        const matching = Object.keys(site.clusters).filter((cluster) =>
          targetMatches(dns.targets[cluster], record, dns.recordType),
        );
        return matching.length === 1 ? (matching[0] ?? null) : null;
      }
      case 'failover-records': {
        const primary = records.find((record) => record.Failover === 'PRIMARY');
        return (primary && this.clusterOf(site, primary)) ?? null;
      }
      case 'health-check-inversion':
        return this.answeredCluster(site, records, options);
    }
  }

  /** Which failover record Route 53 answers with now, from the live health check status. */
  private async answeredCluster(
    site: SiteConfig,
    records: ResourceRecordSet[],
    options: CallOptions,
  ): Promise<ClusterId | null> {
    const primary = records.find((record) => record.Failover === 'PRIMARY');
    const secondary = records.find((record) => record.Failover === 'SECONDARY');
    const healthy = async (record: ResourceRecordSet | undefined) =>
      record?.HealthCheckId === undefined ? true : this.healthCheckHealthy(record.HealthCheckId, options);
    let answered: ResourceRecordSet | undefined;
    if (primary && (await healthy(primary))) answered = primary;
    else if (secondary && (await healthy(secondary))) answered = secondary;
    else answered = primary ?? secondary;
    return (answered && this.clusterOf(site, answered)) ?? null;
  }

  private async healthCheckHealthy(healthCheckId: string, options: CallOptions): Promise<boolean> {
    const output = await this.call(
      'GetHealthCheckStatus',
      { kind: 'health check', id: healthCheckId },
      (abortSignal) =>
        this.client.send(new GetHealthCheckStatusCommand({ HealthCheckId: healthCheckId }), { abortSignal }),
      options.signal,
    );
    return healthyFromObservations(output.HealthCheckObservations);
  }

  private checkCluster(site: SiteConfig, cluster: ClusterId): void {
    if (!(cluster in site.clusters) || !site.dns.targets[cluster]) {
      throw new BatonError(
        'dns-unknown-cluster',
        `Site ${site.name} has no cluster ${cluster} with a DNS target (clusters: ${Object.keys(site.clusters).join(', ')})`,
      );
    }
  }

  async switchTo(site: SiteConfig, cluster: ClusterId, options: CallOptions = {}): Promise<DnsChange> {
    this.checkCluster(site, cluster);
    const log = this.log.child({ site: site.name, to: cluster, strategy: site.dns.strategy });
    switch (site.dns.strategy) {
      case 'failover-records':
        return this.swapFailoverRoles(site, cluster, log, options);
      case 'simple-record':
        return this.submit(
          site,
          [{ Action: 'UPSERT', ResourceRecordSet: this.simpleRecord(site, cluster) }],
          cluster,
          log,
          options,
        );
      case 'health-check-inversion':
        return this.invertHealthChecks(site, cluster, log, options);
    }
  }

  private simpleRecord(site: SiteConfig, cluster: ClusterId): ResourceRecordSet {
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

  private async swapFailoverRoles(
    site: SiteConfig,
    cluster: ClusterId,
    log: Log,
    options: CallOptions,
  ): Promise<DnsChange> {
    const { dns } = site;
    const records = await this.recordSets(site, options);
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
    return this.submit(site, changes, cluster, log, options);
  }

  private async submit(
    site: SiteConfig,
    changes: Change[],
    cluster: ClusterId,
    log: Log,
    options: CallOptions,
  ): Promise<DnsChange> {
    const output = await this.call(
      'ChangeResourceRecordSets',
      this.zone(site),
      (abortSignal) =>
        this.client.send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: site.dns.hostedZoneId,
            ChangeBatch: { Comment: `Baton: ${site.name} served by ${cluster}`, Changes: changes },
          }),
          { abortSignal },
        ),
      options.signal,
    );
    const changeId = stripPrefix(output.ChangeInfo?.Id ?? '');
    log.info(
      { changeId, status: output.ChangeInfo?.Status, changes: changes.length },
      'Route 53 change submitted',
    );
    return { changeId };
  }

  private async getHealthCheck(id: string, options: CallOptions): Promise<HealthCheck> {
    const output = await this.call(
      'GetHealthCheck',
      { kind: 'health check', id },
      (abortSignal) => this.client.send(new GetHealthCheckCommand({ HealthCheckId: id }), { abortSignal }),
      options.signal,
    );
    if (!output.HealthCheck)
      throw new BatonError('route53-error', `GetHealthCheck for ${id} returned no health check`);
    return output.HealthCheck;
  }

  private async setInverted(check: HealthCheck, inverted: boolean, options: CallOptions): Promise<void> {
    const id = check.Id ?? '';
    await this.call(
      'UpdateHealthCheck',
      { kind: 'health check', id },
      (abortSignal) =>
        this.client.send(
          new UpdateHealthCheckCommand({
            HealthCheckId: id,
            // Optimistic concurrency: a concurrent edit fails with HealthCheckVersionMismatch instead of being lost.
            ...(check.HealthCheckVersion !== undefined && { HealthCheckVersion: check.HealthCheckVersion }),
            Inverted: inverted,
          }),
          { abortSignal },
        ),
      options.signal,
    );
  }

  private async invertHealthChecks(
    site: SiteConfig,
    cluster: ClusterId,
    log: Log,
    options: CallOptions,
  ): Promise<DnsChange> {
    const ids = site.dns.healthCheckIds ?? {};
    const targetId = ids[cluster];
    const source = Object.keys(site.clusters).find((candidate) => candidate !== cluster);
    const sourceId = source === undefined ? undefined : ids[source];
    if (targetId === undefined || sourceId === undefined) {
      throw new BatonError(
        'dns-misconfigured',
        `Site ${site.name} uses health-check-inversion but dns.healthCheckIds lacks ${targetId === undefined ? cluster : source}`,
      );
    }
    const [targetCheck, sourceCheck] = [
      await this.getHealthCheck(targetId, options),
      await this.getHealthCheck(sourceId, options),
    ];
    if (targetCheck.HealthCheckConfig?.Inverted) {
      await this.setInverted(targetCheck, false, options);
      log.info({ healthCheckId: targetId }, 'target health check no longer inverted');
    }
    if (!sourceCheck.HealthCheckConfig?.Inverted) {
      if (await this.healthCheckHealthy(sourceId, options)) {
        await this.setInverted(sourceCheck, true, options);
        log.info({ healthCheckId: sourceId }, 'source health check inverted');
      } else {
        // Inverting a failing check would report the dead cluster healthy and pull traffic back to it.
        log.warn({ healthCheckId: sourceId }, 'source health check already unhealthy; left uninverted');
      }
    }
    return { changeId: `${HCI_PREFIX}${sourceId}:${targetId}` };
  }

  async changeStatus(changeId: string, options: CallOptions = {}): Promise<'PENDING' | 'INSYNC'> {
    if (changeId.startsWith(HCI_PREFIX)) {
      const [sourceId = '', targetId = ''] = changeId.slice(HCI_PREFIX.length).split(':');
      const sourceHealthy = await this.healthCheckHealthy(sourceId, options);
      const targetHealthy = await this.healthCheckHealthy(targetId, options);
      return !sourceHealthy && targetHealthy ? 'INSYNC' : 'PENDING';
    }
    const id = stripPrefix(changeId);
    const output = await this.call(
      'GetChange',
      { kind: 'change', id },
      (abortSignal) => this.client.send(new GetChangeCommand({ Id: id }), { abortSignal }),
      options.signal,
    );
    return output.ChangeInfo?.Status === 'INSYNC' ? 'INSYNC' : 'PENDING';
  }

  /** Polls `changeStatus` about every 2 s until INSYNC, the step's signal aborts, or `timeoutMs` passes. */
  async waitForInsync(changeId: string, options: WaitOptions): Promise<{ waitedMs: number }> {
    return { waitedMs: await waitForInsync(this, changeId, { ...options, clock: this.clock }) };
  }

  async resolveTarget(site: SiteConfig, _options: CallOptions = {}): Promise<ResolvedTarget> {
    if (this.options.resolve) return this.options.resolve(site);
    const { nameServerPort, ...settings } = this.options.resolver ?? {};
    return resolveTarget(site, {
      ...settings,
      defaultServers: () => this.zoneNameServers(site, nameServerPort ?? 53),
    });
  }

  /** The hosted zone's delegation set as `host:port`, cached: verify polls often and name servers rarely change. */
  private async zoneNameServers(site: SiteConfig, port: number): Promise<string[]> {
    const zoneId = stripPrefix(site.dns.hostedZoneId);
    const cached = this.nameServers.get(zoneId);
    if (cached && cached.until > this.clock.now()) return cached.servers;
    const output = await this.call('GetHostedZone', this.zone(site), () =>
      this.client.send(new GetHostedZoneCommand({ Id: zoneId })),
    );
    const servers = (output.DelegationSet?.NameServers ?? []).map((server) => {
      const { host } = parseHostPort(server);
      return `${host.includes(':') ? `[${host}]` : host}:${port}`;
    });
    this.nameServers.set(zoneId, { servers, until: this.clock.now() + NAME_SERVER_CACHE_MS });
    return servers;
  }
}
