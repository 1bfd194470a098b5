/** The schema of the `approvals` section: who may request and approve, how many approvals, and when proposals expire. */
import { z } from 'zod';
import { duration } from './field-schemas.js';

const DEFAULT_EXPIRES_AFTER_MS = 15 * 60_000;
const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;
const SLACK_GROUP = /^S[A-Z0-9]{2,}$/;

const slackUser = z.string().regex(SLACK_USER, 'must be a Slack user id (U… or W…), not a name');
const slackGroup = z.string().regex(SLACK_GROUP, 'must be a Slack user group id (S…), not a handle');

const principalsSchema = z.strictObject({
  users: z.array(slackUser).default([]),
  userGroups: z.array(slackGroup).default([]),
});

/** `approvals`: the principals, the counts (break-glass never easier than a run) and the expiry. */
export const approvalsSchema = z
  .strictObject({
    approvers: principalsSchema,
    requesters: principalsSchema.optional(),
    required: z.int().min(1).default(1),
    allowSelfApproval: z.boolean().default(false),
    expiresAfter: duration.default(DEFAULT_EXPIRES_AFTER_MS),
    breakGlass: z.strictObject({ required: z.int().min(1).default(2) }).default({ required: 2 }),
  })
  .superRefine((approvals, ctx) => {
    const { approvers, requesters, required, breakGlass } = approvals;
    if (approvers.users.length === 0 && approvers.userGroups.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['approvers'], message: 'needs at least one user or user group' });
      return;
    }
    if (requesters && requesters.users.length === 0 && requesters.userGroups.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['requesters'],
        message: 'needs at least one user or user group (omit it to let the approvers request)',
      });
    }
    // Group membership is only known at run time, so the count is only decidable without groups. A requester who
    // is also an approver cannot approve their own request, but may approve others', so they still count.
    const knownApprovers = new Set(approvers.users).size;
    const countable = approvers.userGroups.length === 0;
    if (countable && knownApprovers < required) {
      ctx.addIssue({
        code: 'custom',
        path: ['required'],
        message: `${required} approvals required but only ${knownApprovers} approver(s) configured`,
      });
    }
    if (breakGlass.required < required) {
      ctx.addIssue({
        code: 'custom',
        path: ['breakGlass', 'required'],
        message: `${breakGlass.required} is less than approvals.required (${required}); break-glass must not be easier`,
      });
    } else if (countable && knownApprovers < breakGlass.required) {
      ctx.addIssue({
        code: 'custom',
        path: ['breakGlass', 'required'],
        message: `${breakGlass.required} break-glass approvals required but only ${knownApprovers} approver(s) configured`,
      });
    }
  });
