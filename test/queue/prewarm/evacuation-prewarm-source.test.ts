/**
 * An evacuation site's pre-warm record in its own key, on a real Redis: saves are compare-and-set (two at once both
 * land, neither lost), each writes its audit entry, the table reads every site in one go, and once the approval has
 * handed the record to the site's run, pre-warm can change nothing more (a checkpoint it tries afterwards is
 * refused, so the change it guards is never made), while the give-back of a site that got no run is still written.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyPrefixes } from '../../../src/config/load-config.js';
import { systemClock } from '../../../src/core/clock.js';
import type { Prewarm } from '../../../src/core/prewarm/prewarm-record.js';
import { BatonError } from '../../../src/errors.js';
import {
  EvacuationReader,
  evacuationPrewarmSource,
} from '../../../src/queue/prewarm/evacuation-prewarm-source.js';
import { EvacuationStore } from '../../../src/store/evacuation-store.js';
import { RunStore } from '../../../src/store/run-store.js';
import { SitePrewarmStore } from '../../../src/store/site-prewarm-store.js';
import { startRedis } from '../../../lab/processes/processes.js';
import type { RedisProcess } from '../../../lab/processes/processes.js';
import { exampleSite } from '../../support/core-fixtures.js';

let redis: RedisProcess;
let connection: Redis;
beforeAll(async () => {
  redis = await startRedis();
  connection = new Redis(redis.url, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  connection?.disconnect();
  await redis?.stop();
});

const fresh = (): Prewarm => ({
  cluster: 'west',
  startedAt: 1,
  workloads: {},
  autoscalers: [],
  progress: {},
});

function setUp() {
  const prefix = keyPrefixes({ keyPrefix: `spw${randomUUID().slice(0, 6)}` }).store;
  const prewarms = new SitePrewarmStore(connection, prefix);
  const runs = new RunStore(connection, prefix);
  const changed: string[] = [];
  const source = evacuationPrewarmSource(
    {
      evacuations: new EvacuationReader(new EvacuationStore(connection, prefix)),
      prewarms,
      runs,
      sites: [exampleSite()],
      clock: systemClock,
      onChange: (id) => changed.push(id),
    },
    'e1',
    'production',
  );
  return { prewarms, runs, source, changed };
}

describe('an evacuation site’s pre-warm record', () => {
  it('keeps every one of several saves at once, each with its audit entry', async () => {
    const { prewarms, runs } = setUp();
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        prewarms.mutate(
          'e1',
          'production',
          (current) => {
            const p = current?.prewarm ?? fresh();
            return { ...current, prewarm: { ...p, autoscalers: [...p.autoscalers, `hpa-${i}`] } };
          },
          {
            event: { type: 'prewarm-progress', cluster: 'west' },
            actor: { type: 'system', id: 'baton' },
            at: 1,
          },
        ),
      ),
    );
    const saved = await prewarms.get('e1', 'production');
    expect(saved?.version).toBe(10);
    expect([...(saved?.prewarm?.autoscalers ?? [])].sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `hpa-${i}`).sort(),
    );
    const audit = (await runs.audit()).filter((e) => e.site === 'production' && e.runId === 'e1');
    expect(audit.map((e) => e.action)).toEqual(Array.from({ length: 10 }, () => 'prewarm-progress'));
    const all = await prewarms.getAll('e1', ['production', 'shop']);
    expect([...all.keys()]).toEqual(['production']);
  });

  it('once handed over, refuses every change but the give-back', async () => {
    const { prewarms, source, changed } = setUp();
    await source.record(() => fresh(), { type: 'prewarm-progress', cluster: 'west' });
    expect(changed).toEqual(['e1']);
    const handed = await prewarms.handOver('e1', 'production', 5);
    expect(handed).toMatchObject({ handedOverAt: 5, prewarm: fresh() });
    // Again (an approval finished by the periodic pass): the same record, not taken twice.
    expect(await prewarms.handOver('e1', 'production', 9)).toEqual(handed);

    const refused = await source
      .record((p) => ({ ...(p ?? fresh()), progress: { before: { web: 1 } } }), {
        type: 'prewarm-progress',
        cluster: 'west',
      })
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(refused).toBeInstanceOf(BatonError);
    expect((refused as BatonError).code).toBe('not-proposed');
    expect((await prewarms.get('e1', 'production'))?.prewarm?.progress).toEqual({});

    await source.record(
      (p) => ({
        ...(p ?? fresh()),
        released: { at: 7, because: 'not-started', restored: [], leftAlone: [] },
      }),
      { type: 'prewarm-released', cluster: 'west', restored: [], leftAlone: [] },
    );
    expect((await prewarms.get('e1', 'production'))?.prewarm?.released?.because).toBe('not-started');
  });

  it('the approval of a site that never warmed still takes it, so a late pre-warm changes nothing', async () => {
    const { prewarms, source } = setUp();
    expect(await prewarms.handOver('e1', 'production', 5)).toEqual({ handedOverAt: 5, version: 1 });
    await expect(
      source.record(() => fresh(), { type: 'prewarm-progress', cluster: 'west' }),
    ).rejects.toMatchObject({ code: 'not-proposed' });
  });
});
