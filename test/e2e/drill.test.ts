/**
 * `npm run drill` as CI runs it: the real command, in its own process, with real Prometheus, Alertmanager, Redis
 * and PostgreSQL. It must pass, print the measured timeline, and leave nothing behind.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/integration.js';

describe('npm run drill', () => {
  it('turns readiness red and green, fails over on the alert, fails back, checks the world and the reports, runs a game day and an aborted one', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'lab/cli.ts', 'drill'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code, output).toBe(0);
    expect(output).toContain('Drill passed.');
    for (const phase of [
      'readiness green (east → west',
      "west's replay paused",
      'readiness red: west lag', // continuous readiness names the broken lag…
      'channel told once: not ready, west lag', // …tells the channel once…
      'readiness green again, channel told once', // …and once more when it is repaired
      "east's health endpoint killed",
      'detected: ActiveClusterDown firing',
      'proposed: run r1 (emergency failover)',
      "pre-warmed: west's workloads Ready while the proposal waited", // pre-warm, while people read…
      'scale-up-target after the pre-warm:', // …and what the run's scale-up then took
      'approved by U0ALICE',
      'step promote-target-db',
      'DNS in sync (Route 53 INSYNC)',
      'verified from outside: DNS → west',
      'step catch-up', // the failback is planned: west waits for nothing to be lost
      'verified from outside: DNS → east',
      'report r1 stored and in its thread',
      'report r2 stored and in its thread',
      'every finished run has its report (2 files)',
      'proposed (--hold 1m) and approved', // a game day, approved by the configured approvers…
      'on its own: west serves, holding 1m', // …fails over on its own…
      'on its own after the hold: east serves', // …and comes home on its own once the hold is over
      "abort game day: west's new pods take 30 s to start", // a second game day, slowed in scale-up-target…
      'waits in scale-up-target',
      'HighErrorRate fired into Alertmanager, routed to Baton', // …its abortOn alert through the real Alertmanager…
      'aborted before the point of no return: HighErrorRate fired', // …aborts it, by the game-day policy…
      "everything as it was: DNS → east, east serves (writable), west's database still in recovery", // …undone
      "HighErrorRate resolved; west's pods start as before",
    ])
      expect(output).toContain(phase);
    expect(output).toMatch(/zero data loss: all 750 rows/);
    // Every phase line carries a measured time.
    expect(output).toMatch(/detected: ActiveClusterDown firing\s+\d+\.\d s\s+\d+\.\d s/);
  }, 420_000);
});
