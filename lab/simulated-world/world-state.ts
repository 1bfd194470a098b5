/**
 * The simulated world's state: two clusters with their workloads and PostgreSQL, the DNS record, replication lag and
 * the recorded actions; the state a site's topology starts from; and how a port reaches a cluster, failing as the
 * real one would when its API or database is down.
 */
import type { ClusterId, SiteConfig } from '../../src/config/topology.js';
import type { ResourceAmounts } from '../../src/core/ports.js';
import { workloadKey } from '../../src/core/steps/step.js';
import { BatonError } from '../../src/errors.js';

export interface SimWorkload {
  replicas: number;
  readyReplicas: number;
  /** When the current replica count becomes Ready. */
  readyAt: number;
  images: string[];
  /** metadata.labels and annotations, e.g. a GitOps controller's tracking marks. */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /**
   * The pod template beyond its images (one container per image, each with these env names and requests), for drift
   * and capacity; absent: no env, no references, the default requests (SIM_POD_REQUESTS).
   */
  template?: SimTemplate;
}

export interface SimTemplate {
  envNames?: string[];
  configMaps?: string[];
  secrets?: string[];
  /** Per container. */
  requests?: ResourceAmounts;
}

/** What a simulated container requests unless its template says otherwise: 250m CPU, 512 MiB. */
export const SIM_POD_REQUESTS: ResourceAmounts = { cpuMillis: 250, memoryBytes: 512 * 2 ** 20 };

/** A simulated node's allocatable resources unless the cluster says otherwise: 4 CPU, 16 GiB, 110 pods. */
export const SIM_NODE_SIZE: ResourceAmounts & { pods: number } = {
  cpuMillis: 4000,
  memoryBytes: 16 * 2 ** 30,
  pods: 110,
};

/** A HorizontalPodAutoscaler targeting `target` (a workload key); `heldFrom` is the range Baton recorded on it. */
export interface SimAutoscaler {
  namespace: string;
  name: string;
  target: string;
  minReplicas: number;
  maxReplicas: number;
  heldFrom: { minReplicas: number; maxReplicas: number } | null;
}

export interface SimDatabase {
  role: 'primary' | 'standby';
  readOnly: boolean;
  /** A primary's written WAL; a standby's replay position is its upstream's minus the world's `lagBytes`. */
  lsn: number;
  reachable: boolean;
  /** Answers, but refuses Baton with this message (too many clients, a rotated password). */
  refuses?: string;
  /** A standby's primary, while it streams from it. */
  upstream?: ClusterId;
  timeline: number;
  /** The next transaction id; `commits` are the ids that committed (for writes after a fence). */
  nextXid: number;
  commits: number[];
  /** Promotion was requested and lands at this time. */
  promoteAt?: number;
  /** A CloudNativePG demotion in favour of this cluster: it follows it once that one is promoted. */
  demotedFor?: ClusterId;
  /** The demotion token it published. */
  demotionToken?: string;
}

/** An Argo CD Application: whether it syncs on its own, and what Baton recorded when it paused it. */
export interface SimApplication {
  automated: boolean;
  /** Baton paused its automated sync (and recorded the policy to give back on it). */
  pausedByBaton: boolean;
  ownedBy?: string;
}

export interface SimCluster {
  reachable: boolean;
  readyNodes: number;
  /** Each Ready node's allocatable resources (default SIM_NODE_SIZE); the pods' requests are spread evenly. */
  nodeSize?: ResourceAmounts & { pods: number };
  healthy: boolean;
  workloads: Record<string, SimWorkload>;
  /** By `namespace/name`; absent when the cluster has none. */
  autoscalers?: Record<string, SimAutoscaler>;
  /** Argo CD Applications by `namespace/name`; absent when the cluster has none. */
  applications?: Record<string, SimApplication>;
  db: SimDatabase;
}

export interface WorldState {
  clusters: Record<ClusterId, SimCluster>;
  dns: {
    serving: ClusterId;
    resolved: ClusterId;
    changes: Record<string, { to: ClusterId; insyncAt: number }>;
  };
  /** Bytes the standby is behind its primary. */
  lagBytes: number;
  seq: number;
  actions: string[];
}

export interface WorldTiming {
  podsReadyAfterMs: number;
  dnsInSyncAfterMs: number;
  /** How long a requested promotion takes to land (pg_promote, or the operator). */
  promotionAfterMs: number;
  /** Added to every port call. */
  latencyMs: number;
}

/** The world a site's topology describes, serving from its home cluster, standby in sync. */
export function initialWorldState(
  site: SiteConfig,
  images: string[] = ['registry.example/app:1.0'],
): WorldState {
  const clusters: Record<ClusterId, SimCluster> = {};
  for (const id of Object.keys(site.clusters)) {
    const home = id === site.homeCluster;
    const workloads: Record<string, SimWorkload> = {};
    for (const w of site.workloads) {
      const replicas = home ? w.replicas : w.standbyReplicas;
      workloads[workloadKey(w)] = { replicas, readyReplicas: replicas, readyAt: 0, images };
    }
    clusters[id] = {
      reachable: true,
      readyNodes: Math.max(3, site.checks.minReadyNodes),
      healthy: true,
      workloads,
      db: {
        role: home ? 'primary' : 'standby',
        readOnly: false,
        lsn: 0x3000000,
        reachable: true,
        timeline: 1,
        nextXid: 750,
        commits: [],
        ...(!home && { upstream: site.homeCluster }),
      },
    };
  }
  return {
    clusters,
    dns: { serving: site.homeCluster, resolved: site.homeCluster, changes: {} },
    lagBytes: 0,
    seq: 0,
    actions: [],
  };
}

export function withTimingDefaults(timing: Partial<WorldTiming>): WorldTiming {
  return { podsReadyAfterMs: 0, dnsInSyncAfterMs: 0, promotionAfterMs: 0, latencyMs: 0, ...timing };
}

/**
 * Cluster `id` as a port sees it: its Kubernetes API (`api`) or its database (`db`) must answer, else the call fails
 * with the error Baton's adapters would raise.
 */
export function reachCluster(state: WorldState, id: ClusterId, what: 'api' | 'db' = 'api'): SimCluster {
  const c = state.clusters[id];
  if (!c) throw new BatonError('unknown-cluster', `no simulated cluster ${id}`);
  if (what === 'api' && !c.reachable) {
    throw new BatonError('cluster-unreachable', `${id}: Kubernetes API unreachable (simulated)`, {
      retriable: true,
    });
  }
  if (what === 'db' && !c.db.reachable) {
    throw new BatonError('database-unreachable', `${id}: database unreachable (simulated)`, {
      retriable: true,
    });
  }
  if (what === 'db' && c.db.refuses !== undefined) {
    throw new BatonError('database-refused', `${id}'s database refused Baton: ${c.db.refuses}`);
  }
  return c;
}
