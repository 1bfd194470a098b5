/**
 * The run report from a fixed record: a forced emergency failover proposed by an alert, its preflight overridden,
 * two break-glass approvals, a failed step skipped by break-glass, a fence debt opened. The numbers must be
 * measureRun's, the times UTC ISO, and everything overridden must be named with who did it.
 */
import { describe, expect, it } from 'vitest';
import type { Run, StepId, StepRecord } from '../../../src/core/model.js';
import { measureRun } from '../../../src/core/runs/measure-run.js';
import { renderReportMarkdown } from '../../../src/core/runs/render-report-markdown.js';
import { REPORT_VERSION, buildRunReport, isReportable } from '../../../src/core/runs/run-report.js';
import { transitionRun } from '../../../src/core/runs/transition-run.js';
import { ALICE, BOB, CAROL, exampleSite, proposedRun } from '../../support/core-fixtures.js';

const T0 = Date.UTC(2026, 11, 3, 3, 0, 0);
const at = (seconds: number): number => T0 + seconds * 1000;
const BATON = { type: 'system', id: 'baton' } as const;
const iso = (seconds: number) => new Date(at(seconds)).toISOString();

function step(run: Run, id: StepId, patch: Partial<StepRecord>): Run {
  const current = run.steps[id] ?? { id, status: 'pending', attempts: 0 };
  return { ...run, steps: { ...run.steps, [id]: { ...current, ...patch } } };
}

const done = (run: Run, id: StepId, from: number, to: number, output?: Record<string, unknown>): Run =>
  step(run, id, {
    status: 'succeeded',
    attempts: 1,
    startedAt: at(from),
    finishedAt: at(to),
    ...(output && { output }),
  });

const LAG_CHECK = { id: 'standby-lag', status: 'failed', detail: 'west lag 3.2 MiB > 1 MiB' } as const;
const RPO = { kind: 'bound', bytes: 3_355_443, detail: 'east was not fenced before the promotion' } as const;

/**
 * Alert fired at -30 s; proposed (forced, emergency) at 0 by Carol; Alice and Bob approve with break-glass at 40 and
 * 60; preflight fails its lag gate and is overridden; verify at 130 → 140; scale-down-source fails and is skipped
 * by Bob after Alice and Bob asked; fence debt opened at 100; succeeded at 200.
 */
function forcedFailoverWithSkip(): Run {
  const proposal = proposedRun(exampleSite(), {
    request: { kind: 'failover', force: true },
    now: T0,
  });
  let r: Run = {
    ...proposal,
    trigger: { source: 'alert', alertname: 'ActiveClusterDown', firedAt: at(-30), summary: 'east is down' },
    approvals: [
      { actor: ALICE, at: at(40), breakGlass: true },
      { actor: BOB, at: at(60), breakGlass: true },
    ],
    timeline: [
      ...proposal.timeline,
      { at: at(40), event: 'approval', actor: ALICE },
      { at: at(60), event: 'approval', actor: BOB },
    ],
  };
  r = { ...transitionRun(r, 'approved', { at: at(60), actor: BOB }), segment: 1 };
  r = transitionRun(r, 'running', { at: at(61), actor: BATON });
  r = done(r, 'preflight', 61, 63, { checks: [LAG_CHECK], overridden: true });
  r = done(r, 'fence-source', 63, 70);
  r = done(r, 'scale-up-target', 63, 90);
  r = done(r, 'promote-target-db', 90, 95, { rpo: RPO });
  r = done(r, 'switch-dns', 95, 130, { changeId: '/change/C0DNS123', inSyncAfterMs: 34_000 });
  r = done(r, 'verify', 130, 140, { rpo: RPO });
  r = {
    ...r,
    timeline: [
      ...r.timeline,
      { at: at(100), event: 'fence-debt-opened', detail: "production: east's database not fenced" },
    ],
  };
  r = step(r, 'scale-down-source', {
    status: 'failed',
    attempts: 2,
    startedAt: at(140),
    finishedAt: at(150),
    error: 'east unreachable',
    errorCode: 'cluster-unreachable',
  });
  r = transitionRun(r, 'paused', { at: at(150), actor: BATON, reason: 'east unreachable' });
  r = {
    ...r,
    timeline: [
      ...r.timeline,
      { at: at(170), event: 'skip-requested', actor: ALICE },
      { at: at(180), event: 'skip-requested', actor: BOB },
    ],
  };
  r = step(r, 'scale-down-source', { status: 'skipped', skippedBy: BOB });
  r = { ...transitionRun(r, 'running', { at: at(180), actor: BOB, reason: 'skip' }), segment: 2 };
  return transitionRun(r, 'succeeded', { at: at(200), actor: BATON });
}

describe('buildRunReport', () => {
  const run = forcedFailoverWithSkip();
  const report = buildRunReport(run);

  it('names who requested and who approved, with UTC times', () => {
    expect(report.reportVersion).toBe(REPORT_VERSION);
    expect(report.requested).toEqual({
      by: CAROL,
      at: iso(0),
      alert: { alertname: 'ActiveClusterDown', firedAt: iso(-30), summary: 'east is down' },
    });
    expect(report.approvals).toEqual([
      { by: ALICE, at: iso(40), breakGlass: true },
      { by: BOB, at: iso(60), breakGlass: true },
    ]);
    expect(report.approvedAt).toBe(iso(60));
  });

  it("gives measureRun's RTO and RPO, not numbers of its own", () => {
    const timings = measureRun(run);
    expect(report.recovery).toEqual({
      alertFiredAt: iso(-30),
      verifiedAt: iso(140),
      alertToVerifiedMs: timings.alertToVerifiedMs,
      approvalToVerifiedMs: timings.approvalToVerifiedMs,
    });
    expect(report.recovery.alertToVerifiedMs).toBe(170_000);
    expect(report.recovery.approvalToVerifiedMs).toBe(80_000);
    expect(report.rpo).toEqual({ ...RPO, summary: '≤ 3.2 MiB' });
  });

  it("gives each step's timings, attempts and status in plan order", () => {
    expect(report.steps.map((s) => s.id)).toEqual(run.plan.groups.flat().map((s) => s.id));
    expect(report.steps.find((s) => s.id === 'switch-dns')).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      startedAt: iso(95),
      finishedAt: iso(130),
      durationMs: 35_000,
    });
    expect(report.steps.find((s) => s.id === 'scale-down-source')).toMatchObject({
      status: 'skipped',
      attempts: 2,
      error: 'east unreachable',
      skippedBy: BOB,
    });
  });

  it('keeps the plan as approved and the Route 53 change id', () => {
    expect(report.plan.groups).toEqual(run.plan.groups);
    expect(report.dns).toEqual({ changeIds: ['/change/C0DNS123'], undoChangeIds: [] });
  });

  it('names everything forced, overridden and skipped, and by whom', () => {
    expect(report.overrides).toEqual({
      forced: true,
      preflightOverridden: [LAG_CHECK],
      breakGlassApprovals: [
        { by: ALICE, at: iso(40) },
        { by: BOB, at: iso(60) },
      ],
      acceptedRisks: [],
      skippedSteps: [{ step: 'scale-down-source', by: BOB, at: iso(150) }],
      skipRequests: [
        { by: ALICE, at: iso(170) },
        { by: BOB, at: iso(180) },
      ],
    });
  });

  it('gives the final state and the fence debt', () => {
    expect(report.outcome).toEqual({ state: 'succeeded', reason: null, finishedAt: iso(200) });
    expect(report.fenceDebt).toEqual([
      { openedAt: iso(100), detail: "production: east's database not fenced" },
    ]);
  });

  it('survives JSON unchanged (it is stored and served as JSON)', () => {
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('renders the same evidence as Markdown', () => {
    const markdown = renderReportMarkdown(report);
    expect(markdown).toContain('# Baton run r1: failover of production (east → west), succeeded');
    expect(markdown).toContain('- Alert → verified (RTO): 2m 50.0s');
    expect(markdown).toContain('- Approval → verified: 1m 20.0s');
    expect(markdown).toContain('- Route 53 changes: /change/C0DNS123');
    expect(markdown).toContain('- Preflight gate overridden: standby-lag — west lag 3.2 MiB > 1 MiB');
    expect(markdown).toContain(`- Step scale-down-source skipped at ${iso(150)}, by bob (U0BOB)`);
    expect(markdown).toContain(`- Approved by alice (U0ALICE) at ${iso(40)} (break-glass)`);
    expect(markdown).toContain('## Fence debt\n\n- Opened');
    expect(markdown).toMatch(/\| switch-dns \| succeeded \| 1 \| .* \| 35\.0 s \|/);
  });
});

describe('isReportable', () => {
  it('reports every approved run that ended, and no proposal that never was approved', () => {
    const proposal = proposedRun(exampleSite(), { now: T0 });
    expect(isReportable(transitionRun(proposal, 'rejected', { at: at(5), actor: ALICE }))).toBe(false);
    expect(isReportable(transitionRun(proposal, 'expired', { at: at(900) }))).toBe(false);
    expect(isReportable(transitionRun(proposal, 'cancelled', { at: at(5), actor: CAROL }))).toBe(false);
    const approved = transitionRun(proposal, 'approved', { at: at(10), actor: ALICE });
    expect(isReportable(approved)).toBe(false);
    expect(isReportable(transitionRun(approved, 'cancelled', { at: at(11), actor: CAROL }))).toBe(true);
    expect(isReportable(transitionRun(approved, 'failed', { at: at(11), reason: 'gate' }))).toBe(true);
    expect(isReportable(forcedFailoverWithSkip())).toBe(true);
  });
});
