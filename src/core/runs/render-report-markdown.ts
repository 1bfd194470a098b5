/**
 * A run report as Markdown: the file attached to the run's Slack thread and `baton report <run> --markdown`. Written
 * for an incident review: the outcome and the recovery numbers first, then who decided, what was overridden, the
 * steps, the plan as approved. Pure, from the report alone.
 */
import type { Actor } from '../model.js';
import type { RunReport } from './run-report.js';

/** "1m 05.2s", "840 ms", "—" for null. */
export function formatDurationMs(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${ms} ms`;
  const totalSeconds = ms / 1000;
  const minutes = Math.floor(totalSeconds / 60);
  const seconds = totalSeconds - minutes * 60;
  if (minutes === 0) return `${seconds.toFixed(1)} s`;
  return `${minutes}m ${seconds.toFixed(1).padStart(4, '0')}s`;
}

const who = (actor: Actor | null | undefined): string => {
  if (!actor) return 'unknown';
  const name = actor.name ? `${actor.name} (${actor.id})` : actor.id;
  const via =
    actor.type === 'cli' ? ' via break-glass CLI' : actor.type === 'slack-user' ? '' : ` [${actor.type}]`;
  const origin = actor.origin ? `, typed by ${actor.origin.osUser}@${actor.origin.host}` : '';
  return `${name}${via}${origin}`;
};

/** Table cells must not break the row. */
const cell = (text: string | null | undefined): string =>
  (text ?? '—').replaceAll('|', '\\|').replaceAll('\n', ' ');

const time = (at: string | null): string => at ?? '—';

export function renderReportMarkdown(report: RunReport): string {
  const { run, outcome, recovery, overrides } = report;
  const lines: string[] = [];
  const add = (...more: string[]) => lines.push(...more);

  add(`# Baton run ${run.id}: ${run.kind} of ${run.site} (${run.from} → ${run.to}), ${outcome.state}`, '');
  add(
    `- Mode: ${run.mode}${run.force ? ', **forced (break-glass)**' : ''}`,
    `- Reason: ${run.reason || '—'}`,
    `- Finished: ${outcome.finishedAt} as **${outcome.state}**${outcome.reason ? ` — ${outcome.reason}` : ''}`,
    `- Report version: ${report.reportVersion} (times in UTC)`,
    '',
  );

  add('## Recovery', '');
  add(
    `- Alert → verified (RTO): ${formatDurationMs(recovery.alertToVerifiedMs)}`,
    `- Approval → verified: ${formatDurationMs(recovery.approvalToVerifiedMs)}`,
    `- Alert fired: ${time(recovery.alertFiredAt)}; approved: ${time(report.approvedAt)}; verified: ${time(recovery.verifiedAt)}`,
    `- RPO: ${report.rpo ? `${report.rpo.summary} — ${report.rpo.detail}` : 'not measured (no promotion)'}`,
    `- Route 53 changes: ${report.dns.changeIds.length ? report.dns.changeIds.join(', ') : 'none'}` +
      (report.dns.undoChangeIds.length ? `; undone by ${report.dns.undoChangeIds.join(', ')}` : ''),
    '',
  );

  add('## Requested and approved', '');
  add(`- Requested by ${who(report.requested.by)} at ${report.requested.at}`);
  const alert = report.requested.alert;
  if (alert)
    add(
      `- Alert: ${alert.alertname}${alert.summary ? ` — ${alert.summary}` : ''}, firing since ${time(alert.firedAt)}` +
        (alert.url ? ` (${alert.url})` : ''),
    );
  for (const approval of report.approvals)
    add(`- Approved by ${who(approval.by)} at ${approval.at}${approval.breakGlass ? ' (break-glass)' : ''}`);
  if (!report.approvals.length) add('- No approvals recorded');
  add('');

  add('## Skipped, forced, overridden', '');
  const overridden: string[] = [];
  if (overrides.forced) overridden.push('- The run was forced (`--force`): failing gates did not stop it');
  for (const check of overrides.preflightOverridden)
    overridden.push(`- Preflight gate overridden: ${check.id} — ${check.detail}`);
  for (const approval of overrides.breakGlassApprovals)
    overridden.push(`- Break-glass approval by ${who(approval.by)} at ${approval.at}`);
  for (const risk of overrides.acceptedRisks)
    overridden.push(
      `- Accepted risk (${risk.risk}) at ${risk.at} by ${risk.by.map((a) => who(a)).join(', ')}: ${risk.detail}`,
    );
  for (const skipped of overrides.skippedSteps)
    overridden.push(`- Step ${skipped.step} skipped at ${time(skipped.at)}, by ${who(skipped.by)}`);
  for (const request of overrides.skipRequests)
    overridden.push(`- Skip asked by ${who(request.by)} at ${request.at}`);
  add(...(overridden.length ? overridden : ['- Nothing']), '');

  if (report.fenceDebt.length) {
    add('## Fence debt', '');
    for (const debt of report.fenceDebt) add(`- Opened ${debt.openedAt}: ${debt.detail}`);
    add('');
  }

  add('## Steps', '');
  add('| step | status | attempts | started | finished | duration | note |', '|---|---|---|---|---|---|---|');
  for (const step of report.steps) {
    const note = [step.error, step.skippedBy && `skipped by ${who(step.skippedBy)}`]
      .filter(Boolean)
      .join('; ');
    add(
      `| ${step.id} | ${step.status} | ${step.attempts} | ${time(step.startedAt)} | ${time(step.finishedAt)} | ` +
        `${formatDurationMs(step.durationMs)} | ${cell(note || null)} |`,
    );
  }
  add('');

  add('## Plan as approved', '');
  report.plan.groups.forEach((group, index) => {
    add(`${index + 1}. ${group.map((s) => s.title).join(' ∥ ')}`);
    for (const step of group) for (const action of step.actions) add(`   - ${step.id}: ${action}`);
  });
  for (const warning of report.plan.warnings) add(`- Warning: ${warning}`);
  add('');
  return lines.join('\n');
}
