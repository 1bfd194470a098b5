/**
 * manifests/iam/route53-policy.json allows exactly the Route 53 API calls the adapter sends, found by reading
 * src/adapters/route53.ts and src/adapters/route53/ for `new XxxCommand(`: when the adapter starts calling something
 * new, this fails until the policy (and docs/adapters.md) say so. Every statement is scoped to resources, never `*`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support.js';

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string[]>>;
}

const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);

/** The adapter's source: its entry and every file of its folder, joined. */
async function adapterSource(): Promise<string> {
  const folder = 'src/adapters/route53';
  const files = (await readdir(join(ROOT, folder))).filter((name) => name.endsWith('.ts')).sort();
  const paths = ['src/adapters/route53.ts', ...files.map((name) => `${folder}/${name}`)];
  const sources = await Promise.all(paths.map((path) => readFile(join(ROOT, path), 'utf8')));
  return sources.join('\n');
}

async function policy(): Promise<{ Version: string; Statement: Statement[] }> {
  return JSON.parse(await readFile(join(ROOT, 'manifests/iam/route53-policy.json'), 'utf8'));
}

/** The IAM actions behind the SDK commands the adapter constructs. */
async function actionsCalled(): Promise<string[]> {
  const source = await adapterSource();
  const commands = [...source.matchAll(/\bnew\s+([A-Z][A-Za-z0-9]*)Command\s*\(/g)].map(
    (m) => `route53:${m[1]}`,
  );
  return [...new Set(commands)].sort();
}

describe('the Route 53 IAM policy', () => {
  it('allows exactly the actions the adapter calls', async () => {
    const called = await actionsCalled();
    expect(called).toContain('route53:ChangeResourceRecordSets');
    const { Version, Statement } = await policy();
    expect(Version).toBe('2012-10-17');
    const allowed = Statement.flatMap((s) => list(s.Action));
    expect(Statement.every((s) => s.Effect === 'Allow')).toBe(true);
    expect([...new Set(allowed)].sort()).toEqual(called);
    expect(allowed.length).toBe(new Set(allowed).size);
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

  it('lets Baton change only the site record, only by UPSERT', async () => {
    const { Statement } = await policy();
    const change = Statement.find((s) => list(s.Action).includes('route53:ChangeResourceRecordSets'));
    expect(list(change?.Action ?? [])).toEqual(['route53:ChangeResourceRecordSets']);
    const conditions = change?.Condition?.['ForAllValues:StringEquals'];
    expect(conditions?.['route53:ChangeResourceRecordSetsActions']).toEqual(['UPSERT']);
    expect(conditions?.['route53:ChangeResourceRecordSetsNormalizedRecordNames']).toEqual([
      'app.example.com',
    ]);
    expect(conditions?.['route53:ChangeResourceRecordSetsRecordTypes']).toEqual(['A']);
    // The adapter sends nothing but UPSERTs.
    const source = await adapterSource();
    const actions = [...source.matchAll(/\bAction:\s*'([A-Z]+)'/g)].map((m) => m[1]);
    expect(new Set(actions)).toEqual(new Set(['UPSERT']));
  });

  it("matches the adapter's own list of actions and docs/adapters.md", async () => {
    const called = await actionsCalled();
    const source = await adapterSource();
    const union = /export type Route53Action =([^;]+);/.exec(source)?.[1] ?? '';
    const declared = [...union.matchAll(/'([A-Za-z0-9]+)'/g)].map((m) => `route53:${m[1]}`).sort();
    expect(declared).toEqual(called);

    const doc = await readFile(join(ROOT, 'docs/adapters.md'), 'utf8');
    const paragraph = doc.slice(
      doc.indexOf('IAM actions:'),
      doc.indexOf('\n\n', doc.indexOf('IAM actions:')),
    );
    const documented = [...paragraph.matchAll(/`(route53:[A-Za-z0-9]+)`/g)].map((m) => m[1]!).sort();
    expect(documented).toEqual(called);
  });
});
