/**
 * measureRun on fixed run records: the RTO from the approval and from the alert to verified, each step's duration,
 * and the RPO the run recorded; and what it refuses to claim (a skipped verify proves nothing).
 */
import { describe, expect, it } from 'vitest';
import type { Run, RunTrigger, StepId, StepRecord } from '../../../src/core/model.js';
import { measureRun } from '../../../src/core/runs/measure-run.js';
import { transitionRun } from '../../../src/core/runs/transition-run.js';
import { ALICE, exampleSite, proposedRun, siteWithoutDatabase } from '../../support/core-fixtures.js';

const T0 = 1_700_000_000_000;
const at = (seconds: number): number => T0 + seconds * 1000;
const BATON = { type: 'system', id: 'baton' } as const;

const PROVED = { kind: 'proved', detail: 'east committed nothing after its fence' } as const;
const LOST = {
  kind: 'lost',
  bytes: 2048,
  transactions: 3,
  detail: '3 transactions committed on east',
} as const;

/** Approved by Alice at `seconds` (the approval and the transition, as approveRun records them). */
function approve(run: Run, seconds: number): Run {
  const approved: Run = {
    ...run,
    approvals: [...run.approvals, { actor: ALICE, at: at(seconds), breakGlass: false }],
    timeline: [...run.timeline, { at: at(seconds), event: 'approval', actor: ALICE }],
  };
  return { ...transitionRun(approved, 'approved', { at: at(seconds), actor: ALICE }), segment: 1 };
}

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

/** Proposed at 0, approved at 60, every step done by 150 (verify 130 → 140), succeeded. */
function succeeded(run: Run = proposedRun(exampleSite(), { now: T0 })): Run {
  let r = transitionRun(approve(run, 60), 'running', { at: at(62), actor: BATON });
  r = done(r, 'preflight', 62, 64);
  r = done(r, 'fence-source', 64, 70);
  r = done(r, 'scale-up-target', 64, 95);
  const database = r.steps['promote-target-db'] !== undefined;
  if (database) {
    r = done(r, 'catch-up', 95, 95);
    r = done(r, 'promote-target-db', 95, 98, { rpo: LOST });
  }
  r = done(r, 'switch-dns', 98, 130);
  r = done(r, 'verify', 130, 140, database ? { rpo: PROVED } : {});
  r = done(r, 'scale-down-source', 140, 150);
  return transitionRun(r, 'succeeded', { at: at(150), actor: BATON });
}

const alertRun = (trigger: Partial<RunTrigger>): Run => ({
  ...proposedRun(exampleSite(), { now: T0 }),
  trigger: { source: 'alert', alertname: 'ProductionDown', ...trigger },
});

describe('measureRun', () => {
  it('a person’s request: approval → verified, each step in plan order, the newest RPO', () => {
    const timings = measureRun(succeeded());
    expect(timings.approvedAt).toBe(at(60));
    expect(timings.verifiedAt).toBe(at(140));
    expect(timings.approvalToVerifiedMs).toBe(80_000);
    expect(timings.alertFiredAt).toBeNull();
    expect(timings.alertToVerifiedMs).toBeNull();
    expect(timings.steps.map((s) => [s.id, s.status, s.durationMs])).toEqual([
      ['preflight', 'succeeded', 2000],
      ['fence-source', 'succeeded', 6000],
      ['scale-up-target', 'succeeded', 31_000],
      ['catch-up', 'succeeded', 0],
      ['promote-target-db', 'succeeded', 3000],
      ['switch-dns', 'succeeded', 32_000],
      ['verify', 'succeeded', 10_000],
      ['scale-down-source', 'succeeded', 10_000],
    ]);
    // verify re-read the old primary after the promotion: its measurement is the run's.
    expect(timings.rpo).toEqual(PROVED);
  });

  it('an alert’s run: alert → verified from when the alert started firing', () => {
    const timings = measureRun(succeeded(alertRun({ firedAt: at(-240) })));
    expect(timings.alertFiredAt).toBe(at(-240));
    expect(timings.alertToVerifiedMs).toBe(380_000);
    expect(timings.approvalToVerifiedMs).toBe(80_000);
  });

  it('alerts that resolved and fired again before the approval: from the new firing', () => {
    const run = alertRun({ firedAt: at(-240) });
    const timeline = [
      ...run.timeline,
      { at: at(10), event: 'alert-resolved' },
      { at: at(40), event: 'alert-firing' },
    ];
    const timings = measureRun(succeeded({ ...run, timeline }));
    expect(timings.alertFiredAt).toBe(at(40));
    expect(timings.alertToVerifiedMs).toBe(100_000);
  });

  it('alerts that resolved and stayed resolved: still from the first firing', () => {
    const run = alertRun({ firedAt: at(-240), resolvedAt: at(10) });
    const timeline = [...run.timeline, { at: at(10), event: 'alert-resolved' }];
    expect(measureRun(succeeded({ ...run, timeline })).alertFiredAt).toBe(at(-240));
  });

  it('an alert without a start time gives no alert → verified', () => {
    const timings = measureRun(succeeded(alertRun({})));
    expect(timings.alertFiredAt).toBeNull();
    expect(timings.alertToVerifiedMs).toBeNull();
    expect(timings.approvalToVerifiedMs).toBe(80_000);
  });

  it('a skipped verify proves nothing: no RTO, whatever its record’s times', () => {
    const run = step(succeeded(alertRun({ firedAt: at(0) })), 'verify', {
      status: 'skipped',
      skippedBy: ALICE,
    });
    const timings = measureRun(run);
    expect(timings.verifiedAt).toBeNull();
    expect(timings.approvalToVerifiedMs).toBeNull();
    expect(timings.alertToVerifiedMs).toBeNull();
    expect(timings.steps.find((s) => s.id === 'verify')).toMatchObject({
      status: 'skipped',
      durationMs: 10_000,
    });
  });

  it('a run stopped before verify: its steps so far, the promotion’s RPO, no RTO', () => {
    let run = transitionRun(approve(proposedRun(exampleSite(), { now: T0 }), 60), 'running', {
      at: at(62),
      actor: BATON,
    });
    run = done(run, 'preflight', 62, 64);
    run = done(run, 'promote-target-db', 95, 98, { rpo: LOST });
    run = step(run, 'switch-dns', { status: 'failed', attempts: 3, startedAt: at(98) });
    const timings = measureRun(run);
    expect(timings.verifiedAt).toBeNull();
    expect(timings.approvalToVerifiedMs).toBeNull();
    expect(timings.rpo).toEqual(LOST);
    expect(timings.steps.find((s) => s.id === 'switch-dns')).toEqual({
      id: 'switch-dns',
      status: 'failed',
      attempts: 3,
      durationMs: null,
    });
    expect(timings.steps.find((s) => s.id === 'verify')).toMatchObject({
      status: 'pending',
      durationMs: null,
    });
  });

  it('a site without a database: no promotion, no RPO, the same RTO', () => {
    const timings = measureRun(succeeded(proposedRun(siteWithoutDatabase(), { now: T0 })));
    expect(timings.steps.map((s) => s.id)).not.toContain('promote-target-db');
    expect(timings.rpo).toBeNull();
    expect(timings.approvalToVerifiedMs).toBe(80_000);
  });

  it('a proposal never approved: nothing to measure', () => {
    const timings = measureRun(alertRun({ firedAt: at(-10) }));
    expect(timings).toMatchObject({
      approvedAt: null,
      verifiedAt: null,
      approvalToVerifiedMs: null,
      rpo: null,
    });
    expect(timings.alertFiredAt).toBe(at(-10));
  });
});
