import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { labelsFingerprint, parseAlertmanagerPayload } from '../../src/alerts/alertmanager-payload.js';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;

const problemsOf = (body: unknown): string[] => {
  const result = parseAlertmanagerPayload(body);
  if (result.ok) throw new Error('expected the payload to be refused');
  return result.problems;
};

describe('parseAlertmanagerPayload', () => {
  it('reads a real firing notification: epoch times, no endsAt while firing, the fingerprint', () => {
    const result = parseAlertmanagerPayload(fixture('firing'));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { payload } = result;
    expect(payload).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'chatops',
      groupKey: '{}:{alertname="PostgresPrimaryDown", service="orders-db"}',
      truncatedAlerts: 0,
      externalURL: 'http://vm:9093',
    });
    expect(payload.alerts).toHaveLength(1);
    const [alert] = payload.alerts;
    expect(alert).toEqual({
      status: 'firing',
      labels: {
        alertname: 'PostgresPrimaryDown',
        cluster: 'eu-west-1',
        service: 'orders-db',
        severity: 'critical',
      },
      annotations: { runbook: 'failover', summary: 'Primary PostgreSQL down' },
      startsAt: Date.parse('2026-11-21T05:33:20.850Z'),
      generatorURL: 'http://prometheus.local/graph',
      fingerprint: 'bb9b47d157433b48',
    });
  });

  it('reads resolved alerts with their endsAt, and a notification from Prometheus', () => {
    const resolved = parseAlertmanagerPayload(fixture('resolved'));
    expect(resolved.ok && resolved.payload.alerts.map((a) => [a.status, a.endsAt])).toEqual([
      ['resolved', Date.parse('2026-11-21T05:33:31Z')],
      ['resolved', Date.parse('2026-11-21T05:33:31Z')],
    ]);
    const prometheus = parseAlertmanagerPayload(fixture('from-prometheus'));
    expect(prometheus.ok && prometheus.payload.alerts[0]?.labels.alertname).toBe('TargetDown');
  });

  it('computes a stable fingerprint when an old Alertmanager sends none', () => {
    const body = fixture('firing');
    const alerts = body.alerts as Record<string, unknown>[];
    delete alerts[0]?.fingerprint;
    const result = parseAlertmanagerPayload(body);
    const labels = {
      alertname: 'PostgresPrimaryDown',
      cluster: 'eu-west-1',
      service: 'orders-db',
      severity: 'critical',
    };
    expect(result.ok && result.payload.alerts[0]?.fingerprint).toBe(labelsFingerprint(labels));
    expect(labelsFingerprint({ b: '2', a: '1' })).toBe(labelsFingerprint({ a: '1', b: '2' }));
    expect(labelsFingerprint({ a: '1', b: '2' })).not.toBe(labelsFingerprint({ a: '12', b: '' }));
  });

  it('tolerates fields a newer Alertmanager may add', () => {
    const body = { ...fixture('firing'), newField: { x: 1 } };
    expect(parseAlertmanagerPayload(body).ok).toBe(true);
  });

  it('refuses other versions, saying which one it understands', () => {
    expect(problemsOf({ ...fixture('firing'), version: '3' })).toEqual([
      'version: Baton understands Alertmanager webhook payloads of version "4", got "3"',
    ]);
    expect(problemsOf({ ...fixture('firing'), version: undefined })[0]).toMatch(/^version: required/);
  });

  it('names the path of every broken field', () => {
    const body = fixture('firing');
    const alerts = body.alerts as Record<string, unknown>[];
    alerts.push({ ...alerts[0], labels: 'alertname=x', status: 'pending' });
    const problems = problemsOf({ ...body, groupKey: 7 });
    expect(problems).toContain('groupKey: Invalid input: expected string, received number');
    expect(problems.some((p) => p.startsWith('alerts[1].status:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('alerts[1].labels:'))).toBe(true);
  });

  it('refuses times it cannot read', () => {
    const body = fixture('firing');
    (body.alerts as Record<string, unknown>[])[0]!.startsAt = 'yesterday';
    expect(problemsOf(body)).toEqual([
      'alerts[0].startsAt: must be an RFC 3339 time after 1970, e.g. 2024-05-01T12:00:00Z, got "yesterday"',
    ]);
  });

  it('refuses what is not an object, and caps the problem list of a broken storm', () => {
    expect(problemsOf([])).toEqual(['(root): expected a JSON object (an Alertmanager webhook payload)']);
    expect(problemsOf(null)).toHaveLength(1);
    const alerts = Array.from({ length: 100 }, () => ({ status: 'firing' }));
    const problems = problemsOf({ ...fixture('firing'), alerts });
    expect(problems).toHaveLength(21);
    expect(problems.at(-1)).toMatch(/^… and \d+ more problems$/);
  });
});
