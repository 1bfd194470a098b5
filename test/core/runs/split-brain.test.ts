/**
 * The split-brain holes of the first safety review, made to happen against the run engine and the simulated world:
 * a retry that takes a half-done fence as proof, an Abort racing a slow promotion, a source that answers but refuses
 * Baton, and `--force`. Each ends with at most one writable primary, or the run paused before the point of no return.
 */
import { describe, expect, it } from 'vitest';
import type { Run } from '../../../src/core/model.js';
import { abortRun } from '../../../src/core/runs/decide-run.js';
import { transitionRun } from '../../../src/core/runs/transition-run.js';
import { BatonError } from '../../../src/errors.js';
import type { Harness } from '../../support/core-fixtures.js';
import { ALICE, approvedRun, exampleSite, harness, refusal, tuning } from '../../support/core-fixtures.js';

/**
 * An Abort that reaches the worker although the run is past the point of no return: the run service refuses it
 * (checked here), so only a race could deliver it, and the engine must still undo nothing.
 */
function abortDespiteRefusal(run: Run, h: Pick<Harness, 'clock'>): Run {
  expect(refusal(() => abortRun(run, { actor: ALICE, now: h.clock.now() })).code).toBe(
    'past-point-of-no-return',
  );
  return {
    ...transitionRun(run, 'aborting', { at: h.clock.now(), actor: ALICE, reason: 'abort requested' }),
    segment: run.segment + 1,
  };
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Both databases writable primaries: the one outcome a failover tool must never leave behind. */
async function writablePrimaries(h: ReturnType<typeof harness>): Promise<string[]> {
  const writable: string[] = [];
  for (const id of Object.keys(h.site.clusters)) {
    const status = await h.world.ports.database.status(h.site, id);
    if (!status.inRecovery && !status.readOnly) writable.push(id);
  }
  return writable;
}

describe('split-brain: the fence is checked on every attempt', () => {
  it('a retry calls fence() again instead of taking the read-only flag an earlier attempt left as proof', async () => {
    const h = harness();
    // Each fence turns read-only on, then fails as a session that cannot be ended would make it fail.
    h.world.failAfter(
      'database.fence:east',
      10,
      () =>
        new BatonError('fence-incomplete', "east's database: pid 4242 (postgres) could not be ended", {
          retriable: true,
        }),
    );
    const { outcome, run } = await h.execute(
      approvedRun(h.site, { request: { kind: 'failover', mode: 'planned' } }),
    );

    expect(outcome).toBe('paused');
    expect(run.steps['fence-source']).toMatchObject({ status: 'failed', errorCode: 'fence-incomplete' });
    const actions = await h.actions();
    expect(actions.filter((a) => a === 'fence east')).toHaveLength(run.steps['fence-source']?.attempts ?? 0);
    expect(actions).not.toContain('promote west');
    expect(await writablePrimaries(h)).toEqual([]); // east read-only, west still a standby
  });
});

describe('split-brain: promotion is the point of no return from the moment it is requested', () => {
  it('Abort after a promotion that outlived its step timeout undoes nothing, even when the promotion lands later', async () => {
    const h = harness(exampleSite(), { promotionAfterMs: 400 });
    const paused = await h.execute(
      approvedRun(h.site, { tuning: tuning({ 'promote-target-db': { timeoutMs: 100, retries: 0 } }) }),
    );
    expect(paused.outcome).toBe('paused');
    expect(paused.run.steps['promote-target-db']?.errorCode).toBe('step-timeout');

    const { run } = await h.execute(abortDespiteRefusal(paused.run, h));
    await delay(600); // the promotion that was asked for finishes after all
    expect(await writablePrimaries(h)).toEqual(['west']);
    expect(run.steps['fence-source']?.status).not.toBe('undone');
  });
});

describe('split-brain: unreachable means unreachable', () => {
  const refused = () =>
    new BatonError(
      'database-refused',
      "east's database (EAST_DATABASE_URL) refused Baton: sorry, too many clients already (SQLSTATE 53300)",
    );

  it('a source that answers "too many clients" is up and unfenced: the run pauses before promotion', async () => {
    const h = harness();
    h.world.fail('database.status:east', 1000, refused);
    h.world.fail('database.fence:east', 1000, refused);
    const { outcome, run } = await h.execute(approvedRun(h.site));

    expect(outcome).toBe('paused');
    expect(run.steps['promote-target-db']).toMatchObject({
      status: 'failed',
      errorCode: 'source-refuses-baton',
    });
    expect(run.steps['promote-target-db']?.error).toMatch(/too many clients/);
    expect(await h.actions()).not.toContain('promote west');
  });

  it('--force does not override the split-brain guard', async () => {
    const h = harness();
    // A superuser's open transaction that Baton's role cannot end: the fence can never complete.
    h.world.fail(
      'database.fence:east',
      1000,
      () =>
        new BatonError('fence-incomplete', "east's database: pid 4242 (postgres) could not be ended", {
          retriable: true,
        }),
    );
    const { outcome, run } = await h.execute(
      approvedRun(h.site, { request: { kind: 'failover', force: true } }),
    );

    expect(outcome).toBe('paused');
    expect(run.steps['promote-target-db']?.errorCode).toBe('source-still-writable');
    expect(await writablePrimaries(h)).toEqual(['east']);
  });
});
