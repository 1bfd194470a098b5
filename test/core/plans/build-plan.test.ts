import { describe, expect, it } from 'vitest';
import type { SiteConfig } from '../../../src/config/topology.js';
import type { Plan, StepId } from '../../../src/core/model.js';
import { allSteps } from '../../../src/core/model.js';
import { buildPlan, otherCluster, renderPlan } from '../../../src/core/plans/build-plan.js';
import { STEPS } from '../../../src/core/steps/index.js';
import { exampleSite, siteWithoutDatabase, refusal } from '../../support/core-fixtures.js';

const site = exampleSite();

const groupIds = (plan: Plan): StepId[][] => plan.groups.map((group) => group.map((step) => step.id));
const stepOf = (plan: Plan, id: StepId) => {
  const step = allSteps(plan).find((s) => s.id === id);
  if (!step) throw new Error(`plan has no ${id}`);
  return step;
};

describe('buildPlan: failover', () => {
  it('plans an emergency failover from the serving cluster to the other one, catching up when it can', () => {
    const plan = buildPlan({ kind: 'failover' }, site, { serving: 'east' });
    expect(plan).toMatchObject({
      site: 'production',
      kind: 'failover',
      mode: 'emergency',
      from: 'east',
      to: 'west',
    });
    expect(groupIds(plan)).toEqual([
      ['preflight'],
      ['fence-source', 'scale-up-target'],
      ['catch-up'],
      ['promote-target-db'],
      ['switch-dns'],
      ['verify'],
      ['scale-down-source'],
    ]);
    expect(plan.warnings).toEqual([
      'Emergency failover: if east cannot be fenced, writes not yet replicated to west are lost (the preflight ' +
        'measures how far behind west is)',
    ]);
    expect(stepOf(plan, 'catch-up').actions).toEqual([
      "wait until west's database has replayed east's final WAL position (when east could be fenced; bounded, shown live)",
    ]);
    expect(stepOf(plan, 'fence-source').actions).toContain(
      '(best effort: an unreachable side is recorded, not fatal)',
    );
  });

  it('plans a failover from the standby side back the other way when west serves', () => {
    const plan = buildPlan({ kind: 'failover' }, site, { serving: 'west' });
    expect(plan).toMatchObject({ from: 'west', to: 'east', mode: 'emergency' });
  });

  it('plans a planned failover with catch-up between fencing and promotion, and no data-loss warning', () => {
    const plan = buildPlan({ kind: 'failover', mode: 'planned' }, site, { serving: 'east' });
    expect(plan.mode).toBe('planned');
    expect(groupIds(plan)).toEqual([
      ['preflight'],
      ['fence-source', 'scale-up-target'],
      ['catch-up'],
      ['promote-target-db'],
      ['switch-dns'],
      ['verify'],
      ['scale-down-source'],
    ]);
    expect(plan.warnings).toEqual([]);
    expect(stepOf(plan, 'catch-up').actions).toEqual([
      "wait until west's database has replayed east's final WAL position",
    ]);
    expect(stepOf(plan, 'preflight').actions).toContain(
      'check app.example.com points at east and east is reachable',
    );
    expect(stepOf(plan, 'fence-source').actions.join('\n')).not.toContain('best effort');
  });

  it('warns about break-glass approvals on --force', () => {
    const plan = buildPlan({ kind: 'failover', force: true }, site, { serving: 'east' });
    expect(plan.warnings[0]).toBe(
      '--force: failing gates will not stop this run (break-glass approvals needed); the split-brain guard still holds',
    );
  });

  it('refuses a serving cluster the site does not have', () => {
    const error = refusal(() => buildPlan({ kind: 'failover' }, site, { serving: 'north' }));
    expect(error.code).toBe('unknown-cluster');
    expect(error.message).toContain('"north"');
  });
});

describe('buildPlan: failback', () => {
  it('is always planned, back to the home cluster, with catch-up', () => {
    const plan = buildPlan({ kind: 'failback', mode: 'emergency' }, site, { serving: 'west' });
    expect(plan).toMatchObject({ kind: 'failback', mode: 'planned', from: 'west', to: 'east' });
    expect(groupIds(plan).flat()).toContain('catch-up');
    expect(plan.warnings).toEqual([]);
  });

  it('is refused with already-home when the home cluster already serves', () => {
    const error = refusal(() => buildPlan({ kind: 'failback' }, site, { serving: 'east' }));
    expect(error.code).toBe('already-home');
    expect(error.message).toBe(
      'production already serves from its home cluster east; there is nothing to fail back',
    );
  });

  it('is refused with --force', () => {
    const error = refusal(() => buildPlan({ kind: 'failback', force: true }, site, { serving: 'west' }));
    expect(error.code).toBe('force-not-allowed');
    expect(error.message).toContain('drop --force');
  });
});

describe('buildPlan: a site without a database', () => {
  const noDb = siteWithoutDatabase();

  it.each(['emergency', 'planned'] as const)('has no catch-up or promotion (%s)', (mode) => {
    const plan = buildPlan({ kind: 'failover', mode }, noDb, { serving: 'east' });
    expect(groupIds(plan)).toEqual([
      ['preflight'],
      ['fence-source', 'scale-up-target'],
      ['switch-dns'],
      ['verify'],
      ['scale-down-source'],
    ]);
    expect(plan.warnings).toEqual([]);
    expect(allSteps(plan).some((s) => s.pointOfNoReturn)).toBe(false);
  });

  it('mentions no database in its actions', () => {
    const plan = buildPlan({ kind: 'failover' }, noDb, { serving: 'east' });
    expect(renderPlan(plan).join('\n')).not.toMatch(/database|PostgreSQL/);
  });
});

describe('buildPlan: steps', () => {
  it('runs fencing and scale-up as one parallel group and everything else alone', () => {
    const plan = buildPlan({ kind: 'failover', mode: 'planned' }, site, { serving: 'east' });
    expect(plan.groups.filter((g) => g.length > 1).map((g) => g.map((s) => s.id))).toEqual([
      ['fence-source', 'scale-up-target'],
    ]);
  });

  it('flags only promote-target-db as the point of no return', () => {
    const plan = buildPlan({ kind: 'failover', mode: 'planned' }, site, { serving: 'east' });
    expect(
      allSteps(plan)
        .filter((s) => s.pointOfNoReturn)
        .map((s) => s.id),
    ).toEqual(['promote-target-db']);
    expect(stepOf(plan, 'promote-target-db').title).toBe("Promote west's database — point of no return");
    expect(
      allSteps(plan)
        .filter((s) => s.reversible)
        .map((s) => s.id),
    ).toEqual(['fence-source', 'scale-up-target', 'switch-dns', 'scale-down-source']);
  });

  it('uses each step definition’s timeout and retries unless tuned', () => {
    const plan = buildPlan(
      { kind: 'failover', mode: 'planned' },
      site,
      { serving: 'east' },
      {
        'switch-dns': { timeoutMs: 5, retries: 0 },
        verify: { retries: 7 },
      },
    );
    for (const step of allSteps(plan)) {
      const defaults = STEPS[step.id].defaults;
      if (step.id === 'switch-dns') expect(step).toMatchObject({ timeoutMs: 5, retries: 0 });
      else if (step.id === 'verify')
        expect(step).toMatchObject({ timeoutMs: defaults.timeoutMs, retries: 7 });
      else expect(step).toMatchObject(defaults);
    }
  });
});

describe('buildPlan: actions', () => {
  it('scales to the topology’s counts', () => {
    const plan = buildPlan({ kind: 'failover' }, site, { serving: 'east' });
    expect(stepOf(plan, 'scale-up-target').actions).toEqual([
      'raise minReplicas of any HorizontalPodAutoscaler on west targeting default/web to 5 ' +
        '(given back when the site moves away)',
      'scale default/web on west to 5 and wait until Ready',
    ]);
    expect(stepOf(plan, 'scale-down-source').actions).toEqual([
      "give east's HorizontalPodAutoscalers back the minReplicas Baton raised (if reachable)",
      'scale default/web on east to 1 (if reachable)',
    ]);
  });

  it('names the database target and claims no lag: measuring it is the preflight’s', () => {
    const plan = buildPlan({ kind: 'failover' }, site, { serving: 'east' });
    expect(stepOf(plan, 'promote-target-db').actions).toEqual([
      'fence east again, let west replay its final position and check nothing committed on east since',
      'promote PostgreSQL on west and prove it accepts writes',
    ]);
    expect(plan.warnings).toEqual([
      'Emergency failover: if east cannot be fenced, writes not yet replicated to west are lost (the preflight ' +
        'measures how far behind west is)',
    ]);
  });

  it('describes the exact DNS change for each strategy', () => {
    const dnsAction = (s: SiteConfig) =>
      stepOf(buildPlan({ kind: 'failover' }, s, { serving: 'east' }), 'switch-dns').actions;
    expect(dnsAction(site)).toEqual([
      'Route 53 Z1234567890ABC: one change batch making app.example.com A PRIMARY → west ' +
        '(passive-cluster, passive-lb.elb.amazonaws.com) and SECONDARY → east',
    ]);
    expect(dnsAction({ ...site, dns: { ...site.dns, strategy: 'simple-record' } })).toEqual([
      'Route 53 Z1234567890ABC: UPSERT app.example.com A → passive-lb.elb.amazonaws.com',
    ]);
    const inverted = {
      ...site,
      dns: {
        ...site.dns,
        strategy: 'health-check-inversion' as const,
        healthCheckIds: { east: 'hc-e', west: 'hc-w' },
      },
    };
    expect(dnsAction(inverted)).toEqual([
      'Route 53: invert and disable health check hc-e (east reported unhealthy whatever its endpoint answers) ' +
        'and clear it on hc-w, ' +
        'so app.example.com A answers passive-lb.elb.amazonaws.com',
    ]);
  });
});

describe('renderPlan', () => {
  it('numbers the steps in order, marks parallel ones and lists their actions', () => {
    const plan = buildPlan({ kind: 'failover' }, site, { serving: 'east' });
    expect(renderPlan(plan)).toEqual([
      '1. Preflight checks on west',
      "   - check west: at least 3 Ready nodes; default/web exist with east's images",
      "   - check west's database is a standby streaming from east on its timeline, at most 1 MiB behind",
      '   - check app.example.com points at east',
      '2. Fence east (in parallel)',
      "   - make east's database read-only, end its client sessions and record its final WAL position",
      '   - scale default/web on east to 1',
      '   - (best effort: an unreachable side is recorded, not fatal)',
      '3. Scale up west (in parallel)',
      '   - raise minReplicas of any HorizontalPodAutoscaler on west targeting default/web to 5 ' +
        '(given back when the site moves away)',
      '   - scale default/web on west to 5 and wait until Ready',
      "4. Wait for west's database to catch up",
      "   - wait until west's database has replayed east's final WAL position (when east could be fenced; bounded, shown live)",
      "5. Promote west's database — point of no return",
      '   - fence east again, let west replay its final position and check nothing committed on east since',
      '   - promote PostgreSQL on west and prove it accepts writes',
      '6. Switch app.example.com to west',
      '   - Route 53 Z1234567890ABC: one change batch making app.example.com A PRIMARY → west ' +
        '(passive-cluster, passive-lb.elb.amazonaws.com) and SECONDARY → east',
      '7. Verify users reach west',
      "   - resolve app.example.com and expect west's target",
      '   - GET https://passive.example.com/health expects 2xx',
      '8. Scale down east',
      "   - give east's HorizontalPodAutoscalers back the minReplicas Baton raised (if reachable)",
      '   - scale default/web on east to 1 (if reachable)',
    ]);
  });
});

describe('otherCluster', () => {
  it('gives the other cluster of the pair', () => {
    expect(otherCluster(site, 'east')).toBe('west');
    expect(otherCluster(site, 'west')).toBe('east');
  });
});
