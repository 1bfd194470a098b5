/**
 * Injected request failures: the next requests matching a method and path fail with a real Status body (429 and
 * 503 with Retry-After, 409 naming the object, 500 as an etcd timeout).
 */
import type { ClusterState } from './cluster-state.js';
import type { Attributes } from './request-attributes.js';
import { conflict, statusError } from './status-errors.js';
import type { StatusError } from './status-errors.js';

/** The error of the first pending failure that matches the request, which uses one of its times; null if none. */
export function takeInjectedFailure(
  state: ClusterState,
  method: string,
  path: string,
  attributes: Attributes | null,
): StatusError | null {
  const failure = state.faults.failures.find(
    (f) =>
      f.remaining > 0 &&
      (f.method === undefined || f.method.toUpperCase() === method) &&
      (f.path === undefined || (typeof f.path === 'string' ? path.includes(f.path) : f.path.test(path))),
  );
  if (!failure) return null;
  failure.remaining -= 1;
  return failureFor(failure.status, failure.retryAfterSeconds, attributes);
}

function failureFor(
  status: number,
  retryAfterSeconds: number | undefined,
  attributes: Attributes | null,
): StatusError {
  const headers: Record<string, string> =
    retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) };
  const retry = retryAfterSeconds === undefined ? {} : { retryAfterSeconds };
  switch (status) {
    case 429:
      return statusError(429, 'TooManyRequests', 'Too many requests, please try again later.', retry, {
        'Retry-After': String(retryAfterSeconds ?? 1),
        ...headers,
      });
    case 503:
      return statusError(
        503,
        'ServiceUnavailable',
        'the server is currently unable to handle the request',
        retry,
        headers,
      );
    case 504:
      return statusError(
        504,
        'Timeout',
        'the server was unable to return a response in the time allotted, but may still be processing the request',
        retry,
        headers,
      );
    case 409:
      return conflict(
        attributes?.resource || 'resources',
        attributes?.group ?? '',
        attributes?.name || 'unknown',
      );
    case 500:
      return statusError(500, 'InternalError', 'Internal error occurred: etcdserver: request timed out', {
        causes: [{ message: 'etcdserver: request timed out' }],
      });
    default:
      return statusError(
        status,
        status >= 500 ? 'InternalError' : 'BadRequest',
        `injected failure ${status}`,
        retry,
        headers,
      );
  }
}
