/**
 * A simulated pair of clusters, DNS record and PostgreSQL pair behind Baton's ports, for tests, benchmarks and the
 * sandbox. State lives in memory, or in Redis so that several worker processes (and a test that kills them) see
 * one world. Every mutating call is recorded, so a test can assert that each external action happened once.
 * Faults (fail, hang, slow) can be injected per port method.
 */
import type { Redis } from 'ioredis';
import type { ClusterId, SiteConfig } from '../config/topology.js';
import type {
  Clock,
  ClusterPort,
  DatabasePort,
  DatabaseStatus,
  DnsPort,
  HealthPort,
  Ports,
} from '../core/ports.js';
import { workloadKey } from '../core/steps/step.js';
import { BatonError } from '../errors.js';

interface SimWorkload {
  replicas: number;
  readyReplicas: number;
  /** When the current replica count becomes Ready. */
  readyAt: number;
  images: string[];
}

interface SimCluster {
  reachable: boolean;
  readyNodes: number;
  healthy: boolean;
  workloads: Record<string, SimWorkload>;
  db: { role: 'primary' | 'standby'; readOnly: boolean; lsn: number; reachable: boolean };
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
  /** Added to every port call. */
  latencyMs: number;
}

interface WorldStore {
  read(): Promise<WorldState>;
  update<T>(change: (state: WorldState) => T): Promise<T>;
}

function memoryStore(initial: WorldState): WorldStore {
  const state = initial;
  return { read: async () => state, update: async (change) => change(state) };
}

function redisStore(redis: Redis, key: string): WorldStore {
  // WATCH belongs to the connection: two updates interleaved on one connection would both commit. Updates from
  // this process go one at a time; WATCH still guards against other processes.
  let queue: Promise<unknown> = Promise.resolve();
  const read = async (): Promise<WorldState> => {
    const raw = await redis.get(key);
    if (!raw) throw new Error(`simulated world ${key} is not initialised`);
    return JSON.parse(raw) as WorldState;
  };
  return {
    read,
    update<T>(change: (state: WorldState) => T): Promise<T> {
      const next = queue.then(async () => {
        for (;;) {
          await redis.watch(key);
          const state = await read();
          let result: T;
          try {
            result = change(state);
          } catch (error) {
            await redis.unwatch();
            throw error;
          }
          if (await redis.multi().set(key, JSON.stringify(state)).exec()) return result;
        }
      });
      queue = next.catch(() => undefined);
      return next;
    },
  };
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
      db: { role: home ? 'primary' : 'standby', readOnly: false, lsn: 0x3000000, reachable: true },
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

type Fault =
  { kind: 'fail'; times: number; error: () => Error } | { kind: 'hang' } | { kind: 'slow'; ms: number };

const lsnText = (n: number): string =>
  `${Math.floor(n / 2 ** 32)
    .toString(16)
    .toUpperCase()}/${(n % 2 ** 32).toString(16).toUpperCase()}`;

export class SimulatedWorld {
  private readonly faults = new Map<string, Fault>();
  readonly ports: Ports;

  private constructor(
    private readonly store: WorldStore,
    private readonly clock: Clock,
    private readonly timing: WorldTiming,
    private readonly site: SiteConfig,
  ) {
    this.ports = this.buildPorts();
  }

  static inMemory(site: SiteConfig, clock: Clock, timing: Partial<WorldTiming> = {}): SimulatedWorld {
    return new SimulatedWorld(memoryStore(initialWorldState(site)), clock, withDefaults(timing), site);
  }

  /** A world shared through Redis key `key`; call `reset` once to create it. */
  static inRedis(
    redis: Redis,
    key: string,
    site: SiteConfig,
    clock: Clock,
    timing: Partial<WorldTiming> = {},
  ): SimulatedWorld {
    return new SimulatedWorld(redisStore(redis, key), clock, withDefaults(timing), site);
  }

  static async resetInRedis(redis: Redis, key: string, site: SiteConfig): Promise<void> {
    await redis.set(key, JSON.stringify(initialWorldState(site)));
  }

  state(): Promise<WorldState> {
    return this.store.read();
  }

  /** Changes the world as an operator or an outage would (not recorded as an action). */
  change(mutate: (state: WorldState) => void): Promise<void> {
    return this.store.update(mutate);
  }

  /** The next `times` calls of `method` (e.g. 'cluster.scaleWorkload') throw. */
  fail(method: string, times: number, error: () => Error = () => simError(method)): void {
    this.faults.set(method, { kind: 'fail', times, error });
  }

  hang(method: string): void {
    this.faults.set(method, { kind: 'hang' });
  }

  slow(method: string, ms: number): void {
    this.faults.set(method, { kind: 'slow', ms });
  }

  heal(method?: string): void {
    if (method) this.faults.delete(method);
    else this.faults.clear();
  }

  private async enter(method: string): Promise<void> {
    if (this.timing.latencyMs > 0) await this.clock.sleep(this.timing.latencyMs);
    const fault = this.faults.get(method);
    if (!fault) return;
    if (fault.kind === 'slow') await this.clock.sleep(fault.ms);
    if (fault.kind === 'hang') await new Promise(() => undefined);
    if (fault.kind === 'fail' && fault.times > 0) {
      fault.times -= 1;
      throw fault.error();
    }
  }

  private buildPorts(): Ports {
    const { store, clock, timing } = this;
    const cluster = (state: WorldState, id: ClusterId, what: 'api' | 'db' = 'api'): SimCluster => {
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
      return c;
    };
    const ready = (w: SimWorkload, now: number): number => (now >= w.readyAt ? w.replicas : w.readyReplicas);

    const clusterPort: ClusterPort = {
      readyNodeCount: async (_site, id) => {
        await this.enter('cluster.readyNodeCount');
        return cluster(await store.read(), id).readyNodes;
      },
      getWorkload: async (_site, id, ref) => {
        await this.enter('cluster.getWorkload');
        const w = cluster(await store.read(), id).workloads[workloadKey(ref)];
        return w ? { replicas: w.replicas, readyReplicas: ready(w, clock.now()), images: w.images } : null;
      },
      scaleWorkload: async (_site, id, ref, replicas) => {
        await this.enter('cluster.scaleWorkload');
        await store.update((state) => {
          const w = cluster(state, id).workloads[workloadKey(ref)];
          if (!w) throw new BatonError('workload-missing', `${workloadKey(ref)} not found on ${id}`);
          const now = clock.now();
          w.readyReplicas = Math.min(ready(w, now), replicas);
          w.replicas = replicas;
          w.readyAt = now + timing.podsReadyAfterMs;
          state.actions.push(`scale ${id} ${workloadKey(ref)} ${replicas}`);
        });
      },
    };

    const databaseStatus = (state: WorldState, id: ClusterId): DatabaseStatus => {
      const db = cluster(state, id, 'db').db;
      if (db.role === 'primary')
        return { inRecovery: false, readOnly: db.readOnly, lagBytes: null, lsn: lsnText(db.lsn) };
      const primary = Object.values(state.clusters).find((c) => c.db.role === 'primary');
      const lag = state.lagBytes;
      const replay = Math.max(0, (primary?.db.lsn ?? db.lsn) - lag);
      return { inRecovery: true, readOnly: db.readOnly, lagBytes: lag, lsn: lsnText(replay) };
    };
    const databasePort: DatabasePort = {
      status: async (_site, id) => {
        await this.enter('database.status');
        return databaseStatus(await store.read(), id);
      },
      fence: async (_site, id) => {
        await this.enter('database.fence');
        return store.update((state) => {
          const db = cluster(state, id, 'db').db;
          db.readOnly = true;
          state.actions.push(`fence ${id}`);
          return { lsn: lsnText(db.lsn) };
        });
      },
      unfence: async (_site, id) => {
        await this.enter('database.unfence');
        await store.update((state) => {
          cluster(state, id, 'db').db.readOnly = false;
          state.actions.push(`unfence ${id}`);
        });
      },
      promote: async (_site, id) => {
        await this.enter('database.promote');
        await store.update((state) => {
          const db = cluster(state, id, 'db').db;
          if (db.role === 'primary') throw new BatonError('not-in-recovery', `${id} is already a primary`);
          db.lsn = Math.max(
            0,
            (Object.values(state.clusters).find((c) => c.db.role === 'primary')?.db.lsn ?? db.lsn) -
              state.lagBytes,
          );
          db.role = 'primary';
          db.readOnly = false;
          state.actions.push(`promote ${id}`);
        });
      },
    };

    const settle = (state: WorldState): void => {
      const now = clock.now();
      for (const change of Object.values(state.dns.changes))
        if (now >= change.insyncAt) state.dns.resolved = change.to;
    };
    const dnsPort: DnsPort = {
      currentTarget: async () => {
        await this.enter('dns.currentTarget');
        return (await store.read()).dns.serving;
      },
      switchTo: async (_site, to) => {
        await this.enter('dns.switchTo');
        return store.update((state) => {
          state.seq += 1;
          const changeId = `C${String(state.seq).padStart(6, '0')}`;
          state.dns.serving = to;
          state.dns.changes[changeId] = { to, insyncAt: clock.now() + timing.dnsInSyncAfterMs };
          state.actions.push(`dns ${to}`);
          return { changeId };
        });
      },
      changeStatus: async (changeId) => {
        await this.enter('dns.changeStatus');
        const change = (await store.read()).dns.changes[changeId];
        if (!change) throw new BatonError('no-such-change', `Route 53 change ${changeId} not found`);
        return clock.now() >= change.insyncAt ? 'INSYNC' : 'PENDING';
      },
      resolveTarget: async () => {
        await this.enter('dns.resolveTarget');
        const state = await store.read();
        settle(state);
        return { cluster: state.dns.resolved, answers: [`${state.dns.resolved}-lb.sandbox.internal`] };
      },
    };

    const healthPort: HealthPort = {
      check: async (url) => {
        await this.enter('health.check');
        const state = await store.read();
        const id = Object.entries(this.site.clusters).find(([, c]) => c.healthUrl === url)?.[0];
        const c = id === undefined ? undefined : state.clusters[id];
        return c && c.reachable && c.healthy
          ? { ok: true, status: 200 }
          : { ok: false, error: 'connection refused' };
      },
    };
    return { cluster: clusterPort, dns: dnsPort, database: databasePort, health: healthPort };
  }
}

function withDefaults(timing: Partial<WorldTiming>): WorldTiming {
  return { podsReadyAfterMs: 0, dnsInSyncAfterMs: 0, latencyMs: 0, ...timing };
}

function simError(method: string): Error {
  return new BatonError('simulated-failure', `${method} failed (injected)`, { retriable: true });
}
