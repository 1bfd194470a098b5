import { readFile } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { formatDuration, parseDuration } from './duration.js';

// ---------------------------------------------------------------------------------------------------------------
// Output types: the normalized topology the rest of Baton codes against (defaults filled in, durations in ms).
// ---------------------------------------------------------------------------------------------------------------

/** A key of `site.clusters`, e.g. `east`. Clusters keep their identity; "serving" and "standby" are roles. */
export type ClusterId = string;

export interface ClusterConfig {
  /** kubeconfig context used to reach this cluster; the kubeconfig's current context when omitted. */
  kubeContext?: string;
  /** URL that answers 2xx while the cluster serves the site; probed by `verify` and by the witness. */
  healthUrl: string;
}

export interface WorkloadConfig {
  namespace: string;
  kind: 'Deployment' | 'StatefulSet';
  name: string;
  /** Replicas on the serving cluster. */
  replicas: number;
  /** Replicas kept on the standby cluster (default 0); never more than `replicas`. */
  standbyReplicas: number;
}

/** An alias to a load balancer (Route 53 alias record) or plain record values (IPs for A/AAAA, one host for CNAME). */
export type DnsTarget =
  { aliasDnsName: string; aliasHostedZoneId: string; evaluateTargetHealth: boolean } | { values: string[] };

export interface DnsConfig {
  provider: 'route53';
  /** Route 53 hosted zone id, without any `/hostedzone/` prefix. */
  hostedZoneId: string;
  recordName: string;
  recordType: 'A' | 'AAAA' | 'CNAME';
  /** TTL in seconds for non-alias records (default 60). */
  ttl: number;
  /**
   * `failover-records`: a PRIMARY/SECONDARY failover record pair, switched by swapping roles (needs `setIdentifiers`);
   * `simple-record`: one record whose value is replaced; `health-check-inversion`: failover records whose health
   * checks are inverted to move traffic (needs `healthCheckIds`).
   */
  strategy: 'failover-records' | 'simple-record' | 'health-check-inversion';
  /** `host:port` resolvers used to verify the switch; default: the zone's own name servers. */
  resolvers?: string[];
  /** Route 53 SetIdentifier of each cluster's record (failover strategies). */
  setIdentifiers?: Record<ClusterId, string>;
  /** Route 53 health check id of each cluster's record (`health-check-inversion`). */
  healthCheckIds?: Record<ClusterId, string>;
  /** Where the record points when each cluster serves. */
  targets: Record<ClusterId, DnsTarget>;
}

export interface DatabaseMember {
  /** Name of the environment variable holding this side's PostgreSQL URL (the URL itself never sits in YAML). */
  urlEnv: string;
  /** The CloudNativePG `Cluster` resource of this side; required when `promotion` is `cloudnative-pg`. */
  cnpgCluster?: { namespace: string; name: string };
}

export interface DatabaseConfig {
  engine: 'postgresql';
  promotion: 'sql' | 'cloudnative-pg';
  /** Refuse to promote a standby further behind than this (default 16 MiB); break-glass overrides. */
  maxLagBytes: number;
  members: Record<ClusterId, DatabaseMember>;
}

export interface AlertRule {
  /** Alert labels that must be equal to these values. */
  match: Record<string, string>;
  /**
   * Alert labels that must match these regular expressions (JavaScript syntax, validated at load). Matchers should
   * anchor them (`^(?:re)$`) as Alertmanager does.
   */
  matchRe?: Record<string, string>;
  action: 'propose-failover' | 'notify';
  /**
   * Auto-approval (DESIGN §6), off unless set, only with `propose-failover`: when the proposal this rule raised
   * has had no decision for `after` (`autoApprove: { after: 5m }`) while its alert kept firing, and the witness
   * agrees that the serving cluster is down, the auto-approval policy approves it (as one approver).
   */
  autoApprove?: AutoApproveConfig;
}

export interface AutoApproveConfig {
  /** The quiet period: how long a proposal waits for a person before the policy may approve it. */
  afterMs: number;
  witness: AutoApproveWitness;
}

/**
 * What must agree that the serving cluster is down before the policy approves. Baton's own probes of `healthUrl`
 * alone cannot tell "the cluster is down" from "Baton is cut off from it" (docs/operator-guide.md, "Auto-approval
 * and partitions"); many probes over the quiet period and a second vantage point narrow that down.
 */
export interface AutoApproveWitness {
  /**
   * Failed probes of the serving cluster's `healthUrl` needed, spread over the whole quiet period with no success
   * among them (default 3, at least 2). Every auto-approval pass of every worker probes once and records it.
   */
  probes: number;
  /** A second vantage point: a Prometheus, ideally in a third location, that must say the cluster is down too. */
  prometheus?: PrometheusWitnessConfig;
}

export interface PrometheusWitnessConfig {
  /** Prometheus' base URL (`http://prometheus.example:9090`, or with a path prefix); Baton calls `/api/v1/query`. */
  url: string;
  /**
   * An instant PromQL query about the serving cluster, which it names as `$cluster` (and may name the site as
   * `$site`), e.g. `up{job="cluster-health", cluster="$cluster"}`. The witness agrees only when it returns at least
   * one series and every value is 0.
   */
  query: string;
  /** How long Baton waits for the answer (from `timeout`, default 5s, at most 30s). */
  timeoutMs: number;
}

export interface SiteConfig {
  /** Lowercase DNS label, unique across sites; used in commands, job ids and lock keys. */
  name: string;
  /** The cluster that serves in normal operation; failback returns traffic here. */
  homeCluster: ClusterId;
  /** Exactly two clusters. */
  clusters: Record<ClusterId, ClusterConfig>;
  workloads: WorkloadConfig[];
  dns: DnsConfig;
  database?: DatabaseConfig;
  checks: { minReadyNodes: number };
  alerts: AlertRule[];
}

/** Slack principals: user ids (`U…`/`W…`) and user group ids (`S…`). */
export interface Principals {
  users: string[];
  userGroups: string[];
}

export interface ApprovalsConfig {
  approvers: Principals;
  /** Who may run /failover and /failback; the approvers when omitted. */
  requesters: Principals;
  /** Distinct approvals before a run starts (default 1). */
  required: number;
  /** Whether the requester may approve their own request (default false). */
  allowSelfApproval: boolean;
  /** Unanswered proposals expire after this long (from `expiresAfter`, default 15m). */
  expiresAfterMs: number;
  /** Approvals needed for `--force` and for skipping a failed step (default 2, at least `required`). */
  breakGlass: { required: number };
}

export interface Topology {
  slack: { incidentChannel: string };
  approvals: ApprovalsConfig;
  sites: SiteConfig[];
}

export type ParseTopologyResult = { ok: true; topology: Topology } | { ok: false; problems: string[] };

export interface ParseTopologyOptions {
  /**
   * Check that every `urlEnv` variable is set in `env` (default true). `baton check-config --skip-env` turns it off
   * to lint a file where the secrets are not present, e.g. in CI.
   */
  checkEnv?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------------------------------------------

type Env = Record<string, string | undefined>;
type PathKey = string | number;

const DEFAULT_MAX_LAG_BYTES = 16 * 1024 * 1024;
const DEFAULT_EXPIRES_AFTER_MS = 15 * 60_000;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// DNS names as Route 53 accepts them: any case, underscores, an optional leading wildcard and trailing dot.
const HOSTNAME =
  /^(?=.{1,254}$)(\*\.)?([A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?\.?$/;
const HOSTED_ZONE_ID = /^(?:\/hostedzone\/)?Z[A-Z0-9]{1,31}$/;
const SLACK_CHANNEL = /^[CG][A-Z0-9]{2,}$/;
const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;
const SLACK_GROUP = /^S[A-Z0-9]{2,}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DATABASE_FIELDS = ['engine', 'promotion', 'maxLagBytes'] as const;

const dnsLabel = (what: string) =>
  z.string().regex(DNS_LABEL, `must be a ${what}: lowercase letters, digits and "-", at most 63 characters`);
const dnsSubdomain = z
  .string()
  .regex(DNS_SUBDOMAIN, 'must be a Kubernetes name: lowercase letters, digits, "-" and "."');
const hostname = z.string().regex(HOSTNAME, 'must be a DNS name, e.g. app.example.com');
const hostedZoneId = z
  .string()
  .regex(HOSTED_ZONE_ID, 'must be a Route 53 hosted zone id, e.g. Z1234567890ABC')
  .transform((id) => id.replace(/^\/hostedzone\//, ''));
const slackUser = z.string().regex(SLACK_USER, 'must be a Slack user id (U… or W…), not a name');
const slackGroup = z.string().regex(SLACK_GROUP, 'must be a Slack user group id (S…), not a handle');

const httpUrl = z.string().refine((text) => {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL');

const duration = z.string().transform((text, ctx) => {
  try {
    const ms = parseDuration(text);
    if (ms > 0) return ms;
    ctx.addIssue({ code: 'custom', message: 'must be longer than zero' });
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: `${JSON.stringify(text)} is not a duration: use a number and a unit (ms, s, m, h), e.g. 90s, 15m or 1h30m`,
    });
  }
  return z.NEVER;
});

const resolver = z
  .string()
  .refine(isHostPort, 'must be host:port, e.g. "205.251.192.1:53" or "[2600:9000::1]:53"');

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

const clusterSchema = z.strictObject({
  kubeContext: z.string().min(1).optional(),
  healthUrl: httpUrl,
});

const workloadSchema = z
  .strictObject({
    namespace: dnsLabel('Kubernetes namespace'),
    kind: z.enum(['Deployment', 'StatefulSet']),
    name: dnsSubdomain,
    replicas: z.int().min(1),
    standbyReplicas: z.int().min(0).default(0),
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

const dnsTargetSchema = z
  .strictObject({
    aliasDnsName: hostname.optional(),
    aliasHostedZoneId: hostedZoneId.optional(),
    evaluateTargetHealth: z.boolean().optional(),
    values: z.array(z.string().min(1)).min(1).optional(),
  })
  .superRefine((target, ctx) => {
    const alias =
      target.aliasDnsName !== undefined ||
      target.aliasHostedZoneId !== undefined ||
      target.evaluateTargetHealth !== undefined;
    if (alias && target.values !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'give either an alias (aliasDnsName, aliasHostedZoneId) or values, not both',
      });
    } else if (alias) {
      for (const field of ['aliasDnsName', 'aliasHostedZoneId'] as const) {
        if (target[field] === undefined) {
          ctx.addIssue({ code: 'custom', path: [field], message: 'required for an alias target' });
        }
      }
    } else if (target.values === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'needs aliasDnsName and aliasHostedZoneId (an alias record) or values (record values)',
      });
    }
  });

const dnsSchema = z
  .strictObject({
    provider: z.literal('route53').default('route53'),
    hostedZoneId,
    recordName: hostname,
    recordType: z.enum(['A', 'AAAA', 'CNAME']),
    ttl: z.int().min(0).max(2_147_483_647).default(60),
    strategy: z.enum(['failover-records', 'simple-record', 'health-check-inversion']),
    resolvers: z.array(resolver).min(1).optional(),
    setIdentifiers: z.record(z.string(), z.string().min(1).max(128)).optional(),
    healthCheckIds: z.record(z.string(), z.string().min(1)).optional(),
    targets: z.record(z.string(), dnsTargetSchema),
  })
  .superRefine((dns, ctx) => {
    for (const [cluster, target] of Object.entries(dns.targets)) {
      if (!('values' in target) || target.values === undefined) continue;
      const values = target.values;
      if (dns.recordType === 'CNAME' && values.length !== 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['targets', cluster, 'values'],
          message: `a CNAME record has exactly one value, found ${values.length}`,
        });
      }
      values.forEach((value, index) => {
        const ok =
          dns.recordType === 'A'
            ? isIPv4(value)
            : dns.recordType === 'AAAA'
              ? isIPv6(value)
              : HOSTNAME.test(value);
        const expected =
          dns.recordType === 'A'
            ? 'an IPv4 address'
            : dns.recordType === 'AAAA'
              ? 'an IPv6 address'
              : 'a DNS name';
        if (!ok) {
          ctx.addIssue({
            code: 'custom',
            path: ['targets', cluster, 'values', index],
            message: `${JSON.stringify(value)} is not ${expected} (recordType ${dns.recordType})`,
          });
        }
      });
    }
    const owners = new Map<string, string>();
    for (const [cluster, id] of Object.entries(dns.setIdentifiers ?? {})) {
      const owner = owners.get(id);
      if (owner === undefined) owners.set(id, cluster);
      else {
        ctx.addIssue({
          code: 'custom',
          path: ['setIdentifiers', cluster],
          message: `${JSON.stringify(id)} is already the set identifier of ${owner}; each cluster needs its own`,
        });
      }
    }
  });

// Structural half only: which keys must exist depends on the site's clusters, which the cross-field pass checks.
const databaseSchema = z
  .object({
    engine: z.literal('postgresql').default('postgresql'),
    promotion: z.enum(['sql', 'cloudnative-pg']).default('sql'),
    maxLagBytes: z.int().min(0).default(DEFAULT_MAX_LAG_BYTES),
  })
  .catchall(z.unknown());

const createMemberSchema = (env: Env, checkEnv: boolean) =>
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

const DEFAULT_WITNESS_PROBES = 3;
const DEFAULT_PROMETHEUS_TIMEOUT_MS = 5_000;
const MAX_PROMETHEUS_TIMEOUT_MS = 30_000;

const prometheusWitnessSchema = z.strictObject({
  url: httpUrl,
  query: z
    .string()
    .trim()
    .min(1)
    .refine((query) => query.includes('$cluster'), {
      message:
        'must name the serving cluster as $cluster, e.g. up{job="cluster-health", cluster="$cluster"}: a query ' +
        'about one fixed cluster would still say "down" after traffic moved away from it',
    }),
  timeout: duration
    .refine((ms) => ms <= MAX_PROMETHEUS_TIMEOUT_MS, {
      error: (issue) =>
        `${formatDuration(Number(issue.input))} is longer than ${formatDuration(MAX_PROMETHEUS_TIMEOUT_MS)}; ` +
        'a pass waits for Prometheus, so keep it short',
    })
    .default(DEFAULT_PROMETHEUS_TIMEOUT_MS),
});

const witnessSchema = z
  .strictObject({
    probes: z
      .int()
      .min(2, 'must be at least 2: one probe cannot tell an outage from a blip or from Baton being cut off')
      .max(1000)
      .default(DEFAULT_WITNESS_PROBES),
    prometheus: prometheusWitnessSchema.optional(),
  })
  .default({ probes: DEFAULT_WITNESS_PROBES });

const alertRuleSchema = z
  .strictObject({
    match: z.record(labelName, labelValue).default({}),
    matchRe: z.record(labelName, regexSource).optional(),
    action: z.enum(['propose-failover', 'notify']),
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

/** Words `/failover` reads as sub-commands: a site of that name could never be named in a command. */
const RESERVED_SITE_NAMES = ['status', 'history', 'plan', 'cancel', 'help'];

const siteSchema = z.strictObject({
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
});

const principalsSchema = z.strictObject({
  users: z.array(slackUser).default([]),
  userGroups: z.array(slackGroup).default([]),
});

const approvalsSchema = z
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

/** The structural schema of the topology file; cross-field checks that depend on each site's clusters run after it. */
export const topologySchema = z
  .strictObject({
    slack: z.strictObject({
      incidentChannel: z.string().regex(SLACK_CHANNEL, 'must be a Slack channel id (C… or G…), not a #name'),
    }),
    approvals: approvalsSchema,
    sites: z.array(siteSchema).min(1),
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

type ParsedTopology = z.output<typeof topologySchema>;
type ParsedSite = ParsedTopology['sites'][number];

// ---------------------------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------------------------

/**
 * Parses and validates topology YAML. Never throws: a bad file yields every problem found, each as
 * `<path>: <message>` (e.g. `sites[0].dns.hostedZoneId: required`), in the order of the file.
 */
export function parseTopology(
  yamlText: string,
  env: Env,
  options: ParseTopologyOptions = {},
): ParseTopologyResult {
  const checkEnv = options.checkEnv ?? true;
  const doc = parseDocument(yamlText, { merge: true, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => formatYamlError(error.message, error.linePos?.[0])),
    };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    return { ok: false, problems: [`(root): ${error instanceof Error ? error.message : String(error)}`] };
  }
  if (raw === null || raw === undefined) {
    return { ok: false, problems: ['(root): the file is empty; it needs slack, approvals and sites'] };
  }

  const parsed = topologySchema.safeParse(raw, { error: describeIssue, reportInput: true });
  const problems = parsed.success ? [] : parsed.error.issues.flatMap(formatIssue);
  problems.push(...checkSites(raw, env, checkEnv));
  const unique = [...new Set(problems)];
  if (!parsed.success || unique.length > 0) return { ok: false, problems: unique };
  return { ok: true, topology: normalize(parsed.data) };
}

/**
 * Reads and parses a topology file. A file that cannot be read is reported as a problem (`<path>: file not found`),
 * like any other, so callers have one failure path.
 */
export async function loadTopologyFile(
  path: string,
  env: Env,
  options: ParseTopologyOptions = {},
): Promise<ParseTopologyResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'file not found (pass the path, or set BATON_CONFIG)'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory, not a file'
            : `cannot read the file (${error instanceof Error ? error.message : String(error)})`;
    return { ok: false, problems: [`${path}: ${reason}`] };
  }
  return parseTopology(text, env, options);
}

function formatYamlError(message: string, at: { line: number; col: number } | undefined): string {
  // prettyErrors appends " at line L, column C:" and a code frame; keep the first line, position in front.
  const first = (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
  return at
    ? `line ${at.line}, column ${at.col}: YAML syntax error: ${first}`
    : `(root): YAML syntax error: ${first}`;
}

/** `['sites', 0, 'dns', 'hostedZoneId']` → `sites[0].dns.hostedZoneId`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key))
      out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out === '' ? '(root)' : out;
}

function formatIssue(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${formatPath([...issue.path, key])}: unknown field`);
  }
  if (issue.code === 'invalid_key') {
    const inner = issue.issues[0]?.message ?? issue.message;
    return [`${formatPath(issue.path)}: invalid key (${inner})`];
  }
  return [`${formatPath(issue.path)}: ${issue.message}`];
}

/** Operator-facing wording for zod's built-in issues; schema-specific messages take precedence over this. */
function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required';
      return `expected ${describeType(issue.expected)}, got ${describeValue(issue.input)}`;
    case 'invalid_value': {
      const values = issue.values.map((value) => JSON.stringify(value));
      const got = describeValue(issue.input);
      return values.length === 1
        ? `must be ${values[0]}, got ${got}`
        : `must be one of ${values.join(', ')}, got ${got}`;
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'array') return `needs at least ${min} ${min === 1 ? 'entry' : 'entries'}`;
      if (issue.origin === 'string')
        return min === 1 ? 'must not be empty' : `must be at least ${min} characters`;
      return issue.inclusive === false ? `must be more than ${min}` : `must be at least ${min}`;
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'array') return `allows at most ${max} entries`;
      if (issue.origin === 'string') return `must be at most ${max} characters`;
      return issue.inclusive === false ? `must be less than ${max}` : `must be at most ${max}`;
    }
    case 'unrecognized_keys':
      return 'unknown field';
    default:
      return undefined;
  }
}

function describeType(expected: string): string {
  const names: Record<string, string> = {
    object: 'a mapping',
    array: 'a list',
    string: 'a string',
    number: 'a number',
    int: 'an integer',
    boolean: 'true or false',
    record: 'a mapping',
  };
  return names[expected] ?? expected;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

// ---------------------------------------------------------------------------------------------------------------
// Cross-field checks. They read the raw YAML value defensively so that they run (and report) even when some
// unrelated field of the same site is invalid: an operator should see every problem in one pass.
// ---------------------------------------------------------------------------------------------------------------

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function checkSites(raw: unknown, env: Env, checkEnv: boolean): string[] {
  if (!isRecord(raw) || !Array.isArray(raw.sites)) return [];
  const problems: string[] = [];
  const report = (path: PathKey[], message: string) => problems.push(`${formatPath(path)}: ${message}`);
  const memberSchema = createMemberSchema(env, checkEnv);
  const names = new Map<string, number>();

  raw.sites.forEach((site: unknown, index) => {
    if (!isRecord(site)) return;
    const at = (...rest: PathKey[]): PathKey[] => ['sites', index, ...rest];

    if (typeof site.name === 'string') {
      const first = names.get(site.name);
      if (first === undefined) names.set(site.name, index);
      else report(at('name'), `${JSON.stringify(site.name)} is already the name of sites[${first}]`);
    }

    const allIds = isRecord(site.clusters) ? Object.keys(site.clusters) : undefined;
    if (allIds !== undefined) {
      for (const id of allIds) {
        if (!DNS_LABEL.test(id))
          report(at('clusters', id), 'cluster id must be a lowercase DNS label, e.g. east');
      }
      if (allIds.length !== 2) {
        const found = allIds.length === 0 ? 'none' : `${allIds.length} (${allIds.join(', ')})`;
        report(
          at('clusters'),
          `a site needs exactly two clusters (one serving, one standby), found ${found}`,
        );
      }
      if (typeof site.homeCluster === 'string' && !allIds.includes(site.homeCluster)) {
        report(
          at('homeCluster'),
          `${JSON.stringify(site.homeCluster)} is not one of the site's clusters (${allIds.join(', ')})`,
        );
      }
    }
    // Per-cluster maps are only compared against a valid pair, or a wrong cluster count would echo everywhere.
    const ids = allIds?.length === 2 ? allIds : undefined;

    if (isRecord(site.dns)) {
      const dns = site.dns;
      const strategy = dns.strategy;
      if (isRecord(dns.targets)) compareKeys(dns.targets, at('dns', 'targets'), ids, report);
      const perCluster = [
        { field: 'setIdentifiers', requiredBy: 'failover-records', what: 'a Route 53 set identifier' },
        { field: 'healthCheckIds', requiredBy: 'health-check-inversion', what: 'a Route 53 health check id' },
      ] as const;
      for (const { field, requiredBy, what } of perCluster) {
        const value = dns[field];
        if (value === undefined) {
          if (strategy === requiredBy) {
            report(at('dns', field), `required when strategy is ${requiredBy} (${what} per cluster)`);
          }
        } else if (strategy === 'simple-record') {
          report(at('dns', field), 'not used by strategy simple-record; remove it or change the strategy');
        } else if (isRecord(value)) {
          compareKeys(value, at('dns', field), ids, report);
        }
      }
    }

    if (isRecord(site.database)) {
      const database = site.database;
      const memberKeys = Object.keys(database).filter(
        (key) => !(DATABASE_FIELDS as readonly string[]).includes(key),
      );
      const urlEnvOwners = new Map<string, string>();
      for (const key of memberKeys) {
        if (allIds !== undefined && !allIds.includes(key)) {
          report(
            at('database', key),
            `unknown field (expected ${DATABASE_FIELDS.join(', ')} or one of the site's clusters: ${allIds.join(', ')})`,
          );
          continue;
        }
        const member = database[key];
        const result = memberSchema.safeParse(member, { error: describeIssue, reportInput: true });
        if (!result.success) {
          for (const issue of result.error.issues) {
            for (const problem of formatIssue({ ...issue, path: [...at('database', key), ...issue.path] })) {
              problems.push(problem);
            }
          }
        }
        if (!isRecord(member)) continue;
        if (database.promotion === 'cloudnative-pg' && member.cnpgCluster === undefined) {
          report(at('database', key, 'cnpgCluster'), 'required when promotion is cloudnative-pg');
        }
        if (typeof member.urlEnv === 'string') {
          const owner = urlEnvOwners.get(member.urlEnv);
          if (owner === undefined) urlEnvOwners.set(member.urlEnv, key);
          else {
            report(
              at('database', key, 'urlEnv'),
              `${member.urlEnv} is also the urlEnv of ${owner}; each cluster needs its own database`,
            );
          }
        }
      }
      for (const id of ids ?? []) {
        if (!memberKeys.includes(id)) {
          report(at('database', id), `required (a database member per cluster: ${ids?.join(', ')})`);
        }
      }
    }
  });
  return problems;
}

function compareKeys(
  map: Record<string, unknown>,
  path: PathKey[],
  ids: string[] | undefined,
  report: (path: PathKey[], message: string) => void,
): void {
  if (ids === undefined) return;
  for (const id of ids) {
    if (!(id in map)) report([...path, id], `required (one entry per cluster: ${ids.join(', ')})`);
  }
  for (const key of Object.keys(map)) {
    if (!ids.includes(key)) {
      report([...path, key], `${JSON.stringify(key)} is not one of the site's clusters (${ids.join(', ')})`);
    }
  }
}

function isHostPort(text: string): boolean {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (match === null) return false;
  const port = Number(match[3]);
  if (port < 1 || port > 65_535) return false;
  const host = match[1] ?? match[2] ?? '';
  return match[1] !== undefined ? isIPv6(host) : isIPv4(host) || HOSTNAME.test(host);
}

// ---------------------------------------------------------------------------------------------------------------
// Normalization: schema output → the Topology the rest of Baton uses.
// ---------------------------------------------------------------------------------------------------------------

const memberShape = createMemberSchema({}, false);

function normalize(parsed: ParsedTopology): Topology {
  const { approvals } = parsed;
  const approvers = normalizePrincipals(approvals.approvers);
  return {
    slack: { incidentChannel: parsed.slack.incidentChannel },
    approvals: {
      approvers,
      requesters: approvals.requesters
        ? normalizePrincipals(approvals.requesters)
        : clonePrincipals(approvers),
      required: approvals.required,
      allowSelfApproval: approvals.allowSelfApproval,
      expiresAfterMs: approvals.expiresAfter,
      breakGlass: { required: approvals.breakGlass.required },
    },
    sites: parsed.sites.map(normalizeSite),
  };
}

const normalizePrincipals = (principals: Principals): Principals => ({
  users: [...new Set(principals.users)],
  userGroups: [...new Set(principals.userGroups)],
});
const clonePrincipals = (principals: Principals): Principals => ({
  users: [...principals.users],
  userGroups: [...principals.userGroups],
});

function normalizeSite(site: ParsedSite): SiteConfig {
  const clusters: Record<ClusterId, ClusterConfig> = {};
  for (const [id, cluster] of Object.entries(site.clusters)) {
    clusters[id] = cluster.kubeContext === undefined ? { healthUrl: cluster.healthUrl } : { ...cluster };
  }
  const targets: Record<ClusterId, DnsTarget> = {};
  for (const [id, target] of Object.entries(site.dns.targets)) {
    targets[id] =
      target.values !== undefined
        ? { values: [...target.values] }
        : {
            aliasDnsName: target.aliasDnsName ?? '',
            aliasHostedZoneId: target.aliasHostedZoneId ?? '',
            evaluateTargetHealth: target.evaluateTargetHealth ?? false,
          };
  }
  const dns: DnsConfig = {
    provider: site.dns.provider,
    hostedZoneId: site.dns.hostedZoneId,
    recordName: site.dns.recordName,
    recordType: site.dns.recordType,
    ttl: site.dns.ttl,
    strategy: site.dns.strategy,
    targets,
  };
  if (site.dns.resolvers) dns.resolvers = [...site.dns.resolvers];
  if (site.dns.setIdentifiers) dns.setIdentifiers = { ...site.dns.setIdentifiers };
  if (site.dns.healthCheckIds) dns.healthCheckIds = { ...site.dns.healthCheckIds };

  const out: SiteConfig = {
    name: site.name,
    homeCluster: site.homeCluster,
    clusters,
    workloads: site.workloads.map((workload) => ({ ...workload })),
    dns,
    checks: { minReadyNodes: site.checks.minReadyNodes },
    alerts: site.alerts.map((rule) => {
      const alert: AlertRule = { match: { ...rule.match }, action: rule.action };
      if (rule.matchRe) alert.matchRe = { ...rule.matchRe };
      if (rule.autoApprove) {
        const { probes, prometheus } = rule.autoApprove.witness;
        alert.autoApprove = {
          afterMs: rule.autoApprove.after,
          witness: {
            probes,
            ...(prometheus && {
              prometheus: { url: prometheus.url, query: prometheus.query, timeoutMs: prometheus.timeout },
            }),
          },
        };
      }
      return alert;
    }),
  };
  if (site.database) {
    const members: Record<ClusterId, DatabaseMember> = {};
    for (const [key, value] of Object.entries(site.database)) {
      if ((DATABASE_FIELDS as readonly string[]).includes(key)) continue;
      const member = memberShape.parse(value);
      members[key] = member.cnpgCluster
        ? { urlEnv: member.urlEnv, cnpgCluster: { ...member.cnpgCluster } }
        : { urlEnv: member.urlEnv };
    }
    out.database = {
      engine: site.database.engine,
      promotion: site.database.promotion,
      maxLagBytes: site.database.maxLagBytes,
      members,
    };
  }
  return out;
}
