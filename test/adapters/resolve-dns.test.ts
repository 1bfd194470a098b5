import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  normalizeAddress,
  normalizeDnsName,
  parseHostPort,
  resolveTarget,
  serverAddresses,
} from '../../src/adapters/resolve-dns.js';
import { loadTopologyFile } from '../../src/config/topology.js';
import type { DnsConfig, SiteConfig } from '../../src/config/topology.js';
import { BatonError } from '../../src/errors.js';
import { freePort } from '../../lab/processes/processes.js';
import { startRoute53ApiServer } from '../../lab/route53/route53-api-server.js';
import type { Route53StandIn } from '../../lab/route53/route53-api-server.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/baton.yaml', import.meta.url));
const DB_ENV = {
  EAST_DATABASE_URL: 'postgresql://x@127.0.0.1/e',
  WEST_DATABASE_URL: 'postgresql://x@127.0.0.1/w',
};

let example: SiteConfig;
let standIn: Route53StandIn;

beforeAll(async () => {
  const loaded = await loadTopologyFile(EXAMPLE, DB_ENV);
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  const site = loaded.topology.sites[0];
  if (!site) throw new Error('no site');
  example = site;
  // One zone holding a record of each shape the verification must tell apart.
  standIn = await startRoute53ApiServer({
    zones: [
      {
        id: 'Z1234567890ABC',
        name: 'example.com',
        nameServers: ['ns1.stand-in.test'],
        records: [
          {
            name: 'app.example.com',
            type: 'A',
            setIdentifier: 'active-cluster',
            failover: 'PRIMARY',
            aliasTarget: {
              hostedZoneId: 'Z35SXDOTRQ7X7K',
              dnsName: 'active-lb.elb.amazonaws.com',
              evaluateTargetHealth: false,
            },
          },
          {
            name: 'app.example.com',
            type: 'A',
            setIdentifier: 'passive-cluster',
            failover: 'SECONDARY',
            aliasTarget: {
              hostedZoneId: 'Z1H1FL5HABSF5',
              dnsName: 'passive-lb.elb.amazonaws.com',
              evaluateTargetHealth: false,
            },
          },
          { name: 'values.example.com', type: 'A', ttl: 60, values: ['192.0.2.21', '192.0.2.20'] },
          { name: 'v6.example.com', type: 'AAAA', ttl: 60, values: ['2001:db8:0:0:0:0:0:2'] },
          { name: 'cname.example.com', type: 'CNAME', ttl: 60, values: ['West-LB.example.net.'] },
          { name: 'other.example.com', type: 'A', ttl: 60, values: ['198.51.100.1'] },
        ],
      },
    ],
    aliasTargets: {
      // A load balancer answers with several addresses and rotates them; one in common is enough to match.
      'active-lb.elb.amazonaws.com': ['10.0.1.10', '10.0.1.11'],
      'passive-lb.elb.amazonaws.com': ['10.0.2.10'],
    },
  });
});
afterAll(async () => {
  await standIn.close();
});

function site(dns: Partial<DnsConfig>): SiteConfig {
  // The zone's name servers refuse the load balancers' names; the next server (their own zone's) answers them.
  return {
    ...example,
    dns: { ...example.dns, resolvers: [standIn.dnsAddress, standIn.aliasDnsAddress], ...dns },
  };
}

describe('resolveTarget', () => {
  it('matches alias targets by the addresses their load balancer names resolve to', async () => {
    expect(await resolveTarget(site({}))).toEqual({ cluster: 'east', answers: ['10.0.1.10', '10.0.1.11'] });
    const swapped = site({
      targets: {
        east: {
          aliasDnsName: 'passive-lb.elb.amazonaws.com',
          aliasHostedZoneId: 'Z1H1FL5HABSF5',
          evaluateTargetHealth: false,
        },
        west: {
          aliasDnsName: 'active-lb.elb.amazonaws.com.',
          aliasHostedZoneId: 'Z35SXDOTRQ7X7K',
          evaluateTargetHealth: false,
        },
      },
    });
    expect((await resolveTarget(swapped)).cluster).toBe('west');
  });

  it('matches values targets by the whole answer set, in any order', async () => {
    const values = (east: string[], west: string[]) =>
      site({ recordName: 'values.example.com', targets: { east: { values: east }, west: { values: west } } });
    expect(await resolveTarget(values(['192.0.2.1'], ['192.0.2.20', '192.0.2.21']))).toEqual({
      cluster: 'west',
      answers: ['192.0.2.20', '192.0.2.21'],
    });
    // A subset is not a match: users would still be sent to the other address too.
    expect((await resolveTarget(values(['192.0.2.20'], ['192.0.2.1']))).cluster).toBeNull();
  });

  it('compares IPv6 answers in one spelling and CNAME answers without case or trailing dot', async () => {
    const v6 = site({
      recordName: 'v6.example.com',
      recordType: 'AAAA',
      targets: { east: { values: ['2001:DB8::2'] }, west: { values: ['2001:db8::3'] } },
    });
    expect(await resolveTarget(v6)).toEqual({ cluster: 'east', answers: ['2001:db8::2'] });
    const cname = site({
      recordName: 'cname.example.com',
      recordType: 'CNAME',
      targets: { east: { values: ['east-lb.example.net'] }, west: { values: ['west-lb.example.net'] } },
    });
    expect(await resolveTarget(cname)).toEqual({ cluster: 'west', answers: ['west-lb.example.net'] });
  });

  it('says null when the record matches neither target, or does not exist', async () => {
    expect(await resolveTarget(site({ recordName: 'other.example.com' }))).toEqual({
      cluster: null,
      answers: ['198.51.100.1'],
    });
    expect(await resolveTarget(site({ recordName: 'missing.example.com' }))).toEqual({
      cluster: null,
      answers: [],
    });
  });

  it('asks the default servers (the zone name servers) when dns.resolvers is not set, looking up their names', async () => {
    const lookedUp: string[] = [];
    const result = await resolveTarget(site({ resolvers: undefined }), {
      defaultServers: async () => [`ns1.stand-in.test:${standIn.dnsPort}`],
      aliasServers: [standIn.aliasDnsAddress],
      lookup: async (hostname) => {
        lookedUp.push(hostname);
        return ['127.0.0.1'];
      },
    });
    expect(result.cluster).toBe('east');
    expect(lookedUp).toEqual(['ns1.stand-in.test']);
  });

  it('fails retriably when the servers do not answer, and plainly when there are none', async () => {
    const port = await freePort();
    const error = await resolveTarget(site({ resolvers: [`127.0.0.1:${port}`] }), {
      timeoutMs: 200,
      tries: 1,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BatonError);
    expect(error).toMatchObject({ code: 'dns-resolve-failed', retriable: true });
    expect((error as Error).message).toContain(`app.example.com A through 127.0.0.1:${port}`);

    await expect(resolveTarget(site({ resolvers: undefined }))).rejects.toMatchObject({
      code: 'dns-no-resolvers',
    });
    await expect(
      serverAddresses(['ns.invalid:53'], async () => {
        throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      }),
    ).rejects.toMatchObject({ code: 'dns-resolver-unknown', retriable: true });
  });
});

describe('name and address helpers', () => {
  it('parses host:port in every form the topology allows', () => {
    expect(parseHostPort('205.251.192.1:53')).toEqual({ host: '205.251.192.1', port: 53 });
    expect(parseHostPort('[2600:9000:5300::1]:5353')).toEqual({ host: '2600:9000:5300::1', port: 5353 });
    expect(parseHostPort('2600:9000:5300::1')).toEqual({ host: '2600:9000:5300::1', port: 53 });
    expect(parseHostPort('ns-1.awsdns-00.com')).toEqual({ host: 'ns-1.awsdns-00.com', port: 53 });
  });

  it('normalizes names as Route 53 lists them and addresses as resolvers return them', () => {
    expect(normalizeDnsName('\\052.Example.COM.')).toBe('*.example.com');
    expect(normalizeAddress('2001:0DB8:0000::0001')).toBe('2001:db8::1');
    expect(normalizeAddress('192.0.2.1')).toBe('192.0.2.1');
  });
});
