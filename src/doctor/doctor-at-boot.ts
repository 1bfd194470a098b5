/**
 * The doctor at boot: `start`, `web` and `worker` run it once their roles are up, in the background, never
 * crashing the process. Each line that is not ok goes to the log with its fix; the report goes to /readyz, which
 * turns not ready for a refused permission or a missing object, and lists every line at /readyz?verbose.
 */
import type { Log } from '../core/ports.js';
import { describeError } from '../errors.js';
import type { DoctorCheck } from './doctor-check.js';
import type { OpenDoctorOptions } from './open-doctor.js';
import { doctor } from './open-doctor.js';
import { renderCheck, renderSummary } from './render-report.js';
import type { DoctorReport } from './run-doctor.js';

export interface DoctorAtBootOptions extends Omit<OpenDoctorOptions, 'log'> {
  log: Log;
  /** Where the report goes (the process's readiness). */
  onReport: (checks: DoctorCheck[]) => void;
  /** The doctor itself broke: why, so that the readiness stops saying it is still running. */
  onBroken: (reason: string) => void;
}

/** Runs the doctor, logs what is not ok, hands the report over; resolves with it (null if the doctor itself broke). */
export async function doctorAtBoot(options: DoctorAtBootOptions): Promise<DoctorReport | null> {
  const log = options.log.child({ component: 'doctor' });
  try {
    const report = await doctor({ ...options, log });
    for (const check of report.checks) {
      const fields = { system: check.system, check: check.name, detail: check.detail, fix: check.fix };
      if (check.status === 'fail') log.error(fields, renderCheck(check));
      else if (check.status === 'warn') log.warn(fields, renderCheck(check));
    }
    const summary = { checks: report.checks.length, failed: report.failed, warnings: report.warnings };
    if (report.healthy) log.info(summary, renderSummary(report));
    else log.error(summary, renderSummary(report));
    options.onReport(report.checks);
    return report;
  } catch (error) {
    if (options.signal?.aborted) return null; // shutting down: nothing to report
    log.error({ err: describeError(error) }, 'baton doctor could not run at boot');
    options.onBroken(describeError(error));
    return null;
  }
}
