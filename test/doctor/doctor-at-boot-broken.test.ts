/**
 * The doctor at boot must always end in a report: when the doctor itself breaks (here: handed a topology it cannot
 * read), it says so through `onBroken` instead of leaving /readyz?verbose at "running" forever, and never throws.
 */
import { describe, expect, it } from 'vitest';
import { loadEnvOnly } from '../../src/config/load-config.js';
import type { Topology } from '../../src/config/topology.js';
import { doctorAtBoot } from '../../src/doctor/doctor-at-boot.js';
import { createLogger } from '../../src/logger.js';

describe('the doctor at boot, broken', () => {
  it('reports why it could not run, and resolves with null', async () => {
    const reports: unknown[] = [];
    const broken: string[] = [];
    const env = loadEnvOnly({});
    const result = await doctorAtBoot({
      env,
      rawEnv: {},
      topology: { sites: null } as unknown as Topology,
      log: createLogger({ level: 'silent' }),
      systems: ['postgresql'],
      onReport: (checks) => reports.push(checks),
      onBroken: (reason) => broken.push(reason),
    });
    expect(result).toBeNull();
    expect(reports).toEqual([]);
    expect(broken).toHaveLength(1);
    expect(broken[0]).toMatch(/\S/);
  });
});
