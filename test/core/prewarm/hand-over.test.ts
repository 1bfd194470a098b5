import { describe, expect, it } from 'vitest';
import type { Run } from '../../../src/core/model.js';
import { whyNotPrewarm } from '../../../src/core/prewarm/warm-target.js';
import { transitionRun } from '../../../src/core/runs/transition-run.js';
import { exampleSite, proposedRun } from '../../support/core-fixtures.js';

const T = 1_700_000_000_000;
const warmed = (run: Run): Run => ({
  ...run,
  prewarm: {
    cluster: run.to,
    startedAt: T,
    scaledAt: T + 100,
    workloads: { 'default/web': { from: 1, to: 5, ready: 5 } },
    autoscalers: [],
    progress: {
      before: { 'default/Deployment/web': 1 },
      autoscalersBefore: [
        { namespace: 'default', name: 'web-hpa', minReplicas: 1, maxReplicas: 10, heldFrom: null },
      ],
    },
  },
});

describe('an approval hands pre-warm to the run', () => {
  it("gives scale-up-target pre-warm's checkpoint as its progress", () => {
    const approved = transitionRun(warmed(proposedRun(exampleSite())), 'approved', { at: T + 1000 });
    expect(approved.steps['scale-up-target']?.progress).toEqual({
      before: { 'default/Deployment/web': 1 },
      autoscalersBefore: [
        { namespace: 'default', name: 'web-hpa', minReplicas: 1, maxReplicas: 10, heldFrom: null },
      ],
    });
  });

  it('hands nothing over when nothing was warmed, or it was given back', () => {
    const plain = proposedRun(exampleSite());
    expect(transitionRun(plain, 'approved', { at: T }).steps).toEqual(plain.steps);
    const run = warmed(plain);
    const givenBack: Run = {
      ...run,
      prewarm: run.prewarm && {
        ...run.prewarm,
        released: { at: T, because: 'rejected', restored: [], leftAlone: [] },
      },
    };
    expect(transitionRun(givenBack, 'approved', { at: T }).steps).toEqual(plain.steps);
  });
});

describe('whyNotPrewarm', () => {
  const site = exampleSite();
  const withPreflight = (checks: NonNullable<Run['preflight']>['checks']): Run => ({
    ...proposedRun(exampleSite()),
    preflight: { at: T, checks, lagBytes: 0 },
  });

  it('is off when the site says so, and silent about it', () => {
    expect(whyNotPrewarm(withPreflight([]), { ...site, prewarm: false })).toBe('off');
  });

  it('refuses a target whose Kubernetes API did not answer preflight, but not one short of nodes', () => {
    const unreachable = withPreflight([
      { id: 'target-nodes', status: 'failed', detail: 'west: Kubernetes API did not answer (ECONNREFUSED)' },
    ]);
    expect(whyNotPrewarm(unreachable, site)).toBe("west's Kubernetes API did not answer preflight");
    const short = withPreflight([
      { id: 'target-nodes', status: 'failed', detail: 'west: only 1 nodes Ready, need 3' },
    ]);
    expect(whyNotPrewarm(short, site)).toBeNull();
  });
});
