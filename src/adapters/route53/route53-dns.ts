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
 * - `health-check-inversion`: the failover records never change; `switchTo` clears `Inverted` and `Disabled` on
 *   the target's health check and sets both on the source's, which Route 53 then considers unhealthy whatever the
 *   endpoint does (health-check-inversion.ts cites the rules). The change id is synthetic
 *   (`hci:<source check>:<target check>`). `currentTarget` and `changeStatus` read what users get: the answers of
 *   the zone's name servers (or `dns.resolvers`), through the same `resolveTarget` as verification — never
 *   GetHealthCheckStatus, which AWS documents as a development aid. A change id from another process (a resumed
 *   run) is INSYNC once its site has been read here and DNS answers the target; before that, once Route 53 holds
 *   both checks as the switch left them.
 */
import type { ResourceRecordSet, Route53Client } from '@aws-sdk/client-route-53';
import type { ClusterId, SiteConfig } from '../../config/topology.js';
import { systemClock } from '../../core/clock.js';
import type { CallOptions, Clock, DnsChange, DnsPort, Log, WaitOptions } from '../../core/ports.js';
import { BatonError } from '../../errors.js';
import { resolveTarget } from '../resolve-dns.js';
import type { ResolvedTarget, ResolveTargetOptions } from '../resolve-dns.js';
import { ZoneChanges } from './change-batches.js';
import { swapFailoverRoles, upsertSimpleRecord } from './change-record-sets.js';
import type { SwitchPaths } from './change-record-sets.js';
import { ChangeStatuses } from './change-statuses.js';
import { createRoute53Client } from './create-route53-client.js';
import type { Route53ConnectionOptions } from './create-route53-client.js';
import {
  healthCheckChangeId,
  healthCheckSettingsApplied,
  invertHealthChecks,
  isHealthCheckChange,
} from './health-check-inversion.js';
import { ZoneReads } from './read-record-sets.js';
import { clusterOfRecord, targetMatches } from './record-match.js';
import { RequestRateLimiter } from '../request-rate-limiter.js';
import { ROUTE53_RATE_WINDOW_MS, Route53Requests } from './route53-requests.js';
import type { RequestLimiter } from './route53-requests.js';
import type { Route53RetryOptions } from './route53-requests.js';
import { FALLBACK_REQUESTS_PER_SECOND, SharedOrLocalLimiter } from './shared-request-limiter.js';
import type { SharedRequestLimiter } from './shared-request-limiter.js';
import { waitForInsync } from './wait-for-insync.js';
import { ZoneNameServers } from './zone-name-servers.js';

/** How {@link Route53Dns} reaches Route 53, paces and retries requests, and verifies DNS. */
export interface Route53DnsOptions extends Route53ConnectionOptions {
  /** A ready client (tests, or a custom credential setup); otherwise one is built from the connection options. */
  client?: Route53Client;
  log: Log;
  /**
   * Requests allowed to start in any one second, in this process (default 5, Route 53's account quota). Ignored
   * when `sharedLimiter` is given: that limit is set where it is built.
   */
  maxRequestsPerSecond?: number;
  /**
   * The limit shared by every Baton process on one Redis (the roles pass it in). Without Redis, this process falls
   * back to one request per second of its own (shared-request-limiter.ts).
   */
  sharedLimiter?: SharedRequestLimiter;
  retry?: Route53RetryOptions;
  clock?: Clock;
  /** [0, 1) source for backoff jitter (default Math.random). */
  random?: () => number;
  /** Replaces DNS verification entirely (e.g. a sandbox without DNS). */
  resolve?: (site: SiteConfig) => Promise<ResolvedTarget>;
  /** Settings for DNS verification through resolve-dns.ts. */
  resolver?: Pick<ResolveTargetOptions, 'timeoutMs' | 'tries' | 'lookup' | 'aliasServers'> & {
    /** Port of the zone's name servers when `dns.resolvers` is not set (default 53). */
    nameServerPort?: number;
  };
}

const DEFAULT_RATE = 5;

type HealthCheckChanges = Map<string, { site: SiteConfig; cluster: ClusterId }>;

/** Both directions' change ids of a health-check-inversion site, so that `changeStatus` can ask DNS. */
function rememberHealthCheckChanges(changes: HealthCheckChanges, site: SiteConfig): void {
  for (const cluster of Object.keys(site.clusters)) {
    try {
      changes.set(healthCheckChangeId(site, cluster), { site, cluster });
    } catch {
      // An id is missing: switchTo names it.
    }
  }
}

/** The DNS port on Amazon Route 53. */
export class Route53Dns implements DnsPort {
  private readonly log: Log;
  private readonly clock: Clock;
  private readonly requests: Route53Requests;
  /** The same path for a switch: its reads and its change go ahead of polls. */
  private readonly changeRequests: Route53Requests;
  private readonly nameServers: ZoneNameServers;
  /** Reads and changes of one hosted zone, gathered across the sites that wait together (issue 16). */
  private readonly reads: ZoneReads;
  private readonly switches: SwitchPaths;
  private readonly statuses: ChangeStatuses;
  /** health-check-inversion change ids → their site and target, so `changeStatus` can ask DNS. */
  private readonly healthCheckChanges: HealthCheckChanges = new Map();

  constructor(private readonly options: Route53DnsOptions) {
    this.log = options.log.child({ adapter: 'route53' });
    this.clock = options.clock ?? systemClock;
    const client = options.client ?? createRoute53Client(options);
    const window = ROUTE53_RATE_WINDOW_MS;
    const limiter: RequestLimiter = options.sharedLimiter
      ? new SharedOrLocalLimiter(
          options.sharedLimiter,
          new RequestRateLimiter(FALLBACK_REQUESTS_PER_SECOND, window, this.clock),
          this.log,
          this.clock,
        )
      : new RequestRateLimiter(options.maxRequestsPerSecond ?? DEFAULT_RATE, window, this.clock);
    this.requests = new Route53Requests(client, limiter, {
      log: this.log,
      clock: this.clock,
      random: options.random ?? Math.random,
      retry: options.retry,
    });
    this.changeRequests = this.requests.withPriority('change');
    this.nameServers = new ZoneNameServers(this.requests, this.clock);
    this.reads = new ZoneReads(this.requests, this.changeRequests);
    this.switches = { reads: this.reads, changes: new ZoneChanges(this.changeRequests, this.log) };
    this.statuses = new ChangeStatuses(this.requests, this.clock);
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
    return this.reads.read(site, options);
  }

  async currentTarget(site: SiteConfig, options: CallOptions = {}): Promise<ClusterId | null> {
    const { dns } = site;
    if (dns.strategy === 'health-check-inversion') {
      rememberHealthCheckChanges(this.healthCheckChanges, site);
      return (await this.resolveTarget(site, options)).cluster;
    }
    const records = await this.recordSets(site, options);
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
    }
  }

  async failoverTriggers(
    site: SiteConfig,
    options: CallOptions = {},
  ): Promise<Record<ClusterId, string | null>> {
    if (site.dns.strategy !== 'failover-records') return {};
    const triggers: Record<ClusterId, string | null> = {};
    for (const record of await this.recordSets(site, options)) {
      const cluster = clusterOfRecord(site, record);
      if (cluster === undefined || record.Failover === undefined) continue;
      triggers[cluster] =
        record.HealthCheckId !== undefined
          ? `health check ${record.HealthCheckId}`
          : record.AliasTarget?.EvaluateTargetHealth
            ? `EvaluateTargetHealth on its alias`
            : null;
    }
    return triggers;
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
        return swapFailoverRoles(this.switches, site, cluster, log, options);
      case 'simple-record':
        return upsertSimpleRecord(this.switches, site, cluster, options);
      case 'health-check-inversion':
        rememberHealthCheckChanges(this.healthCheckChanges, site);
        return invertHealthChecks(this.changeRequests, site, cluster, log, options);
    }
  }

  async changeStatus(changeId: string, options: CallOptions = {}): Promise<'PENDING' | 'INSYNC'> {
    if (isHealthCheckChange(changeId)) {
      const known = this.healthCheckChanges.get(changeId);
      if (known) {
        const { cluster } = await this.resolveTarget(known.site, options);
        return cluster === known.cluster ? 'INSYNC' : 'PENDING';
      }
      return (await healthCheckSettingsApplied(this.requests, changeId, options)) ? 'INSYNC' : 'PENDING';
    }
    return this.statuses.status(changeId, options);
  }

  /**
   * Polls `changeStatus` about every 2 s until INSYNC, the step's signal aborts, or `timeoutMs` passes. Runs waiting
   * for one batch's change id share their polls: an answer younger than the poll interval serves them all.
   */
  async waitForInsync(changeId: string, options: WaitOptions): Promise<{ waitedMs: number }> {
    const pollMs = options.pollMs ?? 2000;
    const shared = {
      changeStatus: (id: string, call: CallOptions = {}) =>
        isHealthCheckChange(id)
          ? this.changeStatus(id, call)
          : this.statuses.status(id, { ...call, maxAgeMs: pollMs }),
    };
    return { waitedMs: await waitForInsync(shared, changeId, { ...options, pollMs, clock: this.clock }) };
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
