/**
 * Route 53 failover records move users by themselves: when the PRIMARY's health check fails (or its alias target,
 * with EvaluateTargetHealth), Route 53 answers with the SECONDARY. After a failover the demoted side is that
 * SECONDARY, with its database fenced, so a failing check on the new PRIMARY sends users to a database that takes
 * no writes. Preflight and `/failover status` name this exposure and the operator's choice.
 */
import type { ClusterId, SiteConfig } from '../config/topology.js';

export interface AutomaticFailover {
  /** The cluster whose record is (or will be) PRIMARY. */
  primary: ClusterId;
  /** Where Route 53 sends users on its own when `trigger` fails. */
  secondary: ClusterId;
  /** What makes Route 53 move them, e.g. "health check hc-west". */
  trigger: string;
}

/** The automatic failover Route 53 would make away from `primary`, or null when nothing triggers one. */
export function automaticFailover(
  site: SiteConfig,
  triggers: Readonly<Record<ClusterId, string | null>>,
  primary: ClusterId,
): AutomaticFailover | null {
  if (site.dns.strategy !== 'failover-records') return null;
  const trigger = triggers[primary];
  const secondary = Object.keys(site.clusters).find((cluster) => cluster !== primary);
  if (!trigger || secondary === undefined) return null;
  return { primary, secondary, trigger };
}

/** The exposure and the choice, in one line for a preflight check or the status view. */
export function describeAutomaticFailover(exposure: AutomaticFailover, secondaryState: string): string {
  const { primary, secondary, trigger } = exposure;
  return (
    `if ${primary}'s ${trigger} fails, Route 53 sends users to ${secondary} on its own (${secondaryState}) — ` +
    `keep it (Route 53 moves users even when Baton is down, and writes fail until you run a failover) or remove ` +
    `the ${trigger.startsWith('health check') ? 'health check' : 'EvaluateTargetHealth'} from ${primary}'s record ` +
    `so that only Baton moves users (see the runbook)`
  );
}
