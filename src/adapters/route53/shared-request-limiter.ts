/**
 * The Route 53 limit shared by every Baton process on one Redis, and what a process does while it cannot reach it.
 *
 * Route 53 allows five requests per second per AWS account: several workers with a limiter each would together go
 * past it and be throttled in the middle of an outage. So the roles pass in one limit kept in Redis (the store's
 * `SharedRateLimit`, one Lua script: a sliding window of starts with changes ahead of polls); this adapter only
 * names each request's priority (a change is `high`, a poll `low`).
 *
 * Without Redis (a restart, a Sentinel failover) a process must not hammer Route 53 unlimited, nor stop: it falls
 * back to {@link FALLBACK_REQUESTS_PER_SECOND} of its own, logs that once, and asks Redis again after a second.
 * A few workers at one request per second each stay under the account's five.
 */
import type { Clock, Log } from '../../core/ports.js';
import type { RequestLimiter, RequestPermit, RequestPriority } from './route53-requests.js';

/** What the adapter needs of the shared limit (the store's `SharedRateLimit`). */
export interface SharedRequestLimiter {
  /** Resolves with a permit once a request may start; rejects when Redis cannot be asked. */
  acquire(priority: 'high' | 'low'): Promise<RequestPermit>;
}

/** Requests per second one process allows itself while the shared limit's Redis is away. */
export const FALLBACK_REQUESTS_PER_SECOND = 1;
/** How long a process keeps to its own limit after Redis failed, before asking Redis again. */
const RETRY_SHARED_AFTER_MS = 1000;

/** The shared limit while Redis answers; the conservative per-process `fallback` while it does not. */
export class SharedOrLocalLimiter implements RequestLimiter {
  private degraded = false;
  private retrySharedAt = -Infinity;

  constructor(
    private readonly shared: SharedRequestLimiter,
    private readonly fallback: RequestLimiter,
    private readonly log: Log,
    private readonly clock: Clock,
  ) {}

  async permit(priority: RequestPriority): Promise<RequestPermit> {
    if (this.clock.now() >= this.retrySharedAt) {
      try {
        const permit = await this.shared.acquire(priority === 'change' ? 'high' : 'low');
        if (this.degraded) {
          this.degraded = false;
          this.log.info({}, 'Route 53 request limit shared through Redis again');
        }
        return permit;
      } catch (error) {
        this.retrySharedAt = this.clock.now() + RETRY_SHARED_AFTER_MS;
        if (!this.degraded) {
          this.degraded = true;
          this.log.warn(
            {
              err: error instanceof Error ? error.message : String(error),
              requestsPerSecond: FALLBACK_REQUESTS_PER_SECOND,
            },
            'Redis unavailable: Route 53 requests limited per process until it is back',
          );
        }
      }
    }
    return this.fallback.permit(priority);
  }
}
