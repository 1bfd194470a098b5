/**
 * Every run the drill finishes has its report (DESIGN §2): stored with the run's final save (what `baton report
 * <run>` prints) and attached as a Markdown file to the run's thread in Slack, with the stored report's bytes.
 */
import { renderReportMarkdown } from '../../src/core/runs/render-report-markdown.js';
import type { RunReport } from '../../src/core/runs/run-report.js';
import type { ReportStore } from '../../src/store/report-store.js';
import type { Sandbox } from '../sandbox/stack.js';
import { check, until } from './drill-support.js';

/** Waits for run `runId`'s stored report and its file in the thread of message `threadTs`; returns the file name. */
export async function checkRunReport(
  s: Sandbox,
  reports: ReportStore,
  runId: string,
  threadTs: string,
): Promise<string> {
  const report: RunReport = await until(`run ${runId}'s stored report`, 10_000, () => reports.get(runId));
  check(report.outcome.state === 'succeeded', `run ${runId}'s report says ${report.outcome.state}`);
  // Behind the step replies of this run and of the ones after it, paced at about one message a second per channel.
  const file = await until(`run ${runId}'s report file in its thread`, 60_000, async () =>
    s.slack
      .replies(s.channel.id, threadTs)
      .flatMap((reply) => reply.files ?? [])
      .find((f) => f.name.includes(runId)),
  );
  check(
    file.content === renderReportMarkdown(report),
    `the file ${file.name} is not run ${runId}'s stored report`,
  );
  check(
    file.size === file.lengthDeclared,
    `the file ${file.name} is ${file.size} bytes, ${file.lengthDeclared} declared`,
  );
  return file.name;
}
