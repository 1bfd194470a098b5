/** Normalization: the schema's output → the Topology the rest of Baton uses. */
import { createMemberSchema, DATABASE_FIELDS } from './database-schema.js';
import type { ParsedSite, ParsedTopology } from './topology-schema.js';
import type {
  AlertRule,
  ClusterConfig,
  ClusterId,
  DatabaseMember,
  DnsConfig,
  DnsTarget,
  Principals,
  SiteConfig,
  Topology,
} from './types.js';

const memberShape = createMemberSchema({}, false);

/** The Topology of a file that passed the schema and the cross-field checks: defaults filled in, durations in ms. */
export function normalizeTopology(parsed: ParsedTopology): Topology {
  const { approvals } = parsed;
  const approvers = normalizePrincipals(approvals.approvers);
  const topology: Topology = {
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
  if (parsed.readiness) topology.readinessIntervalMs = parsed.readiness.interval;
  if (parsed.drills) {
    topology.drills = {
      blockedWindows: [...parsed.drills.blockedWindows],
      abortOn: parsed.drills.abortOn.map((match) => ({ ...match })),
    };
  }
  return topology;
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
    workloads: site.workloads.map(({ argocd, ...workload }) => ({
      ...workload,
      ...(argocd && { argocd: { ...argocd } }),
    })),
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
  if (site.cooldown !== undefined) out.cooldownMs = site.cooldown;
  if (site.readiness) out.readinessIntervalMs = site.readiness.interval;
  if (!site.prewarm) out.prewarm = false;
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
