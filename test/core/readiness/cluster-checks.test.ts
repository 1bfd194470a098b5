/**
 * Readiness's cluster checks through the simulated world's ports: drift between the clusters' pod templates (a
 * warning, each difference listed), the standby's capacity for the serving replica count (failed, with how many
 * nodes it lacks), and what happens when a side cannot be read.
 */
import { describe, expect, it } from 'vitest';
import { clusterReadinessChecks } from '../../../src/core/readiness/cluster-checks.js';
import { BatonError } from '../../../src/errors.js';
import { SimulatedWorld } from '../../../lab/simulated-world/simulated-world.js';
import { exampleSite } from '../../support/core-fixtures.js';
import { FakeClock } from '../../support/fake-clock.js';

const GiB = 2 ** 30;
const site = exampleSite(); // web: 5 replicas serving, 1 standby; east home
const WEB = 'default/Deployment/web';

function world(): SimulatedWorld {
  return SimulatedWorld.inMemory(site, new FakeClock());
}

const checks = (w: SimulatedWorld) =>
  clusterReadinessChecks({ site, ports: w.ports, from: 'east', to: 'west' });

describe('clusterReadinessChecks', () => {
  it('passes when the templates agree and the standby has room', async () => {
    const result = await checks(world());
    expect(result.map((c) => [c.id, c.status])).toEqual([
      [`drift ${WEB}`, 'passed'],
      ['capacity', 'passed'],
    ]);
    expect(result[1]?.detail).toBe(
      'west has room for 4 more pods (1 CPU / 2 GiB): 11.75 CPU / 48 GiB free on 3 nodes',
    );
  });

  it('warns of drift, listing each difference, without failing', async () => {
    const w = world();
    await w.change((state) => {
      const east = state.clusters.east?.workloads[WEB];
      const west = state.clusters.west?.workloads[WEB];
      if (!east || !west) throw new Error('web exists on both');
      east.images = ['registry.example/app:1.5'];
      east.template = { envNames: ['LOG_LEVEL'], secrets: ['web-db'] };
      west.template = { secrets: ['web-db', 'web-legacy'] };
    });
    const [drift] = await checks(w);
    expect(drift).toEqual({
      id: `drift ${WEB}`,
      status: 'warning',
      detail:
        'web: image registry.example/app:1.0 on west, registry.example/app:1.5 on east; ' +
        'web: env LOG_LEVEL only on east; web: Secret web-legacy only on west',
    });
  });

  it('fails capacity with the nodes the standby lacks', async () => {
    const w = world();
    await w.change((state) => {
      for (const id of ['east', 'west']) {
        const web = state.clusters[id]?.workloads[WEB];
        if (web) web.template = { requests: { cpuMillis: 2000, memoryBytes: 4 * GiB } };
      }
      const west = state.clusters.west;
      if (west) west.readyNodes = 1;
    });
    const capacity = (await checks(w)).find((c) => c.id === 'capacity');
    // 4 pods to add: 8 CPU, 16 GiB; one 4 CPU / 16 GiB node already holds the standby pod (2 CPU, 4 GiB).
    expect(capacity?.status).toBe('failed');
    expect(capacity?.detail).toMatch(/^west needs 2 more nodes of 4 CPU \/ 16 GiB \(short 6 CPU, 4 GiB\) — /);
  });

  it('does not compare, and only warns, when the serving side is unreachable', async () => {
    const w = world();
    await w.change((state) => {
      const east = state.clusters.east;
      if (east) east.reachable = false;
    });
    const result = await checks(w);
    expect(result[0]).toEqual({
      id: `drift ${WEB}`,
      status: 'warning',
      detail: 'not compared: east unreachable',
    });
    expect(result[1]?.status).toBe('passed');
  });

  it('fails, saying what it could not read, when the standby cannot be read', async () => {
    const w = world();
    w.fail(
      'cluster.nodeCapacity:west',
      1,
      () => new BatonError('cluster-forbidden', 'west refused: list pods'),
    );
    const capacity = (await checks(w)).find((c) => c.id === 'capacity');
    expect(capacity).toEqual({
      id: 'capacity',
      status: 'failed',
      detail: "could not read west's nodes and pods: west refused: list pods",
    });
  });

  it('fails drift when the serving side refuses Baton (its own credentials or RBAC)', async () => {
    const w = world();
    w.fail(
      'cluster.workloadTemplate:east',
      1,
      () => new BatonError('cluster-forbidden', 'east refused: get deployments'),
    );
    const [drift] = await checks(w);
    expect(drift?.status).toBe('failed');
    expect(drift?.detail).toBe(
      "could not read Deployment default/web's pod template on east: east refused: get deployments",
    );
  });
  it('measures a workload missing on the standby with the serving side’s template, and leaves drift uncompared', async () => {
    const w = world();
    await w.change((state) => {
      const west = state.clusters.west;
      if (west) delete west.workloads[WEB];
    });
    const result = await checks(w);
    expect(result[0]).toEqual({
      id: `drift ${WEB}`,
      status: 'warning',
      detail: 'not compared: Deployment default/web does not exist on west',
    });
    expect(result[1]?.detail).toMatch(/^west has room for 5 more pods \(1\.25 CPU \/ 2\.5 GiB\)/);
  });
});
