/**
 * Scaling that holds (DESIGN §6): the side that takes traffic is never scaled below what it runs, and the
 * HorizontalPodAutoscalers of its workloads are held at the serving count for as long as it serves — raised in
 * scale-up-target, given back on abort and when the site later moves away (scale-down-source of the next run).
 */
import { describe, expect, it } from 'vitest';
import type { Run } from '../../../src/core/model.js';
import { abortRun } from '../../../src/core/runs/decide-run.js';
import type { SimAutoscaler } from '../../../lab/simulated-world/world-state.js';
import { ALICE, approvedRun, harness, siteWithoutDatabase, tuning } from '../../support/core-fixtures.js';
import type { Harness } from '../../support/core-fixtures.js';

const WEB = 'default/Deployment/web';
const HPA = 'default/web-hpa';

const hpa = (minReplicas: number, maxReplicas: number): SimAutoscaler => ({
  namespace: 'default',
  name: 'web-hpa',
  target: WEB,
  minReplicas,
  maxReplicas,
  heldFrom: null,
});

async function autoscaler(h: Harness, cluster: string): Promise<SimAutoscaler | undefined> {
  return (await h.world.state()).clusters[cluster]?.autoscalers?.[HPA];
}

/** The site as it serves from `serving` after a finished run, for the next run's plan. */
const next = (h: Harness, serving: string, kind: 'failover' | 'failback' = 'failover'): Run => ({
  ...approvedRun(h.site, { observed: { serving }, request: { kind, mode: 'planned' } }),
  id: 'r2',
});

describe('scale-up-target never scales the target down', () => {
  it('leaves a standby already above the serving count where it is', async () => {
    const h = harness(siteWithoutDatabase());
    await h.world.change((s) => {
      const web = s.clusters.west?.workloads[WEB];
      if (web) Object.assign(web, { replicas: 8, readyReplicas: 8 });
    });
    const { outcome, run } = await h.execute(approvedRun(h.site));
    expect(outcome).toBe('succeeded');
    expect((await h.world.state()).clusters.west?.workloads[WEB]?.replicas).toBe(8);
    expect(await h.actions()).not.toContain(`scale west ${WEB} 5`);
    expect(run.steps['scale-up-target']?.output).toEqual({ alreadyDone: true });
  });

  it('scales a standby below the serving count up to it', async () => {
    const h = harness(siteWithoutDatabase());
    const { outcome } = await h.execute(approvedRun(h.site));
    expect(outcome).toBe('succeeded');
    expect(await h.actions()).toContain(`scale west ${WEB} 5`);
  });
});

describe('HorizontalPodAutoscalers are held at the serving count', () => {
  it('raises minReplicas on the target before scaling, and gives it back when the site moves away', async () => {
    const h = harness(siteWithoutDatabase());
    await h.world.change((s) => {
      if (s.clusters.west) s.clusters.west.autoscalers = { [HPA]: hpa(1, 10) };
    });
    const first = await h.execute(approvedRun(h.site));
    expect(first.outcome).toBe('succeeded');
    expect(await autoscaler(h, 'west')).toMatchObject({
      minReplicas: 5,
      maxReplicas: 10,
      heldFrom: { minReplicas: 1, maxReplicas: 10 },
    });
    const actions = await h.actions();
    // The HPA first: scaling the Deployment before would be undone at the HPA's next sync.
    expect(actions.indexOf(`autoscaler west ${HPA} 5-10 held`)).toBeLessThan(
      actions.indexOf(`scale west ${WEB} 5`),
    );
    expect(first.run.steps['scale-up-target']?.output).toMatchObject({
      autoscalers: ['default/web-hpa (default/web): minReplicas 1 → 5'],
    });

    // Failback: west gives traffic away, and its HPA gets its own range back.
    const back = await h.execute(next(h, 'west', 'failback'));
    expect(back.outcome).toBe('succeeded');
    expect(await autoscaler(h, 'west')).toMatchObject({ minReplicas: 1, maxReplicas: 10, heldFrom: null });
    // The fence lowers it first (its minimum above the standby count would scale west back up).
    expect(back.run.steps['fence-source']?.output).toMatchObject({
      autoscalers: ['default/web-hpa (default/web): minReplicas 5 → 1'],
    });
  });

  it('raises maxReplicas too when it is below the serving count, and gives both back', async () => {
    const h = harness(siteWithoutDatabase());
    await h.world.change((s) => {
      if (s.clusters.west) s.clusters.west.autoscalers = { [HPA]: hpa(1, 3) };
    });
    expect((await h.execute(approvedRun(h.site))).outcome).toBe('succeeded');
    expect(await autoscaler(h, 'west')).toMatchObject({ minReplicas: 5, maxReplicas: 5 });
    expect((await h.execute(next(h, 'west', 'failback'))).outcome).toBe('succeeded');
    expect(await autoscaler(h, 'west')).toMatchObject({ minReplicas: 1, maxReplicas: 3, heldFrom: null });
  });

  it('gives the range back when the step is undone by an abort', async () => {
    const h = harness(siteWithoutDatabase());
    await h.world.change((s) => {
      if (s.clusters.west) s.clusters.west.autoscalers = { [HPA]: hpa(2, 10) };
    });
    // verify fails (west's health endpoint is down), so the run pauses after scale-up and the DNS switch.
    await h.world.change((s) => {
      if (s.clusters.west) s.clusters.west.healthy = false;
    });
    const first = await h.execute(
      approvedRun(h.site, { tuning: tuning({ verify: { timeoutMs: 200, retries: 0 } }) }),
    );
    expect(first.outcome).toBe('paused');
    expect(await autoscaler(h, 'west')).toMatchObject({ minReplicas: 5, heldFrom: { minReplicas: 2 } });
    const { outcome } = await h.execute(abortRun(first.run, { actor: ALICE, now: h.clock.now() }));
    expect(outcome).toBe('aborted');
    expect(await autoscaler(h, 'west')).toMatchObject({ minReplicas: 2, maxReplicas: 10, heldFrom: null });
    expect((await h.world.state()).clusters.west?.workloads[WEB]?.replicas).toBe(1);
  });

  it('leaves an HPA whose minimum is already at the serving count alone', async () => {
    const h = harness(siteWithoutDatabase());
    await h.world.change((s) => {
      if (s.clusters.west) s.clusters.west.autoscalers = { [HPA]: hpa(6, 10) };
    });
    expect((await h.execute(approvedRun(h.site))).outcome).toBe('succeeded');
    expect((await h.actions()).filter((a) => a.startsWith('autoscaler'))).toEqual([]);
    expect(await autoscaler(h, 'west')).toMatchObject({ minReplicas: 6, heldFrom: null });
  });
});

describe('preflight: GitOps self-heal and autoscalers on the target', () => {
  const checksOf = async (h: Harness) => {
    const { runPreflightChecks } = await import('../../../src/core/steps/preflight.js');
    return runPreflightChecks({ site: h.site, run: approvedRun(h.site), ports: h.world.ports });
  };

  it('warns about an Argo CD-managed workload, with the ignoreDifferences fix', async () => {
    const h = harness(siteWithoutDatabase());
    await h.world.change((s) => {
      const web = s.clusters.west?.workloads[WEB];
      if (web)
        web.annotations = { 'argocd.argoproj.io/tracking-id': 'shop-west:apps/Deployment:default/web' };
    });
    const check = (await checksOf(h)).find((c) => c.id === 'gitops default/web');
    expect(check?.status).toBe('warning');
    expect(check?.detail).toContain('managed by Argo CD (shop-west)');
    expect(check?.detail).toContain('jsonPointers: [/spec/replicas]');
    expect(check?.detail).toContain('RespectIgnoreDifferences=true');
  });

  it('warns about a Flux-managed workload', async () => {
    const h = harness(siteWithoutDatabase());
    await h.world.change((s) => {
      const web = s.clusters.west?.workloads[WEB];
      if (web) web.labels = { 'kustomize.toolkit.fluxcd.io/name': 'apps' };
    });
    const check = (await checksOf(h)).find((c) => c.id === 'gitops default/web');
    expect(check).toMatchObject({ status: 'warning' });
    expect(check?.detail).toContain('Flux (apps)');
  });

  it('passes when an HPA owns the replicas, and names the HPA it will raise', async () => {
    const h = harness(siteWithoutDatabase());
    await h.world.change((s) => {
      const west = s.clusters.west;
      if (!west) return;
      west.autoscalers = { [HPA]: hpa(1, 10) };
      const web = west.workloads[WEB];
      if (web) web.labels = { 'app.kubernetes.io/instance': 'shop-west' };
    });
    const checks = await checksOf(h);
    expect(checks.find((c) => c.id === 'gitops default/web')?.status).toBe('passed');
    expect(checks.find((c) => c.id === `autoscaler ${HPA}`)?.detail).toContain('minReplicas 1 → 5');
  });
});
