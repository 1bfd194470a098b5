/**
 * Argo CD Applications named in a workload's `argocd`: their automated sync (self-heal would put Git's replica counts
 * back) is paused on a side before Baton scales it away from home, and given back once the site is home again — after
 * a failback, or when an abort returns the site home. Preflight refuses an Application that is missing or that an
 * ApplicationSet owns (it would undo the pause), with the fix. The simulated world; the adapter against the
 * Kubernetes stand-in is in test/adapters/kubernetes-argocd.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { SimApplication } from '../../../lab/simulated-world/world-state.js';
import type { SiteConfig } from '../../../src/config/topology.js';
import type { Run } from '../../../src/core/model.js';
import { abortRun } from '../../../src/core/runs/decide-run.js';
import { runPreflightChecks } from '../../../src/core/steps/preflight.js';
import type { Harness } from '../../support/core-fixtures.js';
import { ALICE, approvedRun, harness, siteWithoutDatabase, tuning } from '../../support/core-fixtures.js';

const WEB = 'default/Deployment/web';

function argoSite(): SiteConfig {
  const site = siteWithoutDatabase();
  return {
    ...site,
    workloads: site.workloads.map((w) => ({ ...w, argocd: { east: 'web-east', west: 'argo/web-west' } })),
  };
}

const automated = (extra: Partial<SimApplication> = {}): SimApplication => ({
  automated: true,
  pausedByBaton: false,
  ...extra,
});

async function withApplications(h: Harness, east = automated(), west = automated()): Promise<void> {
  await h.world.change((s) => {
    if (s.clusters.east) s.clusters.east.applications = { 'argocd/web-east': east };
    if (s.clusters.west) s.clusters.west.applications = { 'argo/web-west': west };
  });
}

const apps = async (h: Harness) => {
  const state = await h.world.state();
  return {
    east: state.clusters.east?.applications?.['argocd/web-east'],
    west: state.clusters.west?.applications?.['argo/web-west'],
  };
};

const failover = (h: Harness) => approvedRun(h.site, { request: { kind: 'failover', mode: 'planned' } });
const failback = (h: Harness): Run => ({
  ...approvedRun(h.site, { observed: { serving: 'west' }, request: { kind: 'failback', mode: 'planned' } }),
  id: 'r2',
});

describe('Argo CD Applications are paused while the site is away from home', () => {
  it('a failover pauses both sides before scaling them, and the plan says so', async () => {
    const h = harness(argoSite());
    await withApplications(h);
    const run = failover(h);
    expect(run.plan.groups.flat().flatMap((s) => s.actions)).toEqual(
      expect.arrayContaining([
        'pause automated sync of Argo CD Application argocd/web-east on east',
        'pause automated sync of Argo CD Application argo/web-west on west',
      ]),
    );
    const { outcome } = await h.execute(run);
    expect(outcome).toBe('succeeded');
    expect(await apps(h)).toEqual({
      east: { automated: false, pausedByBaton: true },
      west: { automated: false, pausedByBaton: true },
    });
    const actions = await h.actions();
    expect(actions.indexOf('argocd east argocd/web-east paused')).toBeLessThan(
      actions.indexOf(`scale east ${WEB} 1`),
    );
    expect(actions.indexOf('argocd west argo/web-west paused')).toBeLessThan(
      actions.indexOf(`scale west ${WEB} 5`),
    );
  });

  it('the failback home gives both back', async () => {
    const h = harness(argoSite());
    await withApplications(h);
    expect((await h.execute(failover(h))).outcome).toBe('succeeded');
    const back = await h.execute(failback(h));
    expect(back.outcome).toBe('succeeded');
    expect(await apps(h)).toEqual({
      east: { automated: true, pausedByBaton: false },
      west: { automated: true, pausedByBaton: false },
    });
    expect(back.run.steps['scale-down-source']?.output).toMatchObject({
      gitops: [
        'Argo CD argocd/web-east on east: automated sync given back',
        'Argo CD argo/web-west on west: automated sync given back',
      ],
    });
  });

  it('an abort that returns the site home gives them back; an Application that was manual stays manual', async () => {
    const h = harness(argoSite());
    await withApplications(h, automated(), { automated: false, pausedByBaton: false });
    await h.world.change((s) => {
      if (s.clusters.west) s.clusters.west.healthy = false;
    });
    const first = await h.execute(
      approvedRun(h.site, {
        request: { kind: 'failover', mode: 'planned' },
        tuning: tuning({ verify: { timeoutMs: 200, retries: 0 } }),
      }),
    );
    expect(first.outcome).toBe('paused');
    expect((await apps(h)).east).toEqual({ automated: false, pausedByBaton: true });
    const { outcome } = await h.execute(abortRun(first.run, { actor: ALICE, now: h.clock.now() }));
    expect(outcome).toBe('aborted');
    expect(await apps(h)).toEqual({
      east: { automated: true, pausedByBaton: false },
      west: { automated: false, pausedByBaton: false },
    });
  });
});

describe('preflight: the Applications Baton will pause', () => {
  const checksOf = async (h: Harness) =>
    (await runPreflightChecks({ site: h.site, run: failover(h), ports: h.world.ports })).filter((c) =>
      c.id.startsWith('argocd '),
    );

  it('passes for Applications it can pause', async () => {
    const h = harness(argoSite());
    await withApplications(h);
    expect(await checksOf(h)).toEqual([
      expect.objectContaining({ id: 'argocd argo/web-west', status: 'passed' }),
      expect.objectContaining({ id: 'argocd argocd/web-east', status: 'passed' }),
    ]);
  });

  it('fails for a missing Application, and for one an ApplicationSet owns, with the fix', async () => {
    const h = harness(argoSite());
    await withApplications(h, automated({ ownedBy: 'web-everywhere' }));
    await h.world.change((s) => {
      if (s.clusters.west) s.clusters.west.applications = {};
    });
    const checks = await checksOf(h);
    expect(checks).toEqual([
      {
        id: 'argocd argo/web-west',
        status: 'failed',
        detail: 'west: Argo CD Application argo/web-west does not exist',
      },
      expect.objectContaining({ id: 'argocd argocd/web-east', status: 'failed' }),
    ]);
    expect(checks[1]?.detail).toMatch(/ApplicationSet web-everywhere.*ignoreApplicationDifferences/);
  });
});
