/**
 * Request rates measured from the Route 53 stand-in's request log, for tests and benchmarks of the account quota
 * (five requests per second per account): the busiest window, and the count in each second.
 */
import type { Route53RequestLogEntry } from './route53-types.js';

/** The most requests that arrived in any window of `windowMs` (default 1 s), starting at any arrival. */
export function maxRequestsInWindow(
  requests: readonly Pick<Route53RequestLogEntry, 'at'>[],
  windowMs = 1000,
): number {
  const times = requests.map((request) => request.at).sort((a, b) => a - b);
  let most = 0;
  let first = 0;
  for (let last = 0; last < times.length; last++) {
    while ((times[last] ?? 0) - (times[first] ?? 0) >= windowMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

/** How many requests arrived in each whole second since the first (index 0 is the first request's second). */
export function requestsPerSecond(requests: readonly Pick<Route53RequestLogEntry, 'at'>[]): number[] {
  if (requests.length === 0) return [];
  const from = Math.min(...requests.map((request) => request.at));
  const counts: number[] = [];
  for (const { at } of requests) {
    const second = Math.floor((at - from) / 1000);
    while (counts.length <= second) counts.push(0);
    counts[second] = (counts[second] ?? 0) + 1;
  }
  return counts;
}
