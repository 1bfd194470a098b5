/**
 * How the Kubernetes adapter's waits (workload readiness, CloudNativePG demotion and promotion) poll: core's
 * `waitUntil`, every 250 ms unless told otherwise and never less often than every 500 ms.
 */
import type { WaitOptions } from '../../core/ports.js';
import type { WaitUntilOptions } from '../../core/wait.js';
import type { BatonError } from '../../errors.js';

const DEFAULT_POLL_MS = 250;
const MAX_POLL_MS = 500;

/** The caller's wait options for `waitUntil`, with the poll interval capped and the error to give at `timeoutMs`. */
export function kubeWaitOptions(
  options: WaitOptions,
  timeoutError: (seen: string) => BatonError,
): WaitUntilOptions {
  return { ...options, pollMs: Math.min(options.pollMs ?? DEFAULT_POLL_MS, MAX_POLL_MS), timeoutError };
}
