import { describe, expect, it } from 'vitest';
import type { Evacuation, EvacuationSite } from '../../../src/core/evacuation/evacuation.js';
import { summarizeEvacuation } from '../../../src/core/evacuation/summarize-evacuation.js';
import type { Run } from '../../../src/core/model.js';
import { measureRun } from '../../../src/core/runs/measure-run.js';
import {
  BOB,
  abortedRun,
  at,
  move,
  pausedAfterPromotion,
  pausedBeforePromotion,
  runningRun,
  succeededRun,
} from '../../slack/blocks/run-fixtures.js';
import { evacuationSite as site } from '../../support/core-fixtures.js';

const SYSTEM = { type: 'system', id: 'baton' } as const;

/** `run` as site `site`'s run `id`. */
const as = (run: Run, site: string, id: string): Run => ({ ...run, site, id, evacuation: 'e3' });

/** A succeeded run whose verify succeeded `seconds` after its approval (+60 s). */
function verifiedAfter(site: string, id: string, seconds: number): Run {
  const run = succeededRun();
  const verify = run.steps.verify;
  if (!verify) throw new Error('no verify');
  return as(
    { ...run, steps: { ...run.steps, verify: { ...verify, finishedAt: at(60 + seconds) } } },
    site,
    id,
  );
}

function evacuation(sites: EvacuationSite[], extra: Partial<Evacuation> = {}): Evacuation {
  return {
    id: 'e3',
    kind: 'failover',
    cluster: 'east',
    reason: 'east down',
    requestedBy: BOB,
    createdAt: at(0),
    updatedAt: at(60),
    expiresAt: at(900),
    state: 'approved',
    sites,
    approvals: [],
    version: 4,
    ...extra,
  };
}

const byId = (...runs: Run[]) => new Map(runs.map((r) => [r.id, r]));

describe('summarizeEvacuation', () => {
  it('says nothing before the decision, while a site is not yet started, or when a run cannot be read', () => {
    const runs = byId(verifiedAfter('app-01', 'r1', 40));
    expect(summarizeEvacuation(evacuation([site('app-01')], { state: 'proposed' }), runs)).toBeNull();
    expect(
      summarizeEvacuation(evacuation([site('app-01', { runId: 'r1' }), site('app-02')]), runs),
    ).toBeNull();
    expect(summarizeEvacuation(evacuation([site('app-01', { runId: 'r9' })]), runs)).toBeNull();
  });

  it('is running while any site runs: the publisher posts nothing new then', () => {
    const summary = summarizeEvacuation(
      evacuation([site('app-01', { runId: 'r1' }), site('app-02', { runId: 'r2' })]),
      byId(verifiedAfter('app-01', 'r1', 40), as(runningRun(), 'app-02', 'r2')),
    );
    expect(summary).toMatchObject({
      state: 'running',
      moved: 1,
      running: [{ site: 'app-02', runId: 'r2', step: 'switch-dns' }],
      needsYou: [],
    });
  });

  it('waits for you once nothing runs and a site is paused: paused first, then failed, then not started', () => {
    const failed = move(pausedAfterPromotion(), 'failed', 160, SYSTEM, 'switch-dns: undo failed');
    const sites = [
      site('app-01', { runId: 'r1' }),
      site('app-02', { notStarted: 'preflight failed; not started' }),
      site('app-03', { runId: 'r3' }),
      site('app-04', { runId: 'r4' }),
      site('app-05', { runId: 'r5' }),
      site('app-06', { runId: 'r6' }),
    ];
    const runs = byId(
      verifiedAfter('app-01', 'r1', 40),
      as(failed, 'app-03', 'r3'),
      verifiedAfter('app-04', 'r4', 100),
      as(pausedBeforePromotion(), 'app-05', 'r5'),
      verifiedAfter('app-06', 'r6', 70),
    );
    const summary = summarizeEvacuation(evacuation(sites), runs);
    expect(summary).toMatchObject({
      id: 'e3',
      kind: 'failover',
      from: 'east',
      to: 'west',
      state: 'waiting',
      sites: 6,
      moved: 3,
      running: [],
    });
    expect(summary?.needsYou).toEqual([
      { site: 'app-05', state: 'paused', runId: 'r5', step: 'scale-up-target' },
      { site: 'app-03', state: 'failed', runId: 'r3', step: 'switch-dns' },
      { site: 'app-02', state: 'not-started', reason: 'preflight failed; not started' },
    ]);
    // The runs' own measure (their reports say the same), over the runs that verified.
    expect(measureRun(runs.get('r4')!).approvalToVerifiedMs).toBe(100_000);
    expect(summary?.rto).toEqual({ sites: 3, minMs: 40_000, medianMs: 70_000, maxMs: 100_000 });
  });

  it('finishes when the paused site ends; an even count takes the middle two for the median', () => {
    const sites = [
      site('app-01', { runId: 'r1' }),
      site('app-02', { runId: 'r2' }),
      site('app-03', { runId: 'r3' }),
    ];
    const summary = summarizeEvacuation(
      evacuation(sites),
      byId(
        verifiedAfter('app-01', 'r1', 40),
        verifiedAfter('app-02', 'r2', 50),
        as(abortedRun(), 'app-03', 'r3'),
      ),
    );
    expect(summary).toMatchObject({
      state: 'finished',
      moved: 2,
      needsYou: [{ site: 'app-03', state: 'aborted', runId: 'r3', step: 'scale-up-target' }],
      rto: { sites: 2, minMs: 40_000, medianMs: 45_000, maxMs: 50_000 },
    });
  });

  it('names where a failback goes, and has no recovery time when no run verified', () => {
    const sites = [site('app-01', { from: 'west', to: 'east', notStarted: 'already has open run r7' })];
    const summary = summarizeEvacuation(evacuation(sites, { kind: 'failback' }), new Map());
    expect(summary).toMatchObject({
      kind: 'failback',
      from: 'west',
      to: 'east',
      state: 'finished',
      moved: 0,
    });
    expect(summary?.rto).toBeNull();
  });
});
