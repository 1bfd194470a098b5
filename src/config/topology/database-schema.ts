/**
 * The schema of a site's `database` section and of its per-cluster members. Members are keyed by cluster id, so
 * which of them must exist is checked against the site's clusters in `check-sites.ts`.
 */
import { z } from 'zod';
import { dnsLabel, dnsSubdomain } from './field-schemas.js';
import type { Env } from './types.js';

const DEFAULT_MAX_LAG_BYTES = 16 * 1024 * 1024;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The fields of `database` that are not a cluster's member. */
export const DATABASE_FIELDS = ['engine', 'promotion', 'maxLagBytes'] as const;

// Structural half only: which keys must exist depends on the site's clusters, which the cross-field pass checks.
export const databaseSchema = z
  .object({
    engine: z.literal('postgresql').default('postgresql'),
    promotion: z.enum(['sql', 'cloudnative-pg']).default('sql'),
    maxLagBytes: z.int().min(0).default(DEFAULT_MAX_LAG_BYTES),
  })
  .catchall(z.unknown());

/** One cluster's member of `database`; with `checkEnv`, its `urlEnv` must be set in `env`. */
export const createMemberSchema = (env: Env, checkEnv: boolean) =>
  z.strictObject({
    urlEnv: z.string().superRefine((name, ctx) => {
      if (!ENV_NAME.test(name)) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be an environment variable name, e.g. EAST_DATABASE_URL',
        });
      } else if (checkEnv && !env[name]) {
        ctx.addIssue({ code: 'custom', message: `environment variable ${name} is not set` });
      }
    }),
    cnpgCluster: z
      .strictObject({ namespace: dnsLabel('Kubernetes namespace'), name: dnsSubdomain })
      .optional(),
  });
