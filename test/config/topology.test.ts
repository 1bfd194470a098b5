import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadTopologyFile, parseTopology } from '../../src/config/topology.js';
import type { ParseTopologyResult, Topology } from '../../src/config/topology.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/topology/${name}`, import.meta.url));
const exampleText = readFileSync(fixture('example.yaml'), 'utf8');
const env = {
  EAST_DATABASE_URL: 'postgres://baton@east-db/app',
  WEST_DATABASE_URL: 'postgres://baton@west-db/app',
};

/* eslint-disable @typescript-eslint/no-explicit-any -- mutating free-form YAML trees is what these helpers are for */
/** The example as a plain tree, changed by `edit`, back as YAML text. */
function exampleWith(edit: (doc: any) => void): string {
  const doc = parse(exampleText);
  edit(doc);
  return stringify(doc);
}
/* eslint-enable @typescript-eslint/no-explicit-any */

function problemsOf(result: ParseTopologyResult): string[] {
  if (result.ok) throw new Error('expected the topology to be invalid');
  return result.problems;
}

function topologyOf(result: ParseTopologyResult): Topology {
  if (!result.ok) throw new Error(`expected a valid topology, got:\n${result.problems.join('\n')}`);
  return result.topology;
}

describe('parseTopology: the DESIGN §3 example', () => {
  it('loads unchanged and normalizes with defaults filled in', () => {
    const topology = topologyOf(parseTopology(exampleText, env));
    expect(topology).toEqual({
      slack: { incidentChannel: 'C0INCIDENTS' },
      approvals: {
        approvers: { users: ['U0ALICE', 'U0BOB'], userGroups: ['S0SRE'] },
        requesters: { users: [], userGroups: ['S0ONCALL'] },
        required: 1,
        allowSelfApproval: false,
        expiresAfterMs: 15 * 60_000,
        breakGlass: { required: 2 },
      },
      sites: [
        {
          name: 'production',
          homeCluster: 'east',
          clusters: {
            east: { kubeContext: 'active-cluster', healthUrl: 'https://active.example.com/health' },
            west: { kubeContext: 'passive-cluster', healthUrl: 'https://passive.example.com/health' },
          },
          workloads: [
            { namespace: 'default', kind: 'Deployment', name: 'web', replicas: 5, standbyReplicas: 1 },
          ],
          dns: {
            provider: 'route53',
            hostedZoneId: 'Z1234567890ABC',
            recordName: 'app.example.com',
            recordType: 'A',
            ttl: 60,
            strategy: 'failover-records',
            setIdentifiers: { east: 'active-cluster', west: 'passive-cluster' },
            targets: {
              east: {
                aliasDnsName: 'active-lb.elb.amazonaws.com',
                aliasHostedZoneId: 'Z35SXDOTRQ7X7K',
                evaluateTargetHealth: false,
              },
              west: {
                aliasDnsName: 'passive-lb.elb.amazonaws.com',
                aliasHostedZoneId: 'Z1H1FL5HABSF5',
                evaluateTargetHealth: false,
              },
            },
          },
          database: {
            engine: 'postgresql',
            promotion: 'sql',
            maxLagBytes: 1048576,
            members: { east: { urlEnv: 'EAST_DATABASE_URL' }, west: { urlEnv: 'WEST_DATABASE_URL' } },
          },
          checks: { minReadyNodes: 3 },
          alerts: [
            { match: { alertname: 'ActiveClusterDown' }, action: 'propose-failover' },
            { match: { alertname: 'PassiveClusterDown' }, action: 'notify' },
          ],
        },
      ],
    });
  });

  it('loads from a file', async () => {
    const result = await loadTopologyFile(fixture('example.yaml'), env);
    expect(topologyOf(result).sites.map((site) => site.name)).toEqual(['production']);
  });

  it('fills defaults: requesters = approvers, ttl, lag, nodes, standby replicas, expiry, break-glass', () => {
    const text = exampleWith((doc) => {
      delete doc.approvals.requesters;
      delete doc.approvals.required;
      delete doc.approvals.allowSelfApproval;
      delete doc.approvals.expiresAfter;
      delete doc.approvals.breakGlass;
      const site = doc.sites[0];
      delete site.workloads[0].standbyReplicas;
      delete site.database.maxLagBytes;
      delete site.database.promotion;
      delete site.checks;
      delete site.alerts;
      delete site.dns.provider;
    });
    const topology = topologyOf(parseTopology(text, env));
    expect(topology.approvals).toEqual({
      approvers: { users: ['U0ALICE', 'U0BOB'], userGroups: ['S0SRE'] },
      requesters: { users: ['U0ALICE', 'U0BOB'], userGroups: ['S0SRE'] },
      required: 1,
      allowSelfApproval: false,
      expiresAfterMs: 900_000,
      breakGlass: { required: 2 },
    });
    const site = topology.sites[0]!;
    expect(site.workloads[0]!.standbyReplicas).toBe(0);
    expect(site.database!.maxLagBytes).toBe(16 * 1024 * 1024);
    expect(site.database!.promotion).toBe('sql');
    expect(site.checks.minReadyNodes).toBe(1);
    expect(site.alerts).toEqual([]);
    expect(site.dns.provider).toBe('route53');
    expect(site.dns.ttl).toBe(60);
  });

  it('normalizes record values, zone id prefixes, cloudnative-pg members and regex matchers', () => {
    const text = exampleWith((doc) => {
      const site = doc.sites[0];
      site.dns.strategy = 'health-check-inversion';
      site.dns.hostedZoneId = '/hostedzone/Z1234567890ABC';
      site.dns.ttl = 30;
      site.dns.resolvers = ['205.251.192.1:53', 'ns.example.net:5353', '[2600:9000::1]:53'];
      site.dns.healthCheckIds = { east: 'hc-east', west: 'hc-west' };
      site.dns.targets = { east: { values: ['192.0.2.10'] }, west: { values: ['192.0.2.20', '192.0.2.21'] } };
      site.database.promotion = 'cloudnative-pg';
      site.database.east.cnpgCluster = { namespace: 'db', name: 'app-east' };
      site.database.west.cnpgCluster = { namespace: 'db', name: 'app-west' };
      site.alerts = [{ match: { code: 500 }, matchRe: { cluster: 'east|active' }, action: 'notify' }];
    });
    const site = topologyOf(parseTopology(text, env)).sites[0]!;
    expect(site.dns).toMatchObject({
      hostedZoneId: 'Z1234567890ABC',
      ttl: 30,
      strategy: 'health-check-inversion',
      resolvers: ['205.251.192.1:53', 'ns.example.net:5353', '[2600:9000::1]:53'],
      healthCheckIds: { east: 'hc-east', west: 'hc-west' },
      targets: { east: { values: ['192.0.2.10'] }, west: { values: ['192.0.2.20', '192.0.2.21'] } },
    });
    expect(site.database!.members).toEqual({
      east: { urlEnv: 'EAST_DATABASE_URL', cnpgCluster: { namespace: 'db', name: 'app-east' } },
      west: { urlEnv: 'WEST_DATABASE_URL', cnpgCluster: { namespace: 'db', name: 'app-west' } },
    });
    expect(site.alerts).toEqual([
      { match: { code: '500' }, matchRe: { cluster: 'east|active' }, action: 'notify' },
    ]);
  });

  it('skips the urlEnv check when asked to', () => {
    expect(parseTopology(exampleText, {}, { checkEnv: false }).ok).toBe(true);
  });
});

describe('parseTopology: bad files report every problem by path', () => {
  const cases: { name: string; text: string; problems: string[] }[] = [
    {
      name: 'missing dns.hostedZoneId',
      text: exampleWith((doc) => delete doc.sites[0].dns.hostedZoneId),
      problems: ['sites[0].dns.hostedZoneId: required'],
    },
    {
      name: 'homeCluster not among the clusters',
      text: exampleWith((doc) => (doc.sites[0].homeCluster = 'north')),
      problems: [`sites[0].homeCluster: "north" is not one of the site's clusters (east, west)`],
    },
    {
      name: 'a site named like a /failover sub-command',
      text: exampleWith((doc) => (doc.sites[0].name = 'status')),
      problems: [
        'sites[0].name: is a /failover sub-command (status, history, plan, cancel, help, readiness, drill); choose another site name',
      ],
    },
    {
      name: 'a workload listed twice',
      text: exampleWith((doc) => doc.sites[0].workloads.push({ ...doc.sites[0].workloads[0], replicas: 2 })),
      problems: ['sites[0].workloads[1]: default/Deployment/web is listed twice (also workloads[0])'],
    },
    {
      name: 'more approvals required than approvers (no groups)',
      text: exampleWith((doc) => {
        doc.approvals.approvers = { users: ['U0ALICE', 'U0BOB'] };
        doc.approvals.required = 3;
        doc.approvals.breakGlass.required = 3;
      }),
      problems: [
        'approvals.required: 3 approvals required but only 2 approver(s) configured',
        'approvals.breakGlass.required: 3 break-glass approvals required but only 2 approver(s) configured',
      ],
    },
    {
      name: 'break-glass impossible with the default of 2 and one approver',
      text: exampleWith((doc) => (doc.approvals.approvers = { users: ['U0ALICE'] })),
      problems: [
        'approvals.breakGlass.required: 2 break-glass approvals required but only 1 approver(s) configured',
      ],
    },
    {
      name: 'break-glass easier than a normal approval',
      text: exampleWith((doc) => {
        doc.approvals.required = 2;
        doc.approvals.breakGlass.required = 1;
      }),
      problems: [
        'approvals.breakGlass.required: 1 is less than approvals.required (2); break-glass must not be easier',
      ],
    },
    {
      name: 'unknown fields (typos) at several levels',
      text: exampleWith((doc) => {
        doc.slak = {};
        doc.approvals.aprovers = [];
        doc.sites[0].foo = 1;
        doc.sites[0].dns.targets.east.evaluateTargetHeath = true;
      }),
      problems: [
        'approvals.aprovers: unknown field',
        'sites[0].dns.targets.east.evaluateTargetHeath: unknown field',
        'sites[0].foo: unknown field',
        'slak: unknown field',
      ],
    },
    {
      name: 'a typo among the database fields',
      text: exampleWith((doc) => {
        doc.sites[0].database.maxLagByte = 5;
      }),
      problems: [
        "sites[0].database.maxLagByte: unknown field (expected engine, promotion, maxLagBytes or one of the site's clusters: east, west)",
      ],
    },
    {
      name: 'a bad duration',
      text: exampleWith((doc) => (doc.approvals.expiresAfter = '15 minutes')),
      problems: [
        'approvals.expiresAfter: "15 minutes" is not a duration: use a number and a unit (ms, s, m, h), e.g. 90s, 15m or 1h30m',
      ],
    },
    {
      name: 'a regex that does not compile',
      text: exampleWith((doc) => (doc.sites[0].alerts[0].matchRe = { severity: '(critical' })),
      problems: ['sites[0].alerts[0].matchRe.severity: not a valid regular expression (Unterminated group)'],
    },
    {
      name: 'dns targets missing a cluster, and one that is not a cluster',
      text: exampleWith((doc) => {
        doc.sites[0].dns.targets.north = doc.sites[0].dns.targets.west;
        delete doc.sites[0].dns.targets.west;
      }),
      problems: [
        'sites[0].dns.targets.west: required (one entry per cluster: east, west)',
        `sites[0].dns.targets.north: "north" is not one of the site's clusters (east, west)`,
      ],
    },
    {
      name: 'standbyReplicas above replicas',
      text: exampleWith((doc) => (doc.sites[0].workloads[0].standbyReplicas = 6)),
      problems: ['sites[0].workloads[0].standbyReplicas: 6 is more than replicas (5); the standby runs lean'],
    },
    {
      name: 'failover-records without setIdentifiers',
      text: exampleWith((doc) => delete doc.sites[0].dns.setIdentifiers),
      problems: [
        'sites[0].dns.setIdentifiers: required when strategy is failover-records (a Route 53 set identifier per cluster)',
      ],
    },
    {
      name: 'health-check-inversion without healthCheckIds',
      text: exampleWith((doc) => (doc.sites[0].dns.strategy = 'health-check-inversion')),
      problems: [
        'sites[0].dns.healthCheckIds: required when strategy is health-check-inversion (a Route 53 health check id per cluster)',
      ],
    },
    {
      name: 'cloudnative-pg promotion without cnpgCluster, and a database member missing',
      text: exampleWith((doc) => {
        doc.sites[0].database.promotion = 'cloudnative-pg';
        delete doc.sites[0].database.west;
      }),
      problems: [
        'sites[0].database.east.cnpgCluster: required when promotion is cloudnative-pg',
        'sites[0].database.west: required (a database member per cluster: east, west)',
      ],
    },
    {
      name: 'Slack ids that are names, a bad resolver, a bad site name and a bad enum',
      text: exampleWith((doc) => {
        doc.slack.incidentChannel = '#incidents';
        doc.approvals.approvers.users = ['alice'];
        doc.approvals.approvers.userGroups = ['@sre'];
        doc.sites[0].name = 'Production';
        doc.sites[0].dns.resolvers = ['205.251.192.1'];
        doc.sites[0].dns.recordType = 'MX';
      }),
      problems: [
        'slack.incidentChannel: must be a Slack channel id (C… or G…), not a #name',
        'approvals.approvers.users[0]: must be a Slack user id (U… or W…), not a name',
        'approvals.approvers.userGroups[0]: must be a Slack user group id (S…), not a handle',
        'sites[0].name: must be a DNS label: lowercase letters, digits and "-", at most 63 characters',
        'sites[0].dns.recordType: must be one of "A", "AAAA", "CNAME", got "MX"',
        'sites[0].dns.resolvers[0]: must be host:port, e.g. "205.251.192.1:53" or "[2600:9000::1]:53"',
      ],
    },
    {
      name: 'record values that do not fit the record type',
      text: exampleWith((doc) => {
        doc.sites[0].dns.targets = { east: { values: ['192.0.2.10'] }, west: { values: ['lb.example.com'] } };
      }),
      problems: [
        'sites[0].dns.targets.west.values[0]: "lb.example.com" is not an IPv4 address (recordType A)',
      ],
    },
    {
      name: 'two sites with the same name',
      text: exampleWith((doc) => doc.sites.push(structuredClone(doc.sites[0]))),
      problems: [`sites[1].name: "production" is already the name of sites[0]`],
    },
    {
      name: 'both sides reading the same database variable',
      text: exampleWith((doc) => (doc.sites[0].database.west.urlEnv = 'EAST_DATABASE_URL')),
      problems: [
        'sites[0].database.west.urlEnv: EAST_DATABASE_URL is also the urlEnv of east; each cluster needs its own database',
      ],
    },
    {
      name: 'wrong types',
      text: exampleWith((doc) => {
        doc.sites[0].workloads[0].replicas = 'five';
        doc.approvals.allowSelfApproval = 'no';
        doc.sites[0].clusters.east.healthUrl = 'active.example.com/health';
      }),
      problems: [
        'approvals.allowSelfApproval: expected true or false, got "no"',
        'sites[0].clusters.east.healthUrl: must be an http:// or https:// URL',
        'sites[0].workloads[0].replicas: expected a number, got "five"',
      ],
    },
  ];

  for (const { name, text, problems } of cases) {
    it(name, () => {
      expect([...problemsOf(parseTopology(text, env))].sort()).toEqual([...problems].sort());
    });
  }

  it('an urlEnv variable that is not set', () => {
    expect(
      problemsOf(
        parseTopology(exampleText, { WEST_DATABASE_URL: 'postgres://west-db/app', EAST_DATABASE_URL: '' }),
      ),
    ).toEqual(['sites[0].database.east.urlEnv: environment variable EAST_DATABASE_URL is not set']);
  });

  it('three clusters is one problem, not an echo in every per-cluster map', async () => {
    expect(problemsOf(await loadTopologyFile(fixture('bad/three-clusters.yaml'), env))).toEqual([
      'sites[0].clusters: a site needs exactly two clusters (one serving, one standby), found 3 (east, west, north)',
    ]);
  });

  it('a YAML syntax error, with its line number', () => {
    // Kept inline rather than as a fixture file: prettier cannot parse it, and `npm run lint` checks fixtures.
    const text = [
      'slack:',
      '  incidentChannel: C0INCIDENTS',
      'approvals:',
      '  approvers:',
      '    users: [U0ALICE, U0BOB',
      '  required: 1',
      'sites: []',
      '',
    ].join('\n');
    expect(problemsOf(parseTopology(text, env))).toEqual([
      'line 6, column 3: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
  });

  it('a duplicate key is a syntax error too', () => {
    expect(problemsOf(parseTopology('slack: {}\nslack: {}\n', env))).toEqual([
      'line 2, column 1: YAML syntax error: Map keys must be unique',
    ]);
  });

  it('several problems at once are all listed', async () => {
    expect(problemsOf(await loadTopologyFile(fixture('bad/several-problems.yaml'), env)).sort()).toEqual(
      [
        'slack.incidentChannel: must be a Slack channel id (C… or G…), not a #name',
        'approvals.expiresAfter: "15 minutes" is not a duration: use a number and a unit (ms, s, m, h), e.g. 90s, 15m or 1h30m',
        'sites[0].dns.hostedZoneId: required',
        `sites[0].homeCluster: "north" is not one of the site's clusters (east, west)`,
      ].sort(),
    );
  });

  it('an empty file, a list instead of a mapping, and a missing file', async () => {
    expect(problemsOf(parseTopology('', env))).toEqual([
      '(root): the file is empty; it needs slack, approvals and sites',
    ]);
    expect(problemsOf(parseTopology('- a\n', env))).toEqual(['(root): expected a mapping, got a list']);
    expect(problemsOf(parseTopology('{}', env))).toEqual([
      'slack: required',
      'approvals: required',
      'sites: required',
    ]);
    const missing = fixture('does-not-exist.yaml');
    expect(problemsOf(await loadTopologyFile(missing, env))).toEqual([
      `${missing}: file not found (pass the path, or set BATON_CONFIG)`,
    ]);
  });
});

describe('parseTopology: a site’s cooldown', () => {
  it('is a duration in ms when set, and absent (the 10 min default) when not', () => {
    const set = exampleWith((doc) => (doc.sites[0].cooldown = '30m'));
    expect(topologyOf(parseTopology(set, env)).sites[0]!.cooldownMs).toBe(30 * 60_000);
    expect(topologyOf(parseTopology(exampleText, env)).sites[0]).not.toHaveProperty('cooldownMs');
  });

  it('refuses what is not a duration', () => {
    const text = exampleWith((doc) => (doc.sites[0].cooldown = 'soon'));
    expect(problemsOf(parseTopology(text, env))).toEqual([
      'sites[0].cooldown: "soon" is not a duration: use a number and a unit (ms, s, m, h), e.g. 90s, 15m or 1h30m',
    ]);
  });
});
