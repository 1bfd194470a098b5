/**
 * The lab with several sites (`startLab({ sites: N })`): the example site first and unchanged, then `app-02`…, each
 * served by east, in the example's hosted zone with its strategy, with a namespace of its own on both clusters and
 * health paths of its own. The topology file it writes passes `baton check-config`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SiteConfig } from '../../../src/config/topology.js';
import { runCheckConfig } from '../../../src/config/check-config.js';
import type { PostgresPair } from '../../../lab/postgres/postgres-pair.js';
import type { Lab } from '../../../lab/sandbox/start-lab.js';
import { startLab } from '../../../lab/sandbox/start-lab.js';

/** A site without what only this machine's ports decide (health URLs, resolvers). */
const withoutPorts = (site: SiteConfig | undefined) =>
  site && {
    ...site,
    clusters: Object.fromEntries(
      Object.entries(site.clusters).map(([id, c]) => [id, { ...c, healthUrl: '' }]),
    ),
    dns: { ...site.dns, resolvers: [] },
  };

let lab: Lab<PostgresPair | null>;
let single: Lab<PostgresPair | null>;

beforeAll(async () => {
  [lab, single] = await Promise.all([
    startLab({ sites: 3, database: false, podReadyAfterMs: 0, insyncAfterMs: 0 }),
    startLab({ database: false, podReadyAfterMs: 0, insyncAfterMs: 0 }),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([lab?.stop(), single?.stop()]);
}, 60_000);

describe('a lab with 3 sites', () => {
  it('keeps the example site first and unchanged, and adds app-02 and app-03 in its hosted zone', () => {
    const [example, ...extra] = lab.topology.sites;
    expect(lab.topology.sites.map((s) => s.name)).toEqual(['production', 'app-02', 'app-03']);
    expect(withoutPorts(example)).toEqual(withoutPorts(single.topology.sites[0]));
    expect(single.topology.sites).toHaveLength(1);
    for (const site of extra) {
      expect(site.dns.hostedZoneId).toBe(example?.dns.hostedZoneId);
      expect(site.dns.strategy).toBe(example?.dns.strategy);
      expect(site.dns.recordName).toBe(`${site.name}.example.com`);
      expect(site.homeCluster).toBe('east');
      expect(site.database).toBeUndefined();
      expect(site.workloads).toEqual([
        { namespace: site.name, kind: 'Deployment', name: 'web', replicas: 5, standbyReplicas: 1 },
      ]);
    }
  });

  it('answers every record with east, from the one zone', async () => {
    for (const site of lab.topology.sites) {
      expect(await lab.resolve(site.name), site.name).not.toEqual([]);
      expect(await lab.servedBy(site.name), site.name).toBe('east');
    }
    await expect(lab.resolve('nowhere')).rejects.toThrow('the lab has no site nowhere');
  });

  it("runs each site's web in its own namespace on both clusters, and answers its health paths", async () => {
    for (const site of lab.topology.sites.slice(1)) {
      expect(lab.kube.workload('east', site.name, 'Deployment', 'web').replicas).toBe(5);
      expect(lab.kube.workload('west', site.name, 'Deployment', 'web').replicas).toBe(1);
      for (const cluster of Object.values(site.clusters)) {
        expect(new URL(cluster.healthUrl).pathname).toBe(`/${site.name}/health`);
        expect((await fetch(cluster.healthUrl)).status).toBe(200);
      }
    }
    // The cluster's health server answers for all of its sites: stopping it is a cluster outage.
    await lab.health.east?.set(false);
    expect((await fetch(lab.topology.sites[2]?.clusters.east?.healthUrl ?? '')).status).toBe(503);
    await lab.health.east?.set(true);
  });

  it('writes a topology file that baton check-config accepts', async () => {
    const lines: string[] = [];
    const out = { log: (line: string) => lines.push(line), error: (line: string) => lines.push(line) };
    expect(await runCheckConfig([lab.topologyPath], lab.env, out), lines.join('\n')).toBe(0);
    expect(lines.join('\n')).toContain('app-03');
  });

  it('refuses a site count outside 1..50', async () => {
    await expect(startLab({ sites: 51, database: false })).rejects.toThrow(
      'the number of sites must be a whole number from 1 to 50, got 51',
    );
    await expect(startLab({ sites: 0, database: false })).rejects.toThrow('from 1 to 50, got 0');
  });
});
