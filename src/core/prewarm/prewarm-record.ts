/**
 * What pre-warm (DESIGN §6) did to a proposal's target side, kept on the run (an evacuation's site keeps it in its own
 * key until its run takes it: evacuation-site-prewarm.ts): the proposal renders it, the audit records each change of
 * it (`prewarm-*` events), and a reject or an expiry scales back exactly what it lists.
 */
import type { ClusterId } from '../../config/topology.js';

/** One workload on the target: spec.replicas as Baton found it and as it set it, and the Ready count last seen. */
export interface PrewarmWorkload {
  from: number;
  to: number;
  ready: number;
}

/** What giving back did: each line is a workload or an HPA. */
export interface PrewarmRelease {
  at: number;
  /** The proposal's end that gave them back (`not-started`: an evacuation approved without this site's run). */
  because: 'rejected' | 'expired' | 'cancelled' | 'not-started';
  /** e.g. "default/web 5 → 1", "default/web-hpa (default/web): minReplicas 5 → 1". */
  restored: string[];
  /** Changed by someone else since Baton set it, so left as it is, e.g. "default/web: now 3, not the 5 Baton set". */
  leftAlone: string[];
}

export interface Prewarm {
  /** The side warmed: the run's `to`. */
  cluster: ClusterId;
  startedAt: number;
  /** When every scale request had been sent (absent until then, and when pre-warm failed before). */
  scaledAt?: number;
  /** By workload label (`namespace/name`): only those pre-warm looked at. */
  workloads: Record<string, PrewarmWorkload>;
  /** The HPAs whose range Baton raised, as lines ("default/web-hpa (default/web): minReplicas 1 → 5"). */
  autoscalers: string[];
  /** When every workload was first seen Ready at its count. */
  readyAt?: number;
  /**
   * What the scaling helpers checkpoint before each change (`before`: replicas found, `autoscalers`: the ranges
   * held), so a worker that dies between a change and its record loses nothing (see steps/scale-workloads.ts).
   */
  progress: Record<string, unknown>;
  /** Why pre-warm did not (fully) happen; a line in the proposal, never a reason to block it. */
  failed?: string;
  released?: PrewarmRelease;
}
