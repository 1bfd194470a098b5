/**
 * A per-process sliding-window limiter on when requests may start, with changes served before polls. Route 53 uses
 * it when no shared limit is given (tests, tools) and as the small fallback while the shared limit's Redis is away
 * (route53/shared-request-limiter.ts); Kubernetes paces each API server's writes with it
 * (kubernetes/write-pacer.ts). It knows nothing of either service.
 */
import type { Clock } from '../core/ports.js';

/** Which waiting requests go first: changes before polls. */
export type RequestPriority = 'change' | 'poll';

/**
 * A request's start, counted until `answered()` and for a whole window after (route53-requests.ts `RequestPermit`
 * has the same shape: a server counts a request when it arrives, which may be well after it was let go).
 */
export interface RequestPermit {
  startedAt: number;
  /** Called once the request has been answered or has failed. */
  answered(): void;
}

interface Waiter {
  resolve: (startedAt: number) => void;
  reject: (error: unknown) => void;
}

/**
 * Lets at most `limit` requests start in any window of `windowMs`: each start holds one of `limit` tokens, which
 * comes back `windowMs` after that start (after its answer, for a {@link permit}). Waiting changes take the next token before any waiting poll; within a
 * priority, callers are served in arrival order.
 */
export class RequestRateLimiter {
  private readonly recent: number[] = [];
  private readonly queues: Record<RequestPriority, Waiter[]> = { change: [], poll: [] };
  private serving = false;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {
    if (!(limit >= 1)) throw new RangeError(`rate limit must be at least 1 request per window, got ${limit}`);
  }

  /** Resolves with the start time once a request may start. */
  acquire(priority: RequestPriority = 'poll'): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.queues[priority].push({ resolve, reject });
      if (!this.serving) void this.serve();
    });
  }

  /** As {@link acquire}; the token then stays out until the request is answered, and a window after that. */
  async permit(priority: RequestPriority): Promise<RequestPermit> {
    const startedAt = await this.acquire(priority);
    return { startedAt, answered: () => this.answered(startedAt) };
  }

  private answered(startedAt: number): void {
    const index = this.recent.indexOf(startedAt);
    if (index === -1) return;
    this.recent.splice(index, 1);
    // Every start is in the past: the list stays in order.
    this.recent.push(Math.max(startedAt, this.clock.now()));
  }

  /** Hands out tokens while anyone waits; the next waiter is chosen after every sleep, so a new change goes first. */
  private async serve(): Promise<void> {
    this.serving = true;
    try {
      for (;;) {
        const queue = this.queues.change.length > 0 ? this.queues.change : this.queues.poll;
        if (queue.length === 0) return;
        const now = this.clock.now();
        while (this.recent.length > 0 && (this.recent[0] ?? 0) <= now - this.windowMs) this.recent.shift();
        if (this.recent.length < this.limit) {
          this.recent.push(now);
          queue.shift()?.resolve(now);
          continue;
        }
        await this.clock.sleep((this.recent[0] ?? now) + this.windowMs - now);
      }
    } catch (error) {
      for (const waiter of [...this.queues.change.splice(0), ...this.queues.poll.splice(0)])
        waiter.reject(error);
    } finally {
      this.serving = false;
    }
  }
}
