/**
 * Baton's own alert rules (manifests/monitoring/baton-alerts.yaml) in the real promtool: the PrometheusRule's groups
 * become a rules file that `promtool check rules` accepts, and `promtool test rules` feeds them series shaped like
 * Baton's /metrics to prove each alert fires when it should, with the labels Alertmanager will route on, and stays
 * quiet otherwise.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { MANIFESTS, parseObjects } from './support.js';

const run = promisify(execFile);

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

const PROMTOOL_MISSING =
  'promtool is not installed; it comes with Prometheus: apt-get install -y --no-install-recommends prometheus ' +
  '(.ci/run installs it).';

async function promtool(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run('promtool', args);
    return { stdout, stderr, code: 0 };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(PROMTOOL_MISSING);
    const failed = error as { stdout?: string; stderr?: string; code?: number };
    return { stdout: failed.stdout ?? '', stderr: failed.stderr ?? '', code: failed.code ?? 1 };
  }
}

describe('baton-alerts.yaml in promtool', () => {
  let dir: string;
  let rules: Rule[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'baton-alerts-'));
    const [rule] = parseObjects(
      await readFile(join(MANIFESTS, 'monitoring/baton-alerts.yaml'), 'utf8'),
      'alerts',
    );
    expect(rule?.kind).toBe('PrometheusRule');
    const groups = (rule?.spec as { groups: { name: string; rules: Rule[] }[] }).groups;
    rules = groups.flatMap((g) => g.rules);
    await writeFile(join(dir, 'rules.yaml'), stringify({ groups }));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const annotations = (name: string, value?: string) => {
    const rule = rules.find((r) => r.alert === name);
    if (!rule) throw new Error(`no rule ${name}`);
    return Object.fromEntries(
      Object.entries(rule.annotations).map(([k, v]) => [k, v.replaceAll('{{ $value }}', value ?? '')]),
    );
  };

  it('the contract alerts, with their severities and durations', () => {
    expect(rules.map((r) => [r.alert, r.for, r.labels.severity])).toEqual([
      ['BatonNoWorker', '2m', 'critical'],
      ['BatonNotifyBacklog', '5m', 'warning'],
      ['BatonRunPaused', '1m', 'critical'],
      ['BatonFenceDebt', '1m', 'critical'],
      ['BatonSiteNotReady', '15m', 'warning'],
    ]);
  });

  it('promtool check rules accepts them', async () => {
    const result = await promtool(['check', 'rules', join(dir, 'rules.yaml')]);
    expect(result.stderr + result.stdout).toMatch(/SUCCESS: 5 rules found/);
    expect(result.code).toBe(0);
  });

  it('promtool test rules: each fires when it should and not before', async () => {
    const runs = 'baton_queue_workers{job="baton", queue="runs"';
    const tests = [
      {
        // Workers vanish at 2m: pending, then firing 2m later. The max() form carries only the rule's labels.
        interval: '30s',
        input_series: [
          { series: `${runs}, instance="web-0"}`, values: '1x3 0x20' },
          { series: `${runs}, instance="worker-0"}`, values: '1x3 0x20' },
        ],
        alert_rule_test: [
          { eval_time: '3m', alertname: 'BatonNoWorker', exp_alerts: [] },
          {
            eval_time: '5m',
            alertname: 'BatonNoWorker',
            exp_alerts: [
              { exp_labels: { severity: 'critical' }, exp_annotations: annotations('BatonNoWorker') },
            ],
          },
        ],
      },
      {
        // No Baton is scraped at all: absent() fires, labelled from its matchers.
        interval: '30s',
        input_series: [{ series: 'up{job="other"}', values: '1x20' }],
        alert_rule_test: [
          { eval_time: '1m', alertname: 'BatonNoWorker', exp_alerts: [] },
          {
            eval_time: '3m',
            alertname: 'BatonNoWorker',
            exp_alerts: [
              {
                exp_labels: { severity: 'critical', job: 'baton', queue: 'runs' },
                exp_annotations: annotations('BatonNoWorker'),
              },
            ],
          },
        ],
      },
      {
        // One pod still sees a worker: no alert.
        interval: '30s',
        input_series: [
          { series: `${runs}, instance="web-0"}`, values: '0x20' },
          { series: `${runs}, instance="worker-0"}`, values: '1x20' },
        ],
        alert_rule_test: [{ eval_time: '8m', alertname: 'BatonNoWorker', exp_alerts: [] }],
      },
      {
        interval: '30s',
        input_series: [
          {
            series: 'baton_queue_jobs{job="baton", queue="notify", state="waiting", instance="a"}',
            values: '51x20',
          },
          {
            series: 'baton_queue_jobs{job="baton", queue="notify", state="active", instance="a"}',
            values: '99x20',
          },
        ],
        alert_rule_test: [
          { eval_time: '4m', alertname: 'BatonNotifyBacklog', exp_alerts: [] },
          {
            eval_time: '6m',
            alertname: 'BatonNotifyBacklog',
            exp_alerts: [
              {
                exp_labels: { severity: 'warning' },
                exp_annotations: annotations('BatonNotifyBacklog', '51'),
              },
            ],
          },
        ],
      },
      {
        interval: '30s',
        input_series: [
          {
            series: 'baton_queue_jobs{job="baton", queue="notify", state="waiting", instance="a"}',
            values: '50x20',
          },
        ],
        alert_rule_test: [{ eval_time: '8m', alertname: 'BatonNotifyBacklog', exp_alerts: [] }],
      },
      {
        // A run pauses at 1m.
        interval: '30s',
        input_series: [
          { series: 'baton_runs_in_state{job="baton", state="paused", instance="a"}', values: '0x1 1x10' },
          { series: 'baton_runs_in_state{job="baton", state="running", instance="a"}', values: '1x12' },
        ],
        alert_rule_test: [
          { eval_time: '1m30s', alertname: 'BatonRunPaused', exp_alerts: [] },
          {
            eval_time: '3m',
            alertname: 'BatonRunPaused',
            exp_alerts: [
              { exp_labels: { severity: 'critical' }, exp_annotations: annotations('BatonRunPaused') },
            ],
          },
        ],
      },
      {
        // Both web and worker pods report the gauge; a debt opens at 1m on production, never on shop.
        interval: '30s',
        input_series: [
          { series: 'baton_fence_debt{job="baton", site="production", instance="a"}', values: '0x1 1x10' },
          { series: 'baton_fence_debt{job="baton", site="production", instance="b"}', values: '0x1 1x10' },
          { series: 'baton_fence_debt{job="baton", site="shop", instance="a"}', values: '0x12' },
        ],
        alert_rule_test: [
          { eval_time: '1m30s', alertname: 'BatonFenceDebt', exp_alerts: [] },
          {
            eval_time: '3m',
            alertname: 'BatonFenceDebt',
            exp_alerts: [
              {
                exp_labels: { severity: 'critical', site: 'production' },
                exp_annotations: Object.fromEntries(
                  Object.entries(annotations('BatonFenceDebt')).map(([k, v]) => [
                    k,
                    v.replaceAll('{{ $labels.site }}', 'production'),
                  ]),
                ),
              },
            ],
          },
        ],
      },
      {
        // Readiness turns red at 1m on production and stays so; shop flaps back within 15m: no alert for it.
        interval: '1m',
        input_series: [
          { series: 'baton_site_ready{job="baton", site="production", instance="a"}', values: '1x1 0x30' },
          { series: 'baton_site_ready{job="baton", site="production", instance="b"}', values: '1x1 0x30' },
          { series: 'baton_site_ready{job="baton", site="shop", instance="a"}', values: '1x1 0x10 1x20' },
        ],
        alert_rule_test: [
          { eval_time: '10m', alertname: 'BatonSiteNotReady', exp_alerts: [] },
          {
            eval_time: '20m',
            alertname: 'BatonSiteNotReady',
            exp_alerts: [
              {
                exp_labels: { severity: 'warning', site: 'production' },
                exp_annotations: Object.fromEntries(
                  Object.entries(annotations('BatonSiteNotReady')).map(([k, v]) => [
                    k,
                    v.replaceAll('{{ $labels.site }}', 'production'),
                  ]),
                ),
              },
            ],
          },
        ],
      },
    ];
    const file = join(dir, 'tests.yaml');
    await writeFile(file, stringify({ rule_files: ['rules.yaml'], evaluation_interval: '30s', tests }));
    const result = await promtool(['test', 'rules', file]);
    expect(result.stderr + result.stdout).toMatch(/SUCCESS/);
    expect(result.code).toBe(0);
  });
});
