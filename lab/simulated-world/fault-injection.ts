/**
 * Faults injected into the simulated world's ports, per method ('cluster.scaleWorkload') or per method and cluster
 * ('database.status:east'): fail the next calls, fail after doing the work, hang, or run slow. Also the latency
 * every call pays.
 */
import type { ClusterId } from '../../src/config/topology.js';
import type { Clock } from '../../src/core/ports.js';
import { BatonError } from '../../src/errors.js';

type Fault =
  | { kind: 'fail'; times: number; error: () => Error }
  | { kind: 'fail-after'; times: number; error: () => Error }
  | { kind: 'hang' }
  | { kind: 'slow'; ms: number };

export class FaultInjector {
  private readonly faults = new Map<string, Fault>();

  constructor(
    private readonly clock: Clock,
    private readonly latencyMs: number,
  ) {}

  /** The next `times` calls of `method` throw. */
  fail(method: string, times: number, error: () => Error = () => simError(method)): void {
    this.faults.set(method, { kind: 'fail', times, error });
  }

  /** The next `times` calls of `method` take effect, then throw (a call that dies after doing its work). */
  failAfter(method: string, times: number, error: () => Error = () => simError(method)): void {
    this.faults.set(method, { kind: 'fail-after', times, error });
  }

  hang(method: string): void {
    this.faults.set(method, { kind: 'hang' });
  }

  slow(method: string, ms: number): void {
    this.faults.set(method, { kind: 'slow', ms });
  }

  heal(method?: string): void {
    if (method) this.faults.delete(method);
    else this.faults.clear();
  }

  /** Latency and injected faults before a call; returns what to do after its effect (a `fail-after` fault). */
  async enter(method: string, cluster?: ClusterId): Promise<() => void> {
    if (this.latencyMs > 0) await this.clock.sleep(this.latencyMs);
    const fault =
      (cluster === undefined ? undefined : this.faults.get(`${method}:${cluster}`)) ??
      this.faults.get(method);
    const none = () => undefined;
    if (!fault) return none;
    if (fault.kind === 'slow') await this.clock.sleep(fault.ms);
    if (fault.kind === 'hang') await new Promise(() => undefined);
    if (fault.kind === 'fail' && fault.times > 0) {
      fault.times -= 1;
      throw fault.error();
    }
    if (fault.kind === 'fail-after' && fault.times > 0) {
      fault.times -= 1;
      return () => {
        throw fault.error();
      };
    }
    return none;
  }
}

function simError(method: string): Error {
  return new BatonError('simulated-failure', `${method} failed (injected)`, { retriable: true });
}
