/** The schema of one entry of `sites`: its clusters, workloads and checks, and the sections with schemas of their own. */
import { z } from 'zod';
import { alertRuleSchema } from './alerts-schema.js';
import { databaseSchema } from './database-schema.js';
import { dnsSchema } from './dns-schema.js';
import { dnsLabel, dnsSubdomain, duration, httpUrl, readinessSchema } from './field-schemas.js';

const clusterSchema = z.strictObject({
  kubeContext: z.string().min(1).optional(),
  healthUrl: httpUrl,
});

/** An Argo CD Application: `name` (in namespace argocd) or `namespace/name`. */
const applicationRef = z
  .string()
  .regex(
    /^(?:[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/,
    'must be an Argo CD Application: name (in namespace argocd) or namespace/name',
  );

const workloadSchema = z
  .strictObject({
    namespace: dnsLabel('Kubernetes namespace'),
    kind: z.enum(['Deployment', 'StatefulSet']),
    name: dnsSubdomain,
    replicas: z.int().min(1),
    standbyReplicas: z.int().min(0).default(0),
    /**
     * Argo CD Applications (by cluster, `name` in namespace argocd, or `namespace/name`) whose automated sync Baton
     * pauses while the site is away from home.
     */
    argocd: z.record(z.string(), applicationRef).optional(),
  })
  .superRefine((workload, ctx) => {
    if (workload.standbyReplicas > workload.replicas) {
      ctx.addIssue({
        code: 'custom',
        path: ['standbyReplicas'],
        message: `${workload.standbyReplicas} is more than replicas (${workload.replicas}); the standby runs lean`,
      });
    }
  });

const workloadsSchema = z
  .array(workloadSchema)
  .min(1)
  .superRefine((workloads, ctx) => {
    const seen = new Map<string, number>();
    workloads.forEach((workload, index) => {
      const key = `${workload.namespace}/${workload.kind}/${workload.name}`;
      const first = seen.get(key);
      if (first === undefined) seen.set(key, index);
      else
        ctx.addIssue({
          code: 'custom',
          path: [index],
          message: `${key} is listed twice (also workloads[${first}])`,
        });
    });
  });

/** Words `/failover` reads as sub-commands: a site of that name could never be named in a command. */
const RESERVED_SITE_NAMES = ['status', 'history', 'plan', 'cancel', 'help', 'readiness', 'drill'];

/** One entry of `sites`; checks that compare its sections with its clusters are in `check-sites.ts`. */
export const siteSchema = z.strictObject({
  name: dnsLabel('DNS label').refine((name) => !RESERVED_SITE_NAMES.includes(name), {
    message: `is a /failover sub-command (${RESERVED_SITE_NAMES.join(', ')}); choose another site name`,
  }),
  homeCluster: z.string().min(1),
  clusters: z.record(z.string(), clusterSchema),
  workloads: workloadsSchema,
  dns: dnsSchema,
  database: databaseSchema.optional(),
  checks: z.strictObject({ minReadyNodes: z.int().min(0).default(1) }).default({ minReadyNodes: 1 }),
  alerts: z.array(alertRuleSchema).default([]),
  /** Refuse a new failover this soon after the last one (break-glass overrides); 10m when omitted. */
  cooldown: duration.optional(),
  /** Continuous readiness for this site; the topology's `readiness.interval` when omitted. */
  readiness: readinessSchema.optional(),
  /** Scale the standby up while a proposal waits for approval (default true). */
  prewarm: z.boolean().default(true),
});
