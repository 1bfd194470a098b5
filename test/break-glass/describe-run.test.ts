/**
 * How the break-glass CLI shows a run and who it lets act: pure, on runs built as RunCommands builds them.
 */
import { describe, expect, it } from 'vitest';
import {
  actorPlain,
  approversLeft,
  assertRequester,
  cliActor,
  notApproverMessage,
} from '../../src/break-glass/cli-identity.js';
import { describeRun, renderRun } from '../../src/break-glass/describe-run.js';
import type { Run } from '../../src/core/model.js';
import { approveRun } from '../../src/core/policy/approvals.js';
import { BatonError } from '../../src/errors.js';
import { ALICE, approvedRun, exampleSite, exampleTopology, proposedRun } from '../support/core-fixtures.js';

const ORIGIN = { osUser: 'sre', host: 'bastion-1' };
const NOW = 1_700_000_000_000;

function refusalOf(fn: () => unknown): BatonError {
  try {
    fn();
  } catch (error) {
    if (error instanceof BatonError) return error;
    throw error;
  }
  throw new Error('expected a BatonError');
}

describe('who may act from the CLI', () => {
  const { approvals } = exampleTopology();

  it('requesters are users listed by id as requesters or approvers; group members are told why not', () => {
    expect(() => assertRequester(approvals, 'U0ALICE', 'baton.yaml')).not.toThrow();
    const refused = refusalOf(() => assertRequester(approvals, 'U0DAVE', 'baton.yaml'));
    expect(refused.code).toBe('not-requester');
    expect(refused.message).toBe(
      'U0DAVE may not propose from the CLI: only users listed by id in approvals.requesters.users or ' +
        'approvals.approvers.users of baton.yaml may (U0ALICE, U0BOB). Members of S0ONCALL, S0SRE count only in ' +
        'Slack: the CLI cannot read Slack user groups.',
    );
    expect(notApproverMessage(approvals, 'U0CAROL', 'baton.yaml')).toBe(
      'U0CAROL is not listed in approvals.approvers.users of baton.yaml, the only approvers the CLI accepts ' +
        '(U0ALICE, U0BOB). Members of S0SRE count only in Slack: the CLI cannot read Slack user groups.',
    );
  });

  it('the person behind --as is the same person as in Slack: no self-approval, no second approval', () => {
    const run: Run = { ...proposedRun(exampleSite(), { now: NOW }), requestedBy: ALICE };
    const context = { config: approvals, isApprover: true, now: NOW + 1000 };
    expect(approveRun(run, cliActor('U0ALICE', ORIGIN), context)).toMatchObject({
      ok: false,
      code: 'self-approval',
    });
    expect(approversLeft(run, approvals)).toEqual(['U0BOB']);

    const twoNeeded = { ...approvals, required: 2, allowSelfApproval: true };
    const once = approveRun(run, ALICE, { ...context, config: twoNeeded });
    if (!once.ok) throw new Error(once.reason);
    expect(
      approveRun(once.run, cliActor('U0ALICE', ORIGIN), { ...context, config: twoNeeded }),
    ).toMatchObject({
      ok: false,
      code: 'already-approved',
    });
    expect(approversLeft(once.run, twoNeeded)).toEqual(['U0BOB']);
  });

  it('actors read plainly, the CLI with the account that typed it', () => {
    expect(actorPlain(cliActor('U0BOB', ORIGIN))).toBe('U0BOB (CLI, sre@bastion-1)');
    expect(actorPlain(ALICE)).toBe('U0ALICE (alice)');
    expect(actorPlain({ type: 'system', id: 'baton' })).toBe('Baton');
  });
});

describe('a run as the CLI shows it', () => {
  const { approvals } = exampleTopology();
  const site = exampleSite();

  it('a proposal: approvals n of m, expiry, and the approve command naming who can still approve', () => {
    const run: Run = { ...proposedRun(site, { now: NOW }), requestedBy: cliActor('U0ALICE', ORIGIN) };
    const view = describeRun(run, { approvals, now: NOW + 60_000, runWorkers: 1 });
    expect(view).toMatchObject({
      id: 'r1',
      label: 'EMERGENCY failover',
      state: 'proposed',
      requestedBy: { type: 'cli', id: 'U0ALICE', origin: ORIGIN, text: 'U0ALICE (CLI, sre@bastion-1)' },
      requestedAt: '2023-11-14T22:13:20Z',
      expiresAt: '2023-11-14T22:28:20Z',
      approvals: { count: 0, required: 1, breakGlass: false, by: [] },
    });
    expect(view.next[0]).toBe(
      'Needs 1 more approval before it expires in 14 m 0 s: baton approve r1 --as <APPROVER>   ' +
        '(listed approvers who can: U0BOB)',
    );
    expect(renderRun(view).join('\n')).not.toContain('steps:');
  });

  it('a running run: each step with its status and duration, a running one so far, and how to stop it', () => {
    const approved = approvedRun(site, { now: NOW });
    const start = NOW + 2000;
    const run: Run = {
      ...approved,
      state: 'running',
      timeline: [...approved.timeline, { at: start, event: 'running' }],
      steps: {
        ...approved.steps,
        preflight: {
          id: 'preflight',
          status: 'succeeded',
          attempts: 1,
          startedAt: start,
          finishedAt: start + 1200,
        },
        'fence-source': {
          id: 'fence-source',
          status: 'succeeded',
          attempts: 2,
          startedAt: start + 1200,
          finishedAt: start + 4200,
        },
        'scale-up-target': { id: 'scale-up-target', status: 'running', attempts: 1, startedAt: start + 1200 },
      },
    };
    const view = describeRun(run, { approvals, now: start + 31_200, runWorkers: 2 });
    expect(view.elapsedMs).toBe(31_200);
    expect(view.steps.slice(0, 4).map((s) => [s.id, s.status, s.durationMs])).toEqual([
      ['preflight', 'succeeded', 1200],
      ['fence-source', 'succeeded', 3000],
      ['scale-up-target', 'running', 30_000],
      ['catch-up', 'pending', undefined],
    ]);
    const text = renderRun(view);
    expect(text[0]).toBe('r1  EMERGENCY failover of production, east → west: RUNNING (31 s)');
    expect(text).toContain('  approvals: 1 of 1 by U0ALICE (alice)');
    expect(text.find((l) => l.includes('3. Scale up west'))).toMatch(
      /^ {4}running +3\. Scale up west +30 s so far$/,
    );
    expect(text.find((l) => l.includes('2. Fence east'))).toMatch(/3 s {2}\(2 attempts\)$/);
    expect(view.next).toEqual([
      'Running scale-up-target on a worker; follow it with: baton status production',
      'To stop it: baton abort r1 --as <APPROVER>   (Abort undoes Scale up west, then Fence east and stops.)',
    ]);
  });

  it('a paused run: its reason once, and retry or abort; an approved run with no worker says so', () => {
    const approved = approvedRun(site, { now: NOW });
    const error = 'Route 53 denied ChangeResourceRecordSets';
    const paused: Run = {
      ...approved,
      state: 'paused',
      stateReason: `switch-dns: ${error}`,
      steps: {
        ...approved.steps,
        'promote-target-db': { id: 'promote-target-db', status: 'succeeded', attempts: 1 },
        'switch-dns': {
          id: 'switch-dns',
          status: 'failed',
          attempts: 3,
          startedAt: NOW,
          finishedAt: NOW + 9000,
          error,
        },
      },
    };
    const view = describeRun(paused, { approvals, now: NOW + 10_000, runWorkers: 1 });
    const text = renderRun(view).join('\n');
    expect(text.split(error)).toHaveLength(2);
    expect(view.next.slice(0, 2)).toEqual([
      'Fix the cause, then try the failed step again: baton retry r1 --as <APPROVER>',
      "It cannot be stopped: Abort is refused: Promote west's database was already requested, so nothing can be " +
        "undone — west's database is (or is becoming) the primary and east stays fenced. Retry to finish the run.",
    ]);
    expect(describeRun(approved, { approvals, now: NOW, runWorkers: 0 }).next).toEqual([
      'Approved; a worker starts it now.',
      'No worker is connected to Redis: start `baton worker` (or `baton start`).',
    ]);
    expect(
      describeRun({ ...approved, state: 'succeeded' }, { approvals, now: NOW, runWorkers: 0 }).next,
    ).toEqual([]);
  });
});
