import { describe, expect, it } from 'vitest';
import type { ApprovalsConfig } from '../../../src/config/topology.js';
import {
  approveEvacuation,
  closeEvacuation,
  siteDecision,
} from '../../../src/core/evacuation/decide-evacuation.js';
import type { Evacuation, EvacuationSite } from '../../../src/core/evacuation/evacuation.js';
import { currentStep, evacuationRows, tableStamp } from '../../../src/core/evacuation/evacuation-table.js';
import { selectSites } from '../../../src/core/evacuation/select-sites.js';
import type { Actor, Run } from '../../../src/core/model.js';
import { evacuationSite as site, exampleSite, proposedRun } from '../../support/core-fixtures.js';

const DAVE: Actor = { type: 'slack-user', id: 'U0DAVE' };
const ALICE: Actor = { type: 'slack-user', id: 'U0ALICE' };
const BOB: Actor = { type: 'slack-user', id: 'U0BOB' };
const config = (required = 1, allowSelfApproval = false) =>
  ({ required, allowSelfApproval }) as unknown as ApprovalsConfig;

const passed = {
  at: 1,
  lagBytes: 0,
  checks: [{ id: 'target-nodes', status: 'passed' as const, detail: '' }],
};
const failed = {
  at: 1,
  lagBytes: 0,
  checks: [{ id: 'target-nodes', status: 'failed' as const, detail: '0' }],
};
const evacuation = (extra: Partial<Evacuation> = {}): Evacuation => ({
  id: 'e1',
  kind: 'failover',
  cluster: 'east',
  reason: 'east down',
  requestedBy: DAVE,
  createdAt: 0,
  updatedAt: 0,
  expiresAt: 1000,
  state: 'proposed',
  sites: [site('a', { preflight: passed }), site('b', { preflight: failed }), site('c', { openRun: 'r3' })],
  approvals: [],
  version: 1,
  ...extra,
});

describe('selectSites', () => {
  const sites = [
    { site: 'a', homeCluster: 'east', clusters: ['east', 'west'], serving: 'east' },
    { site: 'b', homeCluster: 'east', clusters: ['east', 'west'], serving: 'west' },
    { site: 'c', homeCluster: 'west', clusters: ['east', 'west'], serving: 'east' },
    { site: 'd', homeCluster: 'west', clusters: ['east', 'west'], serving: 'west' },
  ];
  it('a failover takes every site the cluster serves now, whatever its home', () => {
    expect(selectSites('failover', 'east', sites)).toEqual([
      { site: 'a', from: 'east', to: 'west' },
      { site: 'c', from: 'east', to: 'west' },
    ]);
  });
  it('a failback brings home only the sites whose home it is and that are served elsewhere', () => {
    expect(selectSites('failback', 'east', sites)).toEqual([{ site: 'b', from: 'west', to: 'east' }]);
    expect(selectSites('failback', 'west', sites)).toEqual([{ site: 'c', from: 'east', to: 'west' }]);
  });
});

describe('approveEvacuation', () => {
  it('refuses the requester, a repeat, a decided or expired evacuation', () => {
    const e = evacuation();
    expect(approveEvacuation(e, DAVE, { config: config(), choice: 'all', now: 1 })).toMatchObject({
      ok: false,
      code: 'self-approval',
    });
    const once = approveEvacuation(e, ALICE, { config: config(2), choice: 'all', now: 1 });
    if (!once.ok) throw new Error(once.reason);
    expect(once.complete).toBe(false);
    expect(
      approveEvacuation(once.evacuation, ALICE, { config: config(2), choice: 'all', now: 2 }),
    ).toMatchObject({ ok: false, code: 'already-approved' });
    expect(approveEvacuation(e, ALICE, { config: config(), choice: 'all', now: 1000 })).toMatchObject({
      ok: false,
      code: 'expired',
    });
    expect(
      approveEvacuation(evacuation({ state: 'rejected' }), ALICE, {
        config: config(),
        choice: 'all',
        now: 1,
      }),
    ).toMatchObject({ ok: false, code: 'not-proposed' });
  });

  it('completes at the required count; "ready" wins when any approver chose it', () => {
    const first = approveEvacuation(evacuation(), ALICE, { config: config(2), choice: 'ready', now: 1 });
    if (!first.ok) throw new Error(first.reason);
    const second = approveEvacuation(first.evacuation, BOB, { config: config(2), choice: 'all', now: 2 });
    if (!second.ok) throw new Error(second.reason);
    expect(second).toMatchObject({ complete: true, count: 2, required: 2 });
    expect(second.evacuation.state).toBe('approved');
    expect(second.evacuation.choice).toBe('ready');
  });

  it('reject closes a proposal once', () => {
    const rejected = closeEvacuation(evacuation(), 'rejected', BOB, 5);
    if (!rejected.ok) throw new Error(rejected.reason);
    expect(rejected.evacuation).toMatchObject({ state: 'rejected', decidedBy: BOB });
    expect(closeEvacuation(rejected.evacuation, 'rejected', BOB, 6)).toMatchObject({ ok: false });
  });
});

describe('siteDecision', () => {
  it('"ready" leaves out failed and unmeasured preflights, and a site that had an open run', () => {
    const [a, b, c] = evacuation().sites as [EvacuationSite, EvacuationSite, EvacuationSite];
    expect(siteDecision(a, 'all')).toBe('start');
    expect(siteDecision(b, 'all')).toBe('start');
    expect(siteDecision(b, 'ready')).toMatch(/preflight failed/);
    expect(siteDecision(site('d'), 'ready')).toMatch(/not measured/);
    // An open run seen at the proposal may have ended: the start itself finds one that is still open.
    expect(siteDecision(c, 'all')).toBe('start');
    expect(siteDecision(c, 'ready')).toMatch(/had open run r3 when proposed/);
  });
});

describe('evacuationRows', () => {
  it('shows the preflight verdict while proposed, then each run’s step and state', () => {
    const proposed = evacuation();
    expect(evacuationRows(proposed, new Map()).map((r) => r.state)).toEqual([
      'ready',
      'not ready',
      'open run r3',
    ]);

    const run: Run = proposedRun(exampleSite());
    const started: Run = {
      ...run,
      id: 'r7',
      state: 'running',
      steps: { ...run.steps, preflight: { id: 'preflight', status: 'succeeded', attempts: 1 } },
    };
    const approved = evacuation({
      state: 'approved',
      sites: [site('a', { runId: 'r7' }), site('b', { notStarted: 'preflight failed; not started' })],
    });
    const rows = evacuationRows(approved, new Map([['r7', started]]));
    expect(rows[0]).toMatchObject({ site: 'a', step: 'preflight', state: 'running', runId: 'r7' });
    expect(rows[1]).toMatchObject({
      site: 'b',
      state: 'not started',
      detail: 'preflight failed; not started',
    });
    expect(currentStep(started)).toBe('preflight');
    expect(tableStamp(approved, new Map([['r7', { ...started, version: 9 }]]))).toBeGreaterThan(
      tableStamp(approved, new Map([['r7', started]])),
    );
  });
});
