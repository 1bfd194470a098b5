/**
 * The report is written by the save that finishes an approved run, in the same script, once: a duplicated finish
 * (two workers, a redelivered job, a retried command) and later saves of the finished run leave the first report.
 * Runs that never were approved get none. Real Redis.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run } from '../../src/core/model.js';
import type { AuditEvent } from '../../src/core/runs/run-event.js';
import { buildRunReport } from '../../src/core/runs/run-report.js';
import { transitionRun } from '../../src/core/runs/transition-run.js';
import { BatonError } from '../../src/errors.js';
import { StoreKeys } from '../../src/store/keys.js';
import { ReportStore } from '../../src/store/report-store.js';
import { RunStore } from '../../src/store/run-store.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startRedis } from '../../lab/processes/processes.js';
import { ALICE, BOB, CAROL, exampleSite, proposedRun } from '../support/core-fixtures.js';

const T0 = Date.UTC(2026, 11, 3, 3, 0, 0);
const SYSTEM = { type: 'system', id: 'baton' } as const;
const audit = (type: 'run-started' | 'run-cancelled' | 'run-expired'): AuditEvent => ({
  event: { type },
  actor: SYSTEM,
});
const succeededAudit: AuditEvent = { event: { type: 'run-succeeded', summary: 'done' }, actor: SYSTEM };

let redis: RedisProcess;
let client: Redis;

beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
});
afterAll(async () => {
  client.disconnect();
  await redis.stop();
});

function stores() {
  const prefix = `{t${randomUUID().slice(0, 8)}}:`;
  return { runs: new RunStore(client, prefix), reports: new ReportStore(client, prefix), prefix };
}

/** A proposal created in Redis, approved and running there (each step of the way saved). */
async function runningRun(runs: RunStore): Promise<Run> {
  const { run: created } = await runs.create(proposedRun(exampleSite(), { now: T0 }), {
    event: { type: 'run-proposed', reason: 'test' },
    actor: CAROL,
  });
  const approved = await runs.save(
    {
      ...transitionRun(
        { ...created, approvals: [{ actor: ALICE, at: T0 + 1000, breakGlass: false }] },
        'approved',
        { at: T0 + 1000, actor: ALICE },
      ),
      segment: 1,
    },
    { event: { type: 'run-approved', count: 1, required: 1 }, actor: ALICE },
  );
  return runs.save(
    transitionRun(approved, 'running', { at: T0 + 2000, actor: SYSTEM }),
    audit('run-started'),
  );
}

describe('the report of a finished run', () => {
  it('is written by the final save, once, however often the finish is repeated', async () => {
    const { runs, reports } = stores();
    const running = await runningRun(runs);
    expect(await reports.get(running.id)).toBeNull();

    const finished = transitionRun(running, 'succeeded', { at: T0 + 9000, actor: SYSTEM });
    // Two workers (or a redelivered job) save the same finish: one wins, the other is refused.
    const results = await Promise.allSettled([
      runs.save(finished, succeededAudit),
      runs.save(finished, succeededAudit),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected');
    expect((refused as PromiseRejectedResult).reason).toBeInstanceOf(BatonError);
    const saved = (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<Run>).value;
    const first = await reports.get(running.id);
    expect(first).toEqual(JSON.parse(JSON.stringify(buildRunReport(saved))));
    expect(first?.outcome).toMatchObject({
      state: 'succeeded',
      finishedAt: new Date(T0 + 9000).toISOString(),
    });

    // A later save of the finished run (a late timeline entry) does not rewrite its evidence.
    await runs.save(
      { ...saved, timeline: [...saved.timeline, { at: T0 + 60_000, event: 'late-note' }] },
      succeededAudit,
    );
    expect(await reports.get(running.id)).toEqual(first);
  });

  it('is written when a command finishes the run (cancel of an approved run)', async () => {
    const { runs, reports } = stores();
    const { run: created } = await runs.create(proposedRun(exampleSite(), { now: T0 }), {
      event: { type: 'run-proposed', reason: 'test' },
      actor: CAROL,
    });
    await runs.mutate(
      created.id,
      (run) => ({ ...transitionRun(run, 'approved', { at: T0 + 1000, actor: BOB }), segment: 1 }),
      () => ({ event: { type: 'run-approved', count: 1, required: 1 }, actor: BOB }),
    );
    await runs.mutate(
      created.id,
      (run) => transitionRun(run, 'cancelled', { at: T0 + 2000, actor: CAROL }),
      () => audit('run-cancelled'),
    );
    expect((await reports.get(created.id))?.outcome.state).toBe('cancelled');
  });

  it('does not exist for a proposal that ended unapproved', async () => {
    const { runs, reports, prefix } = stores();
    const { run: created } = await runs.create(proposedRun(exampleSite(), { now: T0 }), {
      event: { type: 'run-proposed', reason: 'test' },
      actor: CAROL,
    });
    const expired = await runs.save(
      transitionRun(created, 'expired', { at: T0 + 900_000 }),
      audit('run-expired'),
    );
    expect(await reports.get(created.id)).toBeNull();
    expect(await reports.ensure(expired)).toBeNull();
    expect(await client.exists(new StoreKeys(prefix).report(created.id))).toBe(0);
  });

  it('is built once for a run that finished before reports existed', async () => {
    const { runs, reports, prefix } = stores();
    const running = await runningRun(runs);
    const finished = await runs.save(
      transitionRun(running, 'failed', { at: T0 + 5000, actor: SYSTEM, reason: 'gate' }),
      { event: { type: 'run-failed', reason: 'gate' }, actor: SYSTEM },
    );
    await client.del(new StoreKeys(prefix).report(finished.id)); // as if it finished on an older Baton
    const built = await reports.ensure(finished);
    expect(built?.outcome).toMatchObject({ state: 'failed', reason: 'gate' });
    const again = await reports.ensure({ ...finished, stateReason: 'changed later' });
    expect(again).toEqual(built);
  });
});
