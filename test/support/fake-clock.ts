/**
 * A Clock that moves only when a test says so: `now()` stands still, and `sleep(ms)` resolves once `advance` has
 * moved time past its deadline. Tests of pacing, expiry and timeouts run on it without sleeping.
 */
import type { Clock } from '../../src/core/ports.js';

interface Sleeper {
  until: number;
  resolve: () => void;
}

/** A realistic epoch (scripts treat 0 as "never"): 2025-01-01T00:00:00Z. */
export const FAKE_EPOCH = Date.UTC(2025, 0, 1);

export class FakeClock implements Clock {
  private current: number;
  private sleepers: Sleeper[] = [];

  constructor(start = FAKE_EPOCH) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<void>((resolve, reject) => {
      const sleeper: Sleeper = {
        until: this.current + Math.max(0, ms),
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(signal?.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.push(sleeper);
    });
  }

  /** How many sleeps are waiting for time to move. */
  get sleeping(): number {
    return this.sleepers.length;
  }

  /**
   * Moves time forward by `ms`, waking sleepers in deadline order at their own deadlines (so a sleeper that sleeps
   * again on waking is woken again within the same advance when its next deadline falls inside it).
   */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      const next = this.sleepers.filter((s) => s.until <= target).sort((a, b) => a.until - b.until)[0];
      if (!next) break;
      this.sleepers = this.sleepers.filter((s) => s !== next);
      this.current = Math.max(this.current, next.until);
      next.resolve();
      // Let the woken code run up to its next await.
      await new Promise((r) => setImmediate(r));
    }
    this.current = target;
  }
}
