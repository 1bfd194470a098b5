/**
 * Finished runs' reports in Redis (`{baton}:report:<run>`, JSON). The report is written by the same script that saves
 * the run's final state (save-run.lua, `SET … NX`), so it exists exactly when the run has finished, whichever
 * process or worker finished it, and it is written once: a repeated or later save of a finished run changes
 * nothing. Like the run records, reports never expire: evidence must outlive the incident review, and a report is
 * a few KiB beside a run record of the same size. `ensure` writes the report of a run that finished before reports
 * existed, the same way (once).
 */
import type { Redis } from 'ioredis';
import type { Run } from '../core/model.js';
import type { RunReport } from '../core/runs/run-report.js';
import { REPORT_VERSION, buildRunReport, isReportable } from '../core/runs/run-report.js';
import { StoreKeys } from './keys.js';

export class ReportStore {
  private readonly key: StoreKeys;

  constructor(
    private readonly redis: Pick<Redis, 'get' | 'set'>,
    /** Key prefix, e.g. `{baton}:` (see keys.ts); tests use one per test. */
    prefix?: string,
  ) {
    this.key = new StoreKeys(prefix);
  }

  /** The run's report, or null when it has none (not finished, never approved, or unknown). */
  async get(runId: string): Promise<RunReport | null> {
    const raw = await this.redis.get(this.key.report(runId));
    if (!raw) return null;
    const report = JSON.parse(raw) as RunReport;
    // A report written by a newer Baton is still read; its version field tells the reader which shape it has.
    return report.reportVersion >= REPORT_VERSION ? report : null;
  }

  /**
   * The report of finished run `run`: the stored one, or, for a run that finished before reports existed, one built
   * now and stored once. Null when the run gets no report ({@link isReportable}).
   */
  async ensure(run: Run): Promise<RunReport | null> {
    const stored = await this.get(run.id);
    if (stored || !isReportable(run)) return stored;
    await this.redis.set(this.key.report(run.id), JSON.stringify(buildRunReport(run)), 'NX');
    return this.get(run.id);
  }
}
