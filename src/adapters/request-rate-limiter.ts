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

/** A token out: `at` is its start, or its answer once answered; an open one waits for its answer. */
interface Token {
  at: number;
  open: boolean;
}

/**
 * An open permit whose caller never answers gives its token back after this long, so a lost `answered()` slows the
 * limiter down instead of stopping it.
 */
const MAX_OPEN_MS = 60_000;

/**
 * Lets at most `limit` requests start in any window of `windowMs`: each start holds one of `limit` tokens. A plain
 * {@link acquire}'s token comes back `windowMs` after its start; a {@link permit}'s stays out until its request is
 * answered, however long that takes, and `windowMs` after that. A server counts a request when it arrives, which is
 * between its start and its answer, so two requests on one token always arrive a window apart, even when the event
 * loop or the network holds a request back. Waiting changes take the next token before any waiting poll; within a
 * priority, callers are served in arrival order.
 */
export class RequestRateLimiter {
  private readonly tokens: Token[] = [];
  private readonly queues: Record<RequestPriority, Waiter[]> = { change: [], poll: [] };
  private serving = false;
  /** Wakes the serving loop when an answer gives a token a deadline. */
  private wake: (() => void) | null = null;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {
    if (!(limit >= 1)) throw new RangeError(`rate limit must be at least 1 request per window, got ${limit}`);
  }

  /** Resolves with the start time once a request may start; its token comes back a window later. */
  acquire(priority: RequestPriority = 'poll'): Promise<number> {
    return this.take(priority, false).then((token) => token.at);
  }

  /** As {@link acquire}; the token then stays out until the request is answered, and a window after that. */
  async permit(priority: RequestPriority): Promise<RequestPermit> {
    const token = await this.take(priority, true);
    const startedAt = token.at;
    return { startedAt, answered: () => this.answered(token) };
  }

  private take(priority: RequestPriority, open: boolean): Promise<Token> {
    return new Promise<Token>((resolve, reject) => {
      this.queues[priority].push({
        resolve: (at) => {
          const token = { at, open };
          this.tokens.push(token);
          resolve(token);
        },
        reject,
      });
      if (!this.serving) void this.serve();
    });
  }

  private answered(token: Token): void {
    if (!token.open) return;
    token.open = false;
    token.at = Math.max(token.at, this.clock.now());
    this.wake?.();
  }

  /** The time the token comes back. */
  private backAt(token: Token): number {
    return token.at + (token.open ? MAX_OPEN_MS : this.windowMs);
  }

  /** Hands out tokens while anyone waits; the next waiter is chosen after every sleep, so a new change goes first. */
  private async serve(): Promise<void> {
    this.serving = true;
    try {
      for (;;) {
        const queue = this.queues.change.length > 0 ? this.queues.change : this.queues.poll;
        if (queue.length === 0) return;
        const now = this.clock.now();
        for (let i = this.tokens.length - 1; i >= 0; i -= 1) {
          const token = this.tokens[i];
          if (token && this.backAt(token) <= now) this.tokens.splice(i, 1);
        }
        if (this.tokens.length < this.limit) {
          queue.shift()?.resolve(now);
          continue;
        }
        const next = Math.min(...this.tokens.map((token) => this.backAt(token)));
        const sleeping = new AbortController();
        const woken = new Promise<void>((resolve) => (this.wake = resolve));
        await Promise.race([this.clock.sleep(next - now, sleeping.signal).catch(() => undefined), woken]);
        this.wake = null;
        sleeping.abort();
      }
    } catch (error) {
      for (const waiter of [...this.queues.change.splice(0), ...this.queues.poll.splice(0)])
        waiter.reject(error);
    } finally {
      this.serving = false;
    }
  }
}
