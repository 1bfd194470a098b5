/**
 * Continuous readiness (DESIGN §2): every site is evaluated every `readiness.interval` (its own, or the topology's,
 * default 10 minutes) without changing anything, and the incident channel hears when its verdict changes.
 *
 * Periodic work runs once per deployment (src/queue/periodic.ts): one job scheduler ticks often (a tenth of the
 * shortest interval, between 1 s and 1 min) and a tick evaluates only the sites whose own interval has passed since
 * their last evaluation. A site's evaluation is claimed in Redis first (one claim per interval across every worker),
 * and what to post is decided by a compare-and-set on the verdict last posted (store/readiness-store.ts): a change
 * posts once, recovery posts once, and a site that stays red is reminded at most once a day.
 *
 * Which side serves is Baton's own record (the run store's site, as `/failover status` shows it); the evaluation
 * itself checks that Route 53 agrees. While a run is executing on the site the world is mid-change by design, so
 * the site is not evaluated then (its thread speaks for it); a proposal waiting for approval is.
 */
import type { SiteConfig, Topology } from '../config/topology.js';
import { readinessIntervalOf } from '../config/topology.js';
import type { Clock, Log, Ports } from '../core/ports.js';
import { evaluateReadiness } from '../core/readiness/evaluate-readiness.js';
import type { ReadinessEvaluation } from '../core/readiness/readiness-types.js';
import { describeError } from '../errors.js';
import { buildReadinessNotice } from '../slack/blocks/readiness-view.js';
import type { ReadinessNotice, ReadinessStore } from '../store/readiness-store.js';
import type { RunStore } from '../store/run-store.js';
import type { Notifier } from './notify/index.js';
import type { PeriodicJob } from './periodic.js';

/** The deployment's one readiness scheduler (on the periodic queue). */
export const READINESS_SCHEDULER = 'readiness';
/** An evaluation gives up after this long (its checks still out count as failed). */
export const READINESS_TIMEOUT_MS = 60_000;

/** Run states in which the site is mid-change and not evaluated. */
const EXECUTING = new Set(['approved', 'running', 'paused', 'aborting']);

export interface ReadinessJobOptions {
  store: RunStore;
  readiness: ReadinessStore;
  ports: Ports;
  notifier: Pick<Notifier, 'postStatus'>;
  topology: Topology;
  clock: Clock;
  log: Log;
  /** Longest one evaluation may take (default 60 s, and never more than the site's interval). */
  timeoutMs?: number;
  /** How often the scheduler ticks (default: a tenth of the shortest interval, 1 s to 1 min). */
  checkEveryMs?: number;
  /** How often a red site is reminded (default a day). */
  remindEveryMs?: number;
  /**
   * The boot-time doctor's refusals for a site (null while it runs); absent when no doctor runs in this process,
   * and readiness then makes no access check.
   */
  refusedAccess?: (site: SiteConfig) => string[] | null;
}

/** The other cluster of a two-cluster site. */
const otherCluster = (site: SiteConfig, cluster: string): string =>
  Object.keys(site.clusters).find((c) => c !== cluster) ?? cluster;

/**
 * Evaluates one site now (no claim, nothing posted): what `/failover drill` re-checks just before a game day, and
 * what one pass does for a due site.
 */
export async function evaluateSiteNow(
  options: Pick<ReadinessJobOptions, 'store' | 'ports' | 'clock' | 'timeoutMs' | 'refusedAccess'>,
  site: SiteConfig,
): Promise<ReadinessEvaluation> {
  const { store, ports, clock } = options;
  const [record, fenceDebt] = await Promise.all([store.site(site.name), store.debts.get(site.name)]);
  const from = record.serving ?? site.homeCluster;
  return evaluateReadiness({
    site,
    ports,
    from,
    to: otherCluster(site, from),
    now: () => clock.now(),
    signal: AbortSignal.timeout(options.timeoutMs ?? READINESS_TIMEOUT_MS),
    fenceDebt,
    ...(options.refusedAccess && { refusedAccess: options.refusedAccess(site) }),
  });
}

/** One pass: evaluates each due site and posts what changed. Returns the sites it evaluated. */
export async function evaluateDueSites(options: ReadinessJobOptions): Promise<string[]> {
  const { topology, readiness, clock, log } = options;
  const evaluated: string[] = [];
  await Promise.all(
    topology.sites.map(async (site) => {
      const intervalMs = readinessIntervalOf(topology, site);
      try {
        if (!(await readiness.claimEvaluation(site.name, clock.now(), intervalMs))) return;
        const open = await options.store.openRun(site.name);
        if (open && EXECUTING.has(open.state)) {
          log.debug({ site: site.name, runId: open.id }, 'readiness: a run is executing; not evaluated');
          return;
        }
        const evaluation = await evaluateSiteNow(
          { ...options, timeoutMs: Math.min(options.timeoutMs ?? READINESS_TIMEOUT_MS, intervalMs) },
          site,
        );
        evaluated.push(site.name);
        const { outcome, redSince } = await readiness.record(evaluation, {
          ...(options.remindEveryMs !== undefined && { remindEveryMs: options.remindEveryMs }),
        });
        log.info(
          {
            site: site.name,
            ready: evaluation.ready,
            problems: evaluation.problems,
            durationMs: evaluation.durationMs,
            outcome,
          },
          'readiness evaluated',
        );
        if (outcome === 'none' || outcome === 'stale') return;
        await post(options, site, outcome, evaluation, redSince);
      } catch (error) {
        log.warn({ site: site.name, err: describeError(error) }, 'readiness: the evaluation failed');
      }
    }),
  );
  return evaluated;
}

async function post(
  options: ReadinessJobOptions,
  site: SiteConfig,
  kind: ReadinessNotice,
  evaluation: ReadinessEvaluation,
  redSince: number | undefined,
): Promise<void> {
  // A message of its own per notice (a status key is coalesced to its newest content); the key is fixed by the
  // evaluation, so a redelivered job posts nothing more.
  await options.notifier.postStatus({
    channel: options.topology.slack.incidentChannel,
    key: `readiness:${site.name}:${kind}:${evaluation.at}`,
    message: buildReadinessNotice({
      kind,
      evaluation,
      homeCluster: site.homeCluster,
      ...(redSince !== undefined && { redSince }),
    }),
  });
}

/** The tick of the deployment's readiness scheduler: a tenth of the shortest interval, between 1 s and 1 min. */
export function readinessTickMs(topology: Topology): number {
  const shortest = Math.min(...topology.sites.map((site) => readinessIntervalOf(topology, site)));
  return Math.min(60_000, Math.max(1000, Math.floor(shortest / 10)));
}

/**
 * Continuous readiness as periodic work (src/queue/periodic.ts). The first tick comes one tick after boot, not at
 * once: a worker that restarts does not read every site in the same second as it resumes runs.
 */
export function readinessJob(options: ReadinessJobOptions): PeriodicJob {
  const log = options.log.child({ component: 'readiness' });
  const everyMs = options.checkEveryMs ?? readinessTickMs(options.topology);
  return {
    id: READINESS_SCHEDULER,
    everyMs,
    firstAfterMs: everyMs,
    run: () => evaluateDueSites({ ...options, log }),
  };
}
