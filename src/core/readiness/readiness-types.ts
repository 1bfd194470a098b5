/**
 * Continuous readiness (DESIGN §2, `/failover readiness`): what one evaluation of a site found. Would a move away
 * from the cluster serving now work, and if not, why. Pure data; `evaluate-readiness.ts` produces it.
 */
import type { ClusterId } from '../../config/topology.js';
import type { PreflightCheck } from '../model.js';

export interface ReadinessEvaluation {
  site: string;
  /** When the evaluation finished (ms). */
  at: number;
  /** How long it took (ms). */
  durationMs: number;
  /** The side serving now (the one a failover would leave), and the side that would take over. */
  from: ClusterId;
  to: ClusterId;
  /** True when no check failed (warnings do not make a site unready). */
  ready: boolean;
  /** Every check, in a stable order; `id` names the check (also the `check` label of baton_readiness_check). */
  checks: PreflightCheck[];
  /** One line per failed check, the way the channel shows it, e.g. "west lag 3.2 MB > 1 MiB". */
  problems: string[];
}
