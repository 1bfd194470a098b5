/**
 * The cooldown on a real Redis: right after a succeeded failover, the run service refuses a new failover of the site
 * (whoever proposes it: a person, an alert, the CLI), while failback and a break-glass `--force` proposal go ahead.
 * No worker runs: the earlier failover is recorded as succeeded directly in the store.
 */
import { describe, expect, it } from 'vitest';
import type { Actor, Run } from '../../src/core/model.js';
import { SYSTEM_ACTOR } from '../../src/core/model.js';
import { transitionRun } from '../../src/core/runs/transition-run.js';
import { BatonError } from '../../src/errors.js';
import type { Harness } from '../support/integration.js';
import { ALICE, BOB, createHarness } from '../support/integration.js';
import { redisPerFile } from '../support/redis-per-file.js';

const MIN = 60_000;
const DAVE: Actor = { type: 'slack-user', id: 'U0DAVE', name: 'dave' };
const { redis, cleanups } = redisPerFile();

async function harness(): Promise<Harness> {
  const h = await createHarness(redis.url);
  cleanups.push(() => h.close());
  return h;
}

/** A failover east → west, approved by ALICE, recorded as succeeded `agoMs` ago. */
async function failedOver(h: Harness, agoMs: number): Promise<Run> {
  const { run } = await h.service.propose({ kind: 'failover', reason: 'ActiveClusterDown', actor: DAVE });
  await h.service.approve(run.id, ALICE);
  return h.store.mutate(
    run.id,
    (current) => {
      const at = Date.now() - agoMs;
      const running = transitionRun(current, 'running', { at: at - MIN, actor: SYSTEM_ACTOR });
      return transitionRun(running, 'succeeded', { at, actor: SYSTEM_ACTOR });
    },
    () => ({ event: { type: 'run-succeeded', summary: 'west serves' }, actor: SYSTEM_ACTOR }),
  );
}

async function refusal(promise: Promise<unknown>): Promise<BatonError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BatonError) return error;
    throw error;
  }
  throw new Error('expected the proposal to be refused');
}

describe('cooldown after a failover', () => {
  it('refuses a new failover 3 min after one succeeded, saying why and how to override; nothing is created', async () => {
    const h = await harness();
    const first = await failedOver(h, 3 * MIN + 5_000);
    expect(await h.service.serving(h.topology.sites[0]!)).toBe('west');

    const refused = await refusal(
      h.service.propose({ kind: 'failover', reason: 'WestClusterDown', actor: DAVE }),
    );
    expect(refused.code).toBe('cooldown');
    expect(refused.message).toBe(
      `production failed over to west 3 min ago (run ${first.id}); a new failover is refused for 7 more min ` +
        '(cooldown 10 min), so that a flapping alert cannot bounce it between clusters. Failback is not ' +
        'affected: `/failback production`. An approver can override it with break-glass (2 approvals): ' +
        '`/failover production <reason> --force`',
    );
    expect(await h.service.openRun('production')).toBeNull();
    expect((await h.service.history('production')).map((run) => run.id)).toEqual([first.id]);
  });

  it('finds the failover in the site record however many proposals came after it', async () => {
    const h = await harness();
    await failedOver(h, MIN);
    // Sixty failback proposals, each rejected: more than any bounded read of the history would look back.
    for (let i = 0; i < 60; i += 1) {
      const { run } = await h.service.propose({ kind: 'failback', reason: `not yet ${i}`, actor: DAVE });
      await h.service.reject(run.id, ALICE);
    }
    const refused = await refusal(h.service.propose({ kind: 'failover', reason: 'flap', actor: DAVE }));
    expect(refused.code).toBe('cooldown');
  });

  it('does not hold back a failback', async () => {
    const h = await harness();
    await failedOver(h, MIN);
    const { created, run } = await h.service.propose({
      kind: 'failback',
      reason: 'east is back',
      actor: DAVE,
    });
    expect(created).toBe(true);
    expect([run.kind, run.from, run.to]).toEqual(['failback', 'west', 'east']);
  });

  it('ends when a failback has succeeded since (the site is home again)', async () => {
    const h = await harness();
    await failedOver(h, 3 * MIN);
    const { run: back } = await h.service.propose({ kind: 'failback', reason: 'east is back', actor: DAVE });
    await h.service.approve(back.id, ALICE);
    await h.store.mutate(
      back.id,
      (current) => {
        const running = transitionRun(current, 'running', { at: Date.now() - MIN, actor: SYSTEM_ACTOR });
        return transitionRun(running, 'succeeded', { at: Date.now(), actor: SYSTEM_ACTOR });
      },
      () => ({ event: { type: 'run-succeeded', summary: 'east serves' }, actor: SYSTEM_ACTOR }),
    );
    const { created, run } = await h.service.propose({
      kind: 'failover',
      reason: 'east down again',
      actor: DAVE,
    });
    expect([created, run.from, run.to]).toEqual([true, 'east', 'west']);
  });

  it('lets --force through, as break-glass: it needs the break-glass number of approvals', async () => {
    const h = await harness();
    await failedOver(h, MIN);
    const { created, run } = await h.service.propose({
      kind: 'failover',
      force: true,
      reason: 'west is down too',
      actor: DAVE,
    });
    expect(created).toBe(true);
    expect([run.force, run.from, run.to]).toEqual([true, 'west', 'east']);
    expect(await h.service.approve(run.id, ALICE)).toMatchObject({ complete: false, count: 1, required: 2 });
    expect(await h.service.approve(run.id, BOB)).toMatchObject({ complete: true, count: 2, required: 2 });
  });

  it('allows a failover once the cooldown has passed, and follows the site’s own `cooldown`', async () => {
    const h = await harness();
    await failedOver(h, 11 * MIN);
    expect((await h.service.propose({ kind: 'failover', reason: 'again', actor: DAVE })).created).toBe(true);

    const short = await harness();
    short.topology.sites[0]!.cooldownMs = 2 * MIN;
    await failedOver(short, 3 * MIN);
    expect((await short.service.propose({ kind: 'failover', reason: 'again', actor: DAVE })).created).toBe(
      true,
    );
  });
});
