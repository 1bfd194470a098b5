/**
 * Runs at each stage of a failover, built the way the core builds them (newRun, transitionRun, the step records
 * executeRun writes), with fixed times so the Block Kit snapshots are stable.
 */
import type { SiteConfig } from '../../../src/config/topology.js';
import type { Actor, Run, RunState, StepId, StepRecord } from '../../../src/core/model.js';
import type { RunRequest } from '../../../src/core/plans/build-plan.js';
import { transitionRun } from '../../../src/core/runs/transition-run.js';
import type { PreflightCheck } from '../../../src/core/steps/preflight.js';
import { ALICE, BOB, CAROL, exampleSite, proposedRun } from '../../support/core-fixtures.js';

/** 2023-11-14T22:13:20Z, when every fixture run is proposed. */
export const T0 = 1_700_000_000_000;
export const SECOND = 1000;
export const at = (seconds: number): number => T0 + seconds * SECOND;

export { ALICE, BOB, CAROL };

export const PREFLIGHT_OK: PreflightCheck[] = [
  { id: 'target-nodes', status: 'passed', detail: 'west: 3 nodes Ready (need 3)' },
  {
    id: 'source-reachable',
    status: 'warning',
    detail: 'east: unreachable (connect ECONNREFUSED 10.0.0.1:443)',
  },
  { id: 'workload default/web', status: 'passed', detail: 'west: exists' },
  { id: 'target-database', status: 'passed', detail: 'west: standby 512 KiB behind (limit 1 MiB)' },
  { id: 'dns', status: 'passed', detail: 'app.example.com points at east' },
];

export const PREFLIGHT_FAILING: PreflightCheck[] = [
  { id: 'target-nodes', status: 'failed', detail: 'west: only 2 nodes Ready, need 3' },
  ...PREFLIGHT_OK.slice(1),
];

export function proposal(request: RunRequest = { kind: 'failover' }, site: SiteConfig = exampleSite()): Run {
  return proposedRun(site, { request, now: T0 });
}

/** Applies a state transition through the real state machine. */
export function move(run: Run, to: RunState, seconds: number, actor?: Actor, reason?: string): Run {
  return transitionRun(run, to, { at: at(seconds), ...(actor && { actor }), ...(reason && { reason }) });
}

/** One approval landing at `seconds`; completes the run when `complete`. */
export function approve(run: Run, actor: Actor, seconds: number, complete = true): Run {
  const approved: Run = {
    ...run,
    approvals: [...run.approvals, { actor, at: at(seconds), breakGlass: run.force }],
    updatedAt: at(seconds),
    timeline: [...run.timeline, { at: at(seconds), event: 'approval', actor }],
  };
  return complete ? { ...move(approved, 'approved', seconds, actor), segment: run.segment + 1 } : approved;
}

/** A step record change with the timeline entry executeRun writes for it (at `seconds`, else the step's own time). */
export function step(
  run: Run,
  id: StepId,
  patch: Partial<StepRecord>,
  event?: string,
  seconds?: number,
): Run {
  const current = run.steps[id] ?? { id, status: 'pending', attempts: 0 };
  const next = { ...current, ...patch };
  const when = seconds !== undefined ? at(seconds) : (patch.finishedAt ?? patch.startedAt ?? run.updatedAt);
  return {
    ...run,
    updatedAt: when,
    version: run.version + 1,
    steps: { ...run.steps, [id]: next },
    timeline: event ? [...run.timeline, { at: when, event }] : run.timeline,
  };
}

const done = (
  run: Run,
  id: StepId,
  from: number,
  to: number,
  output: Record<string, unknown>,
  attempts = 1,
): Run =>
  step(
    run,
    id,
    { status: 'succeeded', attempts, startedAt: at(from), finishedAt: at(to), output },
    `${id} succeeded`,
  );

/** A fence of east as the adapter returns it. */
export const FENCE = {
  lsn: '0/3000060',
  nextXid: '750',
  openXids: [],
  prepared: [],
  endedSessions: 3,
  standby: false,
};

/** Approved by Alice at +60 s, started at +62 s. */
export function startedRun(request?: RunRequest): Run {
  return move(approve(proposal(request), ALICE, 60), 'running', 62, { type: 'system', id: 'baton' });
}

/** Emergency failover east → west: everything up to and including the promotion is done; DNS is switching. */
export function runningRun(): Run {
  let run = startedRun();
  run = done(run, 'preflight', 62, 64, { checks: PREFLIGHT_OK, overridden: false });
  run = done(run, 'fence-source', 64, 70, {
    fence: FENCE,
    scaled: { 'default/web': { from: 5, to: 1 } },
  });
  run = done(run, 'scale-up-target', 64, 95, { scaled: { 'default/web': { from: 1, to: 5 } } });
  run = done(run, 'catch-up', 95, 95, { lsn: '0/3000060', replayed: '0/3000060', waitedMs: 120 });
  run = done(run, 'promote-target-db', 95, 98, {
    source: 'fenced',
    rpo: {
      kind: 'proved',
      detail: 'east committed nothing after its fence at 0/3000060, and west had replayed that position',
    },
  });
  return step(run, 'switch-dns', {
    status: 'running',
    attempts: 2,
    startedAt: at(98),
    progress: { changeId: 'C0123456789ABC' },
  });
}

/** The running run finished: DNS switched, verified, source scaled down. */
export function succeededRun(): Run {
  let run = runningRun();
  run = done(run, 'switch-dns', 98, 130, { changeId: 'C0123456789ABC', inSyncAfterMs: 30_000 }, 2);
  run = done(run, 'verify', 130, 140, {
    answers: ['203.0.113.20'],
    healthStatus: 200,
    verifiedAfterMs: 9000,
  });
  run = done(run, 'scale-down-source', 140, 142, { alreadyDone: true });
  return move(run, 'succeeded', 142, { type: 'system', id: 'baton' }, 'Finished in 1 m 20 s');
}

/** Paused after the point of no return: switch-dns failed three times. */
export function pausedAfterPromotion(): Run {
  let run = runningRun();
  const error = 'Route 53 throttled ChangeResourceRecordSets (Throttling): Rate exceeded';
  run = step(
    run,
    'switch-dns',
    { status: 'failed', attempts: 3, finishedAt: at(150), error, errorCode: 'route53-throttled' },
    `switch-dns failed: ${error}`,
  );
  return move(run, 'paused', 150, { type: 'system', id: 'baton' }, `switch-dns: ${error}`);
}

/** Paused before the point of no return: west's pods never became Ready. */
export function pausedBeforePromotion(): Run {
  let run = startedRun();
  run = done(run, 'preflight', 62, 64, { checks: PREFLIGHT_OK, overridden: false });
  run = done(run, 'fence-source', 64, 70, {
    fence: FENCE,
    scaled: { 'default/web': { from: 5, to: 1 } },
  });
  const error = 'Scale up west did not finish within 300 s — last seen: default/web on west: 2/5 Ready';
  run = step(
    run,
    'scale-up-target',
    {
      status: 'failed',
      attempts: 2,
      startedAt: at(64),
      finishedAt: at(700),
      error,
      errorCode: 'step-timeout',
    },
    `scale-up-target failed: ${error}`,
  );
  return move(run, 'paused', 700, { type: 'system', id: 'baton' }, `scale-up-target: ${error}`);
}

/** Bob aborted the run paused before promotion; both reversible steps were undone. */
export function abortedRun(): Run {
  let run = { ...move(pausedBeforePromotion(), 'aborting', 720, BOB, 'abort requested'), segment: 2 };
  run = step(run, 'scale-up-target', { status: 'undone' }, 'scale-up-target undone', 728);
  run = step(run, 'fence-source', { status: 'undone' }, 'fence-source undone', 734);
  return move(run, 'aborted', 735, { type: 'system', id: 'baton' }, 'Undid scale-up-target, fence-source');
}
