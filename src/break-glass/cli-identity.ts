/**
 * Who acts from the break-glass CLI. `--as` names the person by Slack user id; with Slack down Baton cannot read
 * user groups, so only people listed by id in the topology count: a requester must be in
 * `approvals.requesters.users` or `approvals.approvers.users`, an approver in `approvals.approvers.users`. The OS
 * user and host that typed the command ride along on the actor, so every audit entry says who really typed it, and
 * approvals typed from one OS account count as one (`approverMatch` in core/model.ts): `--as` alone proves nothing.
 */
import type { ApprovalsConfig } from '../config/topology.js';
import type { Actor, Run } from '../core/model.js';
import { sameActor } from '../core/model.js';
import { BatonError } from '../errors.js';

/** Where a CLI command was typed. */
export interface Origin {
  osUser: string;
  host: string;
}

export function cliActor(userId: string, origin: Origin): Actor {
  return { type: 'cli', id: userId, origin };
}

export const isListedApprover = (approvals: ApprovalsConfig, userId: string): boolean =>
  approvals.approvers.users.includes(userId);

/** Listed requesters, and listed approvers: an approver named by id may also ask (DESIGN's default). */
export const isListedRequester = (approvals: ApprovalsConfig, userId: string): boolean =>
  approvals.requesters.users.includes(userId) || isListedApprover(approvals, userId);

const list = (ids: readonly string[]): string => (ids.length ? ids.join(', ') : 'nobody');

/** Why a group member is not enough here, when the topology has groups at all. */
function groupNote(groups: readonly string[]): string {
  return groups.length
    ? ` Members of ${groups.join(', ')} count only in Slack: the CLI cannot read Slack user groups.`
    : '';
}

/** Throws `not-requester` unless `userId` may propose from the CLI. */
export function assertRequester(approvals: ApprovalsConfig, userId: string, configPath: string): void {
  if (isListedRequester(approvals, userId)) return;
  const listed = [...new Set([...approvals.requesters.users, ...approvals.approvers.users])];
  throw new BatonError(
    'not-requester',
    `${userId} may not propose from the CLI: only users listed by id in approvals.requesters.users or ` +
      `approvals.approvers.users of ${configPath} may (${list(listed)}).` +
      groupNote([...new Set([...approvals.requesters.userGroups, ...approvals.approvers.userGroups])]),
  );
}

/** The one-line refusal for someone who is not a listed approver. */
export function notApproverMessage(approvals: ApprovalsConfig, userId: string, configPath: string): string {
  return (
    `${userId} is not listed in approvals.approvers.users of ${configPath}, the only approvers the CLI accepts ` +
    `(${list(approvals.approvers.users)}).${groupNote(approvals.approvers.userGroups)}`
  );
}

/** Listed approvers who could still approve `run`: not counted yet, and not its requester unless that is allowed. */
export function approversLeft(
  run: Pick<Run, 'approvals' | 'requestedBy'>,
  approvals: ApprovalsConfig,
): string[] {
  return approvals.approvers.users.filter((id) => {
    const person: Actor = { type: 'cli', id };
    if (run.approvals.some((a) => sameActor(a.actor, person))) return false;
    return approvals.allowSelfApproval || !sameActor(run.requestedBy, person);
  });
}

/** A person in plain text: `U0BOB`, `U0BOB (CLI, root@bastion)`, `alert ActiveClusterDown`, `Baton`. */
export function actorPlain(actor: Actor): string {
  switch (actor.type) {
    case 'slack-user':
      return actor.name && actor.name !== actor.id ? `${actor.id} (${actor.name})` : actor.id;
    case 'cli':
      return actor.origin
        ? `${actor.id} (CLI, ${actor.origin.osUser}@${actor.origin.host})`
        : `${actor.id} (CLI)`;
    case 'policy':
      return `auto-approval policy ${actor.name ?? actor.id}`;
    case 'alert':
      return `alert ${actor.name ?? actor.id}`;
    case 'system':
      return 'Baton';
  }
}
