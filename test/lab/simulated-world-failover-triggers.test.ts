/**
 * The simulated world reports Route 53's automatic-failover exposure as the real adapter does, so the sandbox and
 * every simulated test see preflight's warning and the status line for a failover-records site with health checks.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedWorld } from '../../lab/simulated-world/simulated-world.js';
import type { SiteConfig } from '../../src/config/topology.js';
import { systemClock } from '../../src/core/clock.js';
import { runPreflightChecks } from '../../src/core/steps/preflight.js';
import { exampleSite, proposedRun } from '../support/core-fixtures.js';

const withDns = (dns: Partial<SiteConfig['dns']>): SiteConfig => {
  const site = exampleSite();
  return { ...site, dns: { ...site.dns, ...dns } };
};

describe('the simulated world: failover triggers', () => {
  it('names each failover record’s health check, and preflight warns of the exposure', async () => {
    const site = withDns({
      strategy: 'failover-records',
      healthCheckIds: { east: 'hc-east', west: 'hc-west' },
    });
    const world = SimulatedWorld.inMemory(site, systemClock);
    expect(await world.ports.dns.failoverTriggers?.(site)).toEqual({
      east: 'health check hc-east',
      west: 'health check hc-west',
    });
    const checks = await runPreflightChecks({ site, run: proposedRun(site), ports: world.ports });
    expect(checks.find((c) => c.id === 'dns-automatic-failover')?.detail).toMatch(
      /if west's health check hc-west fails, Route 53 sends users to east on its own/,
    );
  });

  it('reports nothing for a record without a trigger, or another strategy', async () => {
    const plain = withDns({ strategy: 'failover-records', healthCheckIds: undefined });
    const world = SimulatedWorld.inMemory(plain, systemClock);
    const triggers = await world.ports.dns.failoverTriggers?.(plain);
    expect(Object.values(triggers ?? {}).every((t) => t === null)).toBe(true);
    const simple = withDns({ strategy: 'simple-record' });
    expect(await SimulatedWorld.inMemory(simple, systemClock).ports.dns.failoverTriggers?.(simple)).toEqual(
      {},
    );
  });
});
