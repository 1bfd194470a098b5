/**
 * The normalized topology the rest of Baton codes against (defaults filled in, durations in ms), and the shapes of
 * parseTopology's options and result. The zod schemas that produce it are the `*-schema.ts` files next to this one.
 */

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
  /** Argo CD Application of each cluster whose automated sync Baton pauses while it scales this workload. */
  argocd?: Record<ClusterId, string>;
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
  /**
   * `propose-evacuation`: one evacuation of every site the alert's `cluster` label (else this site's serving
   * cluster) serves, however many sites' rules match the alert.
   */
  action: 'propose-failover' | 'notify' | 'propose-evacuation';
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
  /**
   * From `cooldown`: a new failover is refused this soon after the site's last succeeded failover (failback is not
   * affected; break-glass overrides). Omitted: the default, 10 minutes (`DEFAULT_COOLDOWN_MS`).
   */
  cooldownMs?: number;
  /** From `readiness.interval`: this site's continuous readiness interval, when it overrides the topology's. */
  readinessIntervalMs?: number;
  /** Scale the standby up while a proposal waits (default true); `false` only when set so. */
  prewarm?: boolean;
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

/** `drills`: game days (`/failover drill`). */
export interface DrillsConfig {
  /** UTC windows in which no game day starts, as written (`Fri 00:00-24:00`, `2026-12-21..2027-01-04`). */
  blockedWindows: string[];
  /** A firing alert whose labels include all of one of these aborts a game day before the point of no return. */
  abortOn: Record<string, string>[];
}

export interface Topology {
  slack: { incidentChannel: string };
  approvals: ApprovalsConfig;
  sites: SiteConfig[];
  /** From `readiness.interval`: how often each site is evaluated; 10 minutes when omitted (see readinessIntervalOf). */
  readinessIntervalMs?: number;
  drills?: DrillsConfig;
}

/** The continuous readiness interval of a site: its own, the topology's, or 10 minutes. */
export const DEFAULT_READINESS_INTERVAL_MS = 10 * 60_000;
export const readinessIntervalOf = (
  topology: Pick<Topology, 'readinessIntervalMs'>,
  site: SiteConfig,
): number => site.readinessIntervalMs ?? topology.readinessIntervalMs ?? DEFAULT_READINESS_INTERVAL_MS;

/** Whether a site pre-warms its standby while a proposal waits (DESIGN §6; default true). */
export const prewarmOf = (site: SiteConfig): boolean => site.prewarm !== false;

export type ParseTopologyResult = { ok: true; topology: Topology } | { ok: false; problems: string[] };

export interface ParseTopologyOptions {
  /**
   * Check that every `urlEnv` variable is set in `env` (default true). `baton check-config --skip-env` turns it off
   * to lint a file where the secrets are not present, e.g. in CI.
   */
  checkEnv?: boolean;
}

/** Environment variables as parseTopology receives them; only read to check that each `urlEnv` is set. */
export type Env = Record<string, string | undefined>;
