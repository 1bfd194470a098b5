/**
 * The stand-in is no kinder than Route 53 about what it receives: request XML must be well-formed XML 1.0, and a
 * signature must cover exactly the request that arrived (body, query, timestamp). What it sends back stays
 * well-formed whatever the values hold, and the request log records what IAM would evaluate.
 */
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterEach, describe, expect, it } from 'vitest';
import { startRoute53ApiServer } from '../../../lab/route53/route53-api-server.js';
import type { Route53StandIn } from '../../../lab/route53/route53-api-server.js';

const CREDENTIALS = { accessKeyId: 'AKIDSTRICT', secretAccessKey: 'strict-secret' };
const NS = 'xmlns="https://route53.amazonaws.com/doc/2013-04-01/"';
const RRSET = '/2013-04-01/hostedzone/ZSTRICT/rrset';

const open: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

async function start(credentials?: typeof CREDENTIALS): Promise<Route53StandIn> {
  const standIn = await startRoute53ApiServer({
    zones: [{ id: 'ZSTRICT', name: 'example.com' }],
    healthChecks: [{ id: 'hc-strict' }],
    dns: false,
    ...(credentials && { credentials }),
  });
  open.push(() => standIn.close());
  return standIn;
}

const txtBatch = (value: string, comment = 'strict') =>
  `<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsRequest ${NS}><ChangeBatch>` +
  `<Comment>${comment}</Comment><Changes><Change><Action>UPSERT</Action><ResourceRecordSet>` +
  `<Name>txt.example.com</Name><Type>TXT</Type><TTL>60</TTL><ResourceRecords><ResourceRecord>` +
  `<Value>${value}</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes>` +
  `</ChangeBatch></ChangeResourceRecordSetsRequest>`;

/** A body sent with an Authorization header that only has to look like SigV4 (no credentials configured). */
async function post(standIn: Route53StandIn, path: string, body: string) {
  const response = await fetch(`${standIn.endpoint}${path}`, {
    method: 'POST',
    headers: {
      'x-amz-date': '20260101T000000Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIDSTRICT/20260101/us-east-1/route53/aws4_request, ' +
        'SignedHeaders=host;x-amz-date, Signature=00',
    },
    body,
  });
  const text = await response.text();
  return {
    status: response.status,
    code: /<Code>([^<]*)</.exec(text)?.[1],
    message: /<Message>([^<]*)</.exec(text)?.[1],
  };
}

describe('Route 53 stand-in: request XML', () => {
  it.each([
    ['an unclosed element', txtBatch('x').replace('</Changes>', ''), "Expected closing tag 'Changes'"],
    ['an undeclared entity', txtBatch('&nope;'), 'The entity "nope" was referenced, but not declared.'],
    ['a bare ampersand', txtBatch('a & b'), "char '&amp;' is not expected."],
    [
      'a character XML forbids',
      txtBatch('&#1;'),
      'Character reference "&amp;#1" is an invalid XML character.',
    ],
    ['a raw control character', txtBatch('\u0001'), 'An invalid XML character (Unicode: 0x1)'],
    [
      'a DOCTYPE',
      `<!DOCTYPE r [<!ENTITY e "y">]>${txtBatch('&e;').replace(/^<\?xml[^>]*\?>/, '')}`,
      'DOCTYPE is disallowed',
    ],
    ['text after the document element', `${txtBatch('x')}junk`, 'Extra text at the end'],
    [
      'a second document element',
      `${txtBatch('x')}<Other/>`,
      'following the root element must be well-formed',
    ],
    ['an empty body', '', 'Start tag expected.'],
  ])('refuses %s with InvalidInput, as the service does', async (_case, body, message) => {
    const standIn = await start();
    const answer = await post(standIn, RRSET, body);
    expect(answer).toMatchObject({ status: 400, code: 'InvalidInput' });
    expect(answer.message).toMatch(/^Invalid XML ; /);
    expect(answer.message).toContain(message);
    expect(standIn.changes()).toEqual([]);
  });

  it('refuses text after a self-closing document element, which the validator lets through', async () => {
    const standIn = await start();
    for (const body of [`<UpdateHealthCheckRequest ${NS}/>junk`, `<UpdateHealthCheckRequest ${NS}/><X/>`]) {
      const answer = await post(standIn, '/2013-04-01/healthcheck/hc-strict', body);
      expect(answer).toMatchObject({ status: 400, code: 'InvalidInput' });
    }
    expect(standIn.healthCheck('hc-strict')?.version).toBe(1);
    expect(
      (await post(standIn, '/2013-04-01/healthcheck/hc-strict', `<UpdateHealthCheckRequest ${NS}/>`)).status,
    ).toBe(200);
  });

  it('decodes character references (the SDK writes a newline as &#x0A;) and escapes what it sends back', async () => {
    const standIn = await start(CREDENTIALS);
    const sdk = new Route53Client({
      endpoint: standIn.endpoint,
      region: 'us-east-1',
      credentials: CREDENTIALS,
    });
    open.push(() => sdk.destroy());
    const value = '"a<b & c>d" "it\'s"';
    await sdk.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: 'ZSTRICT',
        ChangeBatch: {
          Comment: "line one\nline 'two' & <three>",
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: 'txt.example.com',
                Type: 'TXT',
                TTL: 60,
                ResourceRecords: [{ Value: value }],
              },
            },
          ],
        },
      }),
    );
    expect(standIn.changes()[0]?.comment).toBe("line one\nline 'two' & <three>");
    const listed = await sdk.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: 'ZSTRICT', StartRecordName: 'txt.example.com' }),
    );
    expect(listed.ResourceRecordSets?.[0]?.ResourceRecords).toEqual([{ Value: value }]);
    // The request log carries what IAM's ChangeResourceRecordSets condition keys see.
    const logged = standIn.requests.find((request) => request.action === 'ChangeResourceRecordSets');
    expect(logged).toMatchObject({
      resourceId: 'ZSTRICT',
      status: 200,
      changes: [{ action: 'UPSERT', name: 'txt.example.com.', type: 'TXT' }],
    });
  });

  it('keeps a response well-formed when a value holds a character XML cannot carry', async () => {
    const standIn = await start();
    const response = await fetch(`${standIn.endpoint}/2013-04-01/hostedzone/Z%01`, {
      headers: {
        'x-amz-date': '20260101T000000Z',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDSTRICT/20260101/us-east-1/route53/aws4_request, ' +
          'SignedHeaders=host;x-amz-date, Signature=00',
      },
    });
    expect(await response.text()).toContain('<Message>No hosted zone found with ID: Z\ufffd</Message>');
  });
});

describe('Route 53 stand-in: SigV4 verification', () => {
  /** A request signed by the SDK's own signer, then (maybe) changed on the way. */
  async function signedFetch(
    standIn: Route53StandIn,
    request: { method: string; path: string; query?: Record<string, string>; body?: string },
    tamper: { body?: string; query?: Record<string, string>; date?: string } = {},
  ) {
    const { hostname, port } = new URL(standIn.endpoint);
    const signer = new SignatureV4({
      service: 'route53',
      region: 'us-east-1',
      credentials: CREDENTIALS,
      sha256: Hash.bind(null, 'sha256'),
    });
    const signed = await signer.sign({
      method: request.method,
      protocol: 'http:',
      hostname,
      port: Number(port),
      path: request.path,
      query: request.query ?? {},
      headers: {
        host: `${hostname}:${port}`,
        ...(request.body !== undefined && { 'content-type': 'application/xml' }),
      },
      ...(request.body !== undefined && { body: request.body }),
    });
    const query = new URLSearchParams(tamper.query ?? request.query ?? {}).toString();
    const headers: Record<string, string> = { ...(signed.headers as Record<string, string>) };
    delete headers.host;
    if (tamper.date) headers['x-amz-date'] = tamper.date;
    const response = await fetch(`${standIn.endpoint}${request.path}${query ? `?${query}` : ''}`, {
      method: request.method,
      headers,
      ...(request.body !== undefined && { body: tamper.body ?? request.body }),
    });
    return { status: response.status, code: /<Code>([^<]*)</.exec(await response.text())?.[1] };
  }

  it('accepts what the signer signed and refuses a changed body, query or timestamp', async () => {
    const standIn = await start(CREDENTIALS);
    const list = { method: 'GET', path: RRSET, query: { name: 'a.example.com', maxitems: '2' } };
    expect(await signedFetch(standIn, list)).toEqual({ status: 200, code: undefined });
    expect(await signedFetch(standIn, list, { query: { name: 'b.example.com', maxitems: '2' } })).toEqual({
      status: 403,
      code: 'SignatureDoesNotMatch',
    });
    expect(await signedFetch(standIn, list, { date: '20260101T000001Z' })).toEqual({
      status: 403,
      code: 'SignatureDoesNotMatch',
    });

    const change = { method: 'POST', path: RRSET, body: txtBatch('"signed"') };
    expect((await signedFetch(standIn, change)).status).toBe(200);
    // The signed x-amz-content-sha256 no longer matches the body: the service hashes the body itself.
    expect(await signedFetch(standIn, change, { body: txtBatch('"forged"') })).toEqual({
      status: 403,
      code: 'SignatureDoesNotMatch',
    });
    expect(standIn.records('ZSTRICT').find((record) => record.type === 'TXT')?.values).toEqual(['"signed"']);
  });
});
