/**
 * What the steps need from the outside world, and nothing more. The adapters implement these against Kubernetes,
 * Route 53, PostgreSQL and HTTP; the simulated world in src/sandbox implements them in memory or in Redis.
 * Every method may throw a BatonError; `retriable: true` means trying again can help.
 */
import type { ClusterId, SiteConfig, WorkloadConfig } from '../config/topology.js';

export type WorkloadRef = Pick<WorkloadConfig, 'namespace' | 'kind' | 'name'>;

export interface WorkloadStatus {
  /** spec.replicas */
  replicas: number;
  readyReplicas: number;
  images: string[];
}

export interface ClusterPort {
  /** Nodes whose Ready condition is True. Throws `cluster-unreachable` when the API does not answer. */
  readyNodeCount(site: SiteConfig, cluster: ClusterId): Promise<number>;
  /** null when the workload does not exist. */
  getWorkload(site: SiteConfig, cluster: ClusterId, workload: WorkloadRef): Promise<WorkloadStatus | null>;
  /** Sets spec.replicas through the scale subresource. */
  scaleWorkload(site: SiteConfig, cluster: ClusterId, workload: WorkloadRef, replicas: number): Promise<void>;
}

export interface DnsChange {
  changeId: string;
}

export interface DnsPort {
  /** Which cluster the record sends users to now, per Route 53 (null: neither target). */
  currentTarget(site: SiteConfig): Promise<ClusterId | null>;
  /** One atomic change batch that makes the record serve `cluster`. */
  switchTo(site: SiteConfig, cluster: ClusterId): Promise<DnsChange>;
  changeStatus(changeId: string): Promise<'PENDING' | 'INSYNC'>;
  /** Resolves the record through the configured resolvers; which cluster the answers belong to. */
  resolveTarget(site: SiteConfig): Promise<{ cluster: ClusterId | null; answers: string[] }>;
}

export interface DatabaseStatus {
  inRecovery: boolean;
  /** default_transaction_read_only is on (fenced). */
  readOnly: boolean;
  /** Bytes the standby is behind (null when it cannot be measured, e.g. a primary). */
  lagBytes: number | null;
  /**
   * Seconds since the standby replayed its last transaction while it still has WAL to replay (0 when it has
   * replayed all it received); null on a primary or when it cannot be measured. Optional: not every port reports it.
   */
  lagSeconds?: number | null;
  /** pg_current_wal_lsn() on a primary, pg_last_wal_replay_lsn() on a standby. */
  lsn: string | null;
}

export interface DatabasePort {
  /** Throws `database-unreachable` when it cannot connect. */
  status(site: SiteConfig, cluster: ClusterId): Promise<DatabaseStatus>;
  /** Read-only plus ending client sessions. Returns the WAL position after fencing. */
  fence(site: SiteConfig, cluster: ClusterId): Promise<{ lsn: string }>;
  unfence(site: SiteConfig, cluster: ClusterId): Promise<void>;
  /** pg_promote(), then proves the new primary accepts writes. */
  promote(site: SiteConfig, cluster: ClusterId): Promise<void>;
}

export interface HealthPort {
  check(url: string): Promise<{ ok: boolean; status?: number; error?: string }>;
}

export interface Ports {
  cluster: ClusterPort;
  dns: DnsPort;
  database: DatabasePort;
  health: HealthPort;
}

/** Time is injected so tests of timeouts and polling do not depend on the wall clock. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Structured logger; pino's Logger satisfies it. */
export interface Log {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Log;
}
