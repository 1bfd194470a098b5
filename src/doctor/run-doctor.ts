/**
 * The doctor's runner: every system's checks at once (each system bounds its own requests), collected in a fixed
 * order, a system that throws turned into a failing line rather than a crash.
 */
import type { DoctorCheck, DoctorSystem } from './doctor-check.js';
import { failed } from './doctor-check.js';

export const SYSTEMS: readonly DoctorSystem[] = ['slack', 'kubernetes', 'route53', 'postgresql'];

/** Each system to check, as a function returning its lines; a system left out is not checked. */
export type DoctorSystems = Partial<Record<DoctorSystem, () => Promise<DoctorCheck[]>>>;

export interface DoctorReport {
  checks: DoctorCheck[];
  failed: number;
  warnings: number;
  /** True when nothing failed (warnings allowed). */
  healthy: boolean;
}

export function summarize(checks: DoctorCheck[]): DoctorReport {
  const failedCount = checks.filter((c) => c.status === 'fail').length;
  return {
    checks,
    failed: failedCount,
    warnings: checks.filter((c) => c.status === 'warn').length,
    healthy: failedCount === 0,
  };
}

export async function runDoctor(systems: DoctorSystems): Promise<DoctorReport> {
  const results = await Promise.all(
    SYSTEMS.map(async (system) => {
      const run = systems[system];
      if (!run) return [];
      try {
        return await run();
      } catch (error) {
        return [failed(system, `${system} checks`, error)];
      }
    }),
  );
  return summarize(results.flat());
}
