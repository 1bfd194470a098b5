/**
 * Continuous readiness in Slack: the notice in the incident channel when a site's verdict changes (and the daily
 * reminder while it stays red), and the `/failover readiness [site]` answer — the last evaluation of each site, its
 * age and every check that did not pass. Pure builders.
 */
import type { PreflightCheck } from '../../core/model.js';
import type { ReadinessEvaluation } from '../../core/readiness/readiness-types.js';
import { formatDuration, slackDate } from './format.js';
import type { SlackMessage } from './limits.js';
import { SLACK_LIMITS, capList, escapeText, fitMessage, joinLines, truncateText } from './limits.js';

export type ReadinessNoticeKind = 'unready' | 'recovered' | 'reminder';

/** Problems shown in one notice line; the rest is "and N more" (all of them are in `/failover readiness`). */
const MAX_PROBLEMS_IN_NOTICE = 3;

const RED = '🔴';
const GREEN = '🟢';

/** "fail over" from home, "fail back to east" when served away from home (what the evaluation judged). */
export function judgedMove(
  evaluation: Pick<ReadinessEvaluation, 'from' | 'to'>,
  homeCluster: string,
): string {
  return evaluation.from === homeCluster ? 'fail over' : `fail back to ${evaluation.to}`;
}

function problemSummary(problems: readonly string[]): string {
  const { shown, hidden } = capList(problems, MAX_PROBLEMS_IN_NOTICE);
  return shown.join('; ') + (hidden ? `; and ${hidden} more` : '');
}

/** The channel's notice: "🔴 production is not ready to fail over: west lag 3.2 MiB > 1 MiB", and what to do. */
export function buildReadinessNotice(input: {
  kind: ReadinessNoticeKind;
  evaluation: ReadinessEvaluation;
  homeCluster: string;
  /** When the channel was first told the site is not ready (reminders and recovery say how long). */
  redSince?: number;
}): SlackMessage {
  const { kind, evaluation, homeCluster, redSince } = input;
  const site = escapeText(evaluation.site);
  const move = judgedMove(evaluation, homeCluster);
  const problems = escapeText(problemSummary(evaluation.problems));
  const next = `Fix it before it is needed; \`/failover readiness ${site}\` shows every check.`;
  let text: string;
  switch (kind) {
    case 'unready':
      text = `${RED} *${site} is not ready to ${move}:* ${problems}\n${next}`;
      break;
    case 'reminder': {
      const since =
        redSince !== undefined
          ? ` for ${formatDuration(evaluation.at - redSince)} (since ${slackDate(redSince, 'datetime')})`
          : '';
      text = `${RED} *${site} is still not ready to ${move}*${since}: ${problems}\n${next}`;
      break;
    }
    case 'recovered': {
      const passed = evaluation.checks.filter((c) => c.status !== 'failed').length;
      const after =
        redSince !== undefined ? `after ${formatDuration(evaluation.at - redSince)} not ready; ` : '';
      text = `${GREEN} *${site} is ready to ${move} again* (${after}${passed === 1 ? 'its one check passes' : `all ${passed} checks pass`})`;
      break;
    }
  }
  const section = truncateText(text, SLACK_LIMITS.sectionText);
  return fitMessage({
    text: text.replace(/\*/g, ''),
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: section } }],
  });
}

/** One site of `/failover readiness`: its last evaluation, or when the first one is due. */
export interface ReadinessSiteView {
  site: string;
  homeCluster: string;
  evaluation: ReadinessEvaluation | null;
  /** The site's readiness interval (ms). */
  intervalMs: number;
  /** When the next evaluation is due (ms). */
  nextDueAt: number;
  /** Since when the channel has been told the site is not ready. */
  redSince?: number;
}

const STATUS_MARK: Record<PreflightCheck['status'], string> = {
  passed: '✓',
  warning: '⚠',
  failed: '✗',
};

function siteSection(view: ReadinessSiteView, now: number): string {
  const site = escapeText(view.site);
  const evaluation = view.evaluation;
  if (!evaluation) {
    return `*${site}*: not evaluated yet — the first evaluation is due ${slackDate(view.nextDueAt)} (in ${formatDuration(Math.max(0, view.nextDueAt - now))}).`;
  }
  const move = judgedMove(evaluation, view.homeCluster);
  // A worker evaluates each site every interval: an evaluation a whole interval overdue means none is running.
  const overdue = now - view.nextDueAt > view.intervalMs;
  const age =
    `evaluated ${formatDuration(now - evaluation.at)} ago (${slackDate(evaluation.at)}), ` +
    (overdue ? '*overdue* — is a Baton worker running?' : `next due ${slackDate(view.nextDueAt)}`);
  const head = evaluation.ready
    ? `${GREEN} *${site} is ready to ${move}* (${evaluation.from} → ${evaluation.to}) — ${age}`
    : `${RED} *${site} is not ready to ${move}* (${evaluation.from} → ${evaluation.to})` +
      (view.redSince !== undefined ? ` for ${formatDuration(now - view.redSince)}` : '') +
      ` — ${age}`;
  // Failed first, then warnings; passed checks are only counted (the full list is long and rarely read).
  const notPassed = [
    ...evaluation.checks.filter((c) => c.status === 'failed'),
    ...evaluation.checks.filter((c) => c.status === 'warning'),
  ];
  const passed = evaluation.checks.length - notPassed.length;
  const lines = notPassed.map(
    (c) => `${STATUS_MARK[c.status]} ${escapeText(c.id)}: ${escapeText(c.detail.replace(/\s*\n\s*/g, ' '))}`,
  );
  return joinLines(
    [head, ...lines, `${passed} of ${evaluation.checks.length} checks passed.`],
    SLACK_LIMITS.sectionText,
  );
}

/** `/failover readiness [site]`, answered ephemerally from the last evaluations. */
export function buildReadinessView(input: { sites: ReadinessSiteView[]; now: number }): SlackMessage {
  const sections = input.sites.map((view) => siteSection(view, input.now));
  const text = sections.length ? sections.join('\n\n') : 'No sites are configured.';
  return fitMessage({
    text: text.replace(/\*/g, ''),
    blocks: sections.map((section) => ({ type: 'section', text: { type: 'mrkdwn', text: section } })),
  });
}
