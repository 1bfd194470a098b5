/**
 * The file a run's thread gets when it ends: its report as Markdown, read from the report store when the notify
 * worker posts it (so the job carries only the run id, and a retry posts the same bytes).
 */
import type { Run } from '../../core/model.js';
import { renderReportMarkdown } from '../../core/runs/render-report-markdown.js';
import type { ReportStore } from '../../store/report-store.js';
import type { NotifyFileSource } from './notify-policy.js';

export function runReportFiles(
  reports: Pick<ReportStore, 'ensure'>,
  runs: { get(id: string): Promise<Run | null> },
): NotifyFileSource {
  return async (ref) => {
    const run = await runs.get(ref.runId);
    const report = run && (await reports.ensure(run));
    if (!report) return null;
    const { id, kind, site, from, to } = report.run;
    return {
      filename: `baton-${site}-${id}-report.md`,
      title: `Run ${id} report: ${kind} of ${site} ${from} → ${to}, ${report.outcome.state}`,
      content: renderReportMarkdown(report),
      comment: `Report of run ${id} (${report.outcome.state}). JSON: \`baton report ${id}\``,
    };
  };
}
