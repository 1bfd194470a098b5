/**
 * The break-glass commands that change runs: propose, approve, reject, cancel, retry, abort, accept-risk. Each goes
 * through the run service, exactly as a Slack click does (same policy, same atomic save, same audit entry, same
 * deterministic job), with a CLI actor, then queues the run's Slack message so the channel shows it once Slack
 * answers again. The actor carries the OS account that typed the command: approvals and break-glass votes typed
 * from one account count as one, whatever `--as` says.
 */
import type { Run } from '../core/model.js';
import { renderPlan } from '../core/plans/build-plan.js';
import { requiredApprovals } from '../core/policy/approvals.js';
import { BatonError } from '../errors.js';
import { formatDuration, plural, runLabel } from '../slack/blocks/format.js';
import type { Origin } from './cli-identity.js';
import { osAccountText } from '../core/policy/identity.js';
import { splitBrainConsequence } from '../slack/blocks/run-lines.js';
import { actorPlain, approversLeft, assertRequester, cliActor } from './cli-identity.js';
import { preflightView, renderPreflight } from './describe-run.js';
import type { BreakGlass } from './open-break-glass.js';
import type { ProposeRequest, RunAction } from './parse-break-glass-args.js';
import { countWorkers } from './show-status.js';

const POLL_MS = 200;

/** Proposes a run as `request.as`; returns the lines to print. Throws `open-run` when the site has one. */
export async function proposeRun(bg: BreakGlass, request: ProposeRequest, origin: Origin): Promise<string[]> {
  const { topology, configPath } = bg;
  assertRequester(topology.approvals, request.as, configPath);
  const actor = cliActor(request.as, origin);
  const { created, run } = await bg.service.propose({
    ...(request.site !== undefined && { site: request.site }),
    kind: request.kind,
    ...(request.planned && { mode: 'planned' as const }),
    force: request.force,
    reason: request.reason,
    actor,
  });
  if (!created) {
    const why = run.stateReason ? ` (${run.stateReason.replace(/[.\s]+$/, '')})` : '';
    const approvers = [...topology.approvals.approvers.users, ...topology.approvals.approvers.userGroups];
    throw new BatonError(
      'open-run',
      `${run.site} already has an open run, so nothing new was started: ${run.kind} ${run.id}, ${run.state}${why}, ` +
        `requested by ${actorPlain(run.requestedBy)}. See it with \`baton status ${run.site}\`; cancel it with ` +
        `\`baton cancel ${run.id} --as <USER>\` (the requester or an approver: ${approvers.join(', ')})`,
    );
  }
  bg.log.info({ runId: run.id, actor }, 'proposed from the break-glass CLI');

  const measured = await waitForPreflight(bg, run, request.waitMs);
  const required = requiredApprovals(run, topology.approvals);
  const left = approversLeft(run, topology.approvals);
  const lines = [
    `Proposed ${runLabel(run)} ${run.id} of ${run.site}, ${run.from} → ${run.to}, as ${actorPlain(actor)}.`,
    `Reason: ${run.reason}`,
    '',
    ...renderPlan(run.plan),
    ...run.plan.warnings.map((w) => `! ${w}`),
    '',
    'Preflight:',
    ...(measured.preflight
      ? renderPreflight(preflightView(measured.preflight))
      : [
          `  ${measured.note ?? 'not measured yet'}; \`baton status ${run.site}\` shows it once a worker has`,
        ]),
    '',
    `Next: ${plural(required, run.force ? 'break-glass approval' : 'approval')} within ` +
      `${formatDuration(topology.approvals.expiresAfterMs)} from listed approvers (${left.join(', ') || 'none'}):`,
    `  baton approve ${run.id} --as <APPROVER>`,
    `  (approvals typed from this OS account, ${osAccountText(origin)}, count as one: approvers use their own ` +
      'account, or Slack)',
    'Slack shows the proposal, with its buttons, as soon as it answers again.',
  ];
  return lines;
}

/** Waits until a worker has stored the proposal's preflight, or says why not. */
async function waitForPreflight(
  bg: BreakGlass,
  run: Run,
  waitMs: number,
): Promise<{ preflight?: NonNullable<Run['preflight']>; note?: string }> {
  if (waitMs <= 0) return { note: 'a worker measures it' };
  if ((await countWorkers(bg.queues.checks)) === 0)
    return { note: 'not measured: no worker is connected to Redis (start `baton worker`)' };
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const current = await bg.service.get(run.id);
    if (current?.preflight) return { preflight: current.preflight };
    if (current?.state !== 'proposed') break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return { note: `a worker has not measured it within ${waitMs / 1000} s` };
}

/** approve, reject, cancel, retry, abort or accept-risk `runId` as `as`; returns the lines to print. */
export async function actOnRun(
  bg: BreakGlass,
  action: RunAction,
  request: { runId: string; as: string; reason?: string },
  origin: Origin,
): Promise<string[]> {
  const { runId } = request;
  const actor = cliActor(request.as, origin);
  const before = await bg.service.require(runId);
  let run: Run;
  let lines: string[];
  switch (action) {
    case 'approve': {
      if (before.state !== 'proposed') throw notAwaiting(before);
      const outcome = await bg.service.approve(runId, actor);
      run = outcome.run;
      if (outcome.complete) {
        lines = [
          `Approved ${run.id} as ${actorPlain(actor)} (${outcome.count} of ${outcome.required}): ` +
            `the ${runLabel(run)} of ${run.site} (${run.from} → ${run.to}) starts on a worker now.`,
          `Follow it: baton status ${run.site}`,
        ];
        if ((await countWorkers(bg.queues.runs)) === 0)
          lines.push('! No worker is connected to Redis: the run waits until `baton worker` runs.');
      } else {
        const left = approversLeft(run, bg.topology.approvals);
        lines = [
          `Approval ${outcome.count} of ${outcome.required} for ${run.id} counted, as ${actorPlain(actor)}.`,
          `Next: ${plural(outcome.required - outcome.count, 'more approval')} from listed approvers ` +
            `(${left.join(', ') || 'none'}): baton approve ${run.id} --as <APPROVER>`,
        ];
      }
      break;
    }
    case 'reject':
      if (before.state !== 'proposed') throw notAwaiting(before);
      run = await bg.service.reject(runId, actor, request.reason ?? 'rejected from the break-glass CLI');
      lines = [`Rejected ${run.id} as ${actorPlain(actor)}; ${run.site} is free for another proposal.`];
      break;
    case 'cancel':
      if (before.state !== 'proposed' && before.state !== 'approved') {
        throw new BatonError(
          'not-cancellable',
          `run ${runId} is ${before.state}: only a proposal or an approved run that has not started can be ` +
            `cancelled${before.state === 'running' || before.state === 'paused' ? `; to stop it: baton abort ${runId} --as <APPROVER>` : ''}`,
        );
      }
      run = await bg.service.cancel(runId, actor);
      lines = [`Cancelled ${run.id} as ${actorPlain(actor)}.`];
      break;
    case 'retry':
      run = await bg.service.retry(runId, actor);
      lines = [
        `Retrying the failed step of ${run.id} as ${actorPlain(actor)}. Follow it: baton status ${run.site}`,
      ];
      break;
    case 'abort':
      run = await bg.service.abort(runId, actor);
      lines = [
        `Aborting ${run.id} as ${actorPlain(actor)}: a worker undoes the reversible steps. ` +
          `Follow it: baton status ${run.site}`,
      ];
      break;
    case 'accept-risk': {
      const vote = await bg.service.acceptRisk(runId, actor);
      run = vote.run;
      lines = vote.applied
        ? [
            `Accepted the split-brain risk of ${run.id} as ${actorPlain(actor)} (${vote.count} of ${vote.required}): ` +
              `a worker promotes ${run.to} now. ${splitBrainConsequence(run)}.`,
            `Follow it: baton status ${run.site}`,
          ]
        : [
            `Split-brain risk vote ${vote.count} of ${vote.required} for ${run.id} counted, as ${actorPlain(actor)}.`,
            `Next: ${plural(vote.required - vote.count, 'more break-glass vote')} from listed approvers, each from ` +
              `their own OS account or in Slack: baton accept-risk ${run.id} --as <APPROVER>`,
          ];
      break;
    }
  }
  bg.log.info({ runId, action, actor, state: run.state }, `${action} from the break-glass CLI`);
  return lines;
}

/** The error for a decision on a run that is no longer a proposal. */
export function notAwaiting(run: Pick<Run, 'id' | 'state' | 'site'>): BatonError {
  return new BatonError(
    'not-proposed',
    `run ${run.id} is ${run.state}, not awaiting approval: \`baton status ${run.site}\` shows what it is doing`,
  );
}
