/**
 * The sandbox page's alert controls, through its server as the browser calls it, against the real Alertmanager the
 * sandbox runs with manifests/monitoring/alertmanager.yaml: "Fire HighErrorRate (aborts a game day)" posts the
 * topology's drills.abortOn alert as Prometheus would, Alertmanager holds it and routes it to Baton, whose webhook
 * accepts the notification; the page lists it as fired from the page; "Resolve" sends it resolved, Alertmanager lets
 * it go and Baton hears that too. Only the abortOn alerts may be fired from the page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monitoringBinaries, MONITORING_INSTALL_HINT } from '../../lab/processes/monitoring.js';
import type { ConsoleServer } from '../../lab/sandbox/console/console-server.js';
import { startConsoleServer } from '../../lab/sandbox/console/console-server.js';
import type { Sandbox } from '../../lab/sandbox/stack.js';
import { startSandbox } from '../../lab/sandbox/stack.js';
import { createLogger } from '../../src/logger.js';
import { skipWhenMissing } from '../support/skip-when-missing.js';
import { waitFor } from '../support/integration.js';

const binaries = await monitoringBinaries();
const skip = skipWhenMissing(
  'the sandbox alert controls test',
  [!binaries.alertmanager && 'Alertmanager', !binaries.prometheus && 'Prometheus'].filter(
    (m): m is string => typeof m === 'string',
  ),
  MONITORING_INSTALL_HINT,
);

interface PageState {
  abortOn: string[];
  world: { alerts: { alertname: string; state: string; firedBy?: string }[] };
}

let sandbox: Sandbox;
let page: ConsoleServer;

beforeAll(async () => {
  if (skip) return;
  sandbox = await startSandbox({
    database: 'off',
    monitoring: 'required',
    podReadyAfterMs: 300,
    insyncAfterMs: 300,
  });
  page = await startConsoleServer(sandbox, { port: 0, log: createLogger({ level: 'silent' }) });
}, 90_000);
afterAll(async () => {
  await page?.close();
  await sandbox?.stop();
}, 60_000);

const state = async (): Promise<PageState> =>
  (await (await fetch(new URL('/api/state?user=U0DAVE', page.url))).json()) as PageState;

const post = (path: string, body: unknown) =>
  fetch(new URL(path, page.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** Alertmanager notifications Baton's webhook accepted (its own counter on /metrics). */
async function acceptedByBaton(): Promise<number> {
  const text = await (await fetch(`${sandbox.baton.url}/metrics`)).text();
  const line = /^baton_webhooks_total\{source="alertmanager",outcome="accepted"\} (\d+)/m.exec(text);
  return Number(line?.[1] ?? Number.NaN);
}

const held = async (alertname: string) =>
  (await sandbox.monitoring?.alertmanager.alerts())?.find((a) => a.labels.alertname === alertname);

describe.skipIf(skip)('the sandbox page fires the game-day abort alert through Alertmanager', () => {
  it('fires HighErrorRate: Alertmanager holds it for Baton, Baton accepts it; Resolve lets it go', async () => {
    expect((await state()).abortOn).toEqual(['HighErrorRate']);
    const before = await acceptedByBaton();
    expect(before).toBeGreaterThanOrEqual(0);

    expect((await post('/api/alert', { alertname: 'HighErrorRate', firing: true })).status).toBe(200);
    const alert = await waitFor('Alertmanager to hold HighErrorRate', () => held('HighErrorRate'), 10_000);
    expect(alert.receivers.map((r) => r.name)).toEqual(['baton']);
    expect(alert.status.state).toBe('active');
    expect(alert.labels).toEqual({ alertname: 'HighErrorRate', site: 'production', severity: 'critical' });
    // As Prometheus sends a firing alert: endsAt ahead (re-sent before it passes), a link to the rule's expression.
    expect(Date.parse(alert.endsAt)).toBeGreaterThan(Date.parse(alert.startsAt));
    expect(alert.generatorURL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/graph\?g0\.expr=.+&g0\.tab=1$/);
    const fired = await waitFor('Baton to accept the notification', async () => {
      const n = await acceptedByBaton();
      return n > before ? n : undefined;
    });
    await waitFor('the page to list it', async () =>
      (await state()).world.alerts.some((a) => a.alertname === 'HighErrorRate' && a.firedBy === 'sandbox'),
    );

    expect((await post('/api/alert', { alertname: 'HighErrorRate', firing: false })).status).toBe(200);
    await waitFor(
      'Alertmanager to let it go',
      async () => (await held('HighErrorRate')) === undefined,
      10_000,
    );
    // send_resolved: Baton hears that it resolved.
    await waitFor('Baton to accept the resolved notification', async () => (await acceptedByBaton()) > fired);
    expect((await state()).world.alerts.filter((a) => a.firedBy === 'sandbox')).toEqual([]);
  }, 60_000);

  it('fires only the alerts of drills.abortOn', async () => {
    const answer = await post('/api/alert', { alertname: 'ActiveClusterDown', firing: true });
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { error: string }).error).toBe(
      'alertname must be one of drills.abortOn: HighErrorRate',
    );
    expect(await held('ActiveClusterDown')).toBeUndefined();
  });
});
