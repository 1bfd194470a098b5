import { execFile, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHealthCheckCommand,
  GetHealthCheckStatusCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  UpdateHealthCheckCommand,
} from '@aws-sdk/client-route-53';
import type { Change, ResourceRecordSet } from '@aws-sdk/client-route-53';
import { afterEach, describe, expect, it } from 'vitest';
import { loadTopologyFile } from '../../../src/config/topology.js';
import type { SiteConfig } from '../../../src/config/topology.js';
import { route53SeedFor, startRoute53ApiServer } from '../../../lab/route53/route53-api-server.js';
import type { Route53StandIn, Route53StandInOptions } from '../../../lab/route53/route53-api-server.js';
import { skipWhenMissing } from '../../support/skip-when-missing.js';

const run = promisify(execFile);
const CREDENTIALS = { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'stand-in-secret' };
const EXAMPLE = fileURLToPath(new URL('../../../examples/baton.yaml', import.meta.url));
const DB_ENV = {
  EAST_DATABASE_URL: 'postgresql://x@127.0.0.1/e',
  WEST_DATABASE_URL: 'postgresql://x@127.0.0.1/w',
};

const open: { standIn: Route53StandIn; clients: Route53Client[] }[] = [];
afterEach(async () => {
  for (const { standIn, clients } of open.splice(0)) {
    for (const client of clients) client.destroy();
    await standIn.close();
  }
});

const elb = (dnsName: string) => ({ hostedZoneId: 'Z35SXDOTRQ7X7K', dnsName, evaluateTargetHealth: false });

/** A zone with the DESIGN record pair: east PRIMARY (health checked), west SECONDARY. */
function failoverZone(): Route53StandInOptions {
  return {
    zones: [
      {
        id: 'Z1234567890ABC',
        name: 'example.com',
        records: [
          {
            name: 'app.example.com',
            type: 'A',
            setIdentifier: 'active-cluster',
            failover: 'PRIMARY',
            aliasTarget: elb('active-lb.elb.amazonaws.com'),
            healthCheckId: 'hc-east',
          },
          {
            name: 'app.example.com',
            type: 'A',
            setIdentifier: 'passive-cluster',
            failover: 'SECONDARY',
            aliasTarget: elb('passive-lb.elb.amazonaws.com'),
            healthCheckId: 'hc-west',
          },
          { name: 'www.example.com', type: 'CNAME', ttl: 300, values: ['app.example.com'] },
          { name: 'v6.example.com', type: 'AAAA', ttl: 60, values: ['2001:db8::1'] },
          { name: 'plain.example.com', type: 'A', ttl: 60, values: ['192.0.2.10', '192.0.2.11'] },
        ],
      },
    ],
    healthChecks: [{ id: 'hc-east' }, { id: 'hc-west' }],
    aliasTargets: {
      'active-lb.elb.amazonaws.com': ['10.0.1.10'],
      'passive-lb.elb.amazonaws.com': ['10.0.2.10'],
    },
    aliasTargetZones: { Z35SXDOTRQ7X7K: 'elb.amazonaws.com' },
  };
}

async function start(options: Route53StandInOptions = failoverZone()) {
  const standIn = await startRoute53ApiServer(options);
  const clients: Route53Client[] = [];
  open.push({ standIn, clients });
  const client = (credentials = CREDENTIALS) => {
    const created = new Route53Client({
      endpoint: standIn.endpoint,
      region: 'us-east-1',
      credentials,
      maxAttempts: 1,
    });
    clients.push(created);
    return created;
  };
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([standIn.dnsAddress]);
  return { standIn, sdk: client(), client, resolver };
}

/** A request the way the wire sees it; the header only has to look like SigV4 unless credentials are configured. */
async function raw(
  standIn: Route53StandIn,
  method: string,
  path: string,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${standIn.endpoint}${path}`, {
    method,
    headers: {
      'x-amz-date': '20260101T000000Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIDSTANDIN/20260101/us-east-1/route53/aws4_request, ' +
        'SignedHeaders=host;x-amz-date, Signature=00',
      ...headers,
    },
  });
  return { status: response.status, body: await response.text(), headers: response.headers };
}

async function sdkError(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    return error as Error & { name: string; $metadata: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail');
}

const change = (action: Change['Action'], record: ResourceRecordSet): Change => ({
  Action: action,
  ResourceRecordSet: record,
});
const aRecord = (
  name: string,
  values: string[],
  extra: Partial<ResourceRecordSet> = {},
): ResourceRecordSet => ({
  Name: name,
  Type: 'A',
  TTL: 60,
  ResourceRecords: values.map((Value) => ({ Value })),
  ...extra,
});
const batch = (sdk: Route53Client, changes: Change[]) =>
  sdk.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: 'Z1234567890ABC',
      ChangeBatch: { Changes: changes },
    }),
  );
const swap = (primaryIsWest: boolean): Change[] =>
  (['active-cluster', 'passive-cluster'] as const).map((id) =>
    change('UPSERT', {
      Name: 'app.example.com.',
      Type: 'A',
      SetIdentifier: id,
      Failover: (id === 'passive-cluster') === primaryIsWest ? 'PRIMARY' : 'SECONDARY',
      AliasTarget: {
        HostedZoneId: 'Z35SXDOTRQ7X7K',
        DNSName: id === 'active-cluster' ? 'active-lb.elb.amazonaws.com' : 'passive-lb.elb.amazonaws.com',
        EvaluateTargetHealth: false,
      },
      HealthCheckId: id === 'active-cluster' ? 'hc-east' : 'hc-west',
    }),
  );
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Route 53 stand-in: the API through the official SDK', () => {
  it('applies a change at once in the API, PENDING until insyncAfterMs, and serves DNS from INSYNC records', async () => {
    const { standIn, sdk, resolver } = await start({ ...failoverZone(), insyncAfterMs: 400 });
    expect(await resolver.resolve4('app.example.com')).toEqual(['10.0.1.10']);

    const submitted = await batch(sdk, swap(true));
    expect(submitted.ChangeInfo?.Status).toBe('PENDING');
    expect(submitted.ChangeInfo?.Id).toMatch(/^\/change\/C[A-Z0-9]{13}$/);
    const id = submitted.ChangeInfo?.Id ?? '';

    const listed = await sdk.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: 'Z1234567890ABC',
        StartRecordName: 'app.example.com',
        StartRecordType: 'A',
      }),
    );
    const primary = listed.ResourceRecordSets?.find((record) => record.Failover === 'PRIMARY');
    expect(primary?.SetIdentifier).toBe('passive-cluster');
    // Route 53's name servers still serve the old answer while the change propagates.
    expect((await sdk.send(new GetChangeCommand({ Id: id }))).ChangeInfo?.Status).toBe('PENDING');
    expect(await resolver.resolve4('app.example.com')).toEqual(['10.0.1.10']);

    await sleep(450);
    expect((await sdk.send(new GetChangeCommand({ Id: id }))).ChangeInfo?.Status).toBe('INSYNC');
    expect(await resolver.resolve4('app.example.com')).toEqual(['10.0.2.10']);
    expect(standIn.change(id)?.status).toBe('INSYNC');
  });

  it('keeps changes to one zone in order: a later change is never INSYNC before an earlier one', async () => {
    const { standIn, sdk } = await start({ ...failoverZone(), insyncAfterMs: 300 });
    const first = await batch(sdk, swap(true));
    standIn.setInsyncAfterMs(0);
    const second = await batch(sdk, swap(false));
    expect(standIn.change(second.ChangeInfo?.Id ?? '')?.status).toBe('PENDING');
    await sleep(350);
    expect(standIn.change(first.ChangeInfo?.Id ?? '')?.status).toBe('INSYNC');
    expect(standIn.change(second.ChangeInfo?.Id ?? '')?.status).toBe('INSYNC');
  });

  it('reports the hosted zone with its delegation set, NS and SOA records', async () => {
    const { sdk } = await start();
    const zone = await sdk.send(new GetHostedZoneCommand({ Id: '/hostedzone/Z1234567890ABC' }));
    expect(zone.HostedZone).toMatchObject({ Id: '/hostedzone/Z1234567890ABC', Name: 'example.com.' });
    expect(zone.DelegationSet?.NameServers).toHaveLength(4);
    const apex = await sdk.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: 'Z1234567890ABC', StartRecordName: 'example.com' }),
    );
    expect(apex.ResourceRecordSets?.slice(0, 2).map((record) => record.Type)).toEqual(['NS', 'SOA']);
  });

  it('lists in Route 53 order (labels reversed, ASCII, then type) and pages with NextRecord*', async () => {
    const { sdk } = await start({
      zones: [
        {
          id: 'ZORDER',
          name: 'example.com',
          records: [
            { name: 'b.example.com', type: 'A', ttl: 60, values: ['192.0.2.1'] },
            { name: 'a.b.example.com', type: 'A', ttl: 60, values: ['192.0.2.2'] },
            { name: 'b-c.example.com', type: 'A', ttl: 60, values: ['192.0.2.3'] },
            { name: 'A.example.com', type: 'TXT', ttl: 60, values: ['"hello"'] },
            { name: 'a.example.com', type: 'A', ttl: 60, values: ['192.0.2.4'] },
            { name: '*.example.com', type: 'A', ttl: 60, values: ['192.0.2.5'] },
            {
              name: 'z.example.com',
              type: 'A',
              setIdentifier: 'two',
              weight: 1,
              ttl: 60,
              values: ['192.0.2.7'],
            },
            {
              name: 'z.example.com',
              type: 'A',
              setIdentifier: 'one',
              weight: 1,
              ttl: 60,
              values: ['192.0.2.6'],
            },
          ],
        },
      ],
    });
    const all = await sdk.send(new ListResourceRecordSetsCommand({ HostedZoneId: 'ZORDER' }));
    expect(
      all.ResourceRecordSets?.map(
        (r) => `${r.Name} ${r.Type}${r.SetIdentifier ? ` ${r.SetIdentifier}` : ''}`,
      ),
    ).toEqual([
      'example.com. NS',
      'example.com. SOA',
      '\\052.example.com. A',
      'a.example.com. A',
      'a.example.com. TXT',
      // "-" sorts before ".", so b-c comes before b and b's children (the trailing-dot rule of the API docs).
      'b-c.example.com. A',
      'b.example.com. A',
      'a.b.example.com. A',
      'z.example.com. A one',
      'z.example.com. A two',
    ]);
    expect(all.IsTruncated).toBe(false);

    const page = await sdk.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: 'ZORDER',
        StartRecordName: 'a.example.com',
        StartRecordType: 'TXT',
        MaxItems: 2,
      }),
    );
    expect(page.ResourceRecordSets?.map((r) => `${r.Name} ${r.Type}`)).toEqual([
      'a.example.com. TXT',
      'b-c.example.com. A',
    ]);
    expect(page).toMatchObject({
      IsTruncated: true,
      NextRecordName: 'b.example.com.',
      NextRecordType: 'A',
      MaxItems: 2,
    });

    const withinSet = await sdk.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: 'ZORDER',
        StartRecordName: 'z.example.com',
        StartRecordType: 'A',
        MaxItems: 1,
      }),
    );
    expect(withinSet).toMatchObject({ NextRecordName: 'z.example.com.', NextRecordIdentifier: 'two' });
    const next = await sdk.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: 'ZORDER',
        StartRecordName: 'z.example.com.',
        StartRecordType: 'A',
        StartRecordIdentifier: 'two',
      }),
    );
    expect(next.ResourceRecordSets?.map((r) => r.SetIdentifier)).toEqual(['two']);
  });

  it('refuses a type without a name, as the API reference says (InvalidInput)', async () => {
    const { standIn } = await start();
    const answer = await raw(standIn, 'GET', '/2013-04-01/hostedzone/Z1234567890ABC/rrset?type=A');
    expect(answer.status).toBe(400);
    expect(answer.body).toContain('<Code>InvalidInput</Code>');
  });

  it('answers unknown ids with NoSuchHostedZone, NoSuchChange and NoSuchHealthCheck in an ErrorResponse', async () => {
    const { standIn, sdk } = await start();
    const missingZone = await raw(standIn, 'GET', '/2013-04-01/hostedzone/ZNOPE');
    expect(missingZone.status).toBe(404);
    expect(missingZone.headers.get('content-type')).toBe('text/xml');
    expect(missingZone.body).toMatch(
      new RegExp(
        '<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type>' +
          '<Code>NoSuchHostedZone</Code><Message>No hosted zone found with ID: ZNOPE</Message></Error>' +
          '<RequestId>[0-9a-f-]{36}</RequestId></ErrorResponse>',
      ),
    );
    const noChange = await sdkError(sdk.send(new GetChangeCommand({ Id: 'CNOSUCHCHANGE1' })));
    expect(noChange.name).toBe('NoSuchChange');
    expect(noChange.$metadata.httpStatusCode).toBe(404);
    const noCheck = await sdkError(sdk.send(new GetHealthCheckCommand({ HealthCheckId: 'hc-nope' })));
    expect(noCheck.name).toBe('NoSuchHealthCheck');
    const noZone = await sdkError(
      sdk.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: 'ZNOPE',
          ChangeBatch: { Changes: [change('UPSERT', aRecord('x.example.com', ['192.0.2.1']))] },
        }),
      ),
    );
    expect(noZone.name).toBe('NoSuchHostedZone');
  });
});

describe('Route 53 stand-in: change batch validation', () => {
  const invalid = [
    {
      what: 'DELETE of a record that does not exist',
      changes: [change('DELETE', aRecord('nope.example.com', ['192.0.2.1']))],
      message:
        "Tried to delete resource record set [name='nope.example.com.', type='A'] but it was not found",
    },
    {
      what: 'DELETE whose values do not match',
      changes: [change('DELETE', aRecord('plain.example.com', ['192.0.2.10']))],
      message: 'but the values provided do not match the current values',
    },
    {
      what: 'CREATE of a record that exists',
      changes: [change('CREATE', aRecord('plain.example.com', ['192.0.2.99']))],
      message:
        "Tried to create resource record set [name='plain.example.com.', type='A'] but it already exists",
    },
    {
      what: 'a second PRIMARY for one name and type',
      changes: [swap(true)[1] as Change],
      message: 'RRSet with DNS name app.example.com., type A and failover PRIMARY already exists',
    },
    {
      what: 'more than 1000 ResourceRecord elements (UPSERT counts twice)',
      changes: Array.from({ length: 6 }, (_unused, index) =>
        change(
          'UPSERT',
          aRecord(
            `bulk${index}.example.com`,
            Array.from({ length: 90 }, (_value, octet) => `10.${index}.0.${octet + 1}`),
          ),
        ),
      ),
      message: 'Number of records limit of 1000 exceeded.',
    },
    {
      what: 'two changes to one record set',
      changes: [
        change('UPSERT', aRecord('twice.example.com', ['192.0.2.1'])),
        change('UPSERT', aRecord('twice.example.com', ['192.0.2.2'])),
      ],
      message:
        "The request contains an invalid set of changes for a resource record set 'A twice.example.com.'",
    },
    {
      what: 'a CNAME beside other records',
      changes: [
        change('CREATE', {
          Name: 'plain.example.com',
          Type: 'CNAME',
          TTL: 60,
          ResourceRecords: [{ Value: 'x.example.com' }],
        }),
      ],
      message: 'conflicts with other records with the same DNS name',
    },
    {
      what: 'a record outside the zone',
      changes: [change('UPSERT', aRecord('app.example.org', ['192.0.2.1']))],
      message: 'RRSet with DNS name app.example.org. is not permitted in zone example.com.',
    },
    {
      what: 'an alias to a load balancer that does not exist',
      changes: [
        change('UPSERT', {
          Name: 'gone.example.com',
          Type: 'A',
          AliasTarget: {
            HostedZoneId: 'Z35SXDOTRQ7X7K',
            DNSName: 'gone-lb.elb.amazonaws.com',
            EvaluateTargetHealth: false,
          },
        }),
      ],
      message:
        'Tried to create an alias that targets gone-lb.elb.amazonaws.com., type A in zone Z35SXDOTRQ7X7K, but that target was not found',
    },
    {
      what: "an alias to a load balancer named with the site's own zone id",
      changes: [
        change('UPSERT', {
          Name: 'wrong.example.com',
          Type: 'A',
          AliasTarget: {
            HostedZoneId: 'Z1234567890ABC',
            DNSName: 'active-lb.elb.amazonaws.com',
            EvaluateTargetHealth: false,
          },
        }),
      ],
      message:
        'Tried to create an alias that targets active-lb.elb.amazonaws.com., type A in zone Z1234567890ABC, but the alias target name does not lie within the target zone',
    },
    {
      what: 'an alias into a zone id nobody has',
      changes: [
        change('UPSERT', {
          Name: 'nozone.example.com',
          Type: 'A',
          AliasTarget: {
            HostedZoneId: 'ZNOSUCHZONE00',
            DNSName: 'active-lb.elb.amazonaws.com',
            EvaluateTargetHealth: false,
          },
        }),
      ],
      message: 'but the alias target name does not lie within the target zone',
    },
    {
      what: 'an A record whose value is not an IPv4 address',
      changes: [change('UPSERT', aRecord('bad.example.com', ['not-an-ip']))],
      message: 'ARRDATAIllegalIPv4Address',
    },
  ];

  it.each(invalid)(
    'answers InvalidChangeBatch for $what and changes nothing',
    async ({ changes, message }) => {
      const { standIn, sdk } = await start();
      const before = standIn.records('Z1234567890ABC');
      const error = await sdkError(batch(sdk, changes));
      expect(error.name).toBe('InvalidChangeBatch');
      expect(error.$metadata.httpStatusCode).toBe(400);
      expect(error.message).toContain(message);
      expect(error.message).toMatch(/^\[.*\]$/);
      expect(standIn.records('Z1234567890ABC')).toEqual(before);
      expect(standIn.changes()).toEqual([]);
    },
  );

  it('carries every problem in Messages on the wire as well as in the bracketed Message', async () => {
    const { standIn } = await start();
    const body =
      '<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">' +
      '<ChangeBatch><Changes>' +
      '<Change><Action>DELETE</Action><ResourceRecordSet><Name>gone1.example.com</Name><Type>A</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>' +
      '<Change><Action>DELETE</Action><ResourceRecordSet><Name>gone2.example.com</Name><Type>A</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>' +
      '</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>';
    const response = await fetch(`${standIn.endpoint}/2013-04-01/hostedzone/Z1234567890ABC/rrset`, {
      method: 'POST',
      headers: {
        'content-type': 'application/xml',
        'x-amz-date': '20260101T000000Z',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDSTANDIN/20260101/us-east-1/route53/aws4_request, SignedHeaders=host, Signature=00',
      },
      body,
    });
    const text = await response.text();
    expect(response.status).toBe(400);
    expect(text).toContain('<Code>InvalidChangeBatch</Code>');
    expect(text).toContain(
      "<Messages><Message>Tried to delete resource record set [name='gone1.example.com.', type='A'] but it was not found</Message>" +
        "<Message>Tried to delete resource record set [name='gone2.example.com.', type='A'] but it was not found</Message></Messages>",
    );
  });

  it('applies a valid batch atomically: nothing of a batch with one bad change, all of a good one', async () => {
    const { standIn, sdk, resolver } = await start();
    await sdkError(
      batch(sdk, [
        change('UPSERT', aRecord('new.example.com', ['192.0.2.50'])),
        change('DELETE', aRecord('missing.example.com', ['192.0.2.1'])),
      ]),
    );
    expect(standIn.records('Z1234567890ABC').some((record) => record.name === 'new.example.com.')).toBe(
      false,
    );

    // DELETE followed by CREATE of the same record set is the one repeat Route 53 accepts in a batch.
    await batch(sdk, [
      change('DELETE', aRecord('plain.example.com', ['192.0.2.11', '192.0.2.10'])),
      change('CREATE', aRecord('plain.example.com', ['192.0.2.12'])),
      change('UPSERT', aRecord('new.example.com', ['192.0.2.50'])),
    ]);
    expect(await resolver.resolve4('plain.example.com')).toEqual(['192.0.2.12']);
    expect(await resolver.resolve4('new.example.com')).toEqual(['192.0.2.50']);
  });

  it('rejects malformed record sets with InvalidInput, as the real service words it', async () => {
    const { sdk } = await start();
    const error = await sdkError(batch(sdk, [change('UPSERT', { Name: 'x.example.com', Type: 'A' })]));
    expect(error.name).toBe('InvalidInput');
    expect(error.message).toBe(
      'Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or ' +
        'TrafficPolicyInstanceId], but found none in Change with [Action=UPSERT, Name=x.example.com, Type=A, SetIdentifier=null]',
    );
    const noIdentifier = await sdkError(
      batch(sdk, [change('UPSERT', aRecord('x.example.com', ['192.0.2.1'], { Failover: 'PRIMARY' }))]),
    );
    expect(noIdentifier.message).toContain("Missing field 'SetIdentifier'");
  });
});

describe('Route 53 stand-in: authentication', () => {
  it('refuses requests without a SigV4 Authorization header, or with an incomplete one', async () => {
    const { standIn } = await start();
    const missing = await fetch(`${standIn.endpoint}/2013-04-01/change/C1`);
    expect(missing.status).toBe(403);
    expect(await missing.text()).toContain('<Code>MissingAuthenticationToken</Code>');

    const incomplete = await raw(standIn, 'GET', '/2013-04-01/change/C1', {
      authorization: 'AWS4-HMAC-SHA256 Credential=AKIDSTANDIN/20260101/us-east-1/route53/aws4_request',
    });
    expect(incomplete.status).toBe(403);
    expect(incomplete.body).toContain('<Code>IncompleteSignature</Code>');
    expect(incomplete.body).toContain("Authorization header requires 'Signature' parameter.");
    expect(standIn.requests.map((request) => request.errorCode)).toEqual([
      'MissingAuthenticationToken',
      'IncompleteSignature',
    ]);
  });

  it('verifies signatures the SDK computes when it knows the credentials', async () => {
    const { client, sdk } = await start({ ...failoverZone(), credentials: CREDENTIALS });
    const zone = await sdk.send(new GetHostedZoneCommand({ Id: 'Z1234567890ABC' }));
    expect(zone.HostedZone?.Name).toBe('example.com.');
    // A query string and a body are signed too.
    await sdk.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: 'Z1234567890ABC',
        StartRecordName: '*.example.com',
        StartRecordType: 'A',
        MaxItems: 3,
      }),
    );
    await batch(sdk, [change('UPSERT', aRecord('signed.example.com', ['192.0.2.1']))]);

    const wrongSecret = client({ ...CREDENTIALS, secretAccessKey: 'not-the-secret' });
    const mismatch = await sdkError(wrongSecret.send(new GetHostedZoneCommand({ Id: 'Z1234567890ABC' })));
    expect(mismatch.name).toBe('SignatureDoesNotMatch');
    expect(mismatch.$metadata.httpStatusCode).toBe(403);
    const unknownKey = client({ accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'x' });
    expect((await sdkError(unknownKey.send(new GetHostedZoneCommand({ Id: 'Z1234567890ABC' })))).name).toBe(
      'InvalidClientTokenId',
    );
  });
});

describe('Route 53 stand-in: health checks', () => {
  it('reads and updates a health check with HealthCheckVersion semantics', async () => {
    const { sdk } = await start();
    const before = await sdk.send(new GetHealthCheckCommand({ HealthCheckId: 'hc-east' }));
    expect(before.HealthCheck).toMatchObject({ Id: 'hc-east', HealthCheckVersion: 1 });
    expect(before.HealthCheck?.HealthCheckConfig?.Inverted).toBe(false);

    const updated = await sdk.send(
      new UpdateHealthCheckCommand({ HealthCheckId: 'hc-east', HealthCheckVersion: 1, Inverted: true }),
    );
    expect(updated.HealthCheck?.HealthCheckVersion).toBe(2);
    expect(updated.HealthCheck?.HealthCheckConfig?.Inverted).toBe(true);

    const stale = await sdkError(
      sdk.send(
        new UpdateHealthCheckCommand({ HealthCheckId: 'hc-east', HealthCheckVersion: 1, Inverted: false }),
      ),
    );
    expect(stale.name).toBe('HealthCheckVersionMismatch');
    expect(stale.$metadata.httpStatusCode).toBe(409);
    // Without a version the update applies unconditionally.
    await sdk.send(new UpdateHealthCheckCommand({ HealthCheckId: 'hc-east', Inverted: false }));
    expect(
      (await sdk.send(new GetHealthCheckCommand({ HealthCheckId: 'hc-east' }))).HealthCheck
        ?.HealthCheckVersion,
    ).toBe(3);
  });

  it('reports checker observations that follow endpoint health and inversion (after propagation)', async () => {
    const { standIn, sdk } = await start({ ...failoverZone(), healthCheckPropagationMs: 300 });
    const statuses = async () =>
      (
        await sdk.send(new GetHealthCheckStatusCommand({ HealthCheckId: 'hc-east' }))
      ).HealthCheckObservations?.map((observation) => observation.StatusReport?.Status?.split(':')[0]);
    expect(await statuses()).toEqual(Array(8).fill('Success'));
    standIn.setHealth('hc-east', 1);
    expect(await statuses()).toEqual(['Success', ...Array(7).fill('Failure')]);
    // One checker of eight (12.5%) is not more than 18%: Route 53 calls that unhealthy.
    expect(standIn.healthCheck('hc-east')?.effectiveHealthy).toBe(false);
    standIn.setHealth('hc-east', true);

    await sdk.send(new UpdateHealthCheckCommand({ HealthCheckId: 'hc-east', Inverted: true }));
    expect(await statuses()).toEqual(Array(8).fill('Success'));
    await sleep(350);
    expect(await statuses()).toEqual(Array(8).fill('Failure'));
    expect(standIn.healthCheck('hc-east')).toMatchObject({ inverted: true, effectiveHealthy: false });
  });
});

describe('Route 53 stand-in: CALCULATED health checks', () => {
  const calculated = (healthThreshold: number): Route53StandInOptions => {
    const zone = failoverZone();
    return {
      ...zone,
      healthChecks: [
        { id: 'hc-west' },
        { id: 'hc-east-a' },
        { id: 'hc-east-b' },
        { id: 'hc-east', type: 'CALCULATED', childHealthChecks: ['hc-east-a', 'hc-east-b'], healthThreshold },
      ],
    };
  };

  it('reads back Type, ChildHealthChecks and HealthThreshold, and refuses GetHealthCheckStatus', async () => {
    const { sdk } = await start(calculated(1));
    const read = await sdk.send(new GetHealthCheckCommand({ HealthCheckId: 'hc-east' }));
    expect(read.HealthCheck?.HealthCheckConfig).toMatchObject({
      Type: 'CALCULATED',
      HealthThreshold: 1,
      ChildHealthChecks: ['hc-east-a', 'hc-east-b'],
      Inverted: false,
      Disabled: false,
    });
    const refused = await sdkError(sdk.send(new GetHealthCheckStatusCommand({ HealthCheckId: 'hc-east' })));
    expect(refused.name).toBe('InvalidInput');
  });

  it('is healthy while HealthThreshold children are, and pinned unhealthy when inverted and disabled', async () => {
    const { standIn, sdk, resolver } = await start(calculated(2));
    expect(await resolver.resolve4('app.example.com')).toEqual(['10.0.1.10']);
    standIn.setHealth('hc-east-b', false);
    expect(standIn.healthCheck('hc-east')?.effectiveHealthy).toBe(false);
    expect(await resolver.resolve4('app.example.com')).toEqual(['10.0.2.10']);
    await sdk.send(new UpdateHealthCheckCommand({ HealthCheckId: 'hc-east', HealthThreshold: 1 }));
    expect(standIn.healthCheck('hc-east')?.effectiveHealthy).toBe(true);

    await sdk.send(
      new UpdateHealthCheckCommand({ HealthCheckId: 'hc-east', Inverted: true, Disabled: true }),
    );
    standIn.setHealth('hc-east-b', true);
    expect(standIn.healthCheck('hc-east')?.effectiveHealthy).toBe(false);
    expect(await resolver.resolve4('app.example.com')).toEqual(['10.0.2.10']);
  });
});

describe('Route 53 stand-in: DNS answers', () => {
  it('answers the PRIMARY, the SECONDARY when the PRIMARY is unhealthy, and the PRIMARY when both are', async () => {
    const { standIn, resolver } = await start();
    expect(await resolver.resolve4('app.example.com')).toEqual(['10.0.1.10']);
    standIn.setHealth('hc-east', false);
    expect(await resolver.resolve4('app.example.com')).toEqual(['10.0.2.10']);
    standIn.setHealth('hc-west', false);
    expect(await resolver.resolve4('app.example.com')).toEqual(['10.0.1.10']);
  });

  it('evaluates an alias target’s health when EvaluateTargetHealth is set', async () => {
    const options = failoverZone();
    const records = options.zones?.[0]?.records ?? [];
    for (const record of records) {
      delete record.healthCheckId;
      if (record.aliasTarget) record.aliasTarget.evaluateTargetHealth = true;
    }
    const { standIn, resolver } = await start(options);
    expect(await resolver.resolve4('app.example.com')).toEqual(['10.0.1.10']);
    standIn.setAliasTarget('active-lb.elb.amazonaws.com', ['10.0.1.10'], { healthy: false });
    expect(await resolver.resolve4('app.example.com')).toEqual(['10.0.2.10']);
  });

  it('answers alias names, CNAME (chased), AAAA, TXT, wildcards; NXDOMAIN inside the zone, REFUSED outside', async () => {
    const options = failoverZone();
    options.zones?.[0]?.records?.push(
      { name: '*.dev.example.com', type: 'A', ttl: 30, values: ['192.0.2.77'] },
      { name: 'txt.example.com', type: 'TXT', ttl: 30, values: ['"v=spf1 -all"', '"two" "strings"'] },
    );
    const { resolver, standIn } = await start(options);
    // A load balancer's name: only its own zone's name servers answer it, never the hosted zone's.
    await expect(resolver.resolve4('active-lb.elb.amazonaws.com')).rejects.toMatchObject({
      code: 'EREFUSED',
    });
    const elbZone = new Resolver();
    elbZone.setServers([standIn.aliasDnsAddress]);
    expect(await elbZone.resolve4('active-lb.elb.amazonaws.com')).toEqual(['10.0.1.10']);
    await expect(elbZone.resolve4('gone-lb.elb.amazonaws.com')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(elbZone.resolve4('app.example.com')).rejects.toMatchObject({ code: 'EREFUSED' });
    expect(await resolver.resolveCname('www.example.com')).toEqual(['app.example.com']);
    expect(await resolver.resolve4('www.example.com')).toEqual(['10.0.1.10']);
    expect(await resolver.resolve6('v6.example.com')).toEqual(['2001:db8::1']);
    expect((await resolver.resolve4('plain.example.com')).sort()).toEqual(['192.0.2.10', '192.0.2.11']);
    expect(await resolver.resolve4('anything.dev.example.com')).toEqual(['192.0.2.77']);
    expect((await resolver.resolveTxt('txt.example.com')).sort()).toEqual([
      ['two', 'strings'],
      ['v=spf1 -all'],
    ]);
    await expect(resolver.resolve4('nope.example.com')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolver.resolve6('plain.example.com')).rejects.toMatchObject({ code: 'ENODATA' });
    await expect(resolver.resolve4('app.example.org')).rejects.toMatchObject({ code: 'EREFUSED' });
  });

  it('speaks RFC 1035 on the wire: id, QR/AA flags, RCODE, the question echoed, EDNS answered, FORMERR for junk', async () => {
    const { standIn } = await start();
    const socket = createSocket('udp4');
    const ask = (packet: Buffer) =>
      new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no DNS answer')), 1000);
        socket.once('message', (message) => {
          clearTimeout(timer);
          resolve(message);
        });
        socket.send(packet, standIn.dnsPort, '127.0.0.1');
      });
    const query = (name: string, id: number, edns = false) => {
      const labels = name.split('.').flatMap((label) => [Buffer.from([label.length]), Buffer.from(label)]);
      const head = Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, edns ? 1 : 0]);
      const opt = edns ? Buffer.from([0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]) : Buffer.alloc(0);
      return Buffer.concat([head, ...labels, Buffer.from([0, 0, 1, 0, 1]), opt]);
    };
    try {
      const answer = await ask(query('App.Example.com', 0x1234, true));
      expect(answer.readUInt16BE(0)).toBe(0x1234);
      const flags = answer.readUInt16BE(2);
      expect(flags & 0x8000).toBe(0x8000); // QR
      expect(flags & 0x0400).toBe(0x0400); // AA
      expect(flags & 0x0100).toBe(0x0100); // RD copied
      expect(flags & 0x000f).toBe(0); // NOERROR
      expect([answer.readUInt16BE(4), answer.readUInt16BE(6), answer.readUInt16BE(10)]).toEqual([1, 1, 1]);
      expect(answer.subarray(answer.length - 15, answer.length - 11)).toEqual(Buffer.from([10, 0, 1, 10]));

      const nx = await ask(query('nope.example.com', 7));
      expect(nx.readUInt16BE(2) & 0x000f).toBe(3); // NXDOMAIN
      expect(nx.readUInt16BE(8)).toBe(1); // the zone's SOA in the authority section
      const refused = await ask(query('example.net', 8));
      expect(refused.readUInt16BE(2) & 0x000f).toBe(5);
      expect(refused.readUInt16BE(2) & 0x0400).toBe(0);
      const junk = await ask(Buffer.from([0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0x3f]));
      expect(junk.readUInt16BE(0)).toBe(0xabcd);
      expect(junk.readUInt16BE(2) & 0x000f).toBe(1); // FORMERR
    } finally {
      socket.close();
    }
  });

  it('falls back to TCP when an answer does not fit in UDP (RFC 7766)', async () => {
    // 300 addresses (4.8 KB) overflow even the largest EDNS buffer a client advertises (4096).
    const many = Array.from({ length: 300 }, (_unused, index) => `10.1.${index >> 8}.${index & 0xff}`);
    const { resolver } = await start({
      zones: [
        {
          id: 'ZBIG',
          name: 'example.com',
          records: [{ name: 'big.example.com', type: 'A', ttl: 60, values: many }],
        },
      ],
    });
    expect((await resolver.resolve4('big.example.com')).sort()).toEqual([...many].sort());
  });

  const digInstalled = spawnSync('dig', ['-v'], { stdio: 'ignore' }).error === undefined;
  const skipDig = skipWhenMissing(
    'the dig test',
    digInstalled ? [] : ['dig'],
    'apt-get install -y --no-install-recommends bind9-dnsutils',
  );
  it.skipIf(skipDig)('answers dig over UDP and TCP', async () => {
    const { standIn } = await start();
    // Asynchronously: the server runs in this process, so a blocking spawnSync would never get its answer.
    const dig = async (...args: string[]) =>
      (
        await run('dig', [
          '+short',
          '+tries=1',
          '+time=2',
          '-p',
          String(standIn.dnsPort),
          '@127.0.0.1',
          ...args,
        ])
      ).stdout.trim();
    expect(await dig('app.example.com', 'A')).toBe('10.0.1.10');
    expect(await dig('+tcp', 'www.example.com', 'A')).toBe('app.example.com.\n10.0.1.10');
  });
});

describe('Route 53 stand-in: faults and the request log', () => {
  it('fails the next requests (optionally of one action) with the real error codes and statuses', async () => {
    const { standIn, sdk } = await start();
    const expectations = [
      ['Throttling', 400, 'Rate exceeded'],
      [
        'PriorRequestNotComplete',
        400,
        'The request was rejected because Route 53 was still processing a prior request.',
      ],
      [
        'AccessDenied',
        403,
        'is not authorized to perform: route53:GetHostedZone on resource: arn:aws:route53:::hostedzone/Z1234567890ABC',
      ],
      ['InternalFailure', 500, 'unknown error'],
      ['ServiceUnavailable', 503, 'temporary failure'],
    ] as const;
    for (const [fault, status, message] of expectations) {
      standIn.failNext(1, fault);
      const error = await sdkError(sdk.send(new GetHostedZoneCommand({ Id: 'Z1234567890ABC' })));
      expect([error.name, error.$metadata.httpStatusCode]).toEqual([fault, status]);
      expect(error.message).toContain(message);
    }
    standIn.failNext(2, 'Throttling', { action: 'GetChange' });
    await sdk.send(new GetHostedZoneCommand({ Id: 'Z1234567890ABC' }));
    expect((await sdkError(sdk.send(new GetChangeCommand({ Id: 'C1' })))).name).toBe('Throttling');
    expect((await sdkError(sdk.send(new GetChangeCommand({ Id: 'C1' })))).name).toBe('Throttling');
    expect((await sdkError(sdk.send(new GetChangeCommand({ Id: 'C1' })))).name).toBe('NoSuchChange');
    expect(standIn.requests.map((request) => `${request.action} ${request.status}`).slice(-4)).toEqual([
      'GetHostedZone 200',
      'GetChange 400',
      'GetChange 400',
      'GetChange 404',
    ]);
    expect(
      standIn.requests.every((request, index, all) => index === 0 || request.at >= (all[index - 1]?.at ?? 0)),
    ).toBe(true);
  });

  it('resets connections during an outage and adds latency when asked', async () => {
    const { standIn, sdk } = await start();
    standIn.setOutage(true);
    const reset = await sdkError(sdk.send(new GetHostedZoneCommand({ Id: 'Z1234567890ABC' })));
    expect((reset as unknown as { code?: string }).code).toBe('ECONNRESET');
    standIn.setOutage(false);
    standIn.setLatencyMs(200);
    const started = Date.now();
    await sdk.send(new GetHostedZoneCommand({ Id: 'Z1234567890ABC' }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(standIn.requests.map((request) => request.reset ?? false)).toEqual([true, false]);
  });

  it('throttles beyond requestsPerSecond like the account quota', async () => {
    const { sdk } = await start({ ...failoverZone(), requestsPerSecond: 5 });
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => sdk.send(new GetHostedZoneCommand({ Id: 'Z1234567890ABC' }))),
    );
    const throttled = results.filter((result) => result.status === 'rejected');
    expect(throttled).toHaveLength(3);
    expect((throttled[0] as PromiseRejectedResult).reason).toMatchObject({
      name: 'Throttling',
      message: 'Rate exceeded',
    });
  });
});

describe('route53SeedFor', () => {
  async function exampleSite(): Promise<SiteConfig> {
    const loaded = await loadTopologyFile(EXAMPLE, DB_ENV);
    if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
    const site = loaded.topology.sites[0];
    if (!site) throw new Error('no site');
    return site;
  }

  it('seeds the DESIGN example: failover records for east and west, east PRIMARY, load balancer addresses', async () => {
    const site = await exampleSite();
    const { standIn, resolver } = await start(route53SeedFor(site));
    const records = standIn.records('Z1234567890ABC').filter((record) => record.type === 'A');
    expect(records).toEqual([
      {
        name: 'app.example.com.',
        type: 'A',
        setIdentifier: 'active-cluster',
        failover: 'PRIMARY',
        aliasTarget: {
          hostedZoneId: 'Z35SXDOTRQ7X7K',
          dnsName: 'active-lb.elb.amazonaws.com.',
          evaluateTargetHealth: false,
        },
      },
      {
        name: 'app.example.com.',
        type: 'A',
        setIdentifier: 'passive-cluster',
        failover: 'SECONDARY',
        aliasTarget: {
          hostedZoneId: 'Z1H1FL5HABSF5',
          dnsName: 'passive-lb.elb.amazonaws.com.',
          evaluateTargetHealth: false,
        },
      },
    ]);
    expect(await resolver.resolve4('app.example.com')).toEqual(['10.0.1.10']);
    const elbZone = new Resolver();
    elbZone.setServers([standIn.aliasDnsAddress]);
    expect(await elbZone.resolve4('passive-lb.elb.amazonaws.com')).toEqual(['10.0.2.10']);
    // The load balancers' own hosted zones, so that Baton's UPSERTs of these aliases are accepted.
    expect(route53SeedFor(site).aliasTargetZones).toEqual({
      Z35SXDOTRQ7X7K: 'elb.amazonaws.com',
      Z1H1FL5HABSF5: 'elb.amazonaws.com',
    });
  });

  it('seeds a site already failed over, and health-check-inversion with its health checks', async () => {
    const site = await exampleSite();
    const served = await start(route53SeedFor(site, { serving: { production: 'west' } }));
    expect(await served.resolver.resolve4('app.example.com')).toEqual(['10.0.2.10']);

    const inverted: SiteConfig = {
      ...site,
      dns: {
        ...site.dns,
        strategy: 'health-check-inversion',
        healthCheckIds: { east: 'hc-e', west: 'hc-w' },
      },
    };
    const hci = await start(route53SeedFor(inverted, { serving: { production: 'west' } }));
    expect(hci.standIn.healthCheck('hc-e')).toMatchObject({ inverted: true, effectiveHealthy: false });
    expect(hci.standIn.healthCheck('hc-w')).toMatchObject({ inverted: false, effectiveHealthy: true });
    expect(await hci.resolver.resolve4('app.example.com')).toEqual(['10.0.2.10']);
  });
});
