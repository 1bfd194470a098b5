/**
 * A request limit shared by every Baton process on one Redis: at most `limit` requests start in any `windowMs`,
 * across all of them (Route 53's quota is per AWS account, not per process). One Lua script
 * (`lua/take-rate-slot.lua`) decides each start atomically on Redis's clock; its two keys share Baton's hash tag,
 * so it runs on Redis Cluster too.
 *
 * Priorities: `high` requests (Route 53 changes) go ahead of `low` ones (polls and reads). Two rules, together:
 * - `reserved` starts of every window (default 1 when the limit allows it) are for high requests only, so a change
 *   that arrives while polls keep the window busy finds a start free at once, or within one window;
 * - a high request that finds no start free registers as waiting, and while any does, low requests wait too: the
 *   next free start goes to the change. A waiter's claim lapses after two windows unless renewed, so a process that
 *   dies while waiting does not hold the polls of the others back.
 * Low requests may wait for as long as changes keep coming; a failover has few changes and many polls, and a poll
 * that waits is only a later answer, while a change that waits is a longer outage.
 *
 * A service counts a request when it arrives, which may be well after its start was granted (a cold SDK client, a
 * slow network, a busy event loop). So a start is counted from when it was granted until its request is
 * `answered()` (at most 10 s), and then for a whole window from that moment: any request that arrives inside a
 * window of the service was granted, and so counted, while the ones before it were still in ours.
 *
 * Within one process, requests of one priority ask Redis one at a time, in arrival order, so a queue of polls is
 * one Redis call per attempt, not one per poll. A Redis call that fails or takes longer than `redisTimeoutMs`
 * rejects `acquire`: the caller decides what to do without Redis (the Route 53 adapter falls back to a small
 * per-process limit).
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/ports.js';
import type { StoreKeys } from './keys.js';
import { loadScript } from './script.js';
import type { ScriptConnection } from './script.js';

const TAKE_RATE_SLOT = loadScript('take-rate-slot', {
  keys: ['starts', 'waiting'],
  args: ['limit', 'reserved', 'windowMs', 'priority', 'member', 'claimMs', 'holdMs'],
});
const FINISH_RATE_SLOT = loadScript('finish-rate-slot', {
  keys: ['starts'],
  args: ['member', 'windowMs', 'holdMs'],
});
/** How long a start counts while its request is in flight, at most (a process that dies mid-request frees it then). */
const HOLD_MS = 10_000;

export type RatePriority = 'high' | 'low';

/** A request's start: when it was granted, and what to call once the request has been answered (or failed). */
export interface RatePermit {
  startedAt: number;
  answered(): void;
}

export interface SharedRateLimitOptions {
  /** A connection that fails fast while Redis is away (no offline queue), so the caller can fall back. */
  connection: ScriptConnection;
  keys: StoreKeys;
  /** Names the limit's keys (`route53` → `{baton}:rate:route53:*`). */
  api: string;
  /** Requests allowed to start in any `windowMs`, across every process. */
  limit: number;
  windowMs: number;
  /** Starts of each window only high requests may take (default 1, or 0 when `limit` is 1). */
  reserved?: number;
  /** Sleeps between attempts. */
  clock: Clock;
  /** Longest one Redis call may take before `acquire` rejects (default 2000 ms). */
  redisTimeoutMs?: number;
}

/** The shared limit; `acquire` resolves with a permit (its start time of `clock`) once a request may start. */
export class SharedRateLimit {
  private readonly id = randomUUID();
  private sequence = 0;
  private readonly tails: Record<RatePriority, Promise<unknown>> = {
    high: Promise.resolve(),
    low: Promise.resolve(),
  };
  private readonly reserved: number;

  constructor(private readonly options: SharedRateLimitOptions) {
    const { limit } = options;
    if (!(Number.isInteger(limit) && limit >= 1)) {
      throw new RangeError(`rate limit must be a whole number of requests, at least 1, got ${limit}`);
    }
    this.reserved = Math.min(options.reserved ?? 1, limit - 1);
  }

  acquire(priority: RatePriority = 'low'): Promise<RatePermit> {
    const turn = this.tails[priority].then(() => this.take(priority));
    this.tails[priority] = turn.catch(() => undefined);
    return turn;
  }

  private async take(priority: RatePriority): Promise<RatePermit> {
    const { connection, keys, api, limit, windowMs, clock } = this.options;
    const member = `${this.id}:${++this.sequence}`;
    for (;;) {
      const [granted, value] = (await this.withTimeout(
        TAKE_RATE_SLOT.run(connection, {
          keys: { starts: keys.rateStarts(api), waiting: keys.rateWaiting(api) },
          args: {
            limit,
            reserved: this.reserved,
            windowMs,
            priority,
            member,
            claimMs: windowMs * 2,
            holdMs: HOLD_MS,
          },
        }),
      )) as [number, number];
      if (granted === 1) return { startedAt: clock.now(), answered: () => this.finish(member) };
      await clock.sleep(Math.max(1, value));
    }
  }

  /** Moves the start to now; best effort (without Redis, the start simply leaves the window as granted). */
  private finish(member: string): void {
    const { connection, keys, api, windowMs } = this.options;
    FINISH_RATE_SLOT.run(connection, {
      keys: { starts: keys.rateStarts(api) },
      args: { member, windowMs, holdMs: HOLD_MS },
    }).catch(() => undefined);
  }

  private async withTimeout<T>(call: Promise<T>): Promise<T> {
    const ms = this.options.redisTimeoutMs ?? 2000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      // After a blocked event loop, timers run before I/O: let an answer that did arrive be read first.
      timer = setTimeout(
        () => setImmediate(() => reject(new Error(`Redis did not answer within ${ms} ms`))),
        ms,
      );
    });
    try {
      return await Promise.race([call, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
