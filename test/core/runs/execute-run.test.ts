import { describe, expect, it } from 'vitest';
import type { Run, StepId, StepRecord } from '../../../src/core/model.js';
import type { Decision } from '../../../src/core/runs/decide-run.js';
import { abortRun, retryRun } from '../../../src/core/runs/decide-run.js';
import { LeaseLostError } from '../../../src/core/runs/execute-run.js';
import type { RunEvent } from '../../../src/core/runs/run-event.js';
import { eventStep } from '../../../src/core/runs/run-event.js';
import { transitionRun } from '../../../src/core/runs/transition-run.js';
import type { ErrorCode } from '../../../src/error-codes.js';
import { BatonError } from '../../../src/errors.js';
import type { Harness } from '../../support/core-fixtures.js';
import { MemoryPersistence } from '../../support/memory-persistence.js';
import {
  ALICE,
  approvedRun,
  exampleSite,
  harness,
  refusal,
  siteWithoutDatabase,
  tuning,
} from '../../support/core-fixtures.js';

const WEB = 'default/Deployment/web';

/**
 * Every mutating call of a complete emergency or planned failover east → west, each exactly once — but the fence,
 * which runs twice by design: in fence-source, and again in the split-brain guard just before promotion, so the final
 * position is as late as possible.
 */
const FAILOVER_ACTIONS = [
  'dns west',
  'fence east',
  'fence east',
  `scale east ${WEB} 1`,
  `scale west ${WEB} 5`,
  'promote west',
].sort();

const step = (run: Run, id: StepId): StepRecord => {
  const record = run.steps[id];
  if (!record) throw new Error(`run has no step ${id}`);
  return record;
};
/** The save of `type` about `step`. */
const isEvent = (event: RunEvent, type: RunEvent['type'], step: StepId) =>
  event.type === type && eventStep(event) === step;

const statuses = (run: Run) => Object.fromEntries(Object.values(run.steps).map((s) => [s.id, s.status]));

/** Alice deciding now, on the harness's clock, not tied to a message. */
const byAlice = (h: Pick<Harness, 'clock'>): Decision => ({ actor: ALICE, now: h.clock.now() });

/**
 * `run` put in aborting past the point of no return, where abortRun refuses (each test checks that it does): a state
 * no decision produces, to show that the worker refuses to undo anything too.
 */
function forcedAborting(run: Run, h: Pick<Harness, 'clock'>): Run {
  expect(refusal(() => abortRun(run, byAlice(h))).code).toBe('past-point-of-no-return');
  return transitionRun(run, 'aborting', { at: h.clock.now(), actor: ALICE, reason: 'abort requested' });
}

const neverRetry = (code: ErrorCode, message: string) => () =>
  new BatonError(code, message, { retriable: false });

describe('executeRun: happy path', () => {
  it('fails over east → west in emergency mode, each external action once', async () => {
    const h = harness();
    const { outcome, run, persistence } = await h.execute(approvedRun(h.site));

    expect(outcome).toBe('succeeded');
    expect(run.state).toBe('succeeded');
    expect(run.stateReason).toMatch(/^Finished in \d+ s$/);
    expect(Object.values(run.steps).map((s) => [s.id, s.status, s.attempts])).toEqual([
      ['preflight', 'succeeded', 1],
      ['fence-source', 'succeeded', 1],
      ['scale-up-target', 'succeeded', 1],
      ['catch-up', 'succeeded', 1],
      ['promote-target-db', 'succeeded', 1],
      ['switch-dns', 'succeeded', 1],
      ['verify', 'succeeded', 1],
      ['scale-down-source', 'succeeded', 1],
    ]);

    const world = await h.world.state();
    expect(world.dns).toMatchObject({ serving: 'west', resolved: 'west' });
    expect(world.clusters.west?.db).toMatchObject({ role: 'primary', readOnly: false });
    expect(world.clusters.east?.db).toMatchObject({ readOnly: true });
    const [web] = h.site.workloads;
    if (!web) throw new Error('the example has a workload');
    const { cluster } = h.world.ports;
    expect(await cluster.getWorkload(h.site, 'west', web)).toMatchObject({ replicas: 5, readyReplicas: 5 });
    expect(await cluster.getWorkload(h.site, 'east', web)).toMatchObject({ replicas: 1 });
    expect([...world.actions].sort()).toEqual(FAILOVER_ACTIONS);

    // What was persisted is what was returned; every save bumped the version.
    expect(persistence.current).toEqual(run);
    expect(run.version).toBe(1 + persistence.saves.length);
    expect(persistence.auditTrail[0]).toBe('run-started');
    expect(persistence.auditTrail.at(-1)).toMatch(/^run-succeeded Finished in/);
    expect(run.timeline.map((e) => e.event)).toEqual(
      expect.arrayContaining(['running', 'switch-dns succeeded', 'succeeded']),
    );
    expect(step(run, 'switch-dns').output).toMatchObject({ changeId: 'C000001' });
    expect(step(run, 'scale-down-source').output).toEqual({ alreadyDone: true }); // fencing scaled east down
  });

  it('says nothing-to-do for a run that is not approved, running or aborting', async () => {
    const h = harness();
    const paused = { ...approvedRun(h.site), state: 'paused' as const };
    const { outcome, persistence } = await h.execute(paused);
    expect(outcome).toBe('nothing-to-do');
    expect(persistence.saves).toEqual([]);
    expect(await h.actions()).toEqual([]);
  });
});

describe('executeRun: retries and pauses', () => {
  it('retries a step that fails once and then succeeds', async () => {
    const h = harness();
    h.world.fail('cluster.scaleWorkload:west', 1);
    const { outcome, run, persistence } = await h.execute(approvedRun(h.site));

    expect(outcome).toBe('succeeded');
    expect(step(run, 'scale-up-target')).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(step(run, 'fence-source').attempts).toBe(1);
    expect(step(run, 'fence-source').output).not.toHaveProperty('unfenced');
    expect(persistence.auditTrail).toContain(
      'step-retry scale-up-target: cluster.scaleWorkload:west failed (injected)',
    );
    expect((await h.actions()).sort()).toEqual(FAILOVER_ACTIONS);
  });

  it('pauses on a non-retriable error, then Retry finishes without repeating completed steps', async () => {
    const h = harness();
    h.world.fail('database.requestPromotion', 1, neverRetry('database-error', 'pg_promote() returned false'));
    const first = await h.execute(approvedRun(h.site));

    expect(first.outcome).toBe('paused');
    expect(first.run.state).toBe('paused');
    expect(first.run.stateReason).toBe('promote-target-db: pg_promote() returned false');
    expect(step(first.run, 'promote-target-db')).toMatchObject({
      status: 'failed',
      attempts: 1, // retries: 1, but the error said trying again cannot help
      errorCode: 'database-error',
    });
    expect(statuses(first.run)).toMatchObject({ 'switch-dns': 'pending', verify: 'pending' });
    expect(first.persistence.auditTrail.at(-1)).toBe(
      'run-paused promote-target-db: pg_promote() returned false',
    );

    // What the thread shows until a worker takes the new segment: the failed step waiting again, its error gone.
    const retried = retryRun(first.run, byAlice(h));
    expect(retried).toMatchObject({ state: 'running', segment: first.run.segment + 1 });
    expect(step(retried, 'promote-target-db')).toMatchObject({
      status: 'pending',
      error: undefined,
      attempts: 1,
    });
    const second = await h.execute(retried);
    expect(second.outcome).toBe('succeeded');
    expect(step(second.run, 'promote-target-db')).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(step(second.run, 'preflight').attempts).toBe(1);
    expect(step(second.run, 'fence-source').attempts).toBe(1);
    expect(second.persistence.auditTrail.filter((a) => a.startsWith('step-started'))).toEqual([
      'step-started promote-target-db',
      'step-started switch-dns',
      'step-started verify',
      'step-started scale-down-source',
    ]);
    expect((await h.actions()).sort()).toEqual(FAILOVER_ACTIONS);
  });

  it('pauses when retries are exhausted', async () => {
    const h = harness();
    h.world.fail('dns.switchTo', 10);
    const first = await h.execute(approvedRun(h.site, { tuning: tuning({ 'switch-dns': { retries: 2 } }) }));

    expect(first.outcome).toBe('paused');
    expect(step(first.run, 'switch-dns')).toMatchObject({
      status: 'failed',
      attempts: 3,
      errorCode: 'simulated-failure',
      error: 'dns.switchTo failed (injected)',
    });
    expect(first.run.stateReason).toBe('switch-dns: dns.switchTo failed (injected)');
    expect(first.persistence.auditTrail.filter((a) => a.startsWith('step-retry switch-dns'))).toHaveLength(2);

    h.world.heal();
    const second = await h.execute(retryRun(first.run, byAlice(h)));
    expect(second.outcome).toBe('succeeded');
    expect(step(second.run, 'switch-dns').attempts).toBe(4); // attempts count across segments
    expect((await h.actions()).sort()).toEqual(FAILOVER_ACTIONS);
  });

  it('times out a hanging step and pauses with step-timeout', async () => {
    const h = harness();
    h.world.hang('dns.switchTo');
    const first = await h.execute(
      approvedRun(h.site, { tuning: tuning({ 'switch-dns': { timeoutMs: 100, retries: 0 } }) }),
    );

    // The switch still hangs (it never returns): only the step's timeout can have ended the attempt.
    expect(first.outcome).toBe('paused');
    expect((await h.actions()).filter((a) => a.startsWith('dns'))).toEqual([]);
    expect(step(first.run, 'switch-dns')).toMatchObject({
      status: 'failed',
      attempts: 1,
      errorCode: 'step-timeout',
    });
    expect(step(first.run, 'switch-dns').error).toContain('did not finish within');
    expect(first.run.stateReason).toMatch(
      /^switch-dns: Switch app\.example\.com to west did not finish within/,
    );

    h.world.heal();
    const second = await h.execute(retryRun(first.run, byAlice(h)));
    expect(second.outcome).toBe('succeeded');
    expect((await h.actions()).filter((a) => a.startsWith('dns'))).toEqual(['dns west']);
  });
});

describe('executeRun: timed-out attempts', () => {
  it('stops a timed-out attempt from acting or recording anything once it gives up', async () => {
    const h = harness();
    // Planned fencing times out while the database fence is in flight; the fence lands later. The abandoned attempt
    // must not then go on to scale east down or save progress on a run that is already paused.
    h.world.slow('database.fence', 150);
    const { outcome, run, persistence } = await h.execute(
      approvedRun(h.site, {
        request: { kind: 'failover', mode: 'planned' },
        tuning: tuning({ 'fence-source': { timeoutMs: 100, retries: 0 } }),
      }),
    );
    expect(outcome).toBe('paused');
    expect(step(run, 'fence-source')).toMatchObject({ status: 'failed', errorCode: 'step-timeout' });
    expect(run.stateReason).toBe('fence-source: Fence east did not finish within 100 ms');
    const saves = persistence.saves.length;

    await new Promise((resolve) => setTimeout(resolve, 200)); // the in-flight fence completes meanwhile
    expect(await h.actions()).toContain('fence east');
    expect(await h.actions()).not.toContain(`scale east ${WEB} 1`);
    expect(persistence.saves).toHaveLength(saves);
  });
});

describe('executeRun: abort', () => {
  it('before the point of no return undoes scale-up-target, then fence-source', async () => {
    const h = harness();
    // The standby falls behind after preflight passed, so catch-up never reaches east's final position.
    const first = await h.execute(
      approvedRun(h.site, { tuning: tuning({ 'catch-up': { timeoutMs: 100, retries: 0 } }) }),
      {
        onChange: (run) => {
          if (run.steps.preflight?.status === 'succeeded') {
            void h.world.change((s) => {
              s.lagBytes = 10_000_000;
            });
          }
        },
      },
    );
    expect(first.outcome).toBe('paused');
    expect(step(first.run, 'catch-up').errorCode).toBe('step-timeout');
    const before = await h.actions();

    const abort = abortRun(first.run, byAlice(h));
    expect(abort).toMatchObject({ state: 'aborting', segment: first.run.segment + 1 });
    const { outcome, run } = await h.execute(abort);
    expect(outcome).toBe('aborted');
    expect(run.state).toBe('aborted');
    expect(run.stateReason).toBe('Undid scale-up-target, fence-source');
    expect(statuses(run)).toEqual({
      preflight: 'succeeded',
      'fence-source': 'undone',
      'scale-up-target': 'undone',
      'catch-up': 'failed',
      'promote-target-db': 'pending',
      'switch-dns': 'pending',
      verify: 'pending',
      'scale-down-source': 'pending',
    });
    // Reverse plan order: west's extra capacity goes first, then east is unfenced and scaled back up.
    expect((await h.actions()).slice(before.length)).toEqual([
      `scale west ${WEB} 1`,
      'unfence east',
      `scale east ${WEB} 5`,
    ]);
    const world = await h.world.state();
    expect(world.clusters.east?.workloads[WEB]?.replicas).toBe(5);
    expect(world.clusters.east?.db).toMatchObject({ role: 'primary', readOnly: false });
    expect(world.clusters.west?.db.role).toBe('standby');
    expect(world.dns.serving).toBe('east');

    // Aborting again is a no-op: the run is finished.
    const again = await h.execute(run);
    expect(again.outcome).toBe('nothing-to-do');
  });

  it('after promotion undoes nothing: the run pauses, and Retry finishes it', async () => {
    const h = harness();
    h.world.fail(
      'dns.switchTo',
      1,
      neverRetry('route53-access-denied', 'Route 53 denied ChangeResourceRecordSets'),
    );
    const first = await h.execute(approvedRun(h.site));
    expect(first.outcome).toBe('paused');
    expect(step(first.run, 'switch-dns').status).toBe('failed');
    const before = await h.actions();

    const { outcome, run } = await h.execute(forcedAborting(first.run, h));
    expect(outcome).toBe('paused');
    expect(run.stateReason).toBe(
      "Abort refused: Promote west's database was already requested, so nothing can be undone — west's database " +
        'is (or is becoming) the primary and east stays fenced. Retry to finish the run.',
    );
    expect(await h.actions()).toEqual(before);
    expect(Object.values(run.steps).some((s) => s.status === 'undone')).toBe(false);
    expect((await h.world.state()).clusters.west?.db.role).toBe('primary');

    const finished = await h.execute(retryRun(run, byAlice(h)));
    expect(finished.outcome).toBe('succeeded');
    expect((await h.world.state()).dns.serving).toBe('west');
  });

  it('counts a promotion whose request was checkpointed as past the point of no return, unreadable or not', async () => {
    const h = harness();
    const run = approvedRun(h.site);
    const crashed: Run = {
      ...transitionRun(run, 'running', { at: Date.now() }),
      steps: {
        ...run.steps,
        preflight: { id: 'preflight', status: 'succeeded', attempts: 1 },
        'promote-target-db': {
          id: 'promote-target-db',
          status: 'running',
          attempts: 1,
          progress: { pointOfNoReturnAt: Date.now() },
        },
      },
    };
    await h.world.change((s) => {
      if (s.clusters.west) s.clusters.west.db.reachable = false;
    });
    const { outcome, run: aborted } = await h.execute(forcedAborting(crashed, h));
    expect(outcome).toBe('paused');
    expect(aborted.stateReason).toMatch(/^Abort refused: /);
    expect(await h.actions()).toEqual([]);
  });

  it('undoes a promotion step that started but never checkpointed its request: it made no call', async () => {
    const h = harness();
    const run = approvedRun(h.site);
    const crashed: Run = {
      ...transitionRun(run, 'running', { at: Date.now() }),
      steps: {
        ...run.steps,
        preflight: { id: 'preflight', status: 'succeeded', attempts: 1 },
        'promote-target-db': { id: 'promote-target-db', status: 'running', attempts: 1 },
      },
    };
    const { outcome, run: aborted } = await h.execute(abortRun(crashed, byAlice(h)));
    expect(outcome).toBe('aborted');
    expect(aborted.stateReason).toBe('Nothing had changed');
    expect(await h.actions()).toEqual([]);
  });

  it('with nothing done yet aborts without undoing anything', async () => {
    const h = harness();
    await h.world.change((s) => {
      if (s.clusters.west) s.clusters.west.readyNodes = 1;
    });
    const first = await h.execute(approvedRun(h.site));
    expect(first.outcome).toBe('paused');
    const { outcome, run } = await h.execute(abortRun(first.run, byAlice(h)));
    expect(outcome).toBe('aborted');
    expect(run.stateReason).toBe('Nothing had changed');
    expect(await h.actions()).toEqual([]);
  });
});

describe('executeRun: a site without a database', () => {
  it('fails over with no fencing of a database, catch-up or promotion', async () => {
    const h = harness(siteWithoutDatabase());
    const { outcome, run } = await h.execute(
      approvedRun(h.site, { request: { kind: 'failover', mode: 'planned' } }),
    );
    expect(outcome).toBe('succeeded');
    expect(Object.keys(run.steps)).not.toContain('promote-target-db');
    expect((await h.actions()).sort()).toEqual(['dns west', `scale east ${WEB} 1`, `scale west ${WEB} 5`]);
  });

  it('aborts after the DNS switch by switching back, then undoing the scaling, newest first', async () => {
    const h = harness(siteWithoutDatabase());
    await h.world.change((s) => {
      if (s.clusters.west) s.clusters.west.healthy = false;
    });
    const first = await h.execute(
      approvedRun(h.site, { tuning: tuning({ verify: { timeoutMs: 100, retries: 0 } }) }),
    );
    expect(first.outcome).toBe('paused');
    // The timeout says what verify was still waiting for.
    expect(step(first.run, 'verify')).toMatchObject({
      errorCode: 'step-timeout',
      error:
        'Verify users reach west did not finish within 100 ms — last seen: ' +
        'https://passive.example.com/health answered connection refused',
    });
    const before = await h.actions();

    const { outcome, run } = await h.execute(abortRun(first.run, byAlice(h)));
    expect(outcome).toBe('aborted');
    expect(run.stateReason).toBe('Undid switch-dns, scale-up-target, fence-source');
    expect((await h.actions()).slice(before.length)).toEqual([
      'dns east',
      `scale west ${WEB} 1`,
      `scale east ${WEB} 5`,
    ]);
    expect((await h.world.state()).dns.serving).toBe('east');
  });
});

describe('executeRun: resuming after a crash', () => {
  it('continues from the persisted steps without repeating any action', async () => {
    const h = harness();
    const approved = approvedRun(h.site);
    // The worker stores scale-up-target's "before" checkpoint, scales west, then dies before recording success.
    const crashed = new MemoryPersistence(approved, {
      loseLeaseWhen: (_run, audit) => isEvent(audit.event, 'step-progress', 'scale-up-target'),
    });
    await expect(h.execute(approved, { persistence: crashed })).rejects.toBeInstanceOf(LeaseLostError);
    const persisted = crashed.current;
    expect(persisted.state).toBe('running');
    expect(step(persisted, 'preflight').status).toBe('succeeded');
    expect(step(persisted, 'scale-up-target').status).toBe('running');
    expect(await h.actions()).toContain(`scale west ${WEB} 5`);

    const { outcome, run, persistence } = await h.execute(persisted);
    expect(outcome).toBe('succeeded');
    expect(step(run, 'scale-up-target').output).toEqual({ alreadyDone: true });
    expect(persistence.auditTrail).not.toContain('step-started preflight');
    // fence-source had not finished when the worker died: the new attempt fences again, as every attempt must.
    expect((await h.actions()).sort()).toEqual([...FAILOVER_ACTIONS, 'fence east'].sort());
  });

  it('does not re-submit a DNS change whose id was checkpointed', async () => {
    const h = harness(exampleSite(), { dnsInSyncAfterMs: 200 });
    const approved = approvedRun(h.site);
    // Crash just before switch-dns starts; then play the dead worker: start it, submit the change, checkpoint its id.
    const crashed = new MemoryPersistence(approved, {
      loseLeaseWhen: (_run, audit) => isEvent(audit.event, 'step-succeeded', 'promote-target-db'),
    });
    await expect(h.execute(approved, { persistence: crashed })).rejects.toBeInstanceOf(LeaseLostError);
    expect((await h.actions()).filter((a) => a.startsWith('dns'))).toEqual([]);
    const { changeId } = await h.world.ports.dns.switchTo(h.site, 'west');
    const stored = crashed.current;
    const persisted: Run = {
      ...stored,
      steps: {
        ...stored.steps,
        'switch-dns': {
          ...step(stored, 'switch-dns'),
          status: 'running',
          attempts: 1,
          progress: { changeId },
        },
      },
    };
    expect(statuses(persisted)).toMatchObject({
      'promote-target-db': 'succeeded',
      'switch-dns': 'running',
      verify: 'pending',
    });

    // The change is still PENDING, so the step is not done: it waits for that change instead of submitting one.
    const { outcome, run } = await h.execute(persisted);
    expect(outcome).toBe('succeeded');
    expect(step(run, 'switch-dns')).toMatchObject({ attempts: 2, output: { changeId } });
    expect((await h.actions()).filter((a) => a.startsWith('dns'))).toEqual(['dns west']);
    expect((await h.actions()).sort()).toEqual(FAILOVER_ACTIONS);
  });

  it('does not re-submit a DNS change the dead worker made but never recorded', async () => {
    const h = harness();
    const approved = approvedRun(h.site);
    // The lease is gone right after the attempt is recorded: the change goes out, its checkpoint is refused.
    const crashed = new MemoryPersistence(approved, {
      loseLeaseWhen: (_run, audit) => isEvent(audit.event, 'step-started', 'switch-dns'),
    });
    await expect(h.execute(approved, { persistence: crashed })).rejects.toBeInstanceOf(LeaseLostError);
    expect(await h.actions()).toContain('dns west');
    expect(step(crashed.current, 'switch-dns').progress).toBeUndefined();

    const { outcome, run } = await h.execute(crashed.current);
    expect(outcome).toBe('succeeded');
    expect(step(run, 'switch-dns').output).toEqual({ alreadyDone: true });
    expect((await h.actions()).sort()).toEqual(FAILOVER_ACTIONS);
  });
});

describe('executeRun: leases and stopping', () => {
  it('stops when a save finds the lease lost: no further step starts', async () => {
    const h = harness();
    const approved = approvedRun(h.site);
    // Saves: run-started, then preflight's started (with its attempt) and succeeded; the next save is refused.
    const persistence = new MemoryPersistence(approved, { leaseLostAfterSaves: 3 });
    await expect(h.execute(approved, { persistence })).rejects.toBeInstanceOf(LeaseLostError);
    expect(persistence.auditTrail).toEqual([
      'run-started',
      'step-started preflight',
      'step-succeeded preflight',
    ]);
    expect(await h.actions()).toEqual([]);
  });

  it('stops when the lease is lost while a group is starting: the step whose start was refused does not act', async () => {
    const h = harness();
    const approved = approvedRun(h.site);
    // fence-source's start lands (it held the lock then); scale-up-target's start is refused.
    const persistence = new MemoryPersistence(approved, {
      loseLeaseWhen: (_run, audit) => isEvent(audit.event, 'step-started', 'fence-source'),
    });
    await expect(h.execute(approved, { persistence })).rejects.toMatchObject({ code: 'lease-lost' });
    expect(persistence.auditTrail.at(-1)).toBe('step-started fence-source');
    expect((await h.actions()).filter((a) => a.startsWith('scale west'))).toEqual([]);
    expect(persistence.auditTrail.filter((a) => a.startsWith('step-succeeded fence'))).toEqual([]);
  });

  it('stops when assertLease fails before a group', async () => {
    const h = harness();
    const approved = approvedRun(h.site);
    const persistence = new MemoryPersistence(approved, { leaseLostAfterChecks: 2 });
    await expect(h.execute(approved, { persistence })).rejects.toBeInstanceOf(LeaseLostError);
    expect(persistence.saves.filter((s) => s.audit.event.type === 'step-started')).toHaveLength(1);
    expect(await h.actions()).toEqual([]);
  });

  it('hands the run back after the current group when asked to stop', async () => {
    const h = harness();
    let stopping = false;
    const first = await h.execute(approvedRun(h.site), {
      shouldStop: () => stopping,
      onChange: (run) => {
        if (run.steps['fence-source']?.status === 'running') stopping = true; // SIGTERM mid-group
      },
    });
    expect(first.outcome).toBe('released');
    expect(first.run.state).toBe('running');
    expect(statuses(first.run)).toEqual({
      preflight: 'succeeded',
      'fence-source': 'succeeded',
      'scale-up-target': 'succeeded',
      'catch-up': 'pending',
      'promote-target-db': 'pending',
      'switch-dns': 'pending',
      verify: 'pending',
      'scale-down-source': 'pending',
    });
    expect(await h.actions()).not.toContain('promote west');

    const second = await h.execute(first.run);
    expect(second.outcome).toBe('succeeded');
    expect((await h.actions()).sort()).toEqual(FAILOVER_ACTIONS);
  });
});

describe('executeRun: modes and gates', () => {
  it("runs a planned failover with catch-up to the fenced primary's final WAL position", async () => {
    const h = harness();
    const { outcome, run } = await h.execute(
      approvedRun(h.site, { request: { kind: 'failover', mode: 'planned' } }),
    );
    expect(outcome).toBe('succeeded');
    expect(step(run, 'catch-up')).toMatchObject({ status: 'succeeded', output: { lsn: '0/3000000' } });
    expect(step(run, 'fence-source').output).toMatchObject({ fence: { lsn: '0/3000000', nextXid: '750' } });
    expect((await h.actions()).sort()).toEqual(FAILOVER_ACTIONS);
  });

  it('pauses a planned failover at catch-up while the standby lags, then Retry completes it', async () => {
    const h = harness();
    await h.world.change((s) => {
      s.lagBytes = 4096; // under maxLagBytes, so preflight passes, but never replayed
    });
    const first = await h.execute(
      approvedRun(h.site, {
        request: { kind: 'failover', mode: 'planned' },
        tuning: tuning({ 'catch-up': { timeoutMs: 100, retries: 0 } }),
      }),
    );
    expect(first.outcome).toBe('paused');
    expect(step(first.run, 'catch-up')).toMatchObject({ status: 'failed', errorCode: 'step-timeout' });
    // Shown live while it waits.
    expect(step(first.run, 'catch-up').progress).toEqual({
      waiting: 'west replayed up to 0/2FFF000, 4096 bytes behind 0/3000000',
    });
    expect(await h.actions()).not.toContain('promote west');

    await h.world.change((s) => {
      s.lagBytes = 0;
    });
    const second = await h.execute(retryRun(first.run, byAlice(h)));
    expect(second.outcome).toBe('succeeded');
    expect((await h.actions()).sort()).toEqual(FAILOVER_ACTIONS);
  });

  it('pauses a planned failover at preflight when the source database is unreachable: lag is unknown', async () => {
    const h = harness();
    await h.world.change((s) => {
      if (s.clusters.east) s.clusters.east.db.reachable = false;
    });
    const { outcome, run } = await h.execute(
      approvedRun(h.site, { request: { kind: 'failover', mode: 'planned' } }),
    );
    expect(outcome).toBe('paused');
    expect(run.stateReason).toContain('west: standby, lag unknown — east could not be read');
    expect(await h.actions()).toEqual([]);
  });

  it('pauses a planned failover at fence-source when the source database becomes unreachable', async () => {
    const h = harness();
    const { outcome, run } = await h.execute(
      approvedRun(h.site, { request: { kind: 'failover', mode: 'planned' } }),
      {
        onChange: (current) => {
          if (current.steps.preflight?.status === 'succeeded') {
            void h.world.change((s) => {
              if (s.clusters.east) s.clusters.east.db.reachable = false;
            });
          }
        },
      },
    );
    expect(outcome).toBe('paused');
    expect(step(run, 'fence-source')).toMatchObject({
      status: 'failed',
      attempts: 2,
      errorCode: 'database-unreachable',
    });
    expect(run.stateReason).toBe('fence-source: east: database unreachable (simulated)');
    expect(await h.actions()).not.toContain('promote west');
  });

  it('fences best effort in an emergency when east is unreachable, and still fails over', async () => {
    const h = harness();
    await h.world.change((s) => {
      if (!s.clusters.east) return;
      s.clusters.east.reachable = false;
      s.clusters.east.db.reachable = false;
    });
    const { outcome, run, persistence } = await h.execute(approvedRun(h.site));
    expect(outcome).toBe('succeeded');
    expect(step(run, 'fence-source').output).toEqual({
      unfenced: [
        'east database: east: database unreachable (simulated)',
        'east workloads: east: Kubernetes API unreachable (simulated)',
      ],
    });
    expect(step(run, 'scale-down-source').output).toMatchObject({
      skipped: expect.stringContaining("east's Kubernetes API unreachable"),
    });
    expect(step(run, 'promote-target-db').output).toMatchObject({
      source: 'unreachable',
      rpo: { kind: 'unknown', detail: expect.stringContaining('west had received up to 0/3000000') },
    });
    expect((await h.actions()).sort()).toEqual(['dns west', 'promote west', `scale west ${WEB} 5`]);
    // East owes its fence: the database and the workloads, fenced the moment it answers.
    expect(persistence.fenceDebts).toMatchObject([
      { site: 'production', cluster: 'east', runId: 'r1', database: true, workloads: false },
      { site: 'production', cluster: 'east', runId: 'r1', database: false, workloads: true },
    ]);
    expect(run.timeline.filter((e) => e.event === 'fence-debt-opened')).toHaveLength(2);
  });

  it('refuses to promote a standby too far behind when catch-up was skipped', async () => {
    const h = harness();
    await h.world.change((s) => {
      s.lagBytes = 10_000_000; // never replayed
    });
    const run = approvedRun(h.site, { request: { kind: 'failover', force: true } });
    const skipped: Run = {
      ...run,
      steps: {
        ...run.steps,
        'catch-up': { id: 'catch-up', status: 'skipped', attempts: 1, skippedBy: ALICE },
      },
    };
    const { outcome, run: paused } = await h.execute(skipped);
    expect(outcome).toBe('succeeded'); // --force overrides the lag gate…
    expect(step(paused, 'promote-target-db').output).toMatchObject({ rpo: { kind: 'lost' } }); // …and says what it cost

    // Without --force, a standby that fell behind after preflight is not promoted.
    const h2 = harness();
    const plain = approvedRun(h2.site);
    const { outcome: refused, run: stopped } = await h2.execute(
      {
        ...plain,
        steps: {
          ...plain.steps,
          'catch-up': { id: 'catch-up', status: 'skipped', attempts: 1, skippedBy: ALICE },
        },
      },
      {
        onChange: (current) => {
          if (current.steps.preflight?.status === 'succeeded') {
            void h2.world.change((s) => {
              s.lagBytes = 10_000_000;
            });
          }
        },
      },
    );
    expect(refused).toBe('paused');
    expect(step(stopped, 'promote-target-db').errorCode).toBe('lag-too-high');
    expect(await h2.actions()).not.toContain('promote west');
  });

  it('pauses at preflight with preflight-failed when the target has too few Ready nodes', async () => {
    const h = harness();
    await h.world.change((s) => {
      if (s.clusters.west) s.clusters.west.readyNodes = 2;
    });
    const { outcome, run } = await h.execute(approvedRun(h.site));
    expect(outcome).toBe('paused');
    expect(step(run, 'preflight')).toMatchObject({
      status: 'failed',
      attempts: 1,
      errorCode: 'preflight-failed',
    });
    expect(run.stateReason).toContain('west: only 2 nodes Ready, need 3');
    expect(await h.actions()).toEqual([]);
  });

  it('goes past a failing preflight on a --force run', async () => {
    const h = harness();
    await h.world.change((s) => {
      if (s.clusters.west) s.clusters.west.readyNodes = 2;
    });
    const { outcome, run } = await h.execute(
      approvedRun(h.site, { request: { kind: 'failover', force: true } }),
    );
    expect(outcome).toBe('succeeded');
    expect(step(run, 'preflight').output).toMatchObject({ overridden: true });
    expect((await h.actions()).sort()).toEqual(FAILOVER_ACTIONS);
  });
});

describe('executeRun: progress notifications', () => {
  it('calls onChange after every save with the saved run', async () => {
    const h = harness();
    const seen: Run[] = [];
    const { run, persistence } = await h.execute(approvedRun(h.site), { onChange: (r) => seen.push(r) });
    expect(seen.map((r) => r.version)).toEqual(persistence.saves.map((s) => s.run.version));
    expect(seen.at(-1)).toEqual(run);
  });

  it('keeps going when onChange throws, and logs a warning', async () => {
    const h = harness();
    const { outcome } = await h.execute(approvedRun(h.site), {
      onChange: () => {
        throw new Error('slack is down');
      },
    });
    expect(outcome).toBe('succeeded');
    expect(h.log.entries).toContainEqual({
      level: 'warn',
      obj: { err: 'slack is down' },
      msg: 'progress notification failed',
    });
    expect((await h.actions()).sort()).toEqual(FAILOVER_ACTIONS);
  });
});
