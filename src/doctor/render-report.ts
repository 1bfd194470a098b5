/** The doctor's report as text: one line per check, with the fix on the same line, and a summary line. */
import type { DoctorCheck } from './doctor-check.js';
import type { DoctorReport } from './run-doctor.js';

const MARK: Record<DoctorCheck['status'], string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };

/** `FAIL kubernetes  production west (context passive-cluster): update … — RBAC does not allow it → fix: grant …` */
export function renderCheck(check: DoctorCheck): string {
  const fix = check.status !== 'ok' && check.fix ? ` → fix: ${check.fix}` : '';
  return `${MARK[check.status]} ${check.system.padEnd(10)} ${check.name} — ${check.detail}${fix}`;
}

export function renderSummary(report: DoctorReport): string {
  const counts = `${report.checks.length} check(s), ${report.failed} failed, ${report.warnings} warning(s)`;
  return report.healthy
    ? `baton doctor: ${counts}: Baton has what it needs`
    : `baton doctor: ${counts}: fix the FAIL lines before an incident needs them`;
}

export function renderReport(report: DoctorReport): string {
  return [...report.checks.map(renderCheck), '', renderSummary(report)].join('\n');
}
