/**
 * Fence debt, end to end: east dies mid-partition (its database SIGKILLed, its Kubernetes API cut off), the alert's
 * failover promotes west and cannot fence east, and a debt opens. The partition heals and east's PostgreSQL restarts —
 * as a primary, writable, as a crashed primary does. Within seconds the incident channel says "east is back and
 * writable", Baton fences it (read-only, workloads to standby size) and says "east fenced". Failback is refused while
 * the debt is open. Real Redis, real PostgreSQL, the Slack stand-in, Bolt and the worker role.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startRedis } from '../../lab/processes/processes.js';
import { query } from '../../lab/postgres/postgres-pair.js';
import { FenceDebtStore } from '../../src/store/fence-debts.js';
import { ACTION_IDS } from '../../src/slack/action-ids.js';
import { waitFor, waitForState } from '../support/integration.js';
import type { RealDatabase } from '../support/real-database.js';
import { startRealDatabase } from '../support/real-database.js';
import type { SlackHarness } from '../support/slack-harness.js';
import { CHANNEL, USERS, startSlackHarness } from '../support/slack-harness.js';

let redis: RedisProcess;
let rd: RealDatabase | null = null;
let h: SlackHarness | null = null;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});
afterEach(async () => {
  await h?.close();
  await rd?.stop();
  h = null;
  rd = null;
});

const channelText = (harness: SlackHarness): string[] =>
  harness.slack.messages(CHANNEL).map((m) => [m.text, ...m.edits.map((e) => e.text)].join('\n'));

describe('fence debt', () => {
  it('an old primary that restarts as a primary after the partition heals is fenced within seconds, and said so', async () => {
    rd = await startRealDatabase();
    const db = rd;
    h = await startSlackHarness(redis.url, { ports: db.ports });
    const harness = h;
    await query(db.roleUrl(db.east, 'app'), 'INSERT INTO ledger VALUES (1, 0)');
    await db.settle();
    // East's HPA keeps at least 3 pods: paying the debt must lower it, or it would scale east straight back up.
    await db.world.change((s) => {
      const hpa = { namespace: 'default', name: 'web-hpa', target: 'default/Deployment/web', heldFrom: null };
      if (s.clusters.east)
        s.clusters.east.autoscalers = { 'default/web-hpa': { ...hpa, minReplicas: 3, maxReplicas: 10 } };
    });

    // The partition: east's database dies, its Kubernetes API does not answer.
    await db.east.kill();
    await db.world.change((s) => {
      if (s.clusters.east) s.clusters.east.reachable = false;
    });
    await harness.command(USERS.dave, '/failover', 'production east is gone');
    const run = await waitFor('the proposal', () => harness.latestRun().then((r) => r ?? undefined));
    await harness.click(USERS.alice, ACTION_IDS.approve, run.id);
    const done = await waitForState(harness.web.store, run.id, ['succeeded', 'paused', 'failed'], 60_000);
    expect(done.state, done.stateReason).toBe('succeeded');

    const debts = new FenceDebtStore(harness.redis, harness.prefixes.store);
    expect(await debts.get('production')).toMatchObject({
      cluster: 'east',
      runId: run.id,
      database: true,
      workloads: true,
    });

    // /failover status shows what east owes.
    const status = await harness.command(USERS.dave, '/failover', 'status');
    expect(status.text).toMatch(
      /Fence debt:\* east still owes its database read-only and its workloads at standby size/,
    );

    // Failback is refused while east owes its fence.
    const failback = await harness.command(USERS.dave, '/failback', 'production');
    const refusal = await waitFor('the failback refusal', async () =>
      harness.answers(failback.responseUrlId).find((text) => /fence debt/.test(text)),
    );
    expect(refusal).toMatch(/east still owes its fence/);

    // The partition heals: east's PostgreSQL comes back from the crash as a primary, writable.
    await db.world.change((s) => {
      if (s.clusters.east) s.clusters.east.reachable = true;
    });
    await db.east.start();
    const answeredAt = Date.now();
    expect(await db.db.status(db.site, 'east')).toMatchObject({ inRecovery: false });

    const back = await waitFor(
      '"east is back and writable" in the channel',
      async () =>
        channelText(harness).some((t) => /east is back and writable/.test(t)) ? Date.now() : undefined,
      20_000,
    );
    await waitFor(
      '"east fenced" in the channel',
      async () => (channelText(harness).some((t) => /east fenced/.test(t)) ? true : undefined),
      20_000,
    );
    // How soon is a benchmark's question (speed is never asserted in a test); the wait's deadline above bounds it.
    console.log(`east answered → "back and writable" in the channel: ${back - answeredAt} ms`);

    expect(await db.db.status(db.site, 'east')).toMatchObject({ inRecovery: false, readOnly: true });
    const web = db.site.workloads[0];
    if (!web) throw new Error('the example has a workload');
    expect(await db.world.ports.cluster.getWorkload(db.site, 'east', web)).toMatchObject({ replicas: 1 });
    expect((await db.world.state()).clusters.east?.autoscalers?.['default/web-hpa']).toMatchObject({
      minReplicas: 1,
      maxReplicas: 10,
      heldFrom: { minReplicas: 3, maxReplicas: 10 },
    });
    expect(await debts.get('production')).toBeNull();
    const audit = (await harness.web.store.audit(10_000)).map((e) => e.action);
    expect(audit).toEqual(expect.arrayContaining(['fence-debt-opened', 'fence-debt-paid']));
  });
});
