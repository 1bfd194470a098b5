import { describe, expect, it } from 'vitest';
import type { Evacuation, EvacuationSite } from '../../../src/core/evacuation/evacuation.js';
import { evacuationRows, tableStamp } from '../../../src/core/evacuation/evacuation-table.js';
import type { SitePrewarm } from '../../../src/core/prewarm/evacuation-site-prewarm.js';
import {
  evacuationPrewarmPhase,
  evacuationPrewarmTarget,
  whyLeaveWarm,
} from '../../../src/core/prewarm/evacuation-site-prewarm.js';
import { prewarmTouched, runPrewarmPhase } from '../../../src/core/prewarm/prewarm-phase.js';
import type { Prewarm } from '../../../src/core/prewarm/prewarm-record.js';
import { whyNotPrewarm } from '../../../src/core/prewarm/warm-target.js';
import { exampleSite, proposedRun } from '../../support/core-fixtures.js';

const T = 1_700_000_000_000;
const passed = {
  at: T,
  lagBytes: 0,
  checks: [{ id: 'target-nodes', status: 'passed' as const, detail: '' }],
};
const site = (name: string, extra: Partial<EvacuationSite> = {}): EvacuationSite => ({
  site: name,
  from: 'east',
  to: 'west',
  mode: 'emergency',
  plan: ['preflight', 'fence-source ∥ scale-up-target'],
  preflight: passed,
  ...extra,
});
const evacuation = (extra: Partial<Evacuation> = {}): Evacuation => ({
  id: 'e3',
  kind: 'failover',
  cluster: 'east',
  reason: 'east down',
  requestedBy: { type: 'slack-user', id: 'U0DAVE' },
  createdAt: T,
  updatedAt: T,
  expiresAt: T + 900_000,
  state: 'proposed',
  sites: [site('shop'), site('blog', { openRun: 'r4', preflight: undefined })],
  approvals: [],
  version: 4,
  ...extra,
});
const warm: Prewarm = {
  cluster: 'west',
  startedAt: T,
  scaledAt: T + 10,
  readyAt: T + 20,
  workloads: { 'default/web': { from: 1, to: 5, ready: 5 } },
  autoscalers: [],
  progress: { before: { 'default/Deployment/web': 1 } },
};
const record = (prewarm: Prewarm = warm, extra: Partial<SitePrewarm> = {}): SitePrewarm => ({
  prewarm,
  version: 3,
  ...extra,
});

describe('an evacuation site as a pre-warmed proposal', () => {
  it('is the site’s move, shaped as its run will be, with the site’s preflight', () => {
    const target = evacuationPrewarmTarget(evacuation(), site('shop'));
    expect(target).toEqual({
      id: 'e3-shop',
      kind: 'failover',
      mode: 'emergency',
      from: 'east',
      to: 'west',
      force: false,
      segment: 0,
      site: 'shop',
      preflight: passed,
    });
    // The single proposal's rules apply to it unchanged.
    expect(whyNotPrewarm(target, { ...exampleSite(), prewarm: false })).toBe('off');
    expect(whyNotPrewarm(target, exampleSite())).toBeNull();
  });

  it('warms while proposed, except a site that had an open run (its own pre-warm owns the target)', () => {
    const e = evacuation();
    expect(evacuationPrewarmPhase(e, site('shop'), undefined, null)).toEqual({ phase: 'open' });
    expect(evacuationPrewarmPhase(e, site('blog', { openRun: 'r4' }), undefined, null)).toEqual({
      phase: 'off',
    });
  });

  it('gives back on a reject or an expiry', () => {
    for (const state of ['rejected', 'expired'] as const) {
      expect(evacuationPrewarmPhase(evacuation({ state }), site('shop'), record(), null)).toEqual({
        phase: 'give-back',
        because: state,
      });
    }
  });

  it('approved: waits for the site’s decision, then leaves it to the run or gives back a site not started', () => {
    const approved = evacuation({ state: 'approved' });
    expect(evacuationPrewarmPhase(approved, site('shop'), record(), null)).toEqual({ phase: 'deciding' });
    expect(
      evacuationPrewarmPhase(
        approved,
        site('shop', { notStarted: 'preflight failed; not started' }),
        record(),
        null,
      ),
    ).toEqual({ phase: 'give-back', because: 'not-started' });
    expect(evacuationPrewarmPhase(approved, site('shop', { runId: 'r9' }), record(), { to: 'west' })).toEqual(
      {
        phase: 'left-for-run',
      },
    );
    // Nothing recorded, or the run not readable: nothing is given back under a run.
    expect(evacuationPrewarmPhase(approved, site('shop', { runId: 'r9' }), undefined, null)).toEqual({
      phase: 'left-for-run',
    });
    expect(evacuationPrewarmPhase(approved, site('shop', { runId: 'r9' }), record(), null)).toEqual({
      phase: 'left-for-run',
    });
    // The site moved meanwhile and its run goes elsewhere: what pre-warm warmed is given back.
    expect(evacuationPrewarmPhase(approved, site('shop', { runId: 'r9' }), record(), { to: 'east' })).toEqual(
      {
        phase: 'give-back',
        because: 'not-started',
      },
    );
  });

  it('never scales down a side that serves the site now, or that another open run may take', () => {
    const none = { serving: 'east', openRun: null };
    expect(whyLeaveWarm('e3', 'shop', warm, none)).toBeNull();
    expect(whyLeaveWarm('e3', 'shop', warm, { serving: 'west', openRun: null })).toBe(
      'west serves shop now — left as it is',
    );
    expect(whyLeaveWarm('e3', 'shop', warm, { serving: 'east', openRun: { id: 'r7' } })).toBe(
      'run r7 of shop is open — west left as it is',
    );
    // The evacuation's own run (its target elsewhere) does not hold the pods.
    expect(
      whyLeaveWarm('e3', 'shop', warm, { serving: 'east', openRun: { id: 'r7', evacuation: 'e3' } }),
    ).toBeNull();
  });
});

describe('a single proposal’s phase', () => {
  it('open while proposed; rejected, expired or cancelled gives back; any other state is the run’s', () => {
    const run = proposedRun(exampleSite());
    expect(runPrewarmPhase(run)).toEqual({ phase: 'open' });
    for (const state of ['rejected', 'expired', 'cancelled'] as const) {
      expect(runPrewarmPhase({ state })).toEqual({ phase: 'give-back', because: state });
    }
    for (const state of ['approved', 'running', 'aborted'] as const) {
      expect(runPrewarmPhase({ state })).toEqual({ phase: 'left-for-run' });
    }
    expect(prewarmTouched(warm)).toBe(true);
    expect(prewarmTouched({ ...warm, progress: {} })).toBe(false);
  });
});

describe('the evacuation table with pre-warm', () => {
  it('shows each site’s pre-warm while proposed, none for a site with an open run', () => {
    const prewarms = new Map([
      ['shop', record()],
      ['blog', record()],
    ]);
    const rows = evacuationRows(evacuation(), new Map(), prewarms);
    expect(rows.map((r) => [r.site, r.state, r.prewarm?.readyAt])).toEqual([
      ['shop', 'ready', T + 20],
      ['blog', 'open run r4', undefined],
    ]);
  });

  it('once decided, shows only a pre-warm given back (a run’s row is the run)', () => {
    const released = {
      ...warm,
      released: { at: T + 99, because: 'rejected' as const, restored: [], leftAlone: [] },
    };
    const rejected = evacuationRows(
      evacuation({ state: 'rejected' }),
      new Map(),
      new Map([['shop', record(released)]]),
    );
    expect(rejected[0]?.prewarm?.released?.because).toBe('rejected');
    const stillWarm = evacuationRows(
      evacuation({ state: 'rejected' }),
      new Map(),
      new Map([['shop', record()]]),
    );
    expect(stillWarm[0]?.prewarm).toBeUndefined();
  });

  it('re-renders when a site’s pre-warm moves: its version counts in the stamp', () => {
    const e = evacuation();
    const before = tableStamp(e, new Map(), new Map([['shop', record(warm, { version: 3 })]]));
    const after = tableStamp(e, new Map(), new Map([['shop', record(warm, { version: 4 })]]));
    expect(after).toBeGreaterThan(before);
    expect(tableStamp(e, new Map())).toBe(e.version);
  });
});
