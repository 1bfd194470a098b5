/**
 * `baton report RUN [--markdown]`: a finished run's report, read from Redis without Slack. JSON by default (the
 * stored document, `reportVersion` first), or the Markdown attached to the run's Slack thread.
 */
import { TERMINAL_STATES } from '../core/model.js';
import { renderReportMarkdown } from '../core/runs/render-report-markdown.js';
import { BatonError } from '../errors.js';
import type { BreakGlass } from './open-break-glass.js';

export async function showReport(
  bg: Pick<BreakGlass, 'service' | 'reports'>,
  args: { runId: string; markdown: boolean },
): Promise<string[]> {
  const run = await bg.service.require(args.runId);
  const report = await bg.reports.ensure(run);
  if (!report) {
    const why = TERMINAL_STATES.has(run.state)
      ? `run ${run.id} was ${run.state} before it was approved: nothing ran, so it has no report; ` +
        '`baton status` shows its record'
      : `run ${run.id} is ${run.state}: its report is written when it ends; \`baton status\` shows it now`;
    throw new BatonError('report-not-ready', why);
  }
  return [args.markdown ? renderReportMarkdown(report) : JSON.stringify(report, null, 2)];
}
