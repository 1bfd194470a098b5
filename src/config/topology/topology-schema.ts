/** The schema of the whole topology file: `slack`, `approvals` and `sites`, and the checks that span them. */
import { z } from 'zod';
import { formatDuration } from '../duration.js';
import { approvalsSchema } from './approvals-schema.js';
import { readinessSchema } from './field-schemas.js';
import { siteSchema } from './site-schema.js';
import { drillsSchema } from './drills-schema.js';

const SLACK_CHANNEL = /^[CG][A-Z0-9]{2,}$/;

/** The structural schema of the topology file; cross-field checks that depend on each site's clusters run after it. */
export const topologySchema = z
  .strictObject({
    slack: z.strictObject({
      incidentChannel: z.string().regex(SLACK_CHANNEL, 'must be a Slack channel id (C… or G…), not a #name'),
    }),
    approvals: approvalsSchema,
    sites: z.array(siteSchema).min(1),
    /** Continuous readiness (default every 10 minutes); a site may override it. */
    readiness: readinessSchema.optional(),
    drills: drillsSchema.optional(),
  })
  .superRefine((topology, ctx) => {
    // An auto-approval due after the proposal has expired would never happen; say so instead of silently not acting.
    const expiresAfter = topology.approvals.expiresAfter;
    topology.sites.forEach((site, siteIndex) =>
      site.alerts.forEach((rule, ruleIndex) => {
        if (rule.autoApprove && rule.autoApprove.after >= expiresAfter) {
          ctx.addIssue({
            code: 'custom',
            path: ['sites', siteIndex, 'alerts', ruleIndex, 'autoApprove', 'after'],
            message:
              `${formatDuration(rule.autoApprove.after)} is not shorter than approvals.expiresAfter ` +
              `(${formatDuration(expiresAfter)}): the proposal would expire before it is auto-approved`,
          });
        }
      }),
    );
  });

/** The schema's output, before normalization. */
export type ParsedTopology = z.output<typeof topologySchema>;
export type ParsedSite = ParsedTopology['sites'][number];
