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
import type { ResourceRecordSet, Route53Client } from '@aws-sdk/client-route-53';
import type { ClusterId, SiteConfig } from '../../config/topology.js';
import { systemClock } from '../../core/clock.js';
import type { CallOptions, Clock, DnsChange, DnsPort, Log, WaitOptions } from '../../core/ports.js';
import { BatonError } from '../../errors.js';
import { resolveTarget } from '../resolve-dns.js';
import type { ResolvedTarget, ResolveTargetOptions } from '../resolve-dns.js';
import { recordChangeStatus, swapFailoverRoles, upsertSimpleRecord } from './change-record-sets.js';
import { createRoute53Client } from './create-route53-client.js';
import type { Route53ConnectionOptions } from './create-route53-client.js';
import {
  answeredCluster,
  healthCheckChangeStatus,
  invertHealthChecks,
  isHealthCheckChange,
} from './health-check-inversion.js';
import { readRecordSets } from './read-record-sets.js';
import { clusterOfRecord, targetMatches } from './record-match.js';
import { RequestRateLimiter } from './request-rate-limiter.js';
import { Route53Requests } from './route53-requests.js';
import type { Route53RetryOptions } from './route53-requests.js';
import { waitForInsync } from './wait-for-insync.js';
import { ZoneNameServers } from './zone-name-servers.js';

/** How {@link Route53Dns} reaches Route 53, paces and retries requests, and verifies DNS. */
export interface Route53DnsOptions extends Route53ConnectionOptions {
  /** A ready client (tests, or a custom credential setup); otherwise one is built from the connection options. */
  client?: Route53Client;
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

const DEFAULT_RATE = 5;
// Route 53 counts requests when they arrive; the margin keeps network jitter from landing six in one of its seconds.
const RATE_WINDOW_MS = 1000;
const RATE_MARGIN_MS = 100;

/** The DNS port on Amazon Route 53. */
export class Route53Dns implements DnsPort {
  private readonly log: Log;
  private readonly clock: Clock;
  private readonly requests: Route53Requests;
  private readonly nameServers: ZoneNameServers;

  constructor(private readonly options: Route53DnsOptions) {
    this.log = options.log.child({ adapter: 'route53' });
    this.clock = options.clock ?? systemClock;
    const client = options.client ?? createRoute53Client(options);
    const limiter = new RequestRateLimiter(
      options.maxRequestsPerSecond ?? DEFAULT_RATE,
      RATE_WINDOW_MS + RATE_MARGIN_MS,
      this.clock,
    );
    this.requests = new Route53Requests(client, limiter, {
      log: this.log,
      clock: this.clock,
      random: options.random ?? Math.random,
      retry: options.retry,
    });
    this.nameServers = new ZoneNameServers(this.requests, this.clock);
  }

  /** Closes the SDK client's connections (not those of a client passed in `options.client`). */
  close(): void {
    if (!this.options.client) this.requests.client.destroy();
  }

  /** When each of the most recent requests (up to 1000) started, for benchmarks and tests of the rate limit. */
  requestStarts(): readonly number[] {
    return this.requests.requestStarts();
  }

  /** The record sets with the site's name and type, read from the start of that name/type until the first other. */
  async recordSets(site: SiteConfig, options: CallOptions = {}): Promise<ResourceRecordSet[]> {
    return readRecordSets(this.requests, site, options);
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
        return (primary && clusterOfRecord(site, primary)) ?? null;
      }
      case 'health-check-inversion':
        return answeredCluster(this.requests, site, records, options);
    }
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
        return swapFailoverRoles(this.requests, site, cluster, log, options);
      case 'simple-record':
        return upsertSimpleRecord(this.requests, site, cluster, log, options);
      case 'health-check-inversion':
        return invertHealthChecks(this.requests, site, cluster, log, options);
    }
  }

  async changeStatus(changeId: string, options: CallOptions = {}): Promise<'PENDING' | 'INSYNC'> {
    if (isHealthCheckChange(changeId)) return healthCheckChangeStatus(this.requests, changeId, options);
    return recordChangeStatus(this.requests, changeId, options);
  }

  /** Polls `changeStatus` about every 2 s until INSYNC, the step's signal aborts, or `timeoutMs` passes. */
  async waitForInsync(changeId: string, options: WaitOptions): Promise<{ waitedMs: number }> {
    return { waitedMs: await waitForInsync(this, changeId, { ...options, clock: this.clock }) };
  }

  async resolveTarget(site: SiteConfig, { signal }: CallOptions = {}): Promise<ResolvedTarget> {
    if (this.options.resolve) return this.options.resolve(site);
    const { nameServerPort, ...settings } = this.options.resolver ?? {};
    return resolveTarget(site, {
      ...settings,
      ...(signal && { signal }),
      defaultServers: () => this.nameServers.get(site, nameServerPort ?? 53, signal),
    });
  }
}
