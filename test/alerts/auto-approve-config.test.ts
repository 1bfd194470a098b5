import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { witnessFor } from '../../src/alerts/auto-approve.js';
import { parseTopology } from '../../src/config/topology.js';
import { EXAMPLE_TOPOLOGY } from '../../lab/sandbox/start-lab.js';
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
        autoApprove: { afterMs: 300_000, witness: { probes: 3 } },
      },
      { match: { alertname: 'PassiveClusterDown' }, action: 'notify' },
    ]);
  });

  it('refuses it on a notify rule, a bad duration, unknown fields, and a period the proposal would not outlive', async () => {
    const result = await withRules(`
      - { match: { alertname: A }, action: notify, autoApprove: { after: 5m } }
      - { match: { alertname: B }, action: propose-failover, autoApprove: { after: soon } }
      - { match: { alertname: C }, action: propose-failover, autoApprove: { after: 1m, quorum: 2 } }`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      "sites[0].alerts[0].autoApprove: only a propose-failover rule can auto-approve (this rule's action is notify)",
      'sites[0].alerts[1].autoApprove.after: "soon" is not a duration: use a number and a unit (ms, s, m, h), e.g. 90s, 15m or 1h30m',
      'sites[0].alerts[2].autoApprove.quorum: unknown field',
    ]);
    const late = await withRules(`
      - { match: { alertname: A }, action: propose-failover, autoApprove: { after: 15m } }`);
    expect(late.ok ? [] : late.problems).toEqual([
      'sites[0].alerts[0].autoApprove.after: 15m is not shorter than approvals.expiresAfter (15m): the proposal would expire before it is auto-approved',
    ]);
  });

  it('reads the witness: how many probes, and an optional Prometheus query from a second vantage point', async () => {
    const result = await withRules(`
      - { match: { alertname: ActiveClusterDown }, action: propose-failover, autoApprove: { after: 5m, witness: { probes: 5, prometheus: { url: "http://prometheus.witness.example:9090/", query: 'max_over_time(up{job="cluster-health", site="$site", cluster="$cluster"}[5m])', timeout: 2s } } } }
      - { match: { alertname: Other }, action: propose-failover, autoApprove: { after: 2m, witness: { prometheus: { url: "https://witness.example/prometheus", query: 'probe_success{cluster="$cluster"}' } } } }`);
    expect(result.ok ? result.topology.sites[0]?.alerts.map((r) => r.autoApprove) : result.problems).toEqual([
      {
        afterMs: 300_000,
        witness: {
          probes: 5,
          prometheus: {
            url: 'http://prometheus.witness.example:9090/',
            query: 'max_over_time(up{job="cluster-health", site="$site", cluster="$cluster"}[5m])',
            timeoutMs: 2_000,
          },
        },
      },
      {
        afterMs: 120_000,
        witness: {
          probes: 3,
          prometheus: {
            url: 'https://witness.example/prometheus',
            query: 'probe_success{cluster="$cluster"}',
            timeoutMs: 5_000,
          },
        },
      },
    ]);
  });

  it('refuses a witness of one probe, a Prometheus that is not an http URL, a query that does not name the serving cluster, and a timeout longer than a pass can wait', async () => {
    const result = await withRules(`
      - { match: { alertname: A }, action: propose-failover, autoApprove: { after: 5m, witness: { probes: 1 } } }
      - { match: { alertname: B }, action: propose-failover, autoApprove: { after: 5m, witness: { probes: 2.5 } } }
      - { match: { alertname: C }, action: propose-failover, autoApprove: { after: 5m, witness: { prometheus: { url: "prometheus:9090", query: 'up{cluster="$cluster"}' } } } }
      - { match: { alertname: D }, action: propose-failover, autoApprove: { after: 5m, witness: { prometheus: { url: "http://p:9090", query: 'up{job="east-health"}' } } } }
      - { match: { alertname: E }, action: propose-failover, autoApprove: { after: 5m, witness: { prometheus: { url: "http://p:9090", query: 'up{cluster="$cluster"}', timeout: 1m } } } }
      - { match: { alertname: F }, action: propose-failover, autoApprove: { after: 5m, witness: { prometheus: { url: "http://p:9090" }, votes: 2 } } }`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      'sites[0].alerts[0].autoApprove.witness.probes: must be at least 2: one probe cannot tell an outage from a blip or from Baton being cut off',
      'sites[0].alerts[1].autoApprove.witness.probes: expected an integer, got 2.5',
      'sites[0].alerts[2].autoApprove.witness.prometheus.url: must be an http:// or https:// URL',
      'sites[0].alerts[3].autoApprove.witness.prometheus.query: must name the serving cluster as $cluster, e.g. up{job="cluster-health", cluster="$cluster"}: a query about one fixed cluster would still say "down" after traffic moved away from it',
      'sites[0].alerts[4].autoApprove.witness.prometheus.timeout: 1m is longer than 30s; a pass waits for Prometheus, so keep it short',
      'sites[0].alerts[5].autoApprove.witness.prometheus.query: required',
      'sites[0].alerts[5].autoApprove.witness.votes: unknown field',
    ]);
  });
});

describe('witnessFor', () => {
  it('answers with the witness of the rules with the proposal’s quiet period, the strictest where several apply', async () => {
    const prometheus = (job: string) =>
      `prometheus: { url: "http://p:9090", query: 'up{job="${job}", cluster="$cluster"}' }`;
    const result = await withRules(`
      - { match: { alertname: A }, action: propose-failover, autoApprove: { after: 5m, witness: { probes: 4 } } }
      - { match: { alertname: B }, action: propose-failover, autoApprove: { after: 5m, witness: { ${prometheus('b')} } } }
      - { match: { alertname: C }, action: propose-failover, autoApprove: { after: 2m, witness: { probes: 9, ${prometheus('c')} } } }
      - { match: { alertname: D }, action: propose-failover }`);
    if (!result.ok) throw new Error(result.problems.join('\n'));
    const site = result.topology.sites[0];
    if (!site) throw new Error('no site');
    const query = (job: string) => ({
      url: 'http://p:9090',
      query: `up{job="${job}", cluster="$cluster"}`,
      timeoutMs: 5_000,
    });
    expect(witnessFor(site, 300_000)).toEqual({ probes: 4, prometheus: [query('b')] });
    expect(witnessFor(site, 120_000)).toEqual({ probes: 9, prometheus: [query('c')] });
    // A period no rule has any more (the configuration changed): every rule's witness applies.
    expect(witnessFor(site, 60_000)).toEqual({ probes: 9, prometheus: [query('b'), query('c')] });
    // Auto-approval turned off since: nothing approves.
    expect(witnessFor({ ...site, alerts: site.alerts.slice(3) }, 300_000)).toBeUndefined();
  });
});
