/**
 * failover-records: after a failover the demoted side is the SECONDARY, still behind its health check, so a failing
 * check on the new PRIMARY would send users to a fenced database. Preflight warns of it, with the choice; status
 * (`sourcesOfTruth`) names it while the SECONDARY's database takes no writes. Route 53 through the real adapter and
 * its stand-in; Kubernetes and PostgreSQL from the simulated world.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { route53SeedFor, startRoute53ApiServer } from '../../../lab/route53/route53-api-server.js';
import { SimulatedWorld } from '../../../lab/simulated-world/simulated-world.js';
import { Route53Dns } from '../../../src/adapters/route53.js';
import type { SiteConfig } from '../../../src/config/topology.js';
import { systemClock } from '../../../src/core/clock.js';
import { runPreflightChecks } from '../../../src/core/steps/preflight.js';
import { createLogger } from '../../../src/logger.js';
import { read } from '../../../src/core/reading.js';
import { sourcesOfTruth } from '../../../src/runs/observe-site.js';
import type { SiteObservation } from '../../../src/runs/observe-site.js';
import { exampleSite, proposedRun } from '../../support/core-fixtures.js';

const CREDENTIALS = { accessKeyId: 'AKIDPREFLIGHT', secretAccessKey: 'preflight-secret' };
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function preflightWith(site: SiteConfig) {
  const standIn = await startRoute53ApiServer({
    ...route53SeedFor(site),
    credentials: CREDENTIALS,
    dns: false,
  });
  cleanup.push(() => standIn.close());
  const dns = new Route53Dns({
    endpoint: standIn.endpoint,
    credentials: CREDENTIALS,
    log: createLogger({ level: 'silent' }),
    maxRequestsPerSecond: 100,
  });
  cleanup.push(() => dns.close());
  const world = SimulatedWorld.inMemory(site, systemClock);
  const ports = { ...world.ports, dns };
  return { dns, checks: await runPreflightChecks({ site, run: proposedRun(site), ports }) };
}

const withDns = (dns: Partial<SiteConfig['dns']>): SiteConfig => {
  const site = exampleSite();
  return { ...site, dns: { ...site.dns, ...dns } };
};

describe('automatic failover by Route 53', () => {
  it('preflight warns that the demoted side stays the SECONDARY behind the new PRIMARY’s health check', async () => {
    const site = withDns({
      strategy: 'failover-records',
      healthCheckIds: { east: 'hc-east', west: 'hc-west' },
    });
    const { checks, dns } = await preflightWith(site);
    expect(await dns.failoverTriggers(site)).toEqual({
      east: 'health check hc-east',
      west: 'health check hc-west',
    });
    const warning = checks.find((check) => check.id === 'dns-automatic-failover');
    expect(warning?.status).toBe('warning');
    expect(warning?.detail).toContain(
      "after the switch, if west's health check hc-west fails, Route 53 sends users to east on its own " +
        '(its database fenced, its workloads scaled down)',
    );
    expect(warning?.detail).toContain(
      "remove the health check from west's record so that only Baton moves users",
    );
  });

  it('says nothing when no health check or target health lets Route 53 move users', async () => {
    const { checks } = await preflightWith(withDns({ strategy: 'failover-records' }));
    expect(checks.find((check) => check.id === 'dns-automatic-failover')).toBeUndefined();
    expect(checks.find((check) => check.id === 'dns')?.status).toBe('passed');
  });

  it('status names the exposure while the SECONDARY’s database takes no writes', () => {
    const observation: SiteObservation = {
      site: 'production',
      servingPerBaton: 'west',
      route53: read('west'),
      databases: [
        { cluster: 'east', role: read('fenced primary') },
        { cluster: 'west', role: read('primary') },
      ],
      automaticFailover: { primary: 'west', secondary: 'east', trigger: 'health check hc-west' },
    };
    expect(sourcesOfTruth(observation).exposure).toContain(
      "if west's health check hc-west fails, Route 53 sends users to east on its own (its database is a fenced primary)",
    );
    const healed: SiteObservation = {
      ...observation,
      databases: [
        { cluster: 'east', role: read('primary') },
        { cluster: 'west', role: read('standby') },
      ],
    };
    expect(sourcesOfTruth(healed).exposure).toBeUndefined();
  });
});
