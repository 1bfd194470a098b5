/**
 * Paces the writes of one process per API server, so that many sites' runs scaling at once (a whole-cluster
 * evacuation) do not hit one server with a burst its priority and fairness would answer with 429s. Every context
 * whose cluster has the same server URL shares one pace; reads are not paced (readiness polls must not queue behind
 * writes, and an API server budgets them apart: --max-requests-inflight vs --max-mutating-requests-inflight).
 */
import type { Clock } from '../../core/ports.js';
import { RequestRateLimiter } from '../request-rate-limiter.js';
import type { RequestPermit } from '../request-rate-limiter.js';

/** BATON_KUBE_WRITES_PER_SECOND's default: a small share of a default API server's mutating budget. */
export const DEFAULT_KUBE_WRITES_PER_SECOND = 20;
const WINDOW_MS = 1_000;

/** One limiter per API server: at most `writesPerSecond` writes start in any second, each counted until answered. */
export class WritePacer {
  private readonly limiters = new Map<string, RequestRateLimiter>();

  constructor(
    private readonly writesPerSecond: number,
    private readonly clock: Clock,
  ) {
    if (!(Number.isInteger(writesPerSecond) && writesPerSecond >= 1))
      throw new RangeError(`Kubernetes writes per second must be a whole number ≥ 1, got ${writesPerSecond}`);
  }

  /**
   * Resolves once a write to `server` may start; call `answered()` on the permit when it is answered or failed. A
   * signal that aborts first rejects with its reason (the turn it waited for is handed back unused).
   */
  async permit(server: string, signal?: AbortSignal): Promise<RequestPermit> {
    signal?.throwIfAborted();
    let limiter = this.limiters.get(server);
    if (!limiter) {
      limiter = new RequestRateLimiter(this.writesPerSecond, WINDOW_MS, this.clock);
      this.limiters.set(server, limiter);
    }
    const turn = limiter.permit('change');
    if (!signal) return turn;
    return new Promise<RequestPermit>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      turn.then(
        (permit) => {
          signal.removeEventListener('abort', onAbort);
          if (signal.aborted) permit.answered();
          else resolve(permit);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }
}
