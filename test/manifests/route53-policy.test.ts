/**
 * manifests/iam/route53-policy.json allows exactly what Baton's Route 53 adapter does: the real adapter runs every
 * operation, with each DNS strategy, against the Route 53 stand-in (through the official SDK, signatures verified);
 * each request the stand-in received becomes the request context IAM evaluates — the action, the resource ARN and,
 * for ChangeResourceRecordSets, the change batch's condition keys — and a small policy evaluator checks it. Every
 * request must be allowed and every allowed action used. Every statement is scoped to resources, never `*`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Route53Dns } from '../../src/adapters/route53.js';
import { loadTopologyFile } from '../../src/config/topology.js';
import type { DnsConfig, SiteConfig } from '../../src/config/topology.js';
import { createLogger } from '../../src/logger.js';
import { plainName, route53SeedFor, startRoute53ApiServer } from '../../lab/route53/route53-api-server.js';
import type { Route53RequestLogEntry, Route53StandIn } from '../../lab/route53/route53-api-server.js';
import { ROOT } from './support.js';

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string[]>>;
}
interface Policy {
  Version: string;
  Statement: Statement[];
}

/** What IAM evaluates a Route 53 request as. */
interface RequestContext {
  action: string;
  resource: string;
  /** Condition keys and their values (multivalued, as the ChangeResourceRecordSets keys are). */
  keys: Record<string, string[]>;
}

const CREDENTIALS = { accessKeyId: 'AKIDPOLICY', secretAccessKey: 'policy-secret' };
const DB_ENV = {
  EAST_DATABASE_URL: 'postgresql://x@127.0.0.1/e',
  WEST_DATABASE_URL: 'postgresql://x@127.0.0.1/w',
};
// The health checks the policy names, for the health-check-inversion strategy.
const HEALTH_CHECKS = {
  east: '00000000-0000-0000-0000-0000000000e1',
  west: '00000000-0000-0000-0000-0000000000e2',
};

const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);

async function policy(): Promise<Policy> {
  return JSON.parse(await readFile(join(ROOT, 'manifests/iam/route53-policy.json'), 'utf8')) as Policy;
}

const RESOURCE_KIND: Record<string, string> = {
  ChangeResourceRecordSets: 'hostedzone',
  ListResourceRecordSets: 'hostedzone',
  GetHostedZone: 'hostedzone',
  GetChange: 'change',
  GetHealthCheck: 'healthcheck',
  UpdateHealthCheck: 'healthcheck',
  GetHealthCheckStatus: 'healthcheck',
};

/** A request the stand-in logged, as IAM sees it. */
function contextOf(request: Route53RequestLogEntry): RequestContext {
  const kind = RESOURCE_KIND[request.action];
  if (kind === undefined || request.resourceId === undefined) {
    throw new Error(`${request.method} ${request.path} is not a Route 53 API operation`);
  }
  const keys: Record<string, string[]> = {};
  if (request.action === 'ChangeResourceRecordSets') {
    const changes = request.changes ?? [];
    const unique = (values: string[]) => [...new Set(values)];
    keys['route53:ChangeResourceRecordSetsActions'] = unique(changes.map((change) => change.action));
    // IAM's normalized names: lowercase, no trailing dot, escapes decoded.
    keys['route53:ChangeResourceRecordSetsNormalizedRecordNames'] = unique(
      changes.map((change) => plainName(change.name)),
    );
    keys['route53:ChangeResourceRecordSetsRecordTypes'] = unique(changes.map((change) => change.type));
  }
  return {
    action: `route53:${request.action}`,
    resource: `arn:aws:route53:::${kind}/${request.resourceId}`,
    keys,
  };
}

const matchesArn = (pattern: string, arn: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.?+^$()[\]{}|\\/]/g, '\\$&'))
      .join('.*')}$`,
  ).test(arn);

function conditionsHold(condition: Statement['Condition'], keys: Record<string, string[]>): boolean {
  return Object.entries(condition ?? {}).every(([operator, entries]) => {
    if (operator !== 'ForAllValues:StringEquals') {
      throw new Error(
        `the evaluator does not know the condition operator ${operator}; teach it before using it`,
      );
    }
    // Every value of the request's key must be among the allowed ones (a key the request lacks is vacuously true).
    return Object.entries(entries).every(([key, allowed]) =>
      (keys[key] ?? []).every((value) => allowed.includes(value)),
    );
  });
}

/** IAM's answer for an identity policy with only Allow statements: allowed when one statement matches. */
const allows = (document: Policy, context: RequestContext) =>
  document.Statement.some(
    (statement) =>
      statement.Effect === 'Allow' &&
      list(statement.Action).includes(context.action) &&
      list(statement.Resource).some((pattern) => matchesArn(pattern, context.resource)) &&
      conditionsHold(statement.Condition, context.keys),
  );

describe('the Route 53 IAM policy against what the adapter does', () => {
  const standIns: Route53StandIn[] = [];
  const adapters: Route53Dns[] = [];
  let requests: Route53RequestLogEntry[] = [];

  beforeAll(async () => {
    const loaded = await loadTopologyFile(join(ROOT, 'examples/baton.yaml'), DB_ENV);
    if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
    const example = loaded.topology.sites[0];
    if (!example) throw new Error('examples/baton.yaml has no site');
    const withDns = (dns: Partial<DnsConfig>): SiteConfig => ({
      ...example,
      dns: { ...example.dns, ...dns },
    });

    const exercised = new Set<string>();
    for (const site of [
      withDns({ strategy: 'failover-records' }),
      withDns({ strategy: 'simple-record' }),
      withDns({ strategy: 'health-check-inversion', healthCheckIds: HEALTH_CHECKS }),
    ]) {
      // No dns.resolvers: verification asks the zone's name servers, found with GetHostedZone.
      expect(site.dns.resolvers).toBeUndefined();
      const standIn = await startRoute53ApiServer({
        ...route53SeedFor(site, { nameServers: ['127.0.0.1'] }),
        credentials: CREDENTIALS,
        insyncAfterMs: 50,
      });
      standIns.push(standIn);
      const dns = new Route53Dns({
        endpoint: standIn.endpoint,
        credentials: CREDENTIALS,
        log: createLogger({ level: 'silent' }),
        maxRequestsPerSecond: 100,
        resolver: {
          nameServerPort: standIn.dnsPort,
          timeoutMs: 500,
          tries: 1,
          aliasServers: [standIn.aliasDnsAddress],
        },
      });
      adapters.push(dns);
      const wait = { timeoutMs: 5_000, pollMs: 20 };

      // Every operation of the adapter: read, switch away and back, wait, verify.
      exercised.add('recordSets');
      await dns.recordSets(site);
      exercised.add('currentTarget');
      expect(await dns.currentTarget(site)).toBe('east');
      exercised.add('failoverTriggers');
      await dns.failoverTriggers(site);
      for (const cluster of ['west', 'east']) {
        exercised.add('switchTo');
        const { changeId } = await dns.switchTo(site, cluster);
        exercised.add('changeStatus');
        await dns.changeStatus(changeId);
        exercised.add('waitForInsync');
        await dns.waitForInsync(changeId, wait);
        exercised.add('resolveTarget');
        expect((await dns.resolveTarget(site)).cluster).toBe(cluster);
      }
      exercised.add('requestStarts');
      expect(dns.requestStarts().length).toBeGreaterThan(0);
      requests.push(...standIn.requests);
    }

    // A new public method must be exercised here, so that its requests are checked against the policy too.
    const internals = ['constructor', 'checkCluster'];
    const methods = Object.getOwnPropertyNames(Route53Dns.prototype).filter((m) => !internals.includes(m));
    exercised.add('close'); // in afterAll
    expect(methods.sort()).toEqual([...exercised].sort());
  });

  afterAll(async () => {
    for (const dns of adapters) dns.close();
    await Promise.all(standIns.map((standIn) => standIn.close()));
    requests = [];
  });

  const used = () => [...new Set(requests.map((request) => `route53:${request.action}`))].sort();

  it('allows every request the adapter made, and the requests succeeded', async () => {
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((request) => request.status !== 200)).toEqual([]);
    const document = await policy();
    const denied = requests.map(contextOf).filter((context) => !allows(document, context));
    expect(denied).toEqual([]);
  });

  it('allows exactly the actions the adapter uses: nothing more', async () => {
    const { Version, Statement } = await policy();
    expect(Version).toBe('2012-10-17');
    expect(Statement.every((s) => s.Effect === 'Allow')).toBe(true);
    const allowed = Statement.flatMap((s) => list(s.Action));
    expect(allowed.length).toBe(new Set(allowed).size);
    expect([...new Set(allowed)].sort()).toEqual(used());
    expect(used()).toEqual([
      'route53:ChangeResourceRecordSets',
      'route53:GetChange',
      'route53:GetHealthCheck',
      'route53:GetHostedZone',
      'route53:ListResourceRecordSets',
      'route53:UpdateHealthCheck',
    ]);
  });

  it('would deny the adapter if any one action were missing from the policy', async () => {
    const document = await policy();
    for (const action of used()) {
      const without: Policy = {
        ...document,
        Statement: document.Statement.map((s) => ({
          ...s,
          Action: list(s.Action).filter((a) => a !== action),
        })),
      };
      const denied = requests.map(contextOf).filter((context) => !allows(without, context));
      expect(denied.map((context) => context.action)).toContain(action);
    }
  });

  it('never uses wildcards for actions, and scopes every action to its resources', async () => {
    const { Statement } = await policy();
    for (const statement of Statement) {
      for (const action of list(statement.Action)) expect(action).not.toContain('*');
      for (const resource of list(statement.Resource)) {
        // GetChange can only be scoped to change/* (change ids are not known in advance).
        const wildcardAllowed = list(statement.Action).every((a) => a === 'route53:GetChange');
        expect(resource).toMatch(
          wildcardAllowed
            ? /^arn:aws:route53:::change\/\*$/
            : /^arn:aws:route53:::(hostedzone|healthcheck)\/[^*]+$/,
        );
      }
    }
  });

  it('lets Baton change only the site record, only by UPSERT — and the adapter sends nothing else', async () => {
    const { Statement } = await policy();
    const change = Statement.find((s) => list(s.Action).includes('route53:ChangeResourceRecordSets'));
    expect(list(change?.Action ?? [])).toEqual(['route53:ChangeResourceRecordSets']);
    const conditions = change?.Condition?.['ForAllValues:StringEquals'];
    expect(conditions?.['route53:ChangeResourceRecordSetsActions']).toEqual(['UPSERT']);
    expect(conditions?.['route53:ChangeResourceRecordSetsNormalizedRecordNames']).toEqual([
      'app.example.com',
    ]);
    expect(conditions?.['route53:ChangeResourceRecordSetsRecordTypes']).toEqual(['A']);
    const sent = requests
      .filter((request) => request.action === 'ChangeResourceRecordSets')
      .flatMap((request) => request.changes ?? []);
    expect(sent.length).toBeGreaterThan(0);
    expect(new Set(sent.map((c) => `${c.action} ${c.name} ${c.type}`))).toEqual(
      new Set(['UPSERT app.example.com. A']),
    );
  });

  it("matches the adapter's own list of actions and docs/adapters.md", async () => {
    const source = await readFile(join(ROOT, 'src/adapters/route53/route53-errors.ts'), 'utf8');
    const union = /export type Route53Action =([^;]+);/.exec(source)?.[1] ?? '';
    const declared = [...union.matchAll(/'([A-Za-z0-9]+)'/g)].map((m) => `route53:${m[1]}`).sort();
    expect(declared).toEqual(used());

    const doc = await readFile(join(ROOT, 'docs/adapters.md'), 'utf8');
    const paragraph = doc.slice(
      doc.indexOf('IAM actions:'),
      doc.indexOf('\n\n', doc.indexOf('IAM actions:')),
    );
    const documented = [...paragraph.matchAll(/`(route53:[A-Za-z0-9]+)`/g)].map((m) => m[1]!).sort();
    expect(documented).toEqual(used());
  });
});
