/**
 * What GET /readyz answers. Ready means: the roles of this process have started (the topology is loaded and
 * validated before any role starts; a bad file stops the process), shutdown has not begun, and Redis answers PING
 * within a second. Kubernetes stops sending traffic the moment shutdown begins, because /readyz turns 503 before
 * anything is closed.
 */
import type { Topology } from '../config/topology.js';
import { describeError } from '../errors.js';

export type ReadinessResult = { ready: true } | { ready: false; reason: string };

export interface ReadinessOptions {
  /** PING on a fail-fast Redis connection. */
  ping: () => Promise<unknown>;
  /** The topology the roles run with; null until it is loaded. */
  topology: Topology | null;
  /** How long PING may take (default 1 s). */
  pingTimeoutMs?: number;
}

export class Readiness {
  private phase: 'starting' | 'serving' | 'stopping' = 'starting';

  constructor(private readonly options: ReadinessOptions) {}

  /** The process's roles have started: /readyz may answer 200. */
  serving(): void {
    if (this.phase === 'starting') this.phase = 'serving';
  }

  /** Shutdown began: /readyz answers 503 from now on. */
  stopping(): void {
    this.phase = 'stopping';
  }

  get isStopping(): boolean {
    return this.phase === 'stopping';
  }

  async check(): Promise<ReadinessResult> {
    if (this.phase === 'stopping') return { ready: false, reason: 'shutting down' };
    if (!this.options.topology) return { ready: false, reason: 'the topology is not loaded' };
    if (this.phase === 'starting') return { ready: false, reason: 'starting' };
    const timeoutMs = this.options.pingTimeoutMs ?? 1000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        this.options.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (error) {
      return { ready: false, reason: `Redis does not answer PING (${describeError(error)})` };
    } finally {
      clearTimeout(timer);
    }
    // Shutdown may have begun while PING was in flight.
    if (this.isStopping) return { ready: false, reason: 'shutting down' };
    return { ready: true };
  }
}
