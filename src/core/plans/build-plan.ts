import type { ClusterId, SiteConfig } from '../../config/topology.js';
import { applicationsOf } from '../steps/gitops-applications.js';
import { BatonError } from '../../errors.js';
import type { Plan, PlannedStep, RunKind, RunMode, StepId } from '../model.js';
import { STEPS } from '../steps/index.js';
import { formatBytes, workloadLabel } from '../steps/step.js';

export interface RunRequest {
  kind: RunKind;
  /** Failover only; failback is always planned. Default: emergency. */
  mode?: RunMode;
  force?: boolean;
}

/**
 * Where the site is served from: all a plan needs besides the topology. What the world measures (the standby's lag,
 * the replicas running) is the preflight's, stored on the run and shown beside the plan, so a plan never claims a
 * number nobody read.
 */
export interface ObservedState {
  /** The cluster serving now (Baton's own record). */
  serving: ClusterId;
}

/** Per-step overrides of timeouts and retries (tests and the sandbox use short ones). */
export type StepTuning = Partial<Record<StepId, { timeoutMs?: number; retries?: number }>>;

export function otherCluster(site: SiteConfig, cluster: ClusterId): ClusterId {
  const other = Object.keys(site.clusters).find((id) => id !== cluster);
  if (!other) throw new BatonError('topology-invalid', `site ${site.name} needs two clusters`);
  return other;
}

/** (request, topology, observed state) → the ordered step groups of DESIGN §5, each with concrete actions. */
export function buildPlan(
  request: RunRequest,
  site: SiteConfig,
  observed: ObservedState,
  tuning: StepTuning = {},
): Plan {
  if (!(observed.serving in site.clusters)) {
    throw new BatonError(
      'unknown-cluster',
      `${site.name}: serving cluster "${observed.serving}" is not configured`,
    );
  }
  const from = observed.serving;
  let to: ClusterId;
  let mode: RunMode;
  if (request.kind === 'failback') {
    if (from === site.homeCluster) {
      throw new BatonError(
        'already-home',
        `${site.name} already serves from its home cluster ${site.homeCluster}; there is nothing to fail back`,
      );
    }
    if (request.force) {
      throw new BatonError(
        'force-not-allowed',
        'Failback is always the planned, zero-data-loss path; drop --force',
      );
    }
    to = site.homeCluster;
    mode = 'planned';
  } else {
    to = otherCluster(site, from);
    mode = request.mode ?? 'emergency';
  }

  const db = site.database;
  const scale = (cluster: ClusterId, target: (w: SiteConfig['workloads'][number]) => number, suffix = '') =>
    site.workloads.map((w) => `scale ${workloadLabel(w)} on ${cluster} to ${target(w)}${suffix}`);

  const argo = (cluster: ClusterId, what: string) =>
    applicationsOf(site, cluster).map(
      (app) => `${what} Argo CD Application ${app.namespace}/${app.name} on ${cluster}`,
    );
  const home = to === site.homeCluster;
  const actions: Record<StepId, string[]> = {
    preflight: [
      `check ${to}: at least ${site.checks.minReadyNodes} Ready nodes; ${site.workloads.map(workloadLabel).join(', ')} exist with ${from}'s images`,
      ...(db
        ? [
            `check ${to}'s database is a standby streaming from ${from} on its timeline, at most ` +
              `${formatBytes(db.maxLagBytes)} behind`,
          ]
        : []),
      `check ${site.dns.recordName} points at ${from}` +
        (mode === 'planned' ? ` and ${from} is reachable` : ''),
    ],
    'fence-source': [
      ...(db
        ? [
            db.promotion === 'cloudnative-pg' && mode === 'planned'
              ? `demote ${from}'s CloudNativePG Cluster and keep its demotion token`
              : `make ${from}'s database read-only, end its client sessions and record its final WAL position`,
          ]
        : []),
      ...argo(from, 'pause automated sync of'),
      ...scale(from, (w) => w.standbyReplicas),
      ...(mode === 'emergency' ? ['(best effort: an unreachable side is recorded, not fatal)'] : []),
    ],
    'catch-up': [
      `wait until ${to}'s database has replayed ${from}'s final WAL position` +
        (mode === 'emergency' ? ` (when ${from} could be fenced; bounded, shown live)` : ''),
    ],
    'scale-up-target': [
      ...argo(to, 'pause automated sync of'),
      ...holdAutoscalers(site, to),
      ...scale(to, (w) => w.replicas, ' and wait until Ready'),
    ],
    'promote-target-db': [
      ...(db
        ? [
            `fence ${from} again, let ${to} replay its final position and check nothing committed on ${from} since`,
          ]
        : []),
      `promote PostgreSQL on ${to} and prove it accepts writes`,
    ],
    'switch-dns': [describeDnsChange(site, from, to)],
    verify: [
      `resolve ${site.dns.recordName} and expect ${to}'s target`,
      `GET ${site.clusters[to]?.healthUrl} expects 2xx`,
    ],
    'scale-down-source': [
      `give ${from}'s HorizontalPodAutoscalers back the minReplicas Baton raised (if reachable)`,
      ...scale(from, (w) => w.standbyReplicas, ' (if reachable)'),
      ...(home
        ? [...argo(to, 'give back automated sync of'), ...argo(from, 'give back automated sync of')]
        : []),
    ],
  };
  const titles: Record<StepId, string> = {
    preflight: `Preflight checks on ${to}`,
    'fence-source': `Fence ${from}`,
    'catch-up': `Wait for ${to}'s database to catch up`,
    'scale-up-target': `Scale up ${to}`,
    'promote-target-db': `Promote ${to}'s database — point of no return`,
    'switch-dns': `Switch ${site.dns.recordName} to ${to}`,
    verify: `Verify users reach ${to}`,
    'scale-down-source': `Scale down ${from}`,
  };

  const step = (id: StepId): PlannedStep => {
    const definition = STEPS[id];
    return {
      id,
      title: titles[id],
      actions: actions[id],
      reversible: definition.reversible,
      pointOfNoReturn: definition.pointOfNoReturn,
      timeoutMs: tuning[id]?.timeoutMs ?? definition.defaults.timeoutMs,
      retries: tuning[id]?.retries ?? definition.defaults.retries,
    };
  };
  // Fencing and scaling up touch different clusters, so they run together; promotion waits for both, so the
  // old primary is read-only and the new side can serve before the point of no return. Emergency runs catch up too:
  // a source that could be fenced has a final position, and losing writes only because nobody waited is not a
  // trade anyone chose.
  const groups: StepId[][] = [
    ['preflight'],
    ['fence-source', 'scale-up-target'],
    ...(db ? [['catch-up'] as StepId[]] : []),
    ...(db ? [['promote-target-db'] as StepId[]] : []),
    ['switch-dns'],
    ['verify'],
    ['scale-down-source'],
  ];

  const warnings: string[] = [];
  if (request.force) {
    warnings.push(
      '--force: failing gates will not stop this run (break-glass approvals needed); the split-brain guard still holds',
    );
  }
  if (mode === 'emergency' && db) {
    warnings.push(
      `Emergency failover: if ${from} cannot be fenced, writes not yet replicated to ${to} are lost (the preflight ` +
        `measures how far behind ${to} is)`,
    );
  }
  return {
    site: site.name,
    kind: request.kind,
    mode,
    from,
    to,
    groups: groups.map((g) => g.map(step)),
    warnings,
  };
}

/**
 * The HPA action of a scale-up: the plan is built without reading the cluster, so it names the workloads and the
 * count; the preflight names each HorizontalPodAutoscaler it found.
 */
function holdAutoscalers(site: SiteConfig, to: ClusterId): string[] {
  const targets = site.workloads.map((w) => `${workloadLabel(w)} to ${w.replicas}`).join(', ');
  return [
    `raise minReplicas of any HorizontalPodAutoscaler on ${to} targeting ${targets} ` +
      '(given back when the site moves away)',
  ];
}

function describeDnsChange(site: SiteConfig, from: ClusterId, to: ClusterId): string {
  const { dns } = site;
  const record = `${dns.recordName} ${dns.recordType}`;
  const target = dns.targets[to];
  const where = target && 'aliasDnsName' in target ? target.aliasDnsName : (target?.values.join(', ') ?? to);
  switch (dns.strategy) {
    case 'failover-records':
      return (
        `Route 53 ${dns.hostedZoneId}: one change batch making ${record} PRIMARY → ${to} ` +
        `(${dns.setIdentifiers?.[to] ?? to}, ${where}) and SECONDARY → ${from}`
      );
    case 'simple-record':
      return `Route 53 ${dns.hostedZoneId}: UPSERT ${record} → ${where}`;
    case 'health-check-inversion':
      return (
        `Route 53: invert and disable health check ${dns.healthCheckIds?.[from] ?? from} (${from} reported unhealthy ` +
        'whatever its endpoint answers) ' +
        `and clear it on ${dns.healthCheckIds?.[to] ?? to}, so ${record} answers ${where}`
      );
  }
}

/** The plan as text lines a person can check, in order. */
export function renderPlan(plan: Plan): string[] {
  const lines: string[] = [];
  let n = 0;
  for (const group of plan.groups) {
    const parallel = group.length > 1;
    for (const step of group) {
      n += 1;
      lines.push(`${n}. ${step.title}${parallel ? ' (in parallel)' : ''}`);
      for (const action of step.actions) lines.push(`   - ${action}`);
    }
  }
  return lines;
}
