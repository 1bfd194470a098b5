/**
 * An opt-in limit on mutating requests, as an overloaded API server enforces one (`maxMutatingPerSecond`).
 *
 * kube-apiserver's max-in-flight filter and API Priority and Fairness both sort requests by verb: get, list and
 * watch are read-only, every other verb (create, update, patch, delete…) is mutating and shares one budget
 * (apiserver pkg/server/filters/maxinflight.go, `nonMutatingRequestVerbs`; --max-mutating-requests-inflight).
 * A request over the budget is answered at once by `tooManyRequests` there: 429, `Retry-After`, and
 * `http.Error(w, "Too many requests, please try again later.", 429)` — a text/plain body, not a `kind: Status`,
 * which client-go turns into a TooManyRequests StatusError itself. APF's Retry-After starts at 1 s per priority
 * level (pkg/util/flowcontrol/dropped_requests_tracker.go; it grows to at most 32 s while drops continue).
 *
 * The real budget is seats in flight, not requests per second; a stand-in answers in about the same time every
 * request, so a cap on admissions per second is the same budget, and it is easier to check from the request log.
 * No kinder: APF would queue a brief burst for a moment; this rejects it straight away.
 */
import type { Attributes } from './request-attributes.js';
import type { ClusterState } from './cluster-state.js';

const WINDOW_MS = 1_000;
const READ_ONLY_VERBS = new Set(['get', 'list', 'watch']);

/** What the API server's filter answers a request over the limit with. */
export interface TooManyRequests {
  status: 429;
  headers: Record<string, string>;
  text: string;
}

/** When each mutating request admitted in the last second arrived, per cluster. */
const admitted = new WeakMap<ClusterState, number[]>();

/**
 * Admits the request (counting it when it is mutating), or answers what the real filter answers when the cluster's
 * `maxMutatingPerSecond` mutating requests already arrived in the last second. Read-only and non-resource requests
 * (discovery) are never limited here.
 */
export function admitRequest(
  state: ClusterState,
  attributes: Attributes | null,
  now: number,
): TooManyRequests | null {
  const limit = state.options.maxMutatingPerSecond;
  if (limit === undefined || attributes === null || READ_ONLY_VERBS.has(attributes.verb)) return null;
  const starts = admitted.get(state) ?? [];
  admitted.set(state, starts);
  while (starts.length > 0 && (starts[0] ?? 0) <= now - WINDOW_MS) starts.shift();
  if (starts.length >= limit) {
    return {
      status: 429,
      headers: {
        'Content-Type': 'text/plain; charset=utf-8',
        'X-Content-Type-Options': 'nosniff',
        'Retry-After': '1',
      },
      text: 'Too many requests, please try again later.\n',
    };
  }
  starts.push(now);
  return null;
}
