/**
 * An alert that wants a failover during the site's cooldown (real Redis, the run service and the notifier): no run
 * is proposed, the webhook still succeeds (so Alertmanager does not retry forever), and the incident channel gets one
 * message however many times the alert is delivered.
 */
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { parseAlertmanagerPayload } from '../../src/alerts/alertmanager-payload.js';
import type { WebhookPayload } from '../../src/alerts/alertmanager-payload.js';
import { buildCooldownNotice } from '../../src/alerts/alert-messages.js';
import { AlertIngest, cooldownMessageKey } from '../../src/alerts/ingest-alerts.js';
import { systemClock } from '../../src/core/clock.js';
import type { Actor } from '../../src/core/model.js';
import { SYSTEM_ACTOR } from '../../src/core/model.js';
import { transitionRun } from '../../src/core/runs/transition-run.js';
import { createLogger } from '../../src/logger.js';
import { NOTIFY_QUEUE } from '../../src/queue/notify/notify-jobs.js';
import { Notifier } from '../../src/queue/notify/notifier.js';
import { IncidentStore } from '../../src/store/incidents/incident-store.js';
import { ALICE, createHarness } from '../support/integration.js';
import { redisPerFile } from '../support/redis-per-file.js';

const MIN = 60_000;
const DAVE: Actor = { type: 'slack-user', id: 'U0DAVE', name: 'dave' };
const { redis, cleanups } = redisPerFile();

function firing(alertname: string, fingerprint: string): WebhookPayload {
  const parsed = parseAlertmanagerPayload({
    version: '4',
    receiver: 'baton',
    status: 'firing',
    groupKey: `{}:{alertname="${alertname}"}`,
    truncatedAlerts: 0,
    externalURL: 'http://alertmanager.example:9093',
    groupLabels: { alertname },
    commonLabels: { alertname },
    commonAnnotations: {},
    alerts: [
      {
        status: 'firing',
        labels: { alertname },
        annotations: { summary: 'flapping' },
        startsAt: new Date(Date.now() - MIN).toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus.example/graph',
        fingerprint,
      },
    ],
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  return parsed.payload;
}

describe('an alert during the cooldown', () => {
  it('proposes nothing and tells the incident channel once', async () => {
    const h = await createHarness(redis.url);
    cleanups.push(() => h.close());
    const log = createLogger({ level: 'silent' });
    const notifier = new Notifier({ connection: h.redis, prefix: h.bullPrefix, log, clock: systemClock });
    const notify = new Queue(NOTIFY_QUEUE, { connection: h.redis, prefix: h.bullPrefix });
    cleanups.push(() => Promise.all([notifier.close(), notify.close()]));
    const ingest = new AlertIngest({
      parts: { service: h.service, notifier },
      incidents: new IncidentStore(h.redis, h.storePrefix),
      topology: h.topology,
      clock: systemClock,
      log,
    });

    // A person's failover east → west succeeded two minutes ago.
    const { run } = await h.service.propose({ kind: 'failover', reason: 'east is down', actor: DAVE });
    await h.service.approve(run.id, ALICE);
    await h.store.mutate(
      run.id,
      (current) => {
        const at = Date.now() - 2 * MIN;
        const running = transitionRun(current, 'running', { at: at - MIN, actor: SYSTEM_ACTOR });
        return transitionRun(running, 'succeeded', { at, actor: SYSTEM_ACTOR });
      },
      () => ({ event: { type: 'run-succeeded', summary: 'west serves' }, actor: SYSTEM_ACTOR }),
    );

    const payload = firing('ActiveClusterDown', 'a1b2c3d4e5f60718');
    for (let delivery = 0; delivery < 3; delivery += 1) {
      const outcome = await ingest.ingest(payload);
      expect(outcome.sites).toEqual([
        { site: 'production', refused: { code: 'cooldown', until: expect.any(Number) as number } },
      ]);
    }
    expect(await h.service.openRun('production')).toBeNull();

    const key = cooldownMessageKey('production', run.id);
    const notices = (await notify.getJobs()).filter(
      (job) => job.name === 'status' && (job.data as { key: string }).key.startsWith('alert-cooldown:'),
    );
    expect(notices.map((job) => (job.data as { key: string }).key)).toEqual([key]);
  });
});

describe('buildCooldownNotice', () => {
  it('says what was not proposed, why, until when, and the commands; absolute times only', () => {
    const message = buildCooldownNotice({
      site: 'production',
      alertname: 'ActiveClusterDown',
      lastFailover: { runId: 'r12', to: 'west', finishedAt: Date.UTC(2025, 0, 1, 12, 0) },
      until: Date.UTC(2025, 0, 1, 12, 10),
    });
    expect(message.text).toBe(
      'Alert ActiveClusterDown firing for production: no failover proposed, production is in its cooldown after ' +
        'run r12 (until 2025-01-01T12:10:00Z).',
    );
    const shown = JSON.stringify(message.blocks);
    expect(shown).toContain('failed over to west at <!date^1735732800^');
    expect(shown).toContain('`/failback production`');
    expect(shown).toContain('`/failover production &lt;reason&gt; --force`');
  });
});
