/**
 * How every Kubernetes request is sent: writes paced per API server, a timeout per attempt, the caller's signal,
 * retries with jittered backoff (honouring Retry-After), one more try with a fresh exec-plugin credential after a
 * 401, and the last failure translated into a BatonError.
 */
import { ApiException, Observable } from '@kubernetes/client-node';
import type {
  ConfigurationOptions,
  ObservableMiddleware,
  RequestContext,
  ResponseContext,
} from '@kubernetes/client-node';
import type { Clock, Log } from '../../core/ports.js';
import type { Target } from './kube-clients.js';
import { classifyFailure, shortReason, translateFailure } from './kube-errors.js';
import type { Failure, Operation } from './kube-errors.js';
import type { WritePacer } from './write-pacer.js';

export interface RetryPolicy {
  /** Tries per request, the first included (default 4). */
  attempts: number;
  /** First backoff; doubled per attempt, jittered, capped at 5 s (default 200 ms). */
  baseDelayMs: number;
}

/** What the requests of one adapter share: timeout, retries, and the clock, randomness and log they use. */
export interface KubeRequestPolicy {
  /** Per HTTP request. */
  requestTimeoutMs: number;
  retry: RetryPolicy;
  /** Time for backoff (and the adapter's polling). */
  clock: Clock;
  /** Randomness for backoff jitter, in [0, 1). */
  random: () => number;
  log: Log;
  /** Paces every attempt of a write (`operation.write`) per API server; reads go at once. */
  writes: WritePacer;
}

export interface SendSettings {
  /** Whether a 409 is worth another try (default: for writes). Off where a conflict needs a fresh read instead. */
  retryConflicts?: boolean;
  signal?: AbortSignal | undefined;
}

const MAX_BACKOFF_MS = 5_000;
const MAX_RETRY_AFTER_MS = 10_000;

/** One request with a timeout per attempt, retried with jittered backoff, its failure translated. */
export async function sendWithRetry<T>(
  policy: KubeRequestPolicy,
  target: Target,
  operation: Operation,
  send: (options: ConfigurationOptions) => Promise<T>,
  settings: SendSettings = {},
): Promise<T> {
  const retryConflicts = settings.retryConflicts ?? operation.write;
  const attempts = Math.max(1, policy.retry.attempts);
  let renewed = false;
  for (let attempt = 1; ; attempt += 1) {
    settings.signal?.throwIfAborted();
    // A retry waits its turn too: a 429 from a busy server is answered by fewer writes, not a second burst.
    const permit = operation.write
      ? await policy.writes.permit(target.clients.server, settings.signal)
      : null;
    const generation = target.clients.credentials.generation;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), policy.requestTimeoutMs);
    const onAbort = () => controller.abort();
    settings.signal?.addEventListener('abort', onAbort, { once: true });
    let failure: Failure;
    try {
      return await send(withSignal(controller.signal));
    } catch (error) {
      if (settings.signal?.aborted) throw settings.signal.reason;
      failure = classifyFailure(error, retryConflicts);
    } finally {
      clearTimeout(timer);
      settings.signal?.removeEventListener('abort', onAbort);
      permit?.answered();
    }
    // A refused exec-plugin token is fetched again and tried once at once, whatever the retry budget: a static
    // one could only be refused again.
    if (!renewed && isUnauthorized(failure.error) && target.clients.credentials.renew(generation)) {
      renewed = true;
      policy.log.info(
        { site: target.site.name, cluster: target.cluster, context: target.clients.context },
        'Kubernetes refused the credential plugin’s token; running the plugin again',
      );
      continue;
    }
    // The renewal's try is not taken from the retry budget.
    if (!failure.retriable || attempt - (renewed ? 1 : 0) >= attempts) {
      throw translateFailure(target, operation, failure.error, attempt, policy.requestTimeoutMs);
    }
    const backoff = Math.min(MAX_BACKOFF_MS, policy.retry.baseDelayMs * 2 ** (attempt - 1));
    const jittered = backoff / 2 + (policy.random() * backoff) / 2;
    const delayMs = Math.round(Math.max(jittered, Math.min(failure.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS)));
    policy.log.debug(
      {
        site: target.site.name,
        cluster: target.cluster,
        verb: operation.verb,
        resource: operation.resource,
        attempt,
        delayMs,
        reason: shortReason(failure.error),
      },
      'Kubernetes request failed; retrying',
    );
    await policy.clock.sleep(delayMs, settings.signal);
  }
}

const isUnauthorized = (error: unknown): boolean => error instanceof ApiException && error.code === 401;

/** Request options that abort the HTTP request when `signal` does. */
function withSignal(signal: AbortSignal): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (context: RequestContext) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}
