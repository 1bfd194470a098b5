/**
 * The auto-approval witness's second vantage point against a real Prometheus process: it scrapes a target this test
 * controls (standing in for east, seen from a third location), and the witness agrees only when `up` is 0. Then the
 * whole policy: Baton is cut off from east (its own probes fail) while the third location still sees east up, so
 * nothing is approved until Prometheus sees east down too.
 */
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AutoApprovalOutcome } from '../../src/alerts/auto-approve.js';
import { queryPrometheusWitness } from '../../src/alerts/query-prometheus-witness.js';
import type { PrometheusWitnessConfig } from '../../src/config/topology.js';
import type { PrometheusProcess } from '../../lab/processes/monitoring.js';
import {
  MONITORING_INSTALL_HINT,
  monitoringBinaries,
  startPrometheus,
} from '../../lab/processes/monitoring.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startRedis } from '../../lab/processes/processes.js';
import { waitFor } from '../support/integration.js';
import { skipWhenMissing } from '../support/skip-when-missing.js';
import { QUIET_MS, setupAutoApproval } from '../alerts/auto-approve-setup.js';

const hasPrometheus = (await monitoringBinaries()).prometheus !== null;

/** What Prometheus scrapes for east: metrics while `up`, 503 otherwise (then Prometheus records `up` 0). */
interface Target {
  up: boolean;
  port: number;
  server: Server;
}

let redis: RedisProcess;
let target: Target;
let prometheus: PrometheusProcess;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  if (!hasPrometheus) return;
  redis = await startRedis();
  const state = { up: true };
  const server = createServer((_req, res) => {
    if (state.up)
      res.writeHead(200, { 'content-type': 'text/plain' }).end('# TYPE east_ready gauge\neast_ready 1\n');
    else res.writeHead(503).end('down\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  target = Object.assign(state, { server, port: (server.address() as AddressInfo).port });
  prometheus = await startPrometheus({
    config: {
      global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
      scrape_configs: [
        {
          job_name: 'cluster-health',
          static_configs: [
            { targets: [`127.0.0.1:${target.port}`], labels: { site: 'production', cluster: 'east' } },
          ],
        },
      ],
    },
  });
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});
afterAll(async () => {
  if (!hasPrometheus) return;
  await prometheus.stop();
  target.server.closeAllConnections();
  await new Promise((resolve) => target.server.close(resolve));
  await redis.stop();
});

const witnessConfig = (): PrometheusWitnessConfig => ({
  url: prometheus.url,
  query: 'up{job="cluster-health", site="$site", cluster="$cluster"}',
  timeoutMs: 2_000,
});
const ask = (cluster = 'east', config = witnessConfig()) =>
  queryPrometheusWitness(config, { site: 'production', cluster });

/** Sets east's target and waits until Prometheus' `up` says so. */
async function setTargetUp(up: boolean): Promise<void> {
  target.up = up;
  await waitFor(
    `Prometheus to scrape east as ${up ? 'up' : 'down'}`,
    async () => {
      const res = await fetch(
        `${prometheus.url}/api/v1/query?query=${encodeURIComponent('up{job="cluster-health"}')}`,
      );
      const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
      return body.data.result[0]?.value[1] === (up ? '1' : '0');
    },
    20_000,
    100,
  );
}

describe.skipIf(
  skipWhenMissing(
    'the real-Prometheus witness tests',
    hasPrometheus ? [] : ['Prometheus'],
    MONITORING_INSTALL_HINT,
  ),
)('auto-approval witness: a real Prometheus', () => {
  it('agrees only when every series of the query is 0; no data, a bad query or a 1 do not agree', async () => {
    await setTargetUp(true);
    expect(await ask()).toEqual({
      agrees: false,
      query: 'up{job="cluster-health", site="production", cluster="east"}',
      reason:
        'Prometheus does not agree: up{cluster="east", instance="127.0.0.1:' +
        `${target.port}", job="cluster-health", site="production"} is 1 (1 of 1 series not 0)`,
    });
    // Nothing scrapes west: no data is not "down".
    expect((await ask('west')).reason).toBe(
      'Prometheus returned no series: no data is no evidence that west is down',
    );
    const bad = await ask('east', { ...witnessConfig(), query: 'up{cluster="$cluster"' });
    expect(bad.agrees).toBe(false);
    expect(bad.reason).toMatch(/^Prometheus answered HTTP 400: bad_data: .*parse error/);

    await setTargetUp(false);
    expect(await ask()).toMatchObject({ agrees: true, reason: 'Prometheus agrees: 1 series, all 0' });
    // Over a window: down only if it was down for all of it, which it was not.
    const window = await ask('east', {
      ...witnessConfig(),
      query: 'max_over_time(up{job="cluster-health", cluster="$cluster"}[1m])',
    });
    expect(window).toMatchObject({ agrees: false });
    expect(window.reason).toMatch(/ is 1 \(1 of 1 series not 0\)$/);

    await setTargetUp(true);
    expect((await ask()).agrees).toBe(false);
  });

  it('Baton cut off from east is not enough: the policy waits until the third location sees east down too', async () => {
    await setTargetUp(true);
    const s = await setupAutoApproval(redis.url, cleanups, { probes: 3, prometheus: witnessConfig() });
    // Baton's own probes of east fail (a partition between Baton and east), from the proposal on.
    s.east.answer = 'drop';
    expect((await s.alert('firing')).status).toBe(200);
    const run = await waitFor('the proposal', async () => s.h.latestRun(), 10_000);
    await waitFor('the auto-approval notice', async () => (await s.replies(run.id)).length === 1, 10_000);
    expect((await s.replies(run.id))[0]).toMatch(/^Auto-approval is on for run/);

    const start = s.now();
    let outcome: AutoApprovalOutcome | undefined = await s.pass(run.id);
    while (s.now() - start < QUIET_MS + 1_000) {
      s.advance(20_000);
      outcome = await s.pass(run.id);
    }
    expect(outcome).toBe('withheld');
    await waitFor('the withheld reply', async () => (await s.replies(run.id)).length === 2, 10_000);
    expect((await s.replies(run.id))[1]).toBe(
      `Auto-approval withheld for run ${run.id}: Baton's own probes of east fail, but the second witness does ` +
        `not agree: Prometheus does not agree: up{cluster="east", instance="127.0.0.1:${target.port}", ` +
        `job="cluster-health", site="production"} is 1 (1 of 1 series not 0) ` +
        `(\`up{job="cluster-health", site="production", cluster="east"}\` at \`${prometheus.url}\`).`,
    );
    s.advance(5_000);
    expect(await s.pass(run.id)).toBe('withheld');
    expect((await s.h.web.store.require(run.id)).state).toBe('proposed');

    // Now the third location sees east down as well.
    await setTargetUp(false);
    s.advance(5_000);
    expect(await s.pass(run.id)).toBe('approved');
    expect((await s.h.web.store.require(run.id)).approvals.map((a) => a.actor.id)).toEqual(['auto-approval']);
    const approved = await waitFor(
      'the approved reply',
      async () =>
        s.h.slack
          .replies('C0INCIDENTS', (await s.h.runMessage(run.id)).ts)
          .find((m) => m.text.split('\n').includes(`Run ${run.id} approved by the auto-approval policy.`)),
      10_000,
    );
    expect(JSON.stringify(approved.blocks)).toContain('and Prometheus agrees: 1 series, all 0.');
  });
});
