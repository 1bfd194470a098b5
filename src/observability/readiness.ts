/**
 * What GET /readyz answers. Ready means: the roles of this process have started (the topology is loaded and
 * validated before any role starts; a bad file stops the process), shutdown has not begun, and Redis answers PING
 * within a second. Kubernetes stops sending traffic the moment shutdown begins, because /readyz turns 503 before
 * anything is closed.
 */
import type { Topology } from '../config/topology.js';
import { describeError } from '../errors.js';

/** One line of the doctor run at boot (src/doctor/), as /readyz?verbose lists it. */
export interface ReadinessCheck {
  system: string;
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
  /** The system did not answer (rather than refused): listed, but does not make the process unready. */
  unreachable?: boolean;
}

/** The doctor's lines at /readyz?verbose: `running` until the boot-time run has finished. */
export type ReadinessChecks = ReadinessCheck[] | 'running';

export type ReadinessResult = ({ ready: true } | { ready: false; reason: string }) & {
  checks?: ReadinessChecks;
};

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
  private checks: ReadinessChecks = 'running';

  constructor(private readonly options: ReadinessOptions) {}

  /** The process's roles have started: /readyz may answer 200. */
  serving(): void {
    if (this.phase === 'starting') this.phase = 'serving';
  }

  /** Shutdown began: /readyz answers 503 from now on. */
  stopping(): void {
    this.phase = 'stopping';
  }

  /**
   * The boot-time doctor's report. A failing check makes the process not ready (its reason names the check and the
   * fix), unless it failed only because the system did not answer: during the incident Baton is for, one side is
   * down, and that must not take Baton out of service.
   */
  recordChecks(checks: ReadinessCheck[]): void {
    this.checks = checks;
  }

  /**
   * The doctor's refusals for one site (its lines are named `<site> …` or `<site>: …`), each with its fix; null
   * while the boot-time run has not finished. Continuous readiness reports them: a failover would need those rights.
   */
  refusedFor(site: string): string[] | null {
    if (this.checks === 'running') return null;
    return this.checks
      .filter((c) => c.status === 'fail' && !c.unreachable)
      .filter((c) => c.name.startsWith(`${site} `) || c.name.startsWith(`${site}:`))
      .map((c) => `${c.name} — ${c.detail}${c.fix ? ` → ${c.fix}` : ''}`);
  }

  get isStopping(): boolean {
    return this.phase === 'stopping';
  }

  /** `verbose`: the doctor's lines too. */
  async check(options: { verbose?: boolean } = {}): Promise<ReadinessResult> {
    const result = await this.probe();
    return options.verbose ? { ...result, checks: this.checks } : result;
  }

  private async probe(): Promise<ReadinessResult> {
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
    const refused =
      this.checks === 'running' ? [] : this.checks.filter((c) => c.status === 'fail' && !c.unreachable);
    const [first] = refused;
    if (first) {
      const more = refused.length > 1 ? ` (and ${refused.length - 1} more: GET /readyz?verbose)` : '';
      return {
        ready: false,
        reason: `baton doctor: ${first.system}: ${first.name} — ${first.detail}${first.fix ? ` → fix: ${first.fix}` : ''}${more}`,
      };
    }
    return { ready: true };
  }
}
