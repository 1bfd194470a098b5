import { describe, expect, it } from 'vitest';
import type { ApprovalsConfig } from '../../../src/config/topology.js';
import type { Actor, Run } from '../../../src/core/model.js';
import type { ApprovalOutcome } from '../../../src/core/policy/approvals.js';
import { approveRun, requiredApprovals } from '../../../src/core/policy/approvals.js';
import { ALICE, BOB, CAROL, exampleSite, exampleTopology, proposedRun } from '../../support/core-fixtures.js';

const site = exampleSite();
/** The example: one approval, no self-approval, two for break-glass. */
const config: ApprovalsConfig = exampleTopology().approvals;
const run = proposedRun(site); // requested by CAROL, expires 15 min after createdAt
const now = run.createdAt + 60_000;

const approve = (target: Run, actor = ALICE, overrides: Partial<Parameters<typeof approveRun>[2]> = {}) =>
  approveRun(target, actor, { config, isApprover: true, now, ...overrides });

function accepted(outcome: ApprovalOutcome) {
  if (!outcome.ok) throw new Error(`expected the approval to count, got ${outcome.code}: ${outcome.reason}`);
  return outcome;
}

describe('approveRun', () => {
  it('reads the example config: 1 approval, no self-approval, 2 for break-glass', () => {
    expect(config).toMatchObject({ required: 1, allowSelfApproval: false, breakGlass: { required: 2 } });
  });

  it('approves with one approver and starts segment 1', () => {
    const outcome = accepted(approve(run));
    expect(outcome).toMatchObject({ complete: true, count: 1, required: 1 });
    expect(outcome.run.state).toBe('approved');
    expect(outcome.run.segment).toBe(1);
    expect(outcome.run.approvals).toEqual([{ actor: ALICE, at: now, breakGlass: false }]);
    expect(outcome.run.timeline.slice(-2)).toEqual([
      { at: now, event: 'approval', actor: ALICE },
      { at: now, event: 'approved', actor: ALICE },
    ]);
    expect(run.state).toBe('proposed'); // the input is not changed
  });

  it('refuses someone who is not an approver', () => {
    const outcome = approve(run, BOB, { isApprover: false });
    expect(outcome).toMatchObject({ ok: false, code: 'not-approver' });
    expect(outcome.ok || outcome.reason).toContain('not an approver');
  });

  it('refuses the requester approving their own run', () => {
    expect(approve(run, CAROL)).toMatchObject({ ok: false, code: 'self-approval' });
  });

  it('lets the requester approve when allowSelfApproval is on', () => {
    const outcome = accepted(approve(run, CAROL, { config: { ...config, allowSelfApproval: true } }));
    expect(outcome.run.state).toBe('approved');
  });

  it('counts distinct approvers when two are required', () => {
    const two = { ...config, required: 2 };
    const first = accepted(approve(run, ALICE, { config: two }));
    expect(first).toMatchObject({ complete: false, count: 1, required: 2 });
    expect(first.run.state).toBe('proposed');
    expect(first.run.segment).toBe(0);

    const again = approve(first.run, ALICE, { config: two, now: now + 1 });
    expect(again).toMatchObject({ ok: false, code: 'already-approved' });

    const second = accepted(approve(first.run, BOB, { config: two, now: now + 2 }));
    expect(second).toMatchObject({ complete: true, count: 2, required: 2 });
    expect(second.run.state).toBe('approved');
    expect(second.run.segment).toBe(1);
    expect(second.run.approvals.map((a) => a.actor.id)).toEqual(['U0ALICE', 'U0BOB']);
  });

  it('refuses a duplicate click with already-approved', () => {
    const two = { ...config, required: 2 };
    const first = accepted(approve(run, ALICE, { config: two }));
    const duplicate = approve(first.run, ALICE, { config: two });
    expect(duplicate).toMatchObject({ ok: false, code: 'already-approved' });
  });

  it('refuses an approval at or after expiry', () => {
    const expiresAt = run.expiresAt ?? 0;
    expect(approve(run, ALICE, { now: expiresAt })).toMatchObject({ ok: false, code: 'expired' });
    expect(approve(run, ALICE, { now: expiresAt + 1 })).toMatchObject({ ok: false, code: 'expired' });
    expect(accepted(approve(run, ALICE, { now: expiresAt - 1 })).complete).toBe(true);
  });

  it('refuses a run that is no longer a proposal with not-proposed', () => {
    const approved = accepted(approve(run)).run;
    const outcome = approve(approved, BOB);
    expect(outcome).toMatchObject({ ok: false, code: 'not-proposed' });
    expect(outcome.ok || outcome.reason).toBe('Run r1 is already approved');
    expect(approve({ ...run, state: 'cancelled' }, BOB)).toMatchObject({ ok: false, code: 'not-proposed' });
  });

  it('needs breakGlass.required approvals for a --force run, marked break-glass', () => {
    const forced = proposedRun(site, { request: { kind: 'failover', force: true } });
    expect(forced.force).toBe(true);
    const first = accepted(approve(forced, ALICE));
    expect(first).toMatchObject({ complete: false, count: 1, required: 2 });
    expect(first.run.approvals[0]?.breakGlass).toBe(true);
    const second = accepted(approve(first.run, BOB));
    expect(second).toMatchObject({ complete: true, count: 2, required: 2 });
    expect(second.run.state).toBe('approved');
  });
});

describe('requiredApprovals', () => {
  it('is `required` normally and the larger of the two for --force', () => {
    expect(requiredApprovals({ force: false }, config)).toBe(1);
    expect(requiredApprovals({ force: true }, config)).toBe(2);
    expect(requiredApprovals({ force: true }, { ...config, required: 3 })).toBe(3);
  });
});

describe('approveRun: one OS account gives one approval', () => {
  const bastion = { osUser: 'root', host: 'bastion-1' };
  const cli = (id: string, origin = bastion): Actor => ({ type: 'cli', id, origin });
  const two = { ...config, required: 2 };

  it('counts two --as ids typed from one OS account as one, and says why and what to do', () => {
    const first = accepted(approve(run, cli('U0ALICE'), { config: two }));
    const second = approve(first.run, cli('U0BOB'), { config: two, now: now + 1 });
    expect(second).toMatchObject({ ok: false, code: 'same-os-account' });
    expect(second.ok || second.reason).toBe(
      'approvals typed from one OS account (root@bastion-1) count as one, whatever --as says: ' +
        "U0ALICE's approval from it is already counted (1 of 2). Another approver must approve from their own " +
        'OS account, or in Slack',
    );
    // From another account, or from Slack, the second approval counts.
    expect(
      accepted(approve(first.run, cli('U0BOB', { osUser: 'bob', host: 'bastion-1' }), { config: two })),
    ).toMatchObject({
      complete: true,
      count: 2,
    });
    expect(accepted(approve(first.run, BOB, { config: two }))).toMatchObject({ complete: true, count: 2 });
  });

  it('holds for break-glass (--force) approvals too', () => {
    const forced = proposedRun(site, { request: { kind: 'failover', force: true } });
    const first = accepted(approve(forced, cli('U0ALICE')));
    expect(approve(first.run, cli('U0BOB'))).toMatchObject({ ok: false, code: 'same-os-account' });
    expect(first.run.state).toBe('proposed');
  });

  it('a proposal typed from an OS account cannot be approved from that account under another --as', () => {
    const fromCli = { ...run, requestedBy: cli('U0CAROL') };
    const outcome = approve(fromCli, cli('U0ALICE'));
    expect(outcome).toMatchObject({ ok: false, code: 'same-os-account' });
    expect(outcome.ok || outcome.reason).toContain('U0CAROL proposed r1 from it');
    expect(accepted(approve(fromCli, ALICE)).complete).toBe(true);
    expect(
      accepted(approve(fromCli, cli('U0ALICE'), { config: { ...config, allowSelfApproval: true } })).complete,
    ).toBe(true);
  });

  it('the CLI acting as a Slack user who approved is that user: already approved', () => {
    const first = accepted(approve(run, BOB, { config: two }));
    expect(approve(first.run, cli('U0BOB'), { config: two })).toMatchObject({
      ok: false,
      code: 'already-approved',
    });
  });
});
