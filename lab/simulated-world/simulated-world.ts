/**
 * A simulated pair of clusters, DNS record and PostgreSQL pair behind Baton's ports, for tests, benchmarks and the
 * sandbox. State lives in memory, or in Redis so that several worker processes (and a test that kills them) see
 * one world. Every mutating call is recorded, so a test can assert that each external action happened once.
 * Faults (fail, hang, slow) can be injected per port method.
 */
import type { Redis } from 'ioredis';
import type { ClusterId, SiteConfig } from '../../src/config/topology.js';
import type {
  Clock,
  ClusterPort,
  DatabasePort,
  DatabaseStatus,
  DnsPort,
  FenceMark,
  HealthPort,
  Ports,
} from '../../src/core/ports.js';
import { workloadKey, workloadLabel } from '../../src/core/steps/step.js';
import { waitUntil } from '../../src/core/wait.js';
import { BatonError } from '../../src/errors.js';

interface SimWorkload {
  replicas: number;
  readyReplicas: number;
  /** When the current replica count becomes Ready. */
  readyAt: number;
  images: string[];
}

interface SimDatabase {
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

interface SimCluster {
  reachable: boolean;
  readyNodes: number;
  healthy: boolean;
  workloads: Record<string, SimWorkload>;
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

type Fault =
  | { kind: 'fail'; times: number; error: () => Error }
  | { kind: 'fail-after'; times: number; error: () => Error }
  | { kind: 'hang' }
  | { kind: 'slow'; ms: number };

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

  /**
   * The next `times` calls of `method` (e.g. 'cluster.scaleWorkload', or 'database.status:east' for one cluster)
   * throw.
   */
  fail(method: string, times: number, error: () => Error = () => simError(method)): void {
    this.faults.set(method, { kind: 'fail', times, error });
  }

  /** The next `times` calls of `method` take effect, then throw (a call that dies after doing its work). */
  failAfter(method: string, times: number, error: () => Error = () => simError(method)): void {
    this.faults.set(method, { kind: 'fail-after', times, error });
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

  /** Latency and injected faults before a call; returns what to do after its effect (a `fail-after` fault). */
  private async enter(method: string, cluster?: ClusterId): Promise<() => void> {
    if (this.timing.latencyMs > 0) await this.clock.sleep(this.timing.latencyMs);
    const fault =
      (cluster === undefined ? undefined : this.faults.get(`${method}:${cluster}`)) ??
      this.faults.get(method);
    const none = () => undefined;
    if (!fault) return none;
    if (fault.kind === 'slow') await this.clock.sleep(fault.ms);
    if (fault.kind === 'hang') await new Promise(() => undefined);
    if (fault.kind === 'fail' && fault.times > 0) {
      fault.times -= 1;
      throw fault.error();
    }
    if (fault.kind === 'fail-after' && fault.times > 0) {
      fault.times -= 1;
      return () => {
        throw fault.error();
      };
    }
    return none;
  }

  /**
   * The old primary `id` rebuilt as a streaming standby of the current primary (a new base backup): it follows it on
   * its timeline, with what it has, and nothing of its own.
   */
  async rebuildAsStandby(id: ClusterId): Promise<void> {
    await this.store.update((state) => rebuildDatabase(state, id));
  }

  /**
   * A client commits on `id`'s database whatever its fence says (`SET default_transaction_read_only = off`): its WAL
   * grows by `bytes` and one more transaction commits there. A test's hostile writer.
   */
  async writeAnyway(id: ClusterId, bytes = 120): Promise<void> {
    await this.store.update((state) => {
      const db = state.clusters[id]?.db;
      if (!db || !db.reachable) throw new Error(`${id}'s database is not reachable`);
      settlePromotion(db, state, this.clock.now());
      if (db.role !== 'primary') throw new Error(`${id}'s database is a standby`);
      db.lsn += bytes;
      db.commits.push(db.nextXid);
      db.nextXid += 1;
    });
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
      if (what === 'db' && c.db.refuses !== undefined) {
        throw new BatonError('database-refused', `${id}'s database refused Baton: ${c.db.refuses}`);
      }
      return c;
    };
    /** The database of `id`, with a requested promotion landed if its time has come. */
    const database = (state: WorldState, id: ClusterId): SimDatabase => {
      const db = cluster(state, id, 'db').db;
      settlePromotion(db, state, clock.now());
      return db;
    };
    const ready = (w: SimWorkload, now: number): number => (now >= w.readyAt ? w.replicas : w.readyReplicas);
    const getWorkload: ClusterPort['getWorkload'] = async (_site, id, ref) => {
      await this.enter('cluster.getWorkload', id);
      const w = cluster(await store.read(), id).workloads[workloadKey(ref)];
      return w ? { replicas: w.replicas, readyReplicas: ready(w, clock.now()), images: w.images } : null;
    };

    const clusterPort: ClusterPort = {
      readyNodeCount: async (_site, id) => {
        await this.enter('cluster.readyNodeCount', id);
        return cluster(await store.read(), id).readyNodes;
      },
      getWorkload,
      scaleWorkload: async (_site, id, ref, replicas) => {
        await this.enter('cluster.scaleWorkload', id);
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
      waitForReady: (site, id, ref, replicas, options) =>
        waitUntil(clock, { pollMs: 250, ...options }, async () => {
          const status = await getWorkload(site, id, ref, options);
          if (!status) {
            throw new BatonError(
              'workload-missing',
              `${ref.kind} ${workloadLabel(ref)} does not exist on ${id}`,
            );
          }
          return status.readyReplicas >= replicas
            ? { done: true, value: status }
            : {
                done: false,
                seen: `${workloadLabel(ref)} on ${id}: ${status.readyReplicas}/${replicas} Ready`,
              };
        }),
    };

    const replayOf = (state: WorldState, db: SimDatabase): number => {
      const upstream = db.upstream ? state.clusters[db.upstream]?.db : undefined;
      if (db.role !== 'standby' || !upstream) return db.lsn;
      // A standby follows its upstream's WAL, `lagBytes` behind; promotion freezes what it has.
      db.lsn = Math.max(0, upstream.lsn - state.lagBytes);
      return db.lsn;
    };
    const databaseStatus = (state: WorldState, id: ClusterId): DatabaseStatus => {
      const db = database(state, id);
      if (db.role === 'primary')
        return { inRecovery: false, readOnly: db.readOnly, lagBytes: null, lsn: lsnText(db.lsn) };
      const replay = replayOf(state, db);
      const upstream = db.upstream ? state.clusters[db.upstream] : undefined;
      const primaryReadable = upstream?.db.reachable && upstream.db.refuses === undefined;
      return {
        inRecovery: true,
        readOnly: db.readOnly,
        lagBytes: primaryReadable && upstream ? upstream.db.lsn - replay : null,
        ...(!primaryReadable && { lagUnknown: `${db.upstream ?? 'its primary'} unreachable` }),
        lsn: lsnText(replay),
        receiveLsn: lsnText(replay),
      };
    };
    const fenceMark = (state: WorldState, db: SimDatabase): FenceMark => ({
      lsn: lsnText(replayOf(state, db)),
      nextXid: String(db.nextXid),
      openXids: [],
      prepared: [],
      endedSessions: 0,
      standby: db.role === 'standby',
    });
    const writable = (db: SimDatabase, id: ClusterId): void => {
      if (db.role !== 'primary') {
        throw new BatonError('database-in-recovery', `${id}'s database is still in recovery`, {
          retriable: true,
        });
      }
      if (db.readOnly) {
        throw new BatonError(
          'database-read-only',
          `${id}'s database is a primary but new transactions are read-only`,
        );
      }
    };
    const databasePort: DatabasePort = {
      status: async (_site, id) => {
        const after = await this.enter('database.status', id);
        const status = await store.update((state) => databaseStatus(state, id));
        after();
        return status;
      },
      fence: async (site, id, options) => {
        const after = await this.enter('database.fence', id);
        const result = await store.update((state) => {
          const db = database(state, id);
          if (options?.demoteTo !== undefined && site.database?.promotion === 'cloudnative-pg') {
            // CloudNativePG: the source Cluster is demoted (a clean shutdown, then a replica) and publishes a token.
            const mark = fenceMark(state, db);
            db.role = 'standby';
            db.demotedFor = options.demoteTo;
            db.demotionToken ??= `cnpg-sim:${mark.lsn}:${db.timeline}`;
            state.actions.push(`demote ${id}`);
            return { ...mark, promotionToken: db.demotionToken };
          }
          db.readOnly = true;
          state.actions.push(`fence ${id}`);
          return fenceMark(state, db);
        });
        after();
        return result;
      },
      unfence: async (_site, id) => {
        await this.enter('database.unfence', id);
        await store.update((state) => {
          database(state, id).readOnly = false;
          state.actions.push(`unfence ${id}`);
        });
      },
      requestPromotion: async (_site, id, options) => {
        const after = await this.enter('database.requestPromotion', id);
        await store.update((state) => {
          const db = database(state, id);
          if (db.role === 'primary' || db.promoteAt !== undefined) return;
          if (options?.promotionToken !== undefined) {
            const demoted = Object.values(state.clusters).find((c) => c.db.demotedFor === id)?.db;
            if (!demoted || demoted.demotionToken !== options.promotionToken) {
              throw new BatonError(
                'cnpg-token-rejected',
                `${id}: the promotion token does not match the demoted source's (simulated CloudNativePG)`,
              );
            }
          }
          db.promoteAt = clock.now() + timing.promotionAfterMs;
          settlePromotion(db, state, clock.now());
          state.actions.push(`promote ${id}`);
        });
        after();
      },
      waitUntilWritable: (_site, id, options) =>
        waitUntil(clock, { pollMs: 100, ...options }, async () => {
          await this.enter('database.waitUntilWritable', id);
          return store.update((state) => {
            const db = database(state, id);
            if (db.role !== 'primary') return { done: false, seen: `${id}'s database still in recovery` };
            if (db.readOnly && options.clearFence) db.readOnly = false;
            writable(db, id);
            return { done: true, value: undefined };
          });
        }),
      proveWritable: async (_site, id) => {
        await this.enter('database.proveWritable', id);
        await store.update((state) => writable(database(state, id), id));
      },
      waitForReplay: (_site, id, lsn, options) =>
        waitUntil(clock, { pollMs: 100, ...options }, async () => {
          await this.enter('database.waitForReplay', id);
          return store.update((state) => {
            const db = database(state, id);
            const replay = replayOf(state, db);
            if (replay >= lsnNumber(lsn)) return { done: true, value: { lsn: lsnText(replay) } };
            if (db.role === 'primary') {
              throw new BatonError(
                'not-a-standby',
                `${id}'s database left recovery at ${lsnText(replay)}, short of ${lsn}`,
              );
            }
            return {
              done: false,
              seen: `${id} replayed up to ${lsnText(replay)}, ${lsnNumber(lsn) - replay} bytes behind ${lsn}`,
            };
          });
        }),
      writesSince: async (_site, id, mark) => {
        await this.enter('database.writesSince', id);
        return store.update((state) => {
          const db = database(state, id);
          const from = Number(mark.nextXid);
          const committed = db.commits.filter(
            (xid) => xid >= from || mark.openXids.includes(String(xid)),
          ).length;
          return { lsn: lsnText(replayOf(state, db)), committed, writers: [] };
        });
      },
      replication: async (_site, standbyId, primaryId) => {
        await this.enter('database.replication', standbyId);
        return store.update((state) => {
          const standby = database(state, standbyId);
          const replay = replayOf(state, standby);
          const follows = standby.role === 'standby' && standby.upstream === primaryId;
          let primary: Awaited<ReturnType<DatabasePort['replication']>>['primary'];
          try {
            const p = database(state, primaryId);
            primary = {
              inRecovery: p.role !== 'primary',
              timeline: p.timeline,
              lsn: lsnText(p.lsn),
              listsStandby: follows,
            };
          } catch (error) {
            primary = { unreachable: error instanceof Error ? error.message : String(error) };
          }
          const upstream = standby.upstream ? state.clusters[standby.upstream]?.db : undefined;
          const streaming = follows && upstream !== undefined && upstream.reachable;
          return {
            standby: {
              inRecovery: standby.role === 'standby',
              receiver: streaming ? 'streaming' : null,
              receivedTimeline: streaming && upstream ? upstream.timeline : null,
              receiveLsn: lsnText(replay),
              replayLsn: lsnText(replay),
            },
            primary,
          };
        });
      },
    };

    const settle = (state: WorldState): void => {
      const now = clock.now();
      for (const change of Object.values(state.dns.changes))
        if (now >= change.insyncAt) state.dns.resolved = change.to;
    };
    const changeStatus: DnsPort['changeStatus'] = async (changeId) => {
      await this.enter('dns.changeStatus');
      const change = (await store.read()).dns.changes[changeId];
      if (!change) throw new BatonError('no-such-change', `Route 53 change ${changeId} not found`);
      return clock.now() >= change.insyncAt ? 'INSYNC' : 'PENDING';
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
      changeStatus,
      waitForInsync: async (changeId, options) => {
        const started = clock.now();
        await waitUntil(clock, { pollMs: 2000, ...options }, async () =>
          (await changeStatus(changeId, options)) === 'INSYNC'
            ? { done: true, value: undefined }
            : { done: false, seen: `change ${changeId} PENDING` },
        );
        return { waitedMs: clock.now() - started };
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

/** See {@link SimulatedWorld.rebuildAsStandby}; also for callers holding a WorldState (benchmarks). */
export function rebuildDatabase(state: WorldState, id: ClusterId): void {
  const entry = Object.entries(state.clusters).find(([other, c]) => other !== id && c.db.role === 'primary');
  const target = state.clusters[id];
  if (!entry || !target) throw new Error(`no primary for ${id} to follow`);
  const [primaryId, primary] = entry;
  target.db = {
    ...target.db,
    role: 'standby',
    readOnly: false,
    upstream: primaryId,
    timeline: primary.db.timeline,
    lsn: primary.db.lsn,
    nextXid: primary.db.nextXid,
    commits: [],
  };
  delete target.db.promoteAt;
}

/** A requested promotion lands: the standby stops following, keeps what it replayed, and starts a new timeline. */
function settlePromotion(db: SimDatabase, state: WorldState, now: number): void {
  if (db.promoteAt === undefined || now < db.promoteAt || db.role === 'primary') return;
  const upstream = db.upstream ? state.clusters[db.upstream]?.db : undefined;
  if (upstream) db.lsn = Math.max(0, upstream.lsn - state.lagBytes);
  db.role = 'primary';
  db.timeline += 1;
  delete db.upstream;
  delete db.promoteAt;
  // A CloudNativePG Cluster demoted in its favour follows it from now on, without a rebuild.
  for (const c of Object.values(state.clusters)) {
    if (c.db.demotedFor === undefined || state.clusters[c.db.demotedFor]?.db !== db) continue;
    c.db.upstream = c.db.demotedFor;
    c.db.timeline = db.timeline;
    delete c.db.demotedFor;
    delete c.db.demotionToken;
  }
  // Transaction ids carry on from what was replicated; the old primary's later ones are its own.
  if (upstream) db.nextXid = Math.max(db.nextXid, upstream.nextXid);
}

function lsnNumber(lsn: string): number {
  const [hi, lo] = lsn.split('/');
  return parseInt(hi ?? '0', 16) * 2 ** 32 + parseInt(lo ?? '0', 16);
}

function withDefaults(timing: Partial<WorldTiming>): WorldTiming {
  return { podsReadyAfterMs: 0, dnsInSyncAfterMs: 0, promotionAfterMs: 0, latencyMs: 0, ...timing };
}

function simError(method: string): Error {
  return new BatonError('simulated-failure', `${method} failed (injected)`, { retriable: true });
}
