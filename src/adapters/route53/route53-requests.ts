/**
 * The one path every Route 53 request takes: each attempt, first tries and retries alike, waits for the rate
 * limiter; retriable failures back off with jitter; the last failure becomes a BatonError an operator can act on.
 */
import type { Route53Client } from '@aws-sdk/client-route-53';
import type { Clock, Log } from '../../core/ports.js';
import { describeSdkError, isRetriable, translateRoute53Error } from './route53-errors.js';
import type { Route53Action, Route53Resource } from './route53-errors.js';
import type { RequestPermit, RequestPriority } from '../request-rate-limiter.js';

/** How often, and how patiently, a failing request is tried again. */
export interface Route53RetryOptions {
  /** Attempts per request, the first included (default 5). */
  attempts?: number;
  /** Backoff before the second attempt; doubles each time (default 200 ms). */
  baseDelayMs?: number;
  /** Backoff cap (default 5000 ms). */
  maxDelayMs?: number;
}

/**
 * The window of every Route 53 limit, per process or shared: Route 53 counts requests when they arrive, and the
 * 100 ms beyond its second keep network jitter from landing six in one of its seconds.
 */
export const ROUTE53_RATE_WINDOW_MS = 1100;

/** A change (ChangeResourceRecordSets, UpdateHealthCheck, and the reads a switch makes first) or a poll/read. */
export type { RequestPermit, RequestPriority } from '../request-rate-limiter.js';

/** The actions that change Route 53: their requests go ahead of polls (src/store/shared-rate-limit.ts says how). */
const CHANGE_ACTIONS: ReadonlySet<Route53Action> = new Set(['ChangeResourceRecordSets', 'UpdateHealthCheck']);

/** All the requests need of a rate limiter (the per-process `RequestRateLimiter`, or one shared between processes). */
export interface RequestLimiter {
  /** Resolves once a request of `priority` may start. */
  permit(priority: RequestPriority): Promise<RequestPermit>;
}

/** What the request path logs to, sleeps on and draws jitter from. */
export interface Route53RequestsOptions {
  log: Log;
  clock: Clock;
  /** [0, 1) source for backoff jitter. */
  random: () => number;
  retry?: Route53RetryOptions;
}

const REQUEST_LOG_SIZE = 1000;

/** The Route 53 client and the rate-limited, retrying way to call it. */
export class Route53Requests {
  private readonly retry: Required<Route53RetryOptions>;

  constructor(
    readonly client: Route53Client,
    private readonly limiter: RequestLimiter,
    private readonly options: Route53RequestsOptions,
    /** Every request's priority; by default a change action's is `change` and any other's `poll`. */
    private readonly priority?: RequestPriority,
    private readonly starts: number[] = [],
  ) {
    this.retry = {
      attempts: options.retry?.attempts ?? 5,
      baseDelayMs: options.retry?.baseDelayMs ?? 200,
      maxDelayMs: options.retry?.maxDelayMs ?? 5000,
    };
  }

  /** When each of the most recent requests (up to 1000) started, for benchmarks and tests of the rate limit. */
  requestStarts(): readonly number[] {
    return this.starts;
  }

  /** The same path (client, limiter, start log) with every request at `priority`: a switch's reads are urgent too. */
  withPriority(priority: RequestPriority): Route53Requests {
    return new Route53Requests(this.client, this.limiter, this.options, priority, this.starts);
  }

  /** Every attempt passes the limiter; retriable failures back off with jitter, up to `retry.attempts`. */
  async call<T>(
    action: Route53Action,
    resource: Route53Resource,
    send: (abortSignal?: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      const permit = await this.limiter.permit(
        this.priority ?? (CHANGE_ACTIONS.has(action) ? 'change' : 'poll'),
      );
      this.starts.push(permit.startedAt);
      if (this.starts.length > REQUEST_LOG_SIZE) this.starts.shift();
      try {
        return await send(signal).finally(() => permit.answered());
      } catch (error) {
        // Aborted by the step (its timeout, or the run handed back): say why it stopped, not that the SDK was cut off.
        signal?.throwIfAborted();
        if (!isRetriable(error) || attempt >= this.retry.attempts) {
          throw translateRoute53Error(error, action, resource, attempt);
        }
        // Equal jitter: at least half the exponential delay, so a throttled burst spreads out but still waits.
        const cap = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
        const delayMs = Math.round(cap / 2 + (this.options.random() * cap) / 2);
        this.options.log.warn(
          { action, resource: resource.id, attempt, delayMs, error: describeSdkError(error) },
          'Route 53 request failed; retrying',
        );
        await this.options.clock.sleep(delayMs, signal);
      }
    }
  }
}
