/**
 * The sandbox's Slack workspace, as examples/baton.yaml expects it: the #incidents channel (with the bot in it), five users (approvers,
 * a requester, an outsider), the S0SRE and S0ONCALL user groups, and the bot token Baton is given.
 */

/** A public channel the bot was invited to, as an installation guide has the operator do (`/invite @baton`). */
export const SANDBOX_CHANNEL = {
  id: 'C0INCIDENTS',
  name: 'incidents',
  isPrivate: false,
  botMember: true,
} as const;
export const SANDBOX_BOT_TOKEN = 'xoxb-sandbox-bot-token';

export type SandboxUserRole = 'approver' | 'requester' | 'outsider';

export interface SandboxUser {
  id: string;
  name: string;
  role: SandboxUserRole;
  /** What the topology lets them do, in words. */
  about: string;
}

/** Matches examples/baton.yaml: U0ALICE and U0BOB approve, S0SRE approves, S0ONCALL requests. */
export const SANDBOX_USERS: readonly SandboxUser[] = [
  {
    id: 'U0ALICE',
    name: 'alice',
    role: 'approver',
    about: 'approver (approvals.approvers.users) and on call (S0ONCALL): may request and approve',
  },
  { id: 'U0BOB', name: 'bob', role: 'approver', about: 'approver (approvals.approvers.users)' },
  { id: 'U0CAROL', name: 'carol', role: 'approver', about: 'approver through the S0SRE user group' },
  {
    id: 'U0DAVE',
    name: 'dave',
    role: 'requester',
    about: 'on call (S0ONCALL): may run /failover and /failback, may not approve',
  },
  { id: 'U0MALLORY', name: 'mallory', role: 'outsider', about: 'in the channel, allowed nothing' },
];

export const SANDBOX_USER_GROUPS = { S0SRE: ['U0CAROL'], S0ONCALL: ['U0DAVE', 'U0ALICE'] };
