/**
 * A per-process sliding-window limiter on when requests may start. Route 53 uses it to stay under the account's
 * quota; it knows nothing of Route 53.
 */
import type { Clock } from '../../core/ports.js';

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
