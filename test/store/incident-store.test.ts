import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { WebhookAlert } from '../../src/alerts/alertmanager-payload.js';
import { IncidentStore } from '../../src/store/incidents/incident-store.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startRedis } from '../../lab/processes/processes.js';

const T = 1_700_000_000_000;
const firing = (fp: string, startsAt = T): WebhookAlert => ({
  status: 'firing',
  labels: { alertname: 'ActiveClusterDown', fp },
  annotations: {},
  startsAt,
  generatorURL: '',
  fingerprint: fp,
});
const resolved = (fp: string, endsAt: number, startsAt = T): WebhookAlert => ({
  ...firing(fp, startsAt),
  status: 'resolved',
  endsAt,
});
const opts = (overrides: Partial<Parameters<IncidentStore['recordRun']>[3]> = {}) => ({
  groupKey: 'g1',
  truncatedFiring: false,
  onlyIfKnown: false,
  now: T + 5_000,
  ...overrides,
});

let redis: RedisProcess;
let client: Redis;
let store: IncidentStore;

beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
});
afterAll(async () => {
  client.disconnect();
  await redis.stop();
});
beforeEach(() => {
  store = new IncidentStore(client, `t${randomUUID().slice(0, 8)}:`);
});

/** How many times Redis has run each command so far, those run by scripts included (INFO commandstats). */
async function commandCalls(): Promise<Map<string, number>> {
  const stats = await client.info('commandstats');
  return new Map(
    [...stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1] ?? '', Number(m[2])]),
  );
}

describe('IncidentStore.recordRun', () => {
  it('counts distinct alerts; repeats and duplicates change nothing', async () => {
    const first = await store.recordRun(
      'production',
      'r1',
      [firing('a'), firing('b')],
      opts({ summary: 'down' }),
    );
    expect(first).toMatchObject({ transition: 'firing', changed: true });
    expect(first?.state).toMatchObject({
      firing: 2,
      alerts: 2,
      episode: 1,
      firstStartsAt: T,
      summary: 'down',
    });
    expect(first?.state.pending).toBe(first?.state.version);
    const again = await store.recordRun('production', 'r1', [firing('b'), firing('a'), firing('a')], opts());
    expect(again).toMatchObject({ transition: 'none', changed: false });
    expect(again?.state).toMatchObject({ firing: 2, alerts: 2, version: first?.state.version });
    const more = await store.recordRun('production', 'r1', [firing('c')], opts());
    expect(more).toMatchObject({ transition: 'none', changed: true });
    expect(more?.state.firing).toBe(3);
  });

  it('resolves when the last alert resolves, with the newest endsAt; a newer episode fires again', async () => {
    await store.recordRun('production', 'r1', [firing('a'), firing('b')], opts());
    const one = await store.recordRun('production', 'r1', [resolved('a', T + 60_000)], opts());
    expect(one).toMatchObject({ transition: 'none', state: { firing: 1 } });
    const all = await store.recordRun(
      'production',
      'r1',
      [resolved('b', T + 90_000), resolved('a', T + 60_000)],
      opts(),
    );
    expect(all).toMatchObject({ transition: 'resolved', state: { firing: 0, resolvedAt: T + 90_000 } });
    await store.clearRunPending('r1', all?.state.pending ?? 0);
    expect((await store.runState('r1'))?.pending).toBeUndefined();

    const again = await store.recordRun(
      'production',
      'r1',
      [firing('a', T + 120_000)],
      opts({ now: T + 121_000 }),
    );
    expect(again).toMatchObject({
      transition: 'firing',
      state: { firing: 1, episode: 2, firingSince: T + 121_000 },
    });
    expect(again?.state.resolvedAt).toBeUndefined();
  });

  it('out of order: a late "firing" of the same episode does not undo its "resolved"', async () => {
    await store.recordRun('production', 'r1', [resolved('a', T + 60_000)], opts());
    const late = await store.recordRun('production', 'r1', [firing('a')], opts());
    expect(late).toMatchObject({ changed: false, state: { firing: 0, alerts: 1 } });
  });

  it('a truncated firing group keeps the incident firing until the group is seen whole', async () => {
    await store.recordRun('production', 'r1', [firing('a')], opts({ truncatedFiring: true }));
    const partial = await store.recordRun(
      'production',
      'r1',
      [resolved('a', T + 1)],
      opts({ truncatedFiring: true }),
    );
    expect(partial?.state.firing).toBe(1);
    const whole = await store.recordRun('production', 'r1', [resolved('a', T + 1)], opts());
    expect(whole).toMatchObject({ transition: 'resolved', state: { firing: 0 } });
  });

  it('a repeat of a group’s last notification is recognised by its digest and changes nothing', async () => {
    const alerts = [firing('a'), firing('b')];
    const first = await store.recordRun('production', 'r1', alerts, opts());
    const repeat = await store.recordRun('production', 'r1', alerts, opts());
    expect(repeat).toMatchObject({ changed: false, state: { version: first?.state.version, firing: 2 } });
    // Between two copies of a notification another one may have changed things; the copy still changes nothing.
    await store.recordRun('production', 'r1', [resolved('a', T + 9), firing('b')], opts());
    const stale = await store.recordRun('production', 'r1', alerts, opts());
    expect(stale).toMatchObject({ changed: false, state: { firing: 1 } });
    // Whether the list was cut is part of what a notification says.
    const cut = await store.recordRun('production', 'r1', alerts, opts({ truncatedFiring: true }));
    expect(cut).toMatchObject({ changed: true, state: { firing: 2 } });
  });

  it('onlyIfKnown drops alerts for a run without a record', async () => {
    expect(
      await store.recordRun('production', 'r9', [resolved('a', T + 1)], opts({ onlyIfKnown: true })),
    ).toBeNull();
    expect(await store.runState('r9')).toBeNull();
  });

  it('keeps the shortest auto-approval period, marks it pending once, and claims flags once', async () => {
    const set = await store.recordRun(
      'production',
      'r1',
      [firing('a')],
      opts({ autoApproveAfterMs: 300_000 }),
    );
    expect(set?.state.autoApproveAfterMs).toBe(300_000);
    await store.clearRunPending('r1', set?.state.pending ?? 0);
    const same = await store.recordRun(
      'production',
      'r1',
      [firing('a')],
      opts({ autoApproveAfterMs: 600_000 }),
    );
    expect(same).toMatchObject({ changed: false, state: { autoApproveAfterMs: 300_000 } });
    expect(same?.state.pending).toBeUndefined();
    expect(await store.claim('r1', 'auto-approval-notice')).toBe(true);
    expect(await store.claim('r1', 'auto-approval-notice')).toBe(false);
    expect((await store.runState('r1'))?.flags).toEqual(['auto-approval-notice']);
    expect(await store.claim('r404', 'x')).toBe(false);
  });

  it('20,000 alerts in one call', async () => {
    const alerts = Array.from({ length: 20_000 }, (_, i) => firing(`fp${i}`, T + i));
    // This Redis serves only this file's client, so its command counts are this test's. How fast the storm goes in
    // is bench/alertmanager-ingest.ts's business; here, that it is a few round trips and batched writes.
    const before = await commandCalls();
    const result = await store.recordRun('production', 'r1', alerts, opts());
    const after = await commandCalls();
    const calls = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    const total = (counts: Map<string, number>) => [...counts.values()].reduce((a, b) => a + b, 0);
    // A probe, then the packed alerts, each maybe loading its script first.
    expect(calls('evalsha') + calls('eval')).toBeLessThanOrEqual(4);
    // Not one command per alert, inside the script or out of it.
    expect(total(after) - total(before)).toBeLessThan(alerts.length / 100);
    expect(result?.state).toMatchObject({ firing: 20_000, alerts: 20_000, firstStartsAt: T });
  });
});

describe('IncidentStore.lastRun', () => {
  it('says whether firing alerts are new to the run that last received alerts', async () => {
    const group = { groupKey: 'g1', truncatedFiring: false };
    expect(await store.lastRun('production', [firing('a')], group)).toEqual({ hasNew: true });
    await store.recordRun('production', 'r1', [firing('a'), firing('b')], opts());
    // The same notification again (the fast path), and the same alerts in another order or group.
    expect(await store.lastRun('production', [firing('a'), firing('b')], group)).toEqual({
      runId: 'r1',
      hasNew: false,
    });
    expect(await store.lastRun('production', [firing('b'), firing('a')], group)).toEqual({
      runId: 'r1',
      hasNew: false,
    });
    expect(await store.lastRun('production', [firing('a')], { ...group, groupKey: 'g2' })).toEqual({
      runId: 'r1',
      hasNew: false,
    });
    expect(await store.lastRun('production', [firing('a'), firing('c')], group)).toEqual({
      runId: 'r1',
      hasNew: true,
    });
    expect(await store.lastRun('production', [firing('a', T + 1)], group)).toEqual({
      runId: 'r1',
      hasNew: true,
    });
    expect(await store.lastRun('production', [resolved('c', T + 1)], group)).toEqual({
      runId: 'r1',
      hasNew: false,
    });
    expect(await store.lastRun('staging', [firing('a')], group)).toEqual({ hasNew: true });
  });
});

describe('IncidentStore.recordNotice', () => {
  it('opens a notice on the first firing alert, closes it when all resolve, then opens a new one', async () => {
    expect(await store.recordNotice('production', [resolved('p', T + 1)], opts())).toBeNull();
    const opened = await store.recordNotice('production', [firing('p'), firing('q')], opts());
    expect(opened).toMatchObject({
      transition: 'firing',
      state: { id: '1', firing: 2, names: ['ActiveClusterDown'] },
    });
    const dup = await store.recordNotice('production', [firing('p')], opts());
    expect(dup).toMatchObject({ changed: false, state: { id: '1' } });
    const closed = await store.recordNotice(
      'production',
      [resolved('p', T + 5), resolved('q', T + 9)],
      opts(),
    );
    expect(closed).toMatchObject({
      transition: 'resolved',
      state: { id: '1', firing: 0, resolvedAt: T + 9 },
    });
    // The resolved copy from the other Alertmanager finds no open notice: nothing to change.
    expect(await store.recordNotice('production', [resolved('p', T + 5)], opts())).toBeNull();
    const next = await store.recordNotice('production', [firing('p', T + 100)], opts());
    expect(next?.state.id).toBe('2');
    expect((await store.noticeState('production', '1'))?.firing).toBe(0);
  });
});

describe('IncidentStore.recordProbe', () => {
  const GAP = 30_000;
  const probe = (at: number, ok: boolean, detail: string) =>
    store.recordProbe('r1', { createdAt: T - 60_000, at, ok, detail, maxGapMs: GAP });

  it('tallies the witness probes of the current quiet period: a success resets the run of failures, so does a gap', async () => {
    expect(await probe(T, false, 'connection refused')).toBeNull(); // no alert record: nothing to count against
    await store.recordRun('production', 'r1', [firing('a')], opts({ now: T }));

    expect((await probe(T + 1_000, false, 'connection refused'))?.probes).toEqual({
      since: T,
      total: 1,
      failed: 1,
      streak: 1,
      streakSince: T + 1_000,
      streakLast: T + 1_000,
      last: { at: T + 1_000, ok: false, detail: 'connection refused' },
    });
    await probe(T + 6_000, false, 'HTTP 503');
    expect((await store.runState('r1'))?.probes).toMatchObject({ total: 2, failed: 2, streak: 2 });

    // One answer resets the count.
    expect((await probe(T + 11_000, true, '200'))?.probes).toEqual({
      since: T,
      total: 3,
      failed: 2,
      streak: 0,
      lastOkAt: T + 11_000,
      last: { at: T + 11_000, ok: true, detail: '200' },
    });
    // A slow failure from another worker, begun before that answer, does not start a new run of failures.
    expect((await probe(T + 9_000, false, 'timeout after 3000 ms'))?.probes).toMatchObject({
      total: 4,
      failed: 3,
      streak: 0,
      last: { at: T + 11_000, ok: true },
    });
    await probe(T + 16_000, false, 'connection refused');
    // A success begun before the new run of failures does not end it.
    expect((await probe(T + 14_000, true, '200'))?.probes).toMatchObject({
      streak: 1,
      streakSince: T + 16_000,
      lastOkAt: T + 14_000,
      last: { at: T + 16_000, ok: false, detail: 'connection refused' },
    });
    await probe(T + 21_000, false, 'connection refused');
    // Nobody probed for longer than the gap: what happened meanwhile is unknown, so the count starts again.
    expect((await probe(T + 21_000 + GAP + 1, false, 'connection refused'))?.probes).toMatchObject({
      streak: 1,
      streakSince: T + 21_000 + GAP + 1,
    });
    // A probe begun before the quiet period does not count.
    expect((await probe(T - 1, false, 'connection refused'))?.probes?.total).toBe(8);

    // The alert resolves and fires again: a new quiet period, a new count.
    await store.recordRun('production', 'r1', [resolved('a', T + 100_000)], opts({ now: T + 100_000 }));
    await store.recordRun('production', 'r1', [firing('a', T + 200_000)], opts({ now: T + 200_000 }));
    expect((await probe(T + 150_000, false, 'connection refused'))?.probes).toMatchObject({
      since: T + 200_000,
      total: 0,
      streak: 0,
    });
    expect((await probe(T + 201_000, false, 'connection refused'))?.probes).toEqual({
      since: T + 200_000,
      total: 1,
      failed: 1,
      streak: 1,
      streakSince: T + 201_000,
      streakLast: T + 201_000,
      last: { at: T + 201_000, ok: false, detail: 'connection refused' },
    });
  });
});
