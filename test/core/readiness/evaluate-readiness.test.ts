/**
 * One readiness evaluation against the simulated world: green when all is well, and red, with a short line for the
 * channel, for each thing that would make the failover fail. It never changes the world.
 */
import { describe, expect, it } from 'vitest';
import type { SiteConfig } from '../../../src/config/topology.js';
import { systemClock } from '../../../src/core/clock.js';
import type { FenceDebt } from '../../../src/core/model.js';
import { evaluateReadiness, problemLine } from '../../../src/core/readiness/evaluate-readiness.js';
import type { ReadinessEvaluation } from '../../../src/core/readiness/readiness-types.js';
import { SimulatedWorld } from '../../../lab/simulated-world/simulated-world.js';
import { exampleSite } from '../../support/core-fixtures.js';

async function evaluate(
  site: SiteConfig,
  world: SimulatedWorld,
  options: {
    from?: string;
    to?: string;
    fenceDebt?: FenceDebt;
    signal?: AbortSignal;
    refusedAccess?: string[] | null;
  } = {},
): Promise<ReadinessEvaluation> {
  let t = 1_000_000;
  return evaluateReadiness({
    site,
    ports: world.ports,
    from: options.from ?? 'east',
    to: options.to ?? 'west',
    now: () => (t += 5),
    ...(options.signal && { signal: options.signal }),
    ...(options.fenceDebt && { fenceDebt: options.fenceDebt }),
    ...(options.refusedAccess !== undefined && { refusedAccess: options.refusedAccess }),
  });
}

function setup(change?: (site: SiteConfig) => void) {
  const site = exampleSite();
  change?.(site);
  return { site, world: SimulatedWorld.inMemory(site, systemClock) };
}

const statusOf = (evaluation: ReadinessEvaluation, id: string) =>
  evaluation.checks.find((c) => c.id === id)?.status;

describe('evaluateReadiness', () => {
  it('is ready when the standby follows, both sides answer and DNS points at the serving side', async () => {
    const { site, world } = setup();
    const evaluation = await evaluate(site, world);
    expect(evaluation.problems).toEqual([]);
    expect(evaluation).toMatchObject({ site: 'production', from: 'east', to: 'west', ready: true });
    expect(evaluation.durationMs).toBeGreaterThan(0);
    // The preflight gates and readiness' own checks, in a stable order.
    expect(evaluation.checks.map((c) => c.id)).toEqual(
      expect.arrayContaining([
        'target-nodes',
        'target-database',
        'dns',
        'target-health',
        'source-health',
        'dns-ttl',
        'fence-debt',
      ]),
    );
    // Alias records have no TTL of their own: said, not failed.
    expect(evaluation.checks.find((c) => c.id === 'dns-ttl')?.detail).toMatch(/alias: no TTL of its own/);
    expect(await world.state().then((s) => s.actions)).toEqual([]);
  });

  it('is not ready when the standby lags more than the limit', async () => {
    const { site, world } = setup();
    await world.change((s) => {
      s.lagBytes = 3_355_443; // 3.2 MiB
    });
    const evaluation = await evaluate(site, world);
    expect(evaluation.ready).toBe(false);
    expect(evaluation.problems).toEqual(['west lag 3.2 MiB > 1 MiB']);
  });

  it("is not ready when the standby's health URL is down", async () => {
    const { site, world } = setup();
    await world.change((s) => {
      s.clusters.west!.healthy = false;
    });
    const evaluation = await evaluate(site, world);
    expect(evaluation.ready).toBe(false);
    expect(evaluation.problems).toEqual(['west health URL down (connection refused)']);
  });

  it("only warns when the serving side's health URL is down (an emergency failover is for that)", async () => {
    const { site, world } = setup();
    await world.change((s) => {
      s.clusters.east!.healthy = false;
    });
    const evaluation = await evaluate(site, world);
    expect(statusOf(evaluation, 'source-health')).toBe('warning');
    expect(evaluation.ready).toBe(true);
  });

  it("is not ready when the standby's Kubernetes API does not answer", async () => {
    const { site, world } = setup();
    await world.change((s) => {
      s.clusters.west!.reachable = false;
    });
    const evaluation = await evaluate(site, world);
    expect(evaluation.ready).toBe(false);
    expect(statusOf(evaluation, 'target-nodes')).toBe('failed');
    expect(evaluation.problems[0]).toMatch(/^west: Kubernetes API did not answer/);
  });

  it('is not ready when DNS points elsewhere than the serving side', async () => {
    const { site, world } = setup();
    await world.change((s) => {
      s.dns.serving = 'west';
    });
    const evaluation = await evaluate(site, world);
    expect(evaluation.ready).toBe(false);
    expect(evaluation.problems).toEqual(['app.example.com points at west, expected east']);
  });

  it('is not ready when the record TTL is over 60 s', async () => {
    const { site, world } = setup((s) => {
      s.dns.targets = { east: { values: ['192.0.2.10'] }, west: { values: ['198.51.100.10'] } };
      s.dns.ttl = 300;
    });
    const evaluation = await evaluate(site, world);
    expect(statusOf(evaluation, 'dns-ttl')).toBe('failed');
    expect(evaluation.problems).toContain('TTL 300 s > 60 s');
  });

  it('passes a plain record with a TTL of 60 s', async () => {
    const { site, world } = setup((s) => {
      s.dns.targets = { east: { values: ['192.0.2.10'] }, west: { values: ['198.51.100.10'] } };
      s.dns.ttl = 60;
    });
    expect(statusOf(await evaluate(site, world), 'dns-ttl')).toBe('passed');
  });

  it('is not ready when the boot-time doctor found a permission refused, and says so only where a doctor ran', async () => {
    const { site, world } = setup();
    const refused = await evaluate(site, world, {
      refusedAccess: [
        'production west (context passive-cluster): update deployments/scale in default — forbidden → apply manifests/target-cluster-rbac',
        'production: route53:ChangeResourceRecordSets — AccessDenied → attach manifests/iam/route53-policy.json',
      ],
    });
    expect(refused.ready).toBe(false);
    expect(refused.checks.find((c) => c.id === 'access')?.detail).toMatch(
      /^baton doctor: production west .*update deployments\/scale.* \(and 1 more\) — run `baton doctor`/,
    );
    expect(statusOf(await evaluate(site, world, { refusedAccess: [] }), 'access')).toBe('passed');
    expect(statusOf(await evaluate(site, world, { refusedAccess: null }), 'access')).toBe('warning');
    expect(statusOf(await evaluate(site, world), 'access')).toBeUndefined();
  });

  it('is not ready while a fence debt is open', async () => {
    const { site, world } = setup();
    const evaluation = await evaluate(site, world, {
      fenceDebt: {
        site: 'production',
        cluster: 'west',
        runId: 'r7',
        since: 1,
        database: true,
        workloads: false,
        reason: "west's database unreachable",
      },
    });
    expect(evaluation.ready).toBe(false);
    expect(evaluation.problems).toEqual(['west still owes its fence (its database read-only) from run r7']);
  });

  it('judges the planned failback when the site is served away from home', async () => {
    const { site, world } = setup();
    // Served from west; east's database is the old primary, not yet rebuilt as a standby of west.
    await world.change((s) => {
      s.dns.serving = 'west';
      s.clusters.east!.healthy = false;
    });
    const evaluation = await evaluate(site, world, { from: 'west', to: 'east' });
    expect(evaluation).toMatchObject({ from: 'west', to: 'east', ready: false });
    // Planned: the health of the side it leaves matters too, and east must follow west.
    expect(statusOf(evaluation, 'target-health')).toBe('failed');
    expect(statusOf(evaluation, 'target-database')).toBe('failed');
  });

  it('gives up at its deadline, counting what hangs as failed', async () => {
    const { site, world } = setup();
    world.hang('cluster.readyNodeCount');
    const deadline = new AbortController();
    const pending = evaluate(site, world, { signal: deadline.signal });
    deadline.abort();
    const evaluation = await pending;
    world.heal();
    expect(evaluation.ready).toBe(false);
    expect(evaluation.checks.map((c) => c.id)).toEqual(['evaluation']);
    expect(evaluation.problems[0]).toMatch(/^the checks did not finish/);
  });
});

describe('problemLine', () => {
  it('keeps the finding and drops the fix', () => {
    expect(
      problemLine({
        id: 'gitops default/worker',
        status: 'failed',
        detail:
          'west: default/worker is managed by Argo CD. Fix: add to Application production-west:\nspec: …',
      }),
    ).toBe('west: default/worker is managed by Argo CD');
    expect(
      problemLine({
        id: 'dns',
        status: 'failed',
        detail: 'a points at west, expected east — check /failover status',
      }),
    ).toBe('a points at west, expected east');
    expect(problemLine({ id: 'x', status: 'failed', detail: 'y'.repeat(300) })).toHaveLength(160);
  });
});
