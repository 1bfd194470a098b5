/**
 * One continuous readiness evaluation of a site (DESIGN §2, `/failover readiness`): would a move away from the
 * cluster serving now work, and if not, why. Read-only: it only reads through the ports, never changes the world.
 *
 * What is judged (the choice is the run a person would ask for next):
 * - served from home: an EMERGENCY failover home → standby, judged as the incident would judge it (the serving side
 *   unreachable is then only a warning: that is what an emergency failover is for);
 * - served away from home: the PLANNED failback → home, which needs both sides healthy and the old primary following.
 *
 * It reuses preflight's gates ({@link runPreflightChecks}: nodes, workloads and images, autoscalers, standby lag on
 * the primary's timeline, the DNS record pointing at the serving side) and adds the health URLs of both sides, the
 * record's TTL (at most 60 s: a longer one keeps users on the dead side after DNS switched), open fence debt, and the
 * cluster checks (drift between the clusters' pod templates, the standby's capacity).
 */
import type { ClusterId, SiteConfig } from '../../config/topology.js';
import { describeError } from '../../errors.js';
import type { FenceDebt, PreflightCheck, RunKind, RunMode } from '../model.js';
import type { Ports } from '../ports.js';
import { runPreflightChecks } from '../steps/preflight.js';
import { clusterReadinessChecks } from './cluster-checks.js';
import type { ReadinessEvaluation } from './readiness-types.js';

/** The record TTL a site may have at most (seconds). */
export const MAX_READY_TTL_SECONDS = 60;

export interface EvaluateReadinessInput {
  site: SiteConfig;
  ports: Ports;
  /** The side serving now (Baton's record), which a failover would leave. */
  from: ClusterId;
  to: ClusterId;
  now: () => number;
  /** The evaluation's deadline: when it aborts, the checks still out count as failed. */
  signal?: AbortSignal;
  /** The site's open fence debt, if any (a failback waits until it is paid). */
  fenceDebt?: FenceDebt | null;
  /**
   * What `baton doctor` (run at this worker's boot) refused for this site, one line each; null while it has not
   * finished. Omitted: no doctor ran here, and no check is made.
   */
  refusedAccess?: string[] | null;
}

/** The run an evaluation judges: the emergency failover from home, or the planned failback to it. */
export function judgedRun(site: SiteConfig, from: ClusterId): { kind: RunKind; mode: RunMode } {
  return from === site.homeCluster
    ? { kind: 'failover', mode: 'emergency' }
    : { kind: 'failback', mode: 'planned' };
}

export async function evaluateReadiness(input: EvaluateReadinessInput): Promise<ReadinessEvaluation> {
  const { site, ports, from, to, now, signal } = input;
  const started = now();
  const { kind, mode } = judgedRun(site, from);
  const call = signal ? { signal } : {};
  const run = { id: 'readiness', kind, mode, from, to, force: false, segment: 0 };

  const all = Promise.all([
    runPreflightChecks({ site, run, ports, ...call }),
    healthCheck(ports, site, to, 'target-health', 'failed', call),
    healthCheck(ports, site, from, 'source-health', mode === 'planned' ? 'failed' : 'warning', call),
    clusterReadinessChecks({ site, ports, from, to, ...call }),
  ]);
  let checks: PreflightCheck[];
  try {
    const [preflight, target, source, cluster] = await untilAborted(all, signal);
    checks = [
      ...preflight,
      target,
      source,
      ttlCheck(site),
      fenceDebtCheck(input.fenceDebt),
      ...(input.refusedAccess !== undefined ? [accessCheck(input.refusedAccess)] : []),
      ...cluster,
    ];
  } catch (error) {
    const why = describeError(error);
    checks = [
      {
        id: 'evaluation',
        status: 'failed',
        detail: `the checks did not finish (${why}) — a source hangs; see /failover status`,
      },
    ];
  }
  const failed = checks.filter((c) => c.status === 'failed');
  const at = now();
  return {
    site: site.name,
    at,
    durationMs: Math.max(0, at - started),
    from,
    to,
    ready: failed.length === 0,
    checks,
    problems: failed.map(problemLine),
  };
}

/** Rejects when `signal` aborts first: a port that ignores its signal must not hold the evaluation. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(new Error('deadline passed'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('deadline passed'));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

async function healthCheck(
  ports: Ports,
  site: SiteConfig,
  cluster: ClusterId,
  id: 'target-health' | 'source-health',
  whenDown: 'failed' | 'warning',
  call: { signal?: AbortSignal },
): Promise<PreflightCheck> {
  const url = site.clusters[cluster]?.healthUrl;
  if (!url) return { id, status: 'failed', detail: `${cluster}: no healthUrl in the topology` };
  try {
    const answer = await ports.health.check(url, call);
    if (answer.ok) return { id, status: 'passed', detail: `${cluster} health URL answers` };
    const why = answer.status !== undefined ? `HTTP ${answer.status}` : (answer.error ?? 'no answer');
    return { id, status: whenDown, detail: `${cluster} health URL down (${why})` };
  } catch (error) {
    const why = describeError(error);
    return { id, status: whenDown, detail: `${cluster} health URL down (${why})` };
  }
}

/**
 * The TTL Baton writes (`dns.ttl`) must be at most 60 s. An alias record has no TTL of its own: Route 53 answers
 * with the TTL of the AWS resource it routes to (Route 53 API reference, AliasTarget / DnsRecord.TTL; the Route 53
 * FAQ gives ELB alias records a fixed 60 s), so that is said, not failed.
 */
export function ttlCheck(site: SiteConfig): PreflightCheck {
  const targets = Object.values(site.dns.targets);
  if (targets.length > 0 && targets.every((t) => 'aliasDnsName' in t)) {
    return {
      id: 'dns-ttl',
      status: 'passed',
      detail: `${site.dns.recordName} is an alias: no TTL of its own, its target's TTL applies`,
    };
  }
  const ttl = site.dns.ttl;
  return ttl <= MAX_READY_TTL_SECONDS
    ? { id: 'dns-ttl', status: 'passed', detail: `TTL ${ttl} s (at most ${MAX_READY_TTL_SECONDS} s)` }
    : {
        id: 'dns-ttl',
        status: 'failed',
        detail:
          `TTL ${ttl} s > ${MAX_READY_TTL_SECONDS} s — users stay on the dead side that long after the switch; ` +
          `set dns.ttl to ${MAX_READY_TTL_SECONDS} or less`,
      };
}

/** The doctor's refusals: a permission or object a step needs that its system refused (not one that is down). */
function accessCheck(refused: string[] | null): PreflightCheck {
  if (refused === null)
    return { id: 'access', status: 'warning', detail: 'baton doctor has not finished at this worker yet' };
  const [first] = refused;
  if (first === undefined)
    return {
      id: 'access',
      status: 'passed',
      detail: 'baton doctor: every permission the steps use is granted',
    };
  const more = refused.length > 1 ? ` (and ${refused.length - 1} more)` : '';
  return {
    id: 'access',
    status: 'failed',
    detail: `baton doctor: ${first}${more} — run \`baton doctor\` for each fix, or see /readyz?verbose`,
  };
}

function fenceDebtCheck(debt: FenceDebt | null | undefined): PreflightCheck {
  if (!debt) return { id: 'fence-debt', status: 'passed', detail: 'no open fence debt' };
  const owes = [debt.database && 'its database read-only', debt.workloads && 'its workloads scaled down']
    .filter(Boolean)
    .join(' and ');
  return {
    id: 'fence-debt',
    status: 'failed',
    detail: `${debt.cluster} still owes its fence (${owes}) from run ${debt.runId} — see /failover status`,
  };
}

/** The short line a failed check shows in the channel: "west lag 3.2 MiB > 1 MiB", never the fix. */
export function problemLine(check: PreflightCheck): string {
  if (check.id === 'target-database') {
    const lag = /^(\S+): standby streaming from \S+, (.+) behind \(limit (.+)\)$/.exec(check.detail);
    if (lag) return `${lag[1]} lag ${lag[2]} > ${lag[3]}`;
  }
  // The finding without its fix: the first line, up to " — " or ". Fix:", at most 160 characters.
  const first = check.detail.split('\n')[0] ?? '';
  const cuts = [first.indexOf(' — '), first.indexOf('. Fix:')].filter((i) => i > 0);
  const line = cuts.length ? first.slice(0, Math.min(...cuts)) : first;
  return line.length > MAX_PROBLEM_LENGTH ? `${line.slice(0, MAX_PROBLEM_LENGTH - 1).trimEnd()}…` : line;
}

const MAX_PROBLEM_LENGTH = 160;
