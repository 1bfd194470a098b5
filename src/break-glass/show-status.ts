/**
 * `baton status [SITE]`: Baton's own record in Redis, read without Slack — each site's serving cluster, its open run
 * with step progress, approvals and what to do next, the last few runs, whether workers are connected and how many
 * Slack messages wait to be posted.
 */
import type { Queue } from 'bullmq';
import type { SiteConfig } from '../config/topology.js';
import { isoTime } from '../slack/blocks/format.js';
import type { BreakGlass } from './open-break-glass.js';
import type { RunView } from './describe-run.js';
import { describeRun, renderHistoryLine, renderRun } from './describe-run.js';

export interface SiteStatus {
  site: string;
  homeCluster: string;
  /** The cluster Baton records as serving (its home until a run has moved it). */
  serving: string;
  servingSince?: string;
  openRun: RunView | null;
  /** The newest runs other than the open one, newest first. */
  recentRuns: RunView[];
}

export interface StatusReport {
  at: string;
  sites: SiteStatus[];
  /** Worker processes connected to each queue; null when Redis would not list its clients. */
  workers: { runs: number | null; checks: number | null };
  /** Slack messages queued and not yet posted (null: unknown). Many while Slack is down; the worker catches up. */
  slack: { messagesWaiting: number | null };
}

/** Worker processes connected to `queue`, or null where CLIENT LIST is not allowed (some managed Redis). */
export async function countWorkers(queue: Queue): Promise<number | null> {
  try {
    return await queue.getWorkersCount();
  } catch {
    return null;
  }
}

export async function gatherStatus(
  bg: BreakGlass,
  options: { site?: string; runs: number },
): Promise<StatusReport> {
  const sites: SiteConfig[] =
    options.site === undefined ? bg.topology.sites : [bg.service.site(options.site)];
  const [runWorkers, checkWorkers, waiting] = await Promise.all([
    countWorkers(bg.queues.runs),
    countWorkers(bg.queues.checks),
    bg.queues.notify
      .getJobCounts('waiting', 'delayed', 'active', 'prioritized')
      .then((counts) => Object.values(counts).reduce((a, b) => a + b, 0))
      .catch(() => null),
  ]);
  const now = bg.clock.now();
  const context = { approvals: bg.topology.approvals, now, runWorkers };
  const siteStatus = async (site: SiteConfig): Promise<SiteStatus> => {
    const [state, open, history] = await Promise.all([
      bg.service.siteState(site.name),
      bg.service.openRun(site.name),
      bg.service.history(site.name, options.runs + 1),
    ]);
    return {
      site: site.name,
      homeCluster: site.homeCluster,
      serving: state.serving ?? site.homeCluster,
      ...(state.servingSince !== undefined && { servingSince: isoTime(state.servingSince) }),
      openRun: open ? describeRun(open, context) : null,
      recentRuns: history
        .filter((run) => run.id !== open?.id)
        .slice(0, options.runs)
        .map((run) => describeRun(run, context)),
    };
  };
  return {
    at: isoTime(now),
    sites: await Promise.all(sites.map(siteStatus)),
    workers: { runs: runWorkers, checks: checkWorkers },
    slack: { messagesWaiting: waiting },
  };
}

export function renderStatus(report: StatusReport): string[] {
  const count = (n: number | null) => (n === null ? 'unknown' : String(n));
  const lines = [
    `Baton at ${report.at} · workers: ${count(report.workers.runs)} on runs, ${count(report.workers.checks)} on checks` +
      ` · Slack messages waiting: ${count(report.slack.messagesWaiting)}`,
  ];
  if (report.workers.runs === 0)
    lines.push('! No worker is connected: approved runs wait until `baton worker` (or `baton start`) runs.');
  for (const site of report.sites) {
    const moved = site.serving === site.homeCluster ? 'its home' : `home is ${site.homeCluster}`;
    lines.push(
      '',
      `${site.site}: serving from ${site.serving} (${moved})${site.servingSince ? ` since ${site.servingSince}` : ''}`,
    );
    if (site.openRun) lines.push('  open run:', ...renderRun(site.openRun, { indent: '    ' }));
    else lines.push('  no open run');
    if (site.recentRuns.length) {
      lines.push('  recent runs:', ...site.recentRuns.map((run) => `    ${renderHistoryLine(run)}`));
    }
  }
  return lines;
}
