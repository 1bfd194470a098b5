/** Waiting for a Route 53 change to reach every Route 53 name server, through Baton's one wait (`waitUntil`). */
import { systemClock } from '../../core/clock.js';
import type { Clock, DnsPort, WaitOptions } from '../../core/ports.js';
import { waitUntil } from '../../core/wait.js';
import { BatonError } from '../../errors.js';

/** A wait's options, with the poll interval and the clock to poll on. */
export interface WaitForInsyncOptions extends WaitOptions {
  /** Default 2000 ms (DESIGN §5: poll about every 2 s). */
  pollMs?: number;
  clock?: Clock;
}

/**
 * Polls `changeStatus` until INSYNC, about every `pollMs`; stops when the signal aborts, or with a retriable
 * `dns-change-timeout` at `timeoutMs`. Returns how long it waited.
 */
export async function waitForInsync(
  dns: Pick<DnsPort, 'changeStatus'>,
  changeId: string,
  options: WaitForInsyncOptions,
): Promise<number> {
  const clock = options.clock ?? systemClock;
  const started = clock.now();
  await waitUntil(
    clock,
    {
      ...options,
      pollMs: options.pollMs ?? 2000,
      timeoutError: (_seen, waitedMs) =>
        new BatonError(
          'dns-change-timeout',
          `Route 53 change ${changeId} is still PENDING after ${Math.round(waitedMs / 1000)} s — changes normally ` +
            'reach every Route 53 name server within 60 s; check the AWS Health Dashboard, then retry',
          { retriable: true },
        ),
    },
    async () =>
      (await dns.changeStatus(changeId, options.signal ? { signal: options.signal } : {})) === 'INSYNC'
        ? { done: true, value: undefined }
        : { done: false, seen: `change ${changeId} PENDING` },
  );
  return clock.now() - started;
}
