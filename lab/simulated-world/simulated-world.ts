/**
 * A simulated pair of clusters, DNS record and PostgreSQL pair behind Baton's ports, for tests, benchmarks and the
 * sandbox. State lives in memory, or in Redis so that several worker processes (and a test that kills them) see
 * one world. Every mutating call is recorded, so a test can assert that each external action happened once.
 * Faults (fail, hang, slow) can be injected per port method.
 *
 * This file is the entry point: the world's state, its store, the faults and each port live in files of their own.
 */
import type { Redis } from 'ioredis';
import type { ClusterId, SiteConfig } from '../../src/config/topology.js';
import type { Clock, Ports } from '../../src/core/ports.js';
import { simulatedClusterPort } from './cluster-port.js';
import { simulatedDatabasePort } from './database-port.js';
import { simulatedGitOpsPort } from './gitops-port.js';
import { simulatedDnsPort } from './dns-port.js';
import { FaultInjector } from './fault-injection.js';
import { simulatedHealthPort } from './health-port.js';
import { rebuildDatabase, settlePromotion } from './simulated-database.js';
import type { WorldState, WorldTiming } from './world-state.js';
import { initialWorldState, withTimingDefaults } from './world-state.js';
import type { WorldContext, WorldStore } from './world-store.js';
import { memoryStore, redisStore } from './world-store.js';

export type { WorldState, WorldTiming } from './world-state.js';
export { initialWorldState } from './world-state.js';
export { rebuildDatabase } from './simulated-database.js';

export class SimulatedWorld {
  private readonly faults: FaultInjector;
  readonly ports: Ports;

  private constructor(
    private readonly store: WorldStore,
    private readonly clock: Clock,
    timing: WorldTiming,
    site: SiteConfig,
  ) {
    this.faults = new FaultInjector(clock, timing.latencyMs);
    const context: WorldContext = {
      store,
      clock,
      timing,
      enter: (method, cluster) => this.faults.enter(method, cluster),
    };
    this.ports = {
      cluster: simulatedClusterPort(context),
      gitops: simulatedGitOpsPort(context),
      dns: simulatedDnsPort(context),
      database: simulatedDatabasePort(context),
      health: simulatedHealthPort(context, site),
    };
  }

  static inMemory(site: SiteConfig, clock: Clock, timing: Partial<WorldTiming> = {}): SimulatedWorld {
    return new SimulatedWorld(memoryStore(initialWorldState(site)), clock, withTimingDefaults(timing), site);
  }

  /** A world shared through Redis key `key`; call `reset` once to create it. */
  static inRedis(
    redis: Redis,
    key: string,
    site: SiteConfig,
    clock: Clock,
    timing: Partial<WorldTiming> = {},
  ): SimulatedWorld {
    return new SimulatedWorld(redisStore(redis, key), clock, withTimingDefaults(timing), site);
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
  fail(method: string, times: number, error?: () => Error): void {
    this.faults.fail(method, times, error);
  }

  /** The next `times` calls of `method` take effect, then throw (a call that dies after doing its work). */
  failAfter(method: string, times: number, error?: () => Error): void {
    this.faults.failAfter(method, times, error);
  }

  hang(method: string): void {
    this.faults.hang(method);
  }

  slow(method: string, ms: number): void {
    this.faults.slow(method, ms);
  }

  heal(method?: string): void {
    this.faults.heal(method);
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
}
