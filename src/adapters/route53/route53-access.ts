/**
 * Cheap, read-only Route 53 requests that prove an IAM action is allowed and the object it names exists, for
 * `baton doctor`. Nothing here writes: a write cannot be proven allowed without making it (or the IAM policy
 * simulator, whose SDK Baton does not ship), and the doctor says so instead.
 *
 * GetChange is proven with an id that names no change: IAM authorizes a request before Route 53 looks the change
 * up, so `AccessDenied` means the action is not granted and `NoSuchChange` means it is.
 *
 * At boot the doctor's requests, all reads, pass the Route 53 limit the workers share (as polls: the runs' changes
 * go first), since a worker may restart in the middle of an incident; `baton doctor` on its own makes a handful of
 * requests once, and keeps to a limiter of its own.
 */
import { GetChangeCommand, GetHealthCheckCommand, GetHostedZoneCommand } from '@aws-sdk/client-route-53';
import type { ResourceRecordSet } from '@aws-sdk/client-route-53';
import type { SiteConfig } from '../../config/topology.js';
import { systemClock } from '../../core/clock.js';
import type { Log } from '../../core/ports.js';
import { isBatonError } from '../../errors.js';
import { createRoute53Client } from './create-route53-client.js';
import type { Route53ConnectionOptions } from './create-route53-client.js';
import { ZoneReads } from './read-record-sets.js';
import { RequestRateLimiter } from '../request-rate-limiter.js';
import { hostedZone, stripIdPrefix } from './route53-ids.js';
import { ROUTE53_RATE_WINDOW_MS, Route53Requests } from './route53-requests.js';
import { FALLBACK_REQUESTS_PER_SECOND, SharedOrLocalLimiter } from './shared-request-limiter.js';
import type { SharedRequestLimiter } from './shared-request-limiter.js';

/** A change id in Route 53's format that no change has: only IAM's answer to it matters. */
const NO_SUCH_CHANGE = 'C0BATONDOCTOR0000000000';

export interface Route53AccessOptions extends Route53ConnectionOptions {
  log: Log;
  /** Attempts per request (default 3). */
  attempts?: number;
  /** Builds the limit shared by every process on the Redis, given the window; without it, one of its own. */
  sharedLimiter?: (windowMs: number) => SharedRequestLimiter;
}

/** Read-only probes of the Route 53 actions a site's strategy needs. */
export class Route53Access {
  private readonly requests: Route53Requests;

  constructor(options: Route53AccessOptions) {
    const clock = systemClock;
    const log = options.log.child({ component: 'route53-access' });
    const window = ROUTE53_RATE_WINDOW_MS;
    this.requests = new Route53Requests(
      createRoute53Client(options),
      options.sharedLimiter
        ? new SharedOrLocalLimiter(
            options.sharedLimiter(window),
            new RequestRateLimiter(FALLBACK_REQUESTS_PER_SECOND, window, clock),
            log,
            clock,
          )
        : new RequestRateLimiter(5, window, clock),
      {
        log,
        clock,
        random: Math.random,
        retry: { attempts: options.attempts ?? 3 },
      },
    );
  }

  close(): void {
    this.requests.client.destroy();
  }

  /** GetHostedZone: the zone exists and Baton may read it; resolves with its name. */
  async hostedZoneName(site: SiteConfig, signal?: AbortSignal): Promise<string> {
    const output = await this.requests.call(
      'GetHostedZone',
      hostedZone(site),
      (abortSignal) =>
        this.requests.client.send(new GetHostedZoneCommand({ Id: stripIdPrefix(site.dns.hostedZoneId) }), {
          abortSignal,
        }),
      signal,
    );
    return output.HostedZone?.Name ?? site.dns.hostedZoneId;
  }

  /** ListResourceRecordSets: the site's record sets (its name and type). */
  async recordSets(site: SiteConfig, signal?: AbortSignal): Promise<ResourceRecordSet[]> {
    return new ZoneReads(this.requests).read(site, { signal });
  }

  /** GetChange on an id no change has: resolves when IAM allows it (Route 53 answers NoSuchChange). */
  async mayGetChange(signal?: AbortSignal): Promise<void> {
    try {
      await this.requests.call(
        'GetChange',
        { kind: 'change', id: NO_SUCH_CHANGE },
        (abortSignal) =>
          this.requests.client.send(new GetChangeCommand({ Id: NO_SUCH_CHANGE }), { abortSignal }),
        signal,
      );
    } catch (error) {
      if (isBatonError(error) && error.code === 'route53-no-such-change') return;
      throw error;
    }
  }

  /** GetHealthCheck: the health check exists and Baton may read it. */
  async healthCheck(healthCheckId: string, signal?: AbortSignal): Promise<{ inverted: boolean }> {
    const output = await this.requests.call(
      'GetHealthCheck',
      { kind: 'health check', id: healthCheckId },
      (abortSignal) =>
        this.requests.client.send(new GetHealthCheckCommand({ HealthCheckId: healthCheckId }), {
          abortSignal,
        }),
      signal,
    );
    return { inverted: output.HealthCheck?.HealthCheckConfig?.Inverted === true };
  }
}
