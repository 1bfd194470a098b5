/**
 * Who may request a run and who may approve one, decided in one place for every surface, by the kind of actor:
 *
 * - a Slack user: the listed users and the members of the listed Slack user groups (read through the directory,
 *   which only the web role has);
 * - a break-glass CLI operator: the users listed by id (the CLI cannot read Slack user groups);
 * - the auto-approval policy: approves, never requests;
 * - an alert: requests (its rule said so), never approves;
 * - Baton itself: neither.
 *
 * Requesting is open to the requesters and to the approvers (an approver may always ask for what they could
 * approve), on every surface alike. A refusal says what was refused, why, who can do it instead, and what to do next.
 */
import type { ApprovalsConfig, Principals } from '../config/topology.js';
import type { Actor } from '../core/model.js';
import { DRILL_POLICY } from '../core/drills/drill.js';
import { BatonError } from '../errors.js';

/** `abort`: stop a run before the point of no return — the approvers, and the game-day policy for its own drills. */
export type Permission = 'request' | 'approve' | 'abort';

/** Slack user-group membership; throws `directory-unavailable` when a group that matters cannot be read. */
export interface Directory {
  includes(principals: Principals, userId: string): Promise<boolean>;
}

/** The policy id that auto-approves alert proposals. */
export const AUTO_APPROVAL_POLICY = 'auto-approval';

export interface Authorizer {
  allows(actor: Actor, permission: Permission): Promise<boolean>;
  /** Throws `not-approver` / `not-requester` unless `actor` may; `what` completes "Only approvers can …". */
  require(actor: Actor, permission: Permission, what: string): Promise<void>;
  /** Who holds `permission`, as configured. */
  principals(permission: Permission): Principals;
}

export function createAuthorizer(approvals: ApprovalsConfig, directory?: Directory): Authorizer {
  const principals = (permission: Permission): Principals =>
    permission !== 'request'
      ? approvals.approvers
      : {
          users: [...new Set([...approvals.requesters.users, ...approvals.approvers.users])],
          userGroups: [...new Set([...approvals.requesters.userGroups, ...approvals.approvers.userGroups])],
        };

  const allows = async (actor: Actor, permission: Permission): Promise<boolean> => {
    const who = principals(permission);
    switch (actor.type) {
      case 'slack-user':
        return directory ? directory.includes(who, actor.id) : who.users.includes(actor.id);
      case 'cli':
        return who.users.includes(actor.id);
      case 'policy':
        return (
          (permission === 'approve' && actor.id === AUTO_APPROVAL_POLICY) ||
          (permission === 'abort' && actor.id === DRILL_POLICY)
        );
      case 'alert':
        return permission === 'request';
      case 'system':
        return false;
    }
  };

  return {
    allows,
    principals,
    async require(actor, permission, what) {
      if (await allows(actor, permission)) return;
      const who = principals(permission);
      const role = permission !== 'request' ? 'approvers' : 'requesters';
      const listed = [...who.users, ...who.userGroups.map((g) => `members of ${g}`)];
      const cliNote =
        actor.type === 'cli' && who.userGroups.length
          ? ' From the CLI only users listed by id count: the CLI cannot read Slack user groups.'
          : '';
      throw new BatonError(
        permission !== 'request' ? 'not-approver' : 'not-requester',
        `Only ${role} can ${what}. ${role[0]?.toUpperCase()}${role.slice(1)}: ` +
          `${listed.length ? listed.join(', ') : 'nobody is configured'}.${cliNote} Ask one of them.`,
      );
    },
  };
}
