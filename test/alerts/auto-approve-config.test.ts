import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/config/topology.js';
import { EXAMPLE_TOPOLOGY } from '../../src/sandbox/lab.js';
import { DB_ENV } from '../support/integration.js';

const example = () => readFile(EXAMPLE_TOPOLOGY, 'utf8');
const withRules = async (rules: string) =>
  parseTopology(
    (await example()).replace(
      / {4}alerts:\n(?: {6}- .*\n)+/,
      `    alerts:\n${rules
        .trim()
        .split('\n')
        .map((line) => `      ${line.trim()}`)
        .join('\n')}\n`,
    ),
    DB_ENV,
  );

describe('topology: alerts[].autoApprove', () => {
  it('the example loads unchanged, with auto-approval off', async () => {
    const result = parseTopology(await example(), DB_ENV);
    expect(result.ok).toBe(true);
    if (result.ok)
      expect(result.topology.sites[0]?.alerts.every((r) => r.autoApprove === undefined)).toBe(true);
  });

  it('reads `after` as a duration on a propose-failover rule', async () => {
    const result = await withRules(`
      - { match: { alertname: ActiveClusterDown }, action: propose-failover, autoApprove: { after: 5m } }
      - { match: { alertname: PassiveClusterDown }, action: notify }`);
    expect(result.ok && result.topology.sites[0]?.alerts).toEqual([
      {
        match: { alertname: 'ActiveClusterDown' },
        action: 'propose-failover',
        autoApprove: { afterMs: 300_000 },
      },
      { match: { alertname: 'PassiveClusterDown' }, action: 'notify' },
    ]);
  });

  it('refuses it on a notify rule, a bad duration, unknown fields, and a period the proposal would not outlive', async () => {
    const result = await withRules(`
      - { match: { alertname: A }, action: notify, autoApprove: { after: 5m } }
      - { match: { alertname: B }, action: propose-failover, autoApprove: { after: soon } }
      - { match: { alertname: C }, action: propose-failover, autoApprove: { after: 1m, witness: false } }`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      "sites[0].alerts[0].autoApprove: only a propose-failover rule can auto-approve (this rule's action is notify)",
      'sites[0].alerts[1].autoApprove.after: "soon" is not a duration: use a number and a unit (ms, s, m, h), e.g. 90s, 15m or 1h30m',
      'sites[0].alerts[2].autoApprove.witness: unknown field',
    ]);
    const late = await withRules(`
      - { match: { alertname: A }, action: propose-failover, autoApprove: { after: 15m } }`);
    expect(late.ok ? [] : late.problems).toEqual([
      'sites[0].alerts[0].autoApprove.after: 15m is not shorter than approvals.expiresAfter (15m): the proposal would expire before it is auto-approved',
    ]);
  });
});
