import { formatDuration } from './duration.js';
import { loadTopologyFile } from './topology.js';
import type { Principals, SiteConfig, Topology } from './topology.js';

export interface CheckConfigOutput {
  log(line: string): void;
  error(line: string): void;
}

const USAGE = `usage: baton check-config [FILE] [--json] [--skip-env]

Validates a topology file (default: $BATON_CONFIG, else ./baton.yaml) and prints a summary, or every problem.
  --json      print { ok, file, problems } as JSON
  --skip-env  do not require the database urlEnv variables to be set (e.g. to lint the file in CI)
Exit status: 0 valid, 1 invalid, 2 usage error.`;

/**
 * `baton check-config [FILE] [--json] [--skip-env]`. Returns the exit status: 0 when the file is valid, 1 when it
 * is not (every problem printed, one per line), 2 on a usage error.
 */
export async function runCheckConfig(
  args: string[],
  env: Record<string, string | undefined>,
  out: CheckConfigOutput,
): Promise<number> {
  let json = false;
  let checkEnv = true;
  const files: string[] = [];
  for (const arg of args) {
    if (arg === '--json') json = true;
    else if (arg === '--skip-env') checkEnv = false;
    else if (arg === '-h' || arg === '--help') {
      out.log(USAGE);
      return 0;
    } else if (arg.startsWith('-') && arg !== '-') {
      out.error(`check-config: unknown option ${arg}\n${USAGE}`);
      return 2;
    } else files.push(arg);
  }
  if (files.length > 1) {
    out.error(`check-config: expected at most one file, got ${files.length}\n${USAGE}`);
    return 2;
  }
  const file = files[0] ?? (env.BATON_CONFIG || './baton.yaml');

  const result = await loadTopologyFile(file, env, { checkEnv });
  if (json) {
    out.log(JSON.stringify({ ok: result.ok, file, problems: result.ok ? [] : result.problems }, null, 2));
    return result.ok ? 0 : 1;
  }
  if (!result.ok) {
    const count = result.problems.length;
    out.error(`${file}: ${count} problem${count === 1 ? '' : 's'}`);
    for (const problem of result.problems) out.error(`  ${problem}`);
    return 1;
  }
  for (const line of summarize(file, result.topology)) out.log(line);
  return 0;
}

/** A one-screen summary of a valid topology, for an operator checking that Baton read what they meant. */
export function summarize(file: string, topology: Topology): string[] {
  const { approvals } = topology;
  const lines = [
    `${file}: OK, ${topology.sites.length} site${topology.sites.length === 1 ? '' : 's'}`,
    `slack: incident channel ${topology.slack.incidentChannel}`,
    `approvals: ${approvals.required} of ${describePrincipals(approvals.approvers)}; ` +
      `self-approval ${approvals.allowSelfApproval ? 'allowed' : 'not allowed'}; ` +
      `proposals expire after ${formatDuration(approvals.expiresAfterMs)}; break-glass needs ${approvals.breakGlass.required}`,
    `requesters: ${describePrincipals(approvals.requesters)}`,
  ];
  for (const site of topology.sites) lines.push('', ...summarizeSite(site));
  return lines;
}

function summarizeSite(site: SiteConfig): string[] {
  const lines = [`site ${site.name}`];
  for (const [id, cluster] of Object.entries(site.clusters)) {
    const home = id === site.homeCluster ? ' (home)' : '';
    const context = cluster.kubeContext ? `context ${cluster.kubeContext}` : 'current context';
    lines.push(`  cluster ${id}${home}: ${context}, health ${cluster.healthUrl}`);
  }
  for (const w of site.workloads) {
    lines.push(
      `  workload ${w.namespace}/${w.kind}/${w.name}: ${w.replicas} serving, ${w.standbyReplicas} standby`,
    );
  }
  const { dns } = site;
  const targets = Object.entries(dns.targets)
    .map(([id, target]) => `${id} → ${'values' in target ? target.values.join(', ') : target.aliasDnsName}`)
    .join('; ');
  lines.push(
    `  dns: ${dns.provider} ${dns.recordType} ${dns.recordName} in ${dns.hostedZoneId}, ${dns.strategy}`,
  );
  lines.push(`    ${targets}`);
  if (dns.resolvers) lines.push(`    verified with ${dns.resolvers.join(', ')}`);
  if (site.database) {
    const db = site.database;
    const members = Object.entries(db.members)
      .map(
        ([id, member]) =>
          `${id} $${member.urlEnv}${member.cnpgCluster ? ` (${member.cnpgCluster.namespace}/${member.cnpgCluster.name})` : ''}`,
      )
      .join(', ');
    lines.push(
      `  database: ${db.engine}, promotion ${db.promotion}, max lag ${formatBytes(db.maxLagBytes)}; ${members}`,
    );
  } else {
    lines.push('  database: none');
  }
  lines.push(`  checks: at least ${site.checks.minReadyNodes} ready node(s) on the target`);
  for (const rule of site.alerts) {
    const matchers = [
      ...Object.entries(rule.match).map(([label, value]) => `${label}="${value}"`),
      ...Object.entries(rule.matchRe ?? {}).map(([label, re]) => `${label}=~"${re}"`),
    ];
    lines.push(`  alert {${matchers.join(', ')}} → ${rule.action}`);
  }
  return lines;
}

function describePrincipals(principals: Principals): string {
  const parts: string[] = [];
  if (principals.users.length > 0) parts.push(`users ${principals.users.join(', ')}`);
  if (principals.userGroups.length > 0) parts.push(`groups ${principals.userGroups.join(', ')}`);
  return parts.join(' and ') || 'nobody';
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}
