/**
 * What the sandbox's page and the drill show of the world: the DNS answer and who serves it, each cluster's health,
 * API, nodes, workloads and database, firing alerts, fence debt and the last run. One reading is shared by every
 * caller for a moment, since several open pages poll it.
 */
import type { SiteConfig } from '../../src/config/topology.js';
import type { ReadinessEvaluation } from '../../src/core/readiness/readiness-types.js';
import type { ReadinessStore } from '../../src/store/readiness-store.js';
import type { RunStore } from '../../src/store/run-store.js';
import type {
  DatabaseBreaks,
  DatabaseView,
  FenceDebtView,
  LastRunView,
} from '../postgres/database-breaks.js';
import { recordsView } from '../postgres/database-breaks.js';
import type { PostgresPair } from '../postgres/postgres-pair.js';
import type { ClusterMonitoring, FiringAlert } from './cluster-monitoring.js';
import type { Lab } from './start-lab.js';
import type { AutoscalerView, GitOpsSwitch, GitOpsWorkloadView, SelfHealMode } from './west-gitops.js';

export interface ClusterView {
  id: string;
  serving: boolean;
  home: boolean;
  health: 'up' | 'down';
  api: 'up' | 'down';
  nodesReady: number;
  workloads: {
    name: string;
    replicas: number;
    readyReplicas: number;
    /** The HPA on it, its range now. */
    hpa: AutoscalerView | null;
    /** The Argo CD Application that manages it, and what Git holds for its replicas. */
    gitOps: GitOpsWorkloadView | null;
  }[];
  /** Argo CD's self-heal, on a cluster an Application manages (null: none does). */
  selfHeal: SelfHealMode | null;
  database: DatabaseView | null;
}

export interface WorldView {
  site: string;
  record: string;
  dnsAnswer: string[];
  servedBy: string | null;
  clusters: ClusterView[];
  alerts: FiringAlert[];
  monitoring: boolean;
  /** The site's open fence debt: what the old side still owes since a run could not fence it. */
  fenceDebt: FenceDebtView | null;
  /** The site's newest run and its measured RPO (null before its promotion). */
  lastRun: LastRunView | null;
  /** The workers' last continuous readiness evaluation of the site (`/failover readiness`); null before one. */
  readiness: ReadinessEvaluation | null;
}

/** Reads the world as a WorldView; `apiDown` holds the clusters whose Kubernetes API the sandbox broke. */
export function worldView(parts: {
  lab: Lab<PostgresPair | null>;
  site: SiteConfig;
  monitoring: ClusterMonitoring | null;
  apiDown: ReadonlySet<string>;
  database: DatabaseBreaks;
  store: RunStore;
  gitops: GitOpsSwitch;
  readiness?: Pick<ReadinessStore, 'last'>;
}): () => Promise<WorldView> {
  const { lab, site, monitoring, apiDown, database, store, gitops } = parts;
  return async () => {
    const [dnsAnswer, servedBy, alerts, records, readiness] = await Promise.all([
      lab.resolve(),
      lab.servedBy(),
      monitoring ? monitoring.alerts().catch(() => []) : Promise.resolve([]),
      recordsView(store, site.name),
      parts.readiness ? parts.readiness.last(site.name).catch(() => null) : Promise.resolve(null),
    ]);
    const clusters = await Promise.all(
      Object.entries(site.clusters).map(async ([id]): Promise<ClusterView> => {
        const health: ClusterView['health'] = await fetch(lab.health[id]?.url ?? '', {
          signal: AbortSignal.timeout(500),
        })
          .then((r) => (r.ok ? 'up' : 'down'))
          .catch(() => 'down');
        return {
          id,
          serving: servedBy === id,
          home: site.homeCluster === id,
          health,
          api: apiDown.has(id) ? 'down' : 'up',
          nodesReady: lab.kube.nodes(id).filter((n) => n.ready).length,
          workloads: site.workloads.map((w) => {
            const state = lab.kube.workload(id, w.namespace, w.kind, w.name);
            return {
              name: `${w.kind}/${w.name}`,
              replicas: state.replicas,
              readyReplicas: state.readyReplicas,
              hpa: gitops.autoscaler(id, w),
              gitOps: gitops.workload(id, w),
            };
          }),
          selfHeal: id === gitops.cluster ? gitops.mode() : null,
          database: await database.view(id),
        };
      }),
    );
    return {
      site: site.name,
      record: site.dns.recordName,
      dnsAnswer,
      servedBy,
      clusters,
      alerts,
      monitoring: monitoring !== null,
      ...records,
      readiness: readiness?.evaluation ?? null,
    };
  };
}

/**
 * Every caller within `ms` of a reading (or while it is under way) gets that reading: several open pages poll the
 * world, and each reading opens database connections and resolves DNS.
 */
export function sharedForMs<T>(read: () => Promise<T>, ms: number): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | null = null;
  return () => {
    if (last && Date.now() - last.at < ms) return last.value;
    const value = read();
    last = { at: Date.now(), value };
    value.catch(() => (last = null));
    return value;
  };
}
