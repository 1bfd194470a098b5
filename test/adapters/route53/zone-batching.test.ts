/**
 * Issue 16: sites of one hosted zone that switch together share Route 53 requests. Against the stand-in at Route
 * 53's five requests a second: their reads come back in a few pages, their switches leave in a few change batches
 * (never more than 100 changes, each site's own changes together), the runs waiting for INSYNC poll each batch's id
 * once, and a site whose change Route 53 refuses fails alone.
 */
import type { Change } from '@aws-sdk/client-route-53';
import { getEventListeners } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Route53Dns } from '../../../src/adapters/route53.js';
import { batchWeight } from '../../../src/adapters/route53/change-batches.js';
import { loadTopologyFile } from '../../../src/config/topology.js';
import type { SiteConfig } from '../../../src/config/topology.js';
import { BatonError } from '../../../src/errors.js';
import { maxRequestsInWindow } from '../../../lab/route53/request-rate.js';
import { route53SeedFor, startRoute53ApiServer } from '../../../lab/route53/route53-api-server.js';
import type { Route53StandIn } from '../../../lab/route53/route53-api-server.js';
import { recordingLog } from '../../support/core-fixtures.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/baton.yaml', import.meta.url));
const CREDENTIALS = { accessKeyId: 'AKIDBATONTEST', secretAccessKey: 'baton-test-secret' };
const ZONE = 'Z1234567890ABC';

let example: SiteConfig;
beforeAll(async () => {
  const loaded = await loadTopologyFile(EXAMPLE, {
    EAST_DATABASE_URL: 'postgresql://x@127.0.0.1/e',
    WEST_DATABASE_URL: 'postgresql://x@127.0.0.1/w',
  });
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  example = loaded.topology.sites[0]!;
});

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** `count` sites like the example (failover records), each with its own name in the example's zone. */
function sitesInOneZone(count: number): SiteConfig[] {
  return Array.from({ length: count }, (_, i) => {
    const name = `app-${String(i + 1).padStart(2, '0')}`;
    return { ...example, name, dns: { ...example.dns, recordName: `${name}.example.com` } };
  });
}

/**
 * Six sites on simple records (which a switch does not read first, so their changes wait for the limiter together)
 * and one whose west value Route 53 refuses.
 */
function sixGoodOneBroken(): { good: SiteConfig[]; bad: SiteConfig } {
  const simple = (name: string, west: string): SiteConfig => ({
    ...example,
    name,
    dns: {
      ...example.dns,
      strategy: 'simple-record',
      recordName: `${name}.example.com`,
      ttl: 60,
      targets: { east: { values: ['10.0.1.10'] }, west: { values: [west] } },
    },
  });
  return {
    good: Array.from({ length: 6 }, (_, i) => simple(`app-${i + 1}`, '10.0.2.10')),
    bad: simple('broken', '10.0.2.300'),
  };
}

async function setUp(sites: SiteConfig[], insyncAfterMs = 300) {
  const standIn = await startRoute53ApiServer({
    ...route53SeedFor(sites),
    credentials: CREDENTIALS,
    requestsPerSecond: 5,
    insyncAfterMs,
    dns: false,
  });
  cleanup.push(() => standIn.close());
  const log = recordingLog();
  const dns = new Route53Dns({
    endpoint: standIn.endpoint,
    credentials: CREDENTIALS,
    log,
    retry: { baseDelayMs: 50, maxDelayMs: 200 },
  });
  cleanup.push(() => dns.close());
  return { standIn, dns, log };
}

const count = (standIn: Route53StandIn, action: string) =>
  standIn.requests.filter((request) => request.action === action).length;

const primaryOf = (standIn: Route53StandIn, site: SiteConfig) =>
  standIn
    .records(ZONE)
    .find((record) => record.name === `${site.dns.recordName}.` && record.failover === 'PRIMARY')
    ?.setIdentifier;

describe('Route 53 requests of one zone, gathered', () => {
  it('switches 20 sites with a few reads, a few batches and one poll per batch, five requests a second', async () => {
    const sites = sitesInOneZone(20);
    const { standIn, dns, log } = await setUp(sites);

    expect(await Promise.all(sites.map((site) => dns.currentTarget(site)))).toEqual(sites.map(() => 'east'));
    // One site's own request goes at once; the other 19 waited for it together and share a page.
    expect(count(standIn, 'ListResourceRecordSets')).toBeLessThanOrEqual(3);

    standIn.clearRequests();
    const changes = await Promise.all(sites.map((site) => dns.switchTo(site, 'west')));
    await Promise.all(
      changes.map(({ changeId }) => dns.waitForInsync(changeId, { timeoutMs: 20_000, pollMs: 200 })),
    );

    for (const site of sites) expect(primaryOf(standIn, site)).toBe('passive-cluster');
    const batches = count(standIn, 'ChangeResourceRecordSets');
    expect(batches).toBeLessThanOrEqual(3);
    expect(new Set(changes.map((change) => change.changeId)).size).toBe(batches);
    // Polls: one per batch per poll interval, not one per site.
    expect(count(standIn, 'GetChange')).toBeLessThanOrEqual(batches * 4);
    expect(count(standIn, 'ListResourceRecordSets')).toBeLessThanOrEqual(3);
    expect(standIn.requests.filter((request) => request.errorCode === 'Throttling')).toEqual([]);
    expect(maxRequestsInWindow(standIn.requests, 1000)).toBeLessThanOrEqual(5);
    // The log names each batch's sites; every site is in exactly one.
    const submitted = log.entries.filter((entry) => entry.msg === 'Route 53 change submitted');
    const named = submitted.flatMap((entry) => (entry.obj as { sites: string[] }).sites);
    expect(named.sort()).toEqual(sites.map((site) => site.name).sort());
  }, 60_000);

  it('keeps a batch to 100 changes, and each site’s pair in one batch', async () => {
    const sites = sitesInOneZone(60);
    const { standIn, dns, log } = await setUp(sites, 0);
    const changes = await Promise.all(sites.map((site) => dns.switchTo(site, 'west')));
    for (const site of sites) expect(primaryOf(standIn, site)).toBe('passive-cluster');
    const submitted = log.entries
      .filter((entry) => entry.msg === 'Route 53 change submitted')
      .map((entry) => entry.obj as { changes: number; sites: string[]; changeId: string });
    expect(submitted.length).toBeGreaterThanOrEqual(2);
    for (const batch of submitted) {
      expect(batch.changes).toBeLessThanOrEqual(100);
      // Two UPSERTs per site: a site is never split between batches.
      expect(batch.changes).toBe(batch.sites.length * 2);
    }
    for (const [i, site] of sites.entries()) {
      const batch = submitted.find((candidate) => candidate.sites.includes(site.name));
      expect(batch?.changeId).toBe(changes[i]?.changeId);
    }
  }, 60_000);

  it('fails only the site whose change Route 53 refuses; the others of its batch switch', async () => {
    const { good, bad } = sixGoodOneBroken();
    const { standIn, dns, log } = await setUp([...good, bad], 0);
    const results = await Promise.allSettled([...good, bad].map((site) => dns.switchTo(site, 'west')));
    const refused = results.at(-1);
    expect(refused?.status).toBe('rejected');
    const error = (refused as PromiseRejectedResult).reason as BatonError;
    expect(error).toBeInstanceOf(BatonError);
    expect(error.code).toBe('route53-invalid-change-batch');
    expect(error.message).toContain('10.0.2.300');
    expect(results.slice(0, -1).every((result) => result.status === 'fulfilled')).toBe(true);
    const valuesOf = (site: SiteConfig) =>
      standIn.records(ZONE).find((record) => record.name === `${site.dns.recordName}.`)?.values;
    for (const site of good) expect(valuesOf(site)).toEqual(['10.0.2.10']);
    expect(standIn.records(ZONE).find((record) => record.name === 'broken.example.com.')?.values).toEqual([
      '10.0.1.10',
    ]);
    // Sent together first (a batch of several), then site by site once Route 53 refused it.
    expect(log.entries.map((entry) => entry.msg)).toContain(
      'Route 53 refused a batch of several sites; sending each site on its own',
    );
  }, 60_000);

  it('takes back the change of a site aborted while it waits to be sent again on its own', async () => {
    const { good, bad } = sixGoodOneBroken();
    const { standIn, dns, log } = await setUp([...good, bad], 0);
    const abort = new AbortController();
    const last = good.at(-1)!;
    const switches = [...good, bad].map((site) =>
      dns.switchTo(site, 'west', site === last ? { signal: abort.signal } : {}),
    );
    // Route 53 refuses the batch of seven; each site waits for its own request, five a second. The last good one is
    // aborted in that wait.
    const refusedAt = async () => {
      while (!log.entries.some((e) => e.msg?.startsWith('Route 53 refused a batch of several sites')))
        await new Promise((resolve) => setTimeout(resolve, 5));
    };
    await refusedAt();
    abort.abort(new Error('step aborted by dave'));
    const results = await Promise.allSettled(switches);
    const aborted = results[good.length - 1];
    expect(aborted?.status).toBe('rejected');
    expect(String((aborted as PromiseRejectedResult).reason)).toContain('step aborted by dave');
    const valuesOf = (site: SiteConfig) =>
      standIn.records(ZONE).find((record) => record.name === `${site.dns.recordName}.`)?.values;
    expect(valuesOf(last)).toEqual(['10.0.1.10']);
    for (const site of good.slice(0, -1)) expect(valuesOf(site)).toEqual(['10.0.2.10']);
  }, 60_000);

  it('leaves no abort listener on a poller’s signal, however often it polls', async () => {
    const sites = sitesInOneZone(1);
    const { dns } = await setUp(sites, 600_000);
    const { changeId } = await dns.switchTo(sites[0]!, 'west');
    // One step's signal, polled with for as long as the change is PENDING (a run waits minutes for INSYNC).
    const step = new AbortController();
    for (let i = 0; i < 10; i += 1)
      expect(await dns.changeStatus(changeId, { signal: step.signal })).toBe('PENDING');
    expect(getEventListeners(step.signal, 'abort')).toHaveLength(0);
  }, 60_000);

  it('counts an UPSERT’s values twice against 1,000 ResourceRecord elements', () => {
    const values = Array.from({ length: 3 }, (_, i) => ({ Value: `10.0.0.${i}` }));
    const changes: Change[] = [
      { Action: 'UPSERT', ResourceRecordSet: { Name: 'a.example.com', Type: 'A', ResourceRecords: values } },
      { Action: 'DELETE', ResourceRecordSet: { Name: 'b.example.com', Type: 'A', ResourceRecords: values } },
    ];
    expect(batchWeight(changes)).toEqual({ resourceRecords: 9, characters: 24 * 3 });
  });
});
