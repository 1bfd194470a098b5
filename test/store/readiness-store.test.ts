/**
 * The readiness store on a real Redis: a change of verdict posts once however many workers record it at the same
 * time, recovery posts once, a site that stays red is reminded at most once a day (FakeClock), and an evaluation
 * older than the one stored changes nothing.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReadinessEvaluation } from '../../src/core/readiness/readiness-types.js';
import { keyPrefixesOf } from '../../src/store/keys.js';
import { READINESS_REMINDER_EVERY_MS, ReadinessStore } from '../../src/store/readiness-store.js';
import { startRedis } from '../../lab/processes/processes.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { FakeClock } from '../support/fake-clock.js';

let redis: RedisProcess;
const connections: Redis[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const c of connections) c.disconnect();
  await redis?.stop();
});

/** One worker's store: its own connection, the deployment's prefix. */
function worker(prefix: string): ReadinessStore {
  const connection = new Redis(redis.url);
  connections.push(connection);
  return new ReadinessStore(connection, prefix);
}

function evaluation(site: string, at: number, ready: boolean): ReadinessEvaluation {
  return {
    site,
    at,
    durationMs: 12,
    from: 'east',
    to: 'west',
    ready,
    checks: [
      ready
        ? { id: 'target-database', status: 'passed', detail: 'west: standby streaming from east, 0 B behind' }
        : { id: 'target-database', status: 'failed', detail: 'west lag 3.2 MiB > 1 MiB' },
    ],
    problems: ready ? [] : ['west lag 3.2 MiB > 1 MiB'],
  };
}

const outcomeOf = async (store: ReadinessStore, e: ReadinessEvaluation) => (await store.record(e)).outcome;

const prefix = () => keyPrefixesOf(`t${randomUUID().slice(0, 8)}`).store;

describe('readiness store', () => {
  it('posts a change of verdict once when two workers record it at the same time', async () => {
    const p = prefix();
    const [a, b] = [worker(p), worker(p)];
    const clock = new FakeClock();
    for (let i = 0; i < 20; i += 1) {
      const site = `site-${i}`;
      // Both workers saw the site green, then both find it red in the same pass.
      await outcomeOf(a, evaluation(site, clock.now(), true));
      const at = clock.now() + 60_000;
      const outcomes = await Promise.all([
        outcomeOf(a, evaluation(site, at, false)),
        outcomeOf(b, evaluation(site, at, false)),
      ]);
      expect(outcomes.filter((o) => o === 'unready')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'none')).toHaveLength(1);
    }
  });

  it('posts recovery once, and says nothing while the verdict holds', async () => {
    const p = prefix();
    const [a, b] = [worker(p), worker(p)];
    const clock = new FakeClock();
    expect(await outcomeOf(a, evaluation('production', clock.now(), false))).toBe('unready');
    await clock.advance(600_000);
    expect(await outcomeOf(b, evaluation('production', clock.now(), false))).toBe('none');
    await clock.advance(600_000);
    const at = clock.now();
    const outcomes = await Promise.all([
      outcomeOf(a, evaluation('production', at, true)),
      outcomeOf(b, evaluation('production', at, true)),
    ]);
    expect(outcomes.sort()).toEqual(['none', 'recovered']);
    await clock.advance(600_000);
    expect(await outcomeOf(a, evaluation('production', clock.now(), true))).toBe('none');
    expect((await a.last('production'))?.posted).toEqual({ ready: true, at });
    expect((await a.last('production'))?.redSince).toBeUndefined();
  });

  it('stays quiet on a first green evaluation, and posts a first red one', async () => {
    const p = prefix();
    const a = worker(p);
    expect(await outcomeOf(a, evaluation('green', 1000, true))).toBe('none');
    expect(await outcomeOf(a, evaluation('red', 1000, false))).toBe('unready');
  });

  it('reminds a site that stays red once a day, never more often', async () => {
    const p = prefix();
    const [a, b] = [worker(p), worker(p)];
    const clock = new FakeClock();
    const tenMinutes = 600_000;
    const outcomes: string[] = [];
    // Two days and a bit of evaluations every ten minutes, alternating workers.
    for (let i = 0; i <= (2 * READINESS_REMINDER_EVERY_MS) / tenMinutes + 3; i += 1) {
      const store = i % 2 ? a : b;
      outcomes.push(await outcomeOf(store, evaluation('production', clock.now(), false)));
      await clock.advance(tenMinutes);
    }
    expect(outcomes[0]).toBe('unready');
    const reminders = outcomes.flatMap((o, i) => (o === 'reminder' ? [i] : []));
    // Exactly 24 h apart: the 144th and 288th evaluation.
    expect(reminders).toEqual([144, 288]);
  });

  it('ignores an evaluation that started before the stored one, even when it finished after it', async () => {
    const p = prefix();
    const a = worker(p);
    expect(await outcomeOf(a, evaluation('production', 1000, true))).toBe('none');
    // A slow evaluation started at 1100 (read the world before it broke) and finishes at 1900; a quick one started
    // at 1500 saw the break and finished first, at 1600.
    expect(await outcomeOf(a, { ...evaluation('production', 1600, false), durationMs: 100 })).toBe('unready');
    expect(await outcomeOf(a, { ...evaluation('production', 1900, true), durationMs: 800 })).toBe('stale');
    expect((await a.last('production'))?.evaluation.ready).toBe(false);
  });

  it('ignores an evaluation older than the stored one (a slow worker finishing late)', async () => {
    const p = prefix();
    const a = worker(p);
    expect(await outcomeOf(a, evaluation('production', 2000, false))).toBe('unready');
    expect(await outcomeOf(a, evaluation('production', 1000, true))).toBe('stale');
    expect((await a.last('production'))?.evaluation.ready).toBe(false);
  });

  it('claims each site once per interval across workers', async () => {
    const p = prefix();
    const [a, b] = [worker(p), worker(p)];
    const t0 = new FakeClock().now();
    const claims = await Promise.all([
      a.claimEvaluation('production', t0, 60_000),
      b.claimEvaluation('production', t0, 60_000),
    ]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await a.claimEvaluation('production', t0 + 59_999, 60_000)).toBe(false);
    expect(await b.claimEvaluation('production', t0 + 60_000, 60_000)).toBe(true);
  });
});
