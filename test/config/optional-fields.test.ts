import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseTopology, prewarmOf, readinessIntervalOf } from '../../src/config/topology.js';
import type { ParseTopologyResult, Topology } from '../../src/config/topology.js';

const read = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../fixtures/topology/${name}`, import.meta.url)), 'utf8');
const env = { EAST_DATABASE_URL: 'postgres://e/app', WEST_DATABASE_URL: 'postgres://w/app' };

/* eslint-disable @typescript-eslint/no-explicit-any -- free-form YAML trees */
/** example.yaml with DESIGN §3's optional block laid over it: top-level keys added, the site's keys replaced. */
function exampleWithOptionalFields(edit: (doc: any) => void = () => {}): string {
  const example = parse(read('example.yaml'));
  const optional = parse(read('optional-fields.yaml'));
  const { sites, ...topLevel } = optional;
  Object.assign(example, topLevel);
  Object.assign(example.sites[0], sites[0]);
  edit(example);
  return stringify(example);
}
/* eslint-enable @typescript-eslint/no-explicit-any */

function topologyOf(result: ParseTopologyResult): Topology {
  if (!result.ok) throw new Error(`expected a valid topology, got:\n${result.problems.join('\n')}`);
  return result.topology;
}

describe("DESIGN §3's optional fields", () => {
  it('load on top of the example and are normalized', () => {
    const topology = topologyOf(parseTopology(exampleWithOptionalFields(), env));
    const [site] = topology.sites;
    if (!site) throw new Error('no site');
    expect(topology.readinessIntervalMs).toBe(600_000);
    expect(topology.drills).toEqual({
      blockedWindows: ['Fri 00:00-24:00'],
      abortOn: [{ alertname: 'HighErrorRate' }],
    });
    expect(readinessIntervalOf(topology, site)).toBe(300_000);
    expect(prewarmOf(site)).toBe(true);
    expect(site.cooldownMs).toBe(600_000);
    expect(site.workloads[0]?.argocd).toEqual({
      east: 'production-app-active',
      west: 'production-app-passive',
    });
    expect(site.alerts).toMatchObject([
      { match: { alertname: 'ClusterDown', cluster: 'east' }, action: 'propose-evacuation' },
    ]);
  });

  it('default when left out: readiness every 10 minutes, pre-warm on, no drills config', () => {
    const topology = topologyOf(parseTopology(read('example.yaml'), env));
    const [site] = topology.sites;
    if (!site) throw new Error('no site');
    expect(readinessIntervalOf(topology, site)).toBe(600_000);
    expect(prewarmOf(site)).toBe(true);
    expect(topology.drills).toBeUndefined();
  });

  it('refuse bad values with the path and the fix', () => {
    const result = parseTopology(
      exampleWithOptionalFields((doc) => {
        doc.drills.blockedWindows = ['Fridays'];
        doc.readiness.interval = '2s';
        doc.sites[0].prewarm = 'yes';
        doc.sites[0].workloads[0].argocd = { north: 'app' };
      }),
      env,
    );
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems.join('\n');
    expect(problems).toMatch(/drills\.blockedWindows\[0\].*"Fridays": not a window; write "Fri 00:00-24:00"/);
    expect(problems).toMatch(/readiness\.interval.*at least 10s/);
    expect(problems).toMatch(/sites\[0\]\.prewarm/);
    expect(problems).toMatch(/sites\[0\]\.workloads\[0\]\.argocd\.north.*not one of the site's clusters/);
  });
});
