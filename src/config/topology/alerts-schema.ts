/** The schema of one entry of a site's `alerts`: the labels it matches, its action and its optional auto-approval. */
import { z } from 'zod';
import { witnessSchema } from './auto-approve-schema.js';
import { duration } from './field-schemas.js';

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const regexSource = z.string().superRefine((source, ctx) => {
  try {
    new RegExp(source);
  } catch (error) {
    const reason =
      error instanceof Error ? (error.message.split(': ').pop() ?? error.message) : String(error);
    ctx.addIssue({ code: 'custom', message: `not a valid regular expression (${reason})` });
  }
});

// Label values written as bare YAML numbers or booleans (`code: 500`) mean the same as their text.
const labelValue = z.preprocess(
  (value) => (typeof value === 'number' || typeof value === 'boolean' ? String(value) : value),
  z.string(),
);
const labelName = z.string().regex(LABEL_NAME, 'must be a Prometheus label name');

/** One alert rule: at least one label to match, and auto-approval only on a propose-failover rule. */
export const alertRuleSchema = z
  .strictObject({
    match: z.record(labelName, labelValue).default({}),
    matchRe: z.record(labelName, regexSource).optional(),
    action: z.enum(['propose-failover', 'notify', 'propose-evacuation']),
    autoApprove: z.strictObject({ after: duration, witness: witnessSchema }).optional(),
  })
  .superRefine((rule, ctx) => {
    if (Object.keys(rule.match).length === 0 && Object.keys(rule.matchRe ?? {}).length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: 'needs at least one label in match or matchRe (a rule without one would match every alert)',
      });
    }
    if (rule.autoApprove && rule.action !== 'propose-failover') {
      ctx.addIssue({
        code: 'custom',
        path: ['autoApprove'],
        message: `only a propose-failover rule can auto-approve (this rule's action is ${rule.action})`,
      });
    }
  });
