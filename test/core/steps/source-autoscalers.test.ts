/**
 * The side that gives traffic away is scaled to `standbyReplicas`; an HPA there whose minimum is above that would
 * scale it straight back up at its next sync (the old side keeps serving-size pods on a fenced database). So the
 * fence, and scale-down-source, lower such an HPA's minReplicas to the standby count first, recording the range it
 * had on the object; the side that takes traffic later gets its HPA raised from that recorded range, and an abort
 * gives back exactly what the fence changed.
 */
import { describe, expect, it } from 'vitest';
import type { SimAutoscaler } from '../../../lab/simulated-world/world-state.js';
import type { Run } from '../../../src/core/model.js';
import { abortRun } from '../../../src/core/runs/decide-run.js';
import type { Harness } from '../../support/core-fixtures.js';
import { ALICE, approvedRun, harness, siteWithoutDatabase, tuning } from '../../support/core-fixtures.js';

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

const autoscaler = async (h: Harness, cluster: string) =>
  (await h.world.state()).clusters[cluster]?.autoscalers?.[HPA];

const failback = (h: Harness): Run => ({
  ...approvedRun(h.site, { observed: { serving: 'west' }, request: { kind: 'failback', mode: 'planned' } }),
  id: 'r2',
});

/** GitOps-style: both clusters carry the same HPA manifest, minimum 3, while the standby runs 1 (the fixture's). */
async function symmetricHpas(h: Harness): Promise<void> {
  await h.world.change((s) => {
    for (const cluster of ['east', 'west']) {
      const c = s.clusters[cluster];
      if (c) c.autoscalers = { [HPA]: hpa(3, 10) };
    }
  });
}

describe('the old side’s autoscalers are lowered to the standby count', () => {
  it('the fence lowers the source HPA before scaling down, and records the range it had', async () => {
    const h = harness(siteWithoutDatabase());
    await symmetricHpas(h);
    const { outcome, run } = await h.execute(
      approvedRun(h.site, { request: { kind: 'failover', mode: 'planned' } }),
    );
    expect(outcome).toBe('succeeded');
    expect(await autoscaler(h, 'east')).toMatchObject({
      minReplicas: 1,
      maxReplicas: 10,
      heldFrom: { minReplicas: 3, maxReplicas: 10 },
    });
    const actions = await h.actions();
    expect(actions.indexOf(`autoscaler east ${HPA} 1-10 held`)).toBeGreaterThanOrEqual(0);
    expect(actions.indexOf(`autoscaler east ${HPA} 1-10 held`)).toBeLessThan(
      actions.indexOf(`scale east ${WEB} 1`),
    );
    expect(run.steps['fence-source']?.output).toMatchObject({
      autoscalers: ['default/web-hpa (default/web): minReplicas 3 → 1'],
    });
  });

  it('failback raises it from the recorded range and lowers the other side, so both keep their manifest’s maximum', async () => {
    const h = harness(siteWithoutDatabase());
    await symmetricHpas(h);
    expect(
      (await h.execute(approvedRun(h.site, { request: { kind: 'failover', mode: 'planned' } }))).outcome,
    ).toBe('succeeded');
    expect((await h.execute(failback(h))).outcome).toBe('succeeded');
    expect(await autoscaler(h, 'east')).toMatchObject({
      minReplicas: 5,
      maxReplicas: 10,
      heldFrom: { minReplicas: 3, maxReplicas: 10 },
    });
    expect(await autoscaler(h, 'west')).toMatchObject({
      minReplicas: 1,
      maxReplicas: 10,
      heldFrom: { minReplicas: 3, maxReplicas: 10 },
    });
  });

  it('an abort gives the source HPA back exactly the range it had', async () => {
    const h = harness(siteWithoutDatabase());
    await symmetricHpas(h);
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
    expect(await autoscaler(h, 'east')).toMatchObject({ minReplicas: 1 });
    const { outcome, run: aborted } = await h.execute(
      abortRun(first.run, { actor: ALICE, now: h.clock.now() }),
    );
    expect(aborted.stateReason).toBe('Undid switch-dns, scale-up-target, fence-source');
    expect(outcome).toBe('aborted');
    expect(await autoscaler(h, 'east')).toMatchObject({ minReplicas: 3, maxReplicas: 10, heldFrom: null });
    expect((await h.world.state()).clusters.east?.workloads[WEB]?.replicas).toBe(5);
  });

  it('leaves an HPA whose minimum is already at or below the standby count alone', async () => {
    const h = harness(siteWithoutDatabase());
    await h.world.change((s) => {
      if (s.clusters.east) s.clusters.east.autoscalers = { [HPA]: hpa(1, 10) };
    });
    expect(
      (await h.execute(approvedRun(h.site, { request: { kind: 'failover', mode: 'planned' } }))).outcome,
    ).toBe('succeeded');
    expect((await h.actions()).filter((a) => a.startsWith('autoscaler east'))).toEqual([]);
    expect(await autoscaler(h, 'east')).toMatchObject({ minReplicas: 1, heldFrom: null });
  });
});
