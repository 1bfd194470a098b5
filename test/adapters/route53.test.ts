import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ChangeResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RequestRateLimiter, Route53Dns, waitForInsync } from '../../src/adapters/route53.js';
import type { Route53DnsOptions } from '../../src/adapters/route53.js';
import { loadTopologyFile } from '../../src/config/topology.js';
import type { DnsConfig, SiteConfig } from '../../src/config/topology.js';
import type { Clock, Log } from '../../src/core/ports.js';
import { BatonError } from '../../src/errors.js';
import { route53SeedFor, startRoute53ApiServer } from '../../lab/route53/route53-api-server.js';
import { sitesInOwnZones } from '../support/route53-zones.js';
import type { Route53StandIn, Route53StandInOptions } from '../../lab/route53/route53-api-server.js';

const CREDENTIALS = { accessKeyId: 'AKIDBATONTEST', secretAccessKey: 'baton-test-secret' };
const EXAMPLE = fileURLToPath(new URL('../../examples/baton.yaml', import.meta.url));
const DB_ENV = {
  EAST_DATABASE_URL: 'postgresql://x@127.0.0.1/e',
  WEST_DATABASE_URL: 'postgresql://x@127.0.0.1/w',
};
const ZONE = 'Z1234567890ABC';

let example: SiteConfig;
beforeAll(async () => {
  const loaded = await loadTopologyFile(EXAMPLE, DB_ENV);
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  const site = loaded.topology.sites[0];
  if (!site) throw new Error('no site');
  example = site;
});

interface LogLine {
  level: string;
  fields: object;
  msg?: string;
}
function recordingLog(lines: LogLine[], bindings: object = {}): Log {
  const write = (level: string) => (fields: object, msg?: string) =>
    void lines.push({ level, fields: { ...bindings, ...fields }, ...(msg !== undefined && { msg }) });
  return {
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    debug: write('debug'),
    child: (more) => recordingLog(lines, { ...bindings, ...more }),
  };
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function siteWith(dns: Partial<DnsConfig> = {}): SiteConfig {
  return { ...example, dns: { ...example.dns, ...dns } };
}

async function setUp(
  site: SiteConfig,
  standInOptions: Partial<Route53StandInOptions> = {},
  adapterOptions: Partial<Route53DnsOptions> = {},
) {
  const standIn = await startRoute53ApiServer({
    ...route53SeedFor(site),
    credentials: CREDENTIALS,
    ...standInOptions,
  });
  cleanup.push(() => standIn.close());
  const lines: LogLine[] = [];
  const dns = new Route53Dns({
    endpoint: standIn.endpoint,
    credentials: CREDENTIALS,
    log: recordingLog(lines),
    maxRequestsPerSecond: 100,
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
    // A load balancer's name resolves through its own zone's name servers, as the system's resolvers would.
    resolver: { timeoutMs: 500, tries: 1, aliasServers: [standIn.aliasDnsAddress] },
    ...adapterOptions,
  });
  cleanup.push(() => dns.close());
  // Verification asks the stand-in's DNS server, as a site with dns.resolvers would.
  const verified = { ...site, dns: { ...site.dns, resolvers: [standIn.dnsAddress] } };
  return { standIn, dns, lines, site: verified };
}

const count = (standIn: Route53StandIn, action: string) =>
  standIn.requests.filter((request) => request.action === action).length;

async function rejection(promise: Promise<unknown>): Promise<BatonError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(BatonError);
    return error as BatonError;
  }
  throw new Error('expected a rejection');
}

describe('Route53Dns: failover-records', () => {
  it('swaps PRIMARY/SECONDARY in one change batch, waits for INSYNC, and DNS follows', async () => {
    const { standIn, dns, site } = await setUp(siteWith(), { insyncAfterMs: 300 });
    expect(await dns.currentTarget(site)).toBe('east');
    expect(await dns.resolveTarget(site)).toEqual({ cluster: 'east', answers: ['10.0.1.10'] });

    const { changeId } = await dns.switchTo(site, 'west');
    expect(changeId).toMatch(/^C[A-Z0-9]{13}$/);
    expect(count(standIn, 'ChangeResourceRecordSets')).toBe(1);
    expect(await dns.changeStatus(changeId)).toBe('PENDING');
    // Route 53 already says west; users still get east until the change is INSYNC.
    expect(await dns.currentTarget(site)).toBe('west');
    expect((await dns.resolveTarget(site)).cluster).toBe('east');

    const waited = await dns.waitForInsync(changeId, { timeoutMs: 5000, pollMs: 50 });
    expect(waited.waitedMs).toBeGreaterThanOrEqual(200);
    expect(await dns.resolveTarget(site)).toEqual({ cluster: 'west', answers: ['10.0.2.10'] });

    const records = standIn.records(ZONE).filter((record) => record.type === 'A');
    expect(
      records.map((record) => [record.setIdentifier, record.failover, record.aliasTarget?.dnsName]),
    ).toEqual([
      ['active-cluster', 'SECONDARY', 'active-lb.elb.amazonaws.com.'],
      ['passive-cluster', 'PRIMARY', 'passive-lb.elb.amazonaws.com.'],
    ]);
    expect(standIn.change(changeId)?.comment).toBe('Baton: production served by west');
  });

  it('reads currentTarget without changing anything, however often, and switches back', async () => {
    const { standIn, dns, site } = await setUp(siteWith());
    expect(await dns.currentTarget(site)).toBe('east');
    expect(await dns.currentTarget(site)).toBe('east');
    expect(count(standIn, 'ChangeResourceRecordSets')).toBe(0);
    await dns.switchTo(site, 'west');
    expect(await dns.currentTarget(site)).toBe('west');
    await dns.switchTo(site, 'east');
    expect(await dns.currentTarget(site)).toBe('east');
    expect(count(standIn, 'ChangeResourceRecordSets')).toBe(2);
  });

  it('names the missing record when a SetIdentifier is not in the zone', async () => {
    const { dns, site } = await setUp(siteWith());
    const renamed = {
      ...site,
      dns: { ...site.dns, setIdentifiers: { east: 'active-cluster', west: 'dr-cluster' } },
    };
    const error = await rejection(dns.switchTo(renamed, 'west'));
    expect(error.code).toBe('dns-record-missing');
    expect(error.message).toContain('SetIdentifier "dr-cluster" (cluster west)');
    expect(await dns.currentTarget(renamed)).toBe('east');
  });
});

describe('Route53Dns: simple-record', () => {
  const valuesSite = () =>
    siteWith({
      strategy: 'simple-record',
      setIdentifiers: undefined,
      ttl: 30,
      targets: { east: { values: ['192.0.2.10'] }, west: { values: ['192.0.2.20', '192.0.2.21'] } },
    });

  it('UPSERTs the values (with the configured TTL) and reads the target back', async () => {
    const { standIn, dns, site } = await setUp(valuesSite());
    expect(await dns.currentTarget(site)).toBe('east');
    expect(await dns.resolveTarget(site)).toEqual({ cluster: 'east', answers: ['192.0.2.10'] });
    await dns.switchTo(site, 'west');
    expect(await dns.currentTarget(site)).toBe('west');
    expect(await dns.resolveTarget(site)).toEqual({ cluster: 'west', answers: ['192.0.2.20', '192.0.2.21'] });
    expect(standIn.records(ZONE).find((record) => record.type === 'A')).toEqual({
      name: 'app.example.com.',
      type: 'A',
      ttl: 30,
      values: ['192.0.2.20', '192.0.2.21'],
    });
  });

  it('says null when the record points at neither cluster', async () => {
    const { standIn, dns, site } = await setUp(valuesSite());
    const sdk = new Route53Client({
      endpoint: standIn.endpoint,
      region: 'us-east-1',
      credentials: CREDENTIALS,
    });
    cleanup.push(() => sdk.destroy());
    await sdk.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: ZONE,
        ChangeBatch: {
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: 'app.example.com',
                Type: 'A',
                TTL: 30,
                ResourceRecords: [{ Value: '198.51.100.9' }],
              },
            },
          ],
        },
      }),
    );
    expect(await dns.currentTarget(site)).toBeNull();
    expect(await dns.resolveTarget(site)).toEqual({ cluster: null, answers: ['198.51.100.9'] });
  });

  it('points an alias record at the target load balancer', async () => {
    const { standIn, dns, site } = await setUp(
      siteWith({ strategy: 'simple-record', setIdentifiers: undefined }),
    );
    expect(await dns.currentTarget(site)).toBe('east');
    await dns.switchTo(site, 'west');
    expect(await dns.currentTarget(site)).toBe('west');
    expect(standIn.records(ZONE).find((record) => record.type === 'A')?.aliasTarget).toEqual({
      hostedZoneId: 'Z1H1FL5HABSF5',
      dnsName: 'passive-lb.elb.amazonaws.com.',
      evaluateTargetHealth: false,
    });
    expect((await dns.resolveTarget(site)).cluster).toBe('west');
  });
});

describe('Route53Dns: health-check-inversion', () => {
  const hciSite = () =>
    siteWith({ strategy: 'health-check-inversion', healthCheckIds: { east: 'hc-east', west: 'hc-west' } });

  it('inverts the source check, reports INSYNC once the checkers agree, and DNS answers the target', async () => {
    const { standIn, dns, site } = await setUp(hciSite(), { healthCheckPropagationMs: 1000 });
    expect(await dns.currentTarget(site)).toBe('east');
    const { changeId } = await dns.switchTo(site, 'west');
    expect(changeId).toBe('hci:hc-east:hc-west');
    expect(standIn.healthCheck('hc-east')).toMatchObject({ inverted: true, version: 2 });
    expect(standIn.healthCheck('hc-west')).toMatchObject({ inverted: false, version: 1 });
    // The failover records themselves never change with this strategy.
    expect(count(standIn, 'ChangeResourceRecordSets')).toBe(0);

    expect(await dns.changeStatus(changeId)).toBe('PENDING');
    expect(await dns.currentTarget(site)).toBe('east');
    await dns.waitForInsync(changeId, { timeoutMs: 5000, pollMs: 50 });
    expect(await dns.currentTarget(site)).toBe('west');
    expect(await dns.resolveTarget(site)).toEqual({ cluster: 'west', answers: ['10.0.2.10'] });

    await dns.waitForInsync((await dns.switchTo(site, 'east')).changeId, { timeoutMs: 5000, pollMs: 50 });
    expect(standIn.healthCheck('hc-east')).toMatchObject({ inverted: false });
    expect(standIn.healthCheck('hc-west')).toMatchObject({ inverted: true });
    expect(await dns.currentTarget(site)).toBe('east');
  });

  it('pins a source that already fails: when it recovers, traffic stays on the target', async () => {
    const { standIn, dns, site } = await setUp(hciSite());
    standIn.setHealth('hc-east', false);
    // Route 53 has already failed over on its own.
    expect(await dns.currentTarget(site)).toBe('west');
    const { changeId } = await dns.switchTo(site, 'west');
    await dns.waitForInsync(changeId, { timeoutMs: 5000, pollMs: 50 });
    // Inverted and disabled: unhealthy whatever the endpoint does, so a dead source does not look healthy either.
    expect(standIn.healthCheck('hc-east')).toMatchObject({
      inverted: true,
      disabled: true,
      effectiveHealthy: false,
    });
    expect(await dns.resolveTarget(site)).toEqual({ cluster: 'west', answers: ['10.0.2.10'] });

    // The old side comes back (its database fenced): Route 53 must not send users back to it on its own.
    standIn.setHealth('hc-east', true);
    expect(await dns.resolveTarget(site)).toEqual({ cluster: 'west', answers: ['10.0.2.10'] });
    expect(await dns.currentTarget(site)).toBe('west');
  });

  it('switches sites whose records carry CALCULATED checks, confirmed by DNS alone', async () => {
    const site = hciSite();
    const seed = route53SeedFor(site);
    // Each record's check is CALCULATED over one endpoint check; GetHealthCheckStatus cannot report such a check.
    const endpoints = seed.healthChecks.map((check) => ({ ...check, id: `${check.id}-endpoint` }));
    const calculated = seed.healthChecks.map((check) => ({
      id: check.id,
      type: 'CALCULATED' as const,
      childHealthChecks: [`${check.id}-endpoint`],
      healthThreshold: 1,
      ...(check.inverted !== undefined && { inverted: check.inverted }),
    }));
    const {
      standIn,
      dns,
      site: verified,
    } = await setUp(site, {
      healthChecks: [...endpoints, ...calculated],
    });
    expect(await dns.currentTarget(verified)).toBe('east');
    const { changeId } = await dns.switchTo(verified, 'west');
    await dns.waitForInsync(changeId, { timeoutMs: 5000, pollMs: 50 });
    expect(await dns.currentTarget(verified)).toBe('west');
    expect(standIn.healthCheck('hc-east')).toMatchObject({ inverted: true, disabled: true });
    // The source's endpoint dies and comes back: the calculated check stays pinned unhealthy.
    standIn.setHealth('hc-east-endpoint', false);
    standIn.setHealth('hc-east-endpoint', true);
    expect((await dns.resolveTarget(verified)).cluster).toBe('west');
    expect(count(standIn, 'GetHealthCheckStatus')).toBe(0);

    await dns.waitForInsync((await dns.switchTo(verified, 'east')).changeId, { timeoutMs: 5000, pollMs: 50 });
    expect(standIn.healthCheck('hc-east')).toMatchObject({ inverted: false, disabled: false });
    expect(await dns.currentTarget(verified)).toBe('east');
  });

  it('confirms a change id from another process once Route 53 holds both checks as the switch left them', async () => {
    const { dns, site, standIn } = await setUp(hciSite());
    const { changeId } = await dns.switchTo(site, 'west');
    const other = new Route53Dns({
      endpoint: standIn.endpoint,
      credentials: CREDENTIALS,
      log: recordingLog([]),
      maxRequestsPerSecond: 100,
    });
    cleanup.push(() => other.close());
    expect(await other.changeStatus(changeId)).toBe('INSYNC');
    expect(await other.changeStatus('hci:hc-west:hc-east')).toBe('PENDING');
  });

  it('names a health check that does not exist', async () => {
    const { dns, site } = await setUp(hciSite());
    const wrong = { ...site, dns: { ...site.dns, healthCheckIds: { east: 'hc-east', west: 'hc-typo' } } };
    const error = await rejection(dns.switchTo(wrong, 'west'));
    expect(error).toMatchObject({ code: 'route53-no-such-health-check', retriable: false });
    expect(error.message).toContain('Route 53 has no health check hc-typo');
  });
});

describe('Route53Dns: errors and retries', () => {
  it('retries Throttling and PriorRequestNotComplete with backoff, logging each retry', async () => {
    const { standIn, dns, site, lines } = await setUp(siteWith());
    standIn.failNext(2, 'Throttling', { action: 'ListResourceRecordSets' });
    standIn.failNext(1, 'PriorRequestNotComplete', { action: 'ChangeResourceRecordSets' });
    const { changeId } = await dns.switchTo(site, 'west');
    expect(await dns.changeStatus(changeId)).toBe('INSYNC');
    expect(
      standIn.requests.map((request) => `${request.action} ${request.errorCode ?? request.status}`),
    ).toEqual([
      'ListResourceRecordSets Throttling',
      'ListResourceRecordSets Throttling',
      'ListResourceRecordSets 200',
      'ChangeResourceRecordSets PriorRequestNotComplete',
      'ChangeResourceRecordSets 200',
      'GetChange 200',
    ]);
    const retries = lines.filter((line) => line.msg === 'Route 53 request failed; retrying');
    expect(retries.map((line) => (line.fields as { attempt: number }).attempt)).toEqual([1, 2, 1]);
  });

  it('retries 5xx and reset connections, and gives up with a retriable error after the attempts', async () => {
    const { standIn, dns, site } = await setUp(
      siteWith(),
      {},
      { retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 10 } },
    );
    // The outage ends once a connection has been reset: a retry then gets through, however slow the machine.
    standIn.setOutage(true);
    const restore = setInterval(() => {
      if (!standIn.requests.some((request) => request.reset)) return;
      standIn.setOutage(false);
      clearInterval(restore);
    }, 1);
    try {
      expect(await dns.currentTarget(site)).toBe('east');
    } finally {
      clearInterval(restore);
    }

    standIn.clearRequests();
    standIn.failNext(10, 'ServiceUnavailable');
    const error = await rejection(dns.currentTarget(site));
    expect(error).toMatchObject({ code: 'route53-unavailable', retriable: true });
    expect(error.message).toContain(
      'Route 53 kept failing route53:ListResourceRecordSets on hosted zone Z1234567890ABC: 3 attempts, the last ServiceUnavailable',
    );
    expect(standIn.requests).toHaveLength(3);
  });

  it('turns AccessDenied into a message that names the IAM action, without retrying', async () => {
    const { standIn, dns, site } = await setUp(siteWith());
    standIn.failNext(1, 'AccessDenied', { action: 'ChangeResourceRecordSets' });
    const error = await rejection(dns.switchTo(site, 'west'));
    expect(error.code).toBe('route53-access-denied');
    expect(error.retriable).toBe(false);
    expect(error.message).toBe(
      'Route 53 denied route53:ChangeResourceRecordSets on hosted zone Z1234567890ABC — grant the IAM role ' +
        'route53:ChangeResourceRecordSets',
    );
    expect((error.cause as Error).name).toBe('AccessDenied');
    expect(count(standIn, 'ChangeResourceRecordSets')).toBe(1);

    standIn.failNext(1, 'AccessDenied');
    expect((await rejection(dns.changeStatus('C0000000000000'))).message).toBe(
      'Route 53 denied route53:GetChange on change C0000000000000 — grant the IAM role route53:GetChange',
    );
  });

  it('translates NoSuchHostedZone, NoSuchChange, InvalidChangeBatch and rejected credentials', async () => {
    const { standIn, dns, site } = await setUp(siteWith());
    const noZone = await rejection(
      dns.currentTarget({ ...site, dns: { ...site.dns, hostedZoneId: 'ZNOSUCHZONE' } }),
    );
    expect(noZone).toMatchObject({ code: 'route53-no-such-hosted-zone', retriable: false });
    expect(noZone.message).toContain('check dns.hostedZoneId');

    expect(await rejection(dns.changeStatus('CNOSUCHCHANGE0'))).toMatchObject({
      code: 'route53-no-such-change',
    });

    // A plain record cannot sit beside the failover pair: Route 53's own words reach the operator.
    const simple = { ...site, dns: { ...site.dns, strategy: 'simple-record' as const } };
    const invalid = await rejection(dns.switchTo(simple, 'west'));
    expect(invalid.code).toBe('route53-invalid-change-batch');
    expect(invalid.message).toContain(
      'RRSet with DNS name app.example.com., type A cannot be created as other RRSets exist with the same name and type.',
    );

    const wrongKey = new Route53Dns({
      endpoint: standIn.endpoint,
      credentials: { ...CREDENTIALS, secretAccessKey: 'wrong' },
      log: recordingLog([]),
    });
    cleanup.push(() => wrongKey.close());
    expect(await rejection(wrongKey.currentTarget(site))).toMatchObject({
      code: 'route53-credentials-rejected',
      retriable: false,
    });
  });

  it('times out waiting for INSYNC with a retriable dns-change-timeout, and stops when aborted', async () => {
    const { dns, site } = await setUp(siteWith(), { insyncAfterMs: 60_000 });
    const { changeId } = await dns.switchTo(site, 'west');
    const error = await rejection(dns.waitForInsync(changeId, { timeoutMs: 300, pollMs: 100 }));
    expect(error).toMatchObject({ code: 'dns-change-timeout', retriable: true });
    expect(error.message).toContain(`Route 53 change ${changeId} is still PENDING`);
    // It gave up on its own budget, not when the change went INSYNC (a minute after it was made): it still is not.
    expect(await dns.changeStatus(changeId)).toBe('PENDING');

    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('step timed out')), 50);
    await expect(
      dns.waitForInsync(changeId, { timeoutMs: 10_000, signal: controller.signal }),
    ).rejects.toThrow('step timed out');
  });
});

describe('Route53Dns: rate limit', () => {
  it('never lets more than 5 requests start in any second, under a burst of 30 calls', async () => {
    // Thirty zones: reads of one zone that wait together would share their requests.
    const sites = sitesInOwnZones(example, 30);
    const standIn = await startRoute53ApiServer({ ...route53SeedFor(sites), credentials: CREDENTIALS });
    cleanup.push(() => standIn.close());
    const dns = new Route53Dns({
      endpoint: standIn.endpoint,
      credentials: CREDENTIALS,
      log: recordingLog([]),
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
    });
    cleanup.push(() => dns.close());
    const started = Date.now();
    const results = await Promise.all(sites.map((site) => dns.currentTarget(site)));
    expect(results.every((cluster) => cluster === 'east')).toBe(true);
    const arrivals = standIn.requests.map((request) => request.at);
    expect(arrivals).toHaveLength(30);
    const peak = (times: readonly number[]) =>
      Math.max(...times.map((from) => times.filter((time) => time >= from && time < from + 1000).length));
    expect(peak(arrivals)).toBe(5);
    expect(peak(dns.requestStarts())).toBe(5);
    // 30 requests at 5 per second cannot finish in under 5 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(5000);
  }, 20_000);

  it('limits with an injected clock too: the sixth start waits for the first token to come back', async () => {
    let now = 0;
    const clock: Clock = {
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    };
    const limiter = new RequestRateLimiter(5, 1000, clock);
    const starts = await Promise.all(Array.from({ length: 12 }, () => limiter.acquire()));
    expect(starts).toEqual([0, 0, 0, 0, 0, 1000, 1000, 1000, 1000, 1000, 2000, 2000]);
  });
});

describe('Route53Dns: verification through the zone name servers', () => {
  it('asks GetHostedZone for the delegation set once, then resolves through those servers', async () => {
    const site = siteWith();
    const seed = route53SeedFor(site, { nameServers: ['127.0.0.1'] });
    const standIn = await startRoute53ApiServer({ ...seed, credentials: CREDENTIALS });
    cleanup.push(() => standIn.close());
    const dns = new Route53Dns({
      endpoint: standIn.endpoint,
      credentials: CREDENTIALS,
      log: recordingLog([]),
      resolver: {
        nameServerPort: standIn.dnsPort,
        timeoutMs: 500,
        tries: 1,
        aliasServers: [standIn.aliasDnsAddress],
      },
    });
    cleanup.push(() => dns.close());
    expect(site.dns.resolvers).toBeUndefined();
    expect(await dns.resolveTarget(site)).toEqual({ cluster: 'east', answers: ['10.0.1.10'] });
    expect(await dns.resolveTarget(site)).toEqual({ cluster: 'east', answers: ['10.0.1.10'] });
    expect(count(standIn, 'GetHostedZone')).toBe(1);
  });

  it('stops when the step is aborted: during GetHostedZone, and during a query to a server that never answers', async () => {
    const site = siteWith();
    const seed = route53SeedFor(site, { nameServers: ['127.0.0.1'] });
    const standIn = await startRoute53ApiServer({ ...seed, credentials: CREDENTIALS, latencyMs: 60_000 });
    cleanup.push(() => standIn.close());
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    cleanup.push(async () => {
      silent.close();
    });
    const dns = (nameServerPort: number) =>
      new Route53Dns({
        endpoint: standIn.endpoint,
        credentials: CREDENTIALS,
        log: recordingLog([]),
        resolver: { nameServerPort, timeoutMs: 30_000, tries: 2 },
      });
    const slowZone = dns(standIn.dnsPort);
    cleanup.push(() => slowZone.close());
    const reason = new BatonError('step-timeout', 'the step timed out');
    const controller = new AbortController();
    const asking = slowZone.resolveTarget(site, { signal: controller.signal });
    await vi.waitFor(() => expect(count(standIn, 'GetHostedZone')).toBe(1));
    controller.abort(reason);
    await expect(asking).rejects.toBe(reason);

    // The zone's name servers are known now; the one they name never answers, for 2 × 30 s unless cancelled.
    standIn.setLatencyMs(0);
    const silentZone = dns((silent.address() as AddressInfo).port);
    cleanup.push(() => silentZone.close());
    const silentSite = {
      ...site,
      dns: { ...site.dns, resolvers: [`127.0.0.1:${(silent.address() as AddressInfo).port}`] },
    };
    const queries = new Promise<void>((resolve) => silent.once('message', () => resolve()));
    const second = new AbortController();
    const waiting = silentZone.resolveTarget(silentSite, { signal: second.signal });
    await queries;
    second.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });

  it('waits for INSYNC with the standalone helper on any DnsPort-like object', async () => {
    const statuses = ['PENDING', 'PENDING', 'INSYNC'] as const;
    let calls = 0;
    const waited = await waitForInsync({ changeStatus: async () => statuses[calls++] ?? 'INSYNC' }, 'C1', {
      timeoutMs: 1000,
      pollMs: 10,
    });
    expect(calls).toBe(3);
    expect(waited).toBeGreaterThanOrEqual(15);
  });
});
