/**
 * The one way Baton waits on the outside world. Every adapter's wait (Kubernetes readiness, Route 53 INSYNC,
 * PostgreSQL replay and promotion) and the simulated world's are this loop with their own `look`.
 */
import { BatonError } from '../errors.js';
import type { Clock, WaitOptions } from './ports.js';

export type Look<T> = { done: true; value: T } | { done: false; seen: string };

export interface WaitUntilOptions extends WaitOptions {
  pollMs: number;
  /** The error at `timeoutMs`, given what was last seen; default a retriable `wait-timeout`. */
  timeoutError?: (seen: string, waitedMs: number) => BatonError;
}

/**
 * Calls `look` about every `pollMs` until it is done. When the signal aborts (the step's timeout) or `timeoutMs`
 * passes, rejects with an error that keeps the abort reason's code and says what was last seen. Errors `look`
 * throws end the wait: a look that tolerates passing faults catches them itself.
 */
export async function waitUntil<T>(
  clock: Clock,
  options: WaitUntilOptions,
  look: () => Promise<Look<T>>,
): Promise<T> {
  const started = clock.now();
  const deadline = options.timeoutMs === undefined ? Infinity : started + options.timeoutMs;
  const progressEveryMs = options.progressEveryMs ?? 2_000;
  let lastProgress = -Infinity;
  let seen = 'nothing yet';
  for (;;) {
    if (options.signal?.aborted) throw lastSeen(options.signal.reason, seen);
    let result: Look<T>;
    try {
      result = await look();
    } catch (error) {
      // The signal aborted while a look was in flight (its call was cut off): say what the wait last saw.
      if (options.signal?.aborted) throw lastSeen(options.signal.reason, seen);
      throw error;
    }
    if (result.done) return result.value;
    seen = result.seen;
    const now = clock.now();
    if (options.onProgress && now - lastProgress >= progressEveryMs) {
      lastProgress = now;
      options.onProgress(seen);
    }
    const remaining = deadline - now;
    if (remaining <= 0) {
      throw (
        options.timeoutError?.(seen, now - started) ??
        new BatonError(
          'wait-timeout',
          `still waiting after ${Math.round((now - started) / 1000)} s: ${seen}`,
          {
            retriable: true,
          },
        )
      );
    }
    try {
      await clock.sleep(Math.min(options.pollMs, remaining), options.signal);
    } catch (reason) {
      throw lastSeen(reason, seen);
    }
  }
}

/** The abort reason, with what the wait last saw added to its message. */
function lastSeen(reason: unknown, seen: string): unknown {
  if (!(reason instanceof BatonError)) return reason;
  return new BatonError(reason.code, `${reason.message} — last seen: ${seen}`, {
    retriable: reason.retriable,
    cause: reason,
  });
}
