import { describe, expect, it } from 'vitest';
import type { WebhookAlert } from '../../src/alerts/alertmanager-payload.js';
import { compileRule, routeAlerts } from '../../src/alerts/match-alerts.js';
import type { AlertRule, Topology } from '../../src/config/topology.js';
import { exampleSite, exampleTopology } from '../support/core-fixtures.js';

const alert = (labels: Record<string, string>, status: WebhookAlert['status'] = 'firing'): WebhookAlert => ({
  status,
  labels,
  annotations: {},
  startsAt: 1_700_000_000_000,
  generatorURL: '',
  fingerprint: Object.values(labels).join('-'),
});

const rule = (r: Partial<AlertRule>): AlertRule => ({ match: {}, action: 'notify', ...r });

describe('compileRule', () => {
  it('equality: every listed label must be equal; a missing label is the empty string', () => {
    const r = compileRule(rule({ match: { alertname: 'ActiveClusterDown', site: '' } }), 0);
    expect(r.matches({ alertname: 'ActiveClusterDown' })).toBe(true);
    expect(r.matches({ alertname: 'ActiveClusterDown', site: 'x' })).toBe(false);
    expect(r.matches({ alertname: 'ActiveClusterDownish' })).toBe(false);
  });

  it('regexes are anchored at both ends, as Alertmanager anchors them', () => {
    const r = compileRule(rule({ matchRe: { alertname: 'Active.*Down', cluster: 'east|west' } }), 0);
    expect(r.matches({ alertname: 'ActiveClusterDown', cluster: 'east' })).toBe(true);
    expect(r.matches({ alertname: 'ActiveClusterDown', cluster: 'eastern' })).toBe(false);
    expect(r.matches({ alertname: 'NotActiveClusterDown', cluster: 'west' })).toBe(false);
    expect(r.matches({ alertname: 'ActiveClusterDown' })).toBe(false);
    expect(compileRule(rule({ matchRe: { team: '.*' } }), 0).matches({})).toBe(true);
  });

  it('ignores inherited properties of the label object', () => {
    const r = compileRule(rule({ match: { toString: 'x' } }), 0);
    expect(r.matches({})).toBe(false);
  });
});

describe('routeAlerts', () => {
  it('sorts the example topology’s alerts by action; others are left out', () => {
    const topology = exampleTopology();
    const { sites: routed, unmatched } = routeAlerts(topology, [
      alert({ alertname: 'ActiveClusterDown' }),
      alert({ alertname: 'PassiveClusterDown' }),
      alert({ alertname: 'DiskFull' }),
      alert({ alertname: 'ActiveClusterDown', instance: 'b' }, 'resolved'),
    ]);
    expect(unmatched).toBe(1);
    expect(routed).toHaveLength(1);
    expect(routed[0]?.site.name).toBe('production');
    expect(routed[0]?.propose.map((a) => a.fingerprint)).toEqual([
      'ActiveClusterDown',
      'ActiveClusterDown-b',
    ]);
    expect(routed[0]?.notify.map((a) => a.fingerprint)).toEqual(['PassiveClusterDown']);
    expect(routed[0]?.autoApproveAfterMs).toBeUndefined();
  });

  it('first matching rule wins, per site; an alert may concern several sites', () => {
    const base = exampleTopology();
    const site = exampleSite();
    const topology: Topology = {
      ...base,
      sites: [
        {
          ...site,
          name: 'shop',
          alerts: [
            rule({ match: { alertname: 'ActiveClusterDown' }, action: 'notify' }),
            rule({ match: { alertname: 'ActiveClusterDown' }, action: 'propose-failover' }),
          ],
        },
        {
          ...site,
          name: 'api',
          alerts: [
            rule({
              matchRe: { alertname: 'Active.*' },
              action: 'propose-failover',
              autoApprove: { afterMs: 300_000, witness: { probes: 3 } },
            }),
            rule({
              match: { alertname: 'ActiveClusterDown' },
              action: 'propose-failover',
              autoApprove: { afterMs: 60_000, witness: { probes: 3 } },
            }),
          ],
        },
        { ...site, name: 'quiet', alerts: [] },
      ],
    };
    const { sites: routed, unmatched } = routeAlerts(topology, [alert({ alertname: 'ActiveClusterDown' })]);
    expect(unmatched).toBe(0);
    expect(routed.map((r) => [r.site.name, r.propose.length, r.notify.length, r.autoApproveAfterMs])).toEqual(
      [
        ['shop', 0, 1, undefined],
        ['api', 1, 0, 300_000],
      ],
    );
  });

  it('auto-approval follows the shortest quiet period among firing alerts’ rules', () => {
    const site = exampleSite();
    const topology: Topology = {
      ...exampleTopology(),
      sites: [
        {
          ...site,
          alerts: [
            rule({
              match: { severity: 'critical' },
              action: 'propose-failover',
              autoApprove: { afterMs: 60_000, witness: { probes: 3 } },
            }),
            rule({
              match: { alertname: 'ActiveClusterDown' },
              action: 'propose-failover',
              autoApprove: { afterMs: 600_000, witness: { probes: 3 } },
            }),
          ],
        },
      ],
    };
    const { sites: routed } = routeAlerts(topology, [
      alert({ alertname: 'ActiveClusterDown' }),
      alert({ alertname: 'X', severity: 'critical' }, 'resolved'),
    ]);
    expect(routed[0]?.autoApproveAfterMs).toBe(600_000);
  });
});
