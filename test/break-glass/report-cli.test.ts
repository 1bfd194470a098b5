/**
 * `baton report RUN [--markdown]`: the finished run's report from Redis, without Slack, as JSON (the stored
 * document) or Markdown; an unknown run, a run still open and a bad command line each say what to do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBreakGlass } from '../../src/break-glass/run-break-glass.js';
import type { Run } from '../../src/core/model.js';
import type { RunReport } from '../../src/core/runs/run-report.js';
import { transitionRun } from '../../src/core/runs/transition-run.js';
import { ReportStore } from '../../src/store/report-store.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startRedis } from '../../lab/processes/processes.js';
import { ALICE, CAROL, exampleSite, proposedRun } from '../support/core-fixtures.js';
import type { Harness } from '../support/integration.js';
import { createHarness } from '../support/integration.js';
import { cliEnv, runCli } from './cli-process.js';

const T0 = Date.UTC(2026, 11, 3, 3, 0, 0);
const SYSTEM = { type: 'system', id: 'baton' } as const;

let redis: RedisProcess;
let harness: Harness;

beforeAll(async () => {
  redis = await startRedis();
  harness = await createHarness(redis.url);
});
afterAll(async () => {
  await harness?.close();
  await redis?.stop();
});

/** A run saved through the store from proposal to `end` (the final save writes its report). */
async function storedRun(id: string, end: 'succeeded' | 'proposed'): Promise<Run> {
  const { store } = harness;
  const { run } = await store.create(
    { ...proposedRun(exampleSite(), { now: T0 }), id, site: 'production' },
    { event: { type: 'run-proposed', reason: 'test' }, actor: CAROL },
  );
  if (end === 'proposed') return run;
  const approved = await store.save(
    {
      ...transitionRun(
        { ...run, approvals: [{ actor: ALICE, at: T0 + 1000, breakGlass: false }] },
        'approved',
        { at: T0 + 1000, actor: ALICE },
      ),
      segment: 1,
    },
    { event: { type: 'run-approved', count: 1, required: 1 }, actor: ALICE },
  );
  const running = await store.save(transitionRun(approved, 'running', { at: T0 + 2000, actor: SYSTEM }), {
    event: { type: 'run-started' },
    actor: SYSTEM,
  });
  return store.save(transitionRun(running, 'succeeded', { at: T0 + 9000, actor: SYSTEM }), {
    event: { type: 'run-succeeded', summary: 'done' },
    actor: SYSTEM,
  });
}

async function inProcess(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runBreakGlass('report', args, cliEnv(redis.url, harness.prefix), {
    log: (line) => out.push(line),
    error: (line) => err.push(line),
  });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('baton report', () => {
  it('prints the stored report as JSON from a real `baton` process, and as Markdown', async () => {
    const run = await storedRun('r7', 'succeeded');
    const result = await runCli(['report', run.id], cliEnv(redis.url, harness.prefix));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as RunReport;
    expect(printed).toEqual(await new ReportStore(harness.redis, harness.storePrefix).get(run.id));
    expect(printed).toMatchObject({
      reportVersion: 1,
      run: { id: 'r7', site: 'production', kind: 'failover' },
      approvals: [{ by: { id: 'U0ALICE' }, at: '2026-12-03T03:00:01.000Z' }],
      outcome: { state: 'succeeded', finishedAt: '2026-12-03T03:00:09.000Z' },
    });

    const markdown = await inProcess([run.id, '--markdown']);
    expect(markdown.code).toBe(0);
    expect(markdown.stdout).toMatch(/^# Baton run r7: failover of production \(east → west\), succeeded\n/);
    expect(markdown.stdout).toContain('- Approved by alice (U0ALICE) at 2026-12-03T03:00:01.000Z');
  });

  it('says what to do for an unknown run, an open run, and a bad command line', async () => {
    const unknown = await inProcess(['r404']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(
      "baton report: no run r404: `baton status` lists each site's open and recent runs",
    );

    const open = await storedRun('r8', 'proposed');
    const notYet = await inProcess([open.id]);
    expect(notYet.code).toBe(1);
    expect(notYet.stderr).toBe(
      'baton report: run r8 is proposed: its report is written when it ends; `baton status` shows it now',
    );

    const usage = await inProcess([]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('report takes one run id (e.g. r12), got 0');
    expect((await inProcess(['r7', '--json'])).code).toBe(2);
  });
});
