/**
 * What the steps need from the outside world, and nothing more. The adapters implement these against Kubernetes,
 * Route 53, PostgreSQL and HTTP; the simulated world in lab/simulated-world implements them in memory or in Redis.
 * Every method may throw a BatonError; `retriable: true` means trying again can help.
 */
import type { ClusterId, SiteConfig, WorkloadConfig } from '../config/topology.js';

export type WorkloadRef = Pick<WorkloadConfig, 'namespace' | 'kind' | 'name'>;

/** Every port call takes the step's signal: once it aborts (the step timed out), the call stops and rejects. */
export interface CallOptions {
  signal?: AbortSignal;
}

/**
 * A wait on the outside world. The step's signal is its deadline (the step timeout covers the wait); `timeoutMs`
 * is for callers without one. On either, the wait rejects with an error that says what it last saw.
 */
export interface WaitOptions extends CallOptions {
  timeoutMs?: number;
  pollMs?: number;
  /** Told what the wait sees now, at most every `progressEveryMs` (default 2 s), to show it live. */
  onProgress?: (seen: string) => void;
  progressEveryMs?: number;
}

export interface WorkloadStatus {
  /** spec.replicas */
  replicas: number;
  readyReplicas: number;
  images: string[];
  /** metadata.labels and metadata.annotations: where GitOps controllers mark what they manage. */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A HorizontalPodAutoscaler (autoscaling/v2; KEDA's ScaledObjects make these too) whose scaleTargetRef is a workload. */
export interface AutoscalerStatus {
  namespace: string;
  name: string;
  /** spec.minReplicas (the API defaults it to 1) and spec.maxReplicas. */
  minReplicas: number;
  maxReplicas: number;
  /** The range it had before Baton raised it, as Baton recorded on the object; null when Baton holds nothing. */
  heldFrom: AutoscalerRange | null;
}

export interface AutoscalerRange {
  minReplicas: number;
  maxReplicas: number;
}

export type AutoscalerRef = Pick<AutoscalerStatus, 'namespace' | 'name'>;

/** CPU in millicores and memory in bytes, as Kubernetes quantities are compared. */
export interface ResourceAmounts {
  cpuMillis: number;
  memoryBytes: number;
}

/** One container of a pod template (`spec.template.spec.containers[]`). */
export interface ContainerTemplate {
  name: string;
  image: string;
  /** Names of `env` entries, sorted (values are never read: they may be secrets). */
  envNames: string[];
  /** `resources.requests`; 0 for what the container does not request. */
  requests: ResourceAmounts;
}

/** What a workload's pod template runs and refers to: compared between clusters (drift), summed (capacity). */
export interface WorkloadTemplate {
  containers: ContainerTemplate[];
  /** ConfigMaps the template refers to (env valueFrom, envFrom, volumes, projected volumes), sorted, once each. */
  configMaps: string[];
  /** Secrets it refers to, the same way (imagePullSecrets included). */
  secrets: string[];
  /**
   * What one pod requests as the scheduler counts it: the containers' sum, at least the largest init container's
   * (sidecars included), plus spec.overhead. Absent: the sum of `containers`' requests.
   */
  podRequests?: ResourceAmounts;
}

/** A Ready, schedulable node: what it offers and what the pods already bound to it request. */
export interface NodeCapacity {
  name: string;
  allocatable: ResourceAmounts & { pods: number };
  /** Sum of the requests of its pods that are not Succeeded or Failed, as the scheduler counts them. */
  requested: ResourceAmounts & { pods: number };
}

export interface ClusterPort {
  /** Nodes whose Ready condition is True. Throws `cluster-unreachable` when the API does not answer. */
  readyNodeCount(site: SiteConfig, cluster: ClusterId, options?: CallOptions): Promise<number>;
  /** null when the workload does not exist. */
  getWorkload(
    site: SiteConfig,
    cluster: ClusterId,
    workload: WorkloadRef,
    options?: CallOptions,
  ): Promise<WorkloadStatus | null>;
  /** The workload's pod template; null when the workload does not exist. */
  workloadTemplate(
    site: SiteConfig,
    cluster: ClusterId,
    workload: WorkloadRef,
    options?: CallOptions,
  ): Promise<WorkloadTemplate | null>;
  /** Every Ready node that takes new pods (not cordoned), with its allocatable and requested resources. */
  nodeCapacity(site: SiteConfig, cluster: ClusterId, options?: CallOptions): Promise<NodeCapacity[]>;
  /** Sets spec.replicas through the scale subresource. */
  scaleWorkload(
    site: SiteConfig,
    cluster: ClusterId,
    workload: WorkloadRef,
    replicas: number,
    options?: CallOptions,
  ): Promise<void>;
  /** The HorizontalPodAutoscalers in the workload's namespace whose scaleTargetRef names it. */
  listAutoscalers(
    site: SiteConfig,
    cluster: ClusterId,
    workload: WorkloadRef,
    options?: CallOptions,
  ): Promise<AutoscalerStatus[]>;
  /**
   * Sets an autoscaler's replica range and, in the same write, the range Baton must give back (`heldFrom`; null
   * clears it), so the record survives Baton's own state and travels with the object to the next run.
   */
  setAutoscalerRange(
    site: SiteConfig,
    cluster: ClusterId,
    autoscaler: AutoscalerRef,
    range: AutoscalerRange & { heldFrom: AutoscalerRange | null },
    options?: CallOptions,
  ): Promise<void>;
  /**
   * Until the controller has seen the latest spec and the rollout is complete with at least `replicas` pods
   * updated and Ready.
   */
  waitForReady(
    site: SiteConfig,
    cluster: ClusterId,
    workload: WorkloadRef,
    replicas: number,
    options: WaitOptions,
  ): Promise<WorkloadStatus>;
}

export interface DnsChange {
  changeId: string;
}

export interface DnsPort {
  /** Which cluster the record sends users to now, per Route 53 (null: neither target). */
  currentTarget(site: SiteConfig, options?: CallOptions): Promise<ClusterId | null>;
  /** One atomic change batch that makes the record serve `cluster`. */
  switchTo(site: SiteConfig, cluster: ClusterId, options?: CallOptions): Promise<DnsChange>;
  changeStatus(changeId: string, options?: CallOptions): Promise<'PENDING' | 'INSYNC'>;
  /** Until the change is INSYNC; resolves with how long it waited. */
  waitForInsync(changeId: string, options: WaitOptions): Promise<{ waitedMs: number }>;
  /**
   * `failover-records`: per cluster, what lets Route 53 move users off that cluster's record on its own (its
   * health check, or EvaluateTargetHealth on its alias), or null when nothing does; `{}` for other strategies.
   * Optional: a port without failover records omits it.
   */
  failoverTriggers?(site: SiteConfig, options?: CallOptions): Promise<Record<ClusterId, string | null>>;
  /** Resolves the record through the configured resolvers; which cluster the answers belong to. */
  resolveTarget(
    site: SiteConfig,
    options?: CallOptions,
  ): Promise<{ cluster: ClusterId | null; answers: string[] }>;
}

export interface DatabaseStatus {
  inRecovery: boolean;
  /** default_transaction_read_only is on (fenced). */
  readOnly: boolean;
  /**
   * A standby's distance behind its primary, measured against a primary that answered: signed, so a negative value
   * is a standby *ahead* of the primary (diverged). null on a primary, and whenever the primary could not be read:
   * then `receiveLsn` is all that is known.
   */
  lagBytes: number | null;
  /**
   * Seconds since the standby replayed its last transaction while it still has WAL to replay (0 when it has
   * replayed all it received); null on a primary or when it cannot be measured. Optional: not every port reports it.
   */
  lagSeconds?: number | null;
  /** pg_current_wal_lsn() on a primary, pg_last_wal_replay_lsn() on a standby. */
  lsn: string | null;
  /** A standby's pg_last_wal_receive_lsn(): the newest WAL it has from its primary. */
  receiveLsn?: string | null;
  /** Why lagBytes is null on a standby, e.g. "east unreachable". */
  lagUnknown?: string;
}

/**
 * What a fence left behind: the final WAL position (taken after every other part of the fence) and the transaction
 * mark that tells, later, whether anything committed on this database after it.
 */
export interface FenceMark {
  lsn: string;
  /** The first transaction id not yet assigned when the final position was taken (xid8, as text). */
  nextXid: string;
  /** Transactions still open then (prepared ones survive the fence) that could commit later (xid8, as text). */
  openXids: string[];
  /** Prepared transactions: they hold locks and can still be committed; named in the step output. */
  prepared: { gid: string; xid: string; owner: string; database: string }[];
  /** Client sessions the fence ended. */
  endedSessions: number;
  /** The database is a standby: it takes no writes; the flag only guards a mistaken promotion. */
  standby: boolean;
  /** A CloudNativePG switchover: the demoted source's token, which the target's promotion must carry. */
  promotionToken?: string;
}

/** What committed on a fenced database after its fence, and where its WAL is now. */
export interface WritesSince {
  lsn: string;
  /** Transactions committed after the fence (at least this many when `capped`). */
  committed: number;
  capped?: boolean;
  /** Sessions that hold read-write transactions now, e.g. `pid 4242 app@10.0.0.5 (psql)`. */
  writers: string[];
}

/** How a standby follows a primary, read from both sides. */
export interface ReplicationState {
  standby: {
    inRecovery: boolean;
    /** pg_stat_wal_receiver.status ('streaming', 'waiting', …); null when no WAL receiver runs. */
    receiver: string | null;
    receivedTimeline: number | null;
    receiveLsn: string | null;
    replayLsn: string | null;
  };
  /** The primary's side; `unreachable` says why it could not be read. */
  primary:
    | {
        inRecovery: boolean;
        /** The timeline it writes on now. */
        timeline: number;
        lsn: string;
        /** Whether pg_stat_replication lists this standby as streaming. */
        listsStandby: boolean;
      }
    | { unreachable: string };
}

export interface DatabasePort {
  /** Throws `database-unreachable` only for a connection-level failure; any answer means it is up. */
  status(site: SiteConfig, cluster: ClusterId, options?: CallOptions): Promise<DatabaseStatus>;
  /**
   * The fence, complete every time it is called: read-only by default, no role or database setting overriding it,
   * no session left with a transaction older than the fence, prepared transactions listed, and the final position
   * taken last. `demoteTo` (CloudNativePG switchover) demotes the source Cluster instead and returns its token.
   */
  fence(
    site: SiteConfig,
    cluster: ClusterId,
    options?: CallOptions & { demoteTo?: ClusterId },
  ): Promise<FenceMark>;
  unfence(site: SiteConfig, cluster: ClusterId, options?: CallOptions): Promise<void>;
  /** Asks for promotion and returns at once (pg_promote without waiting, or the CloudNativePG patch). */
  requestPromotion(
    site: SiteConfig,
    cluster: ClusterId,
    options?: CallOptions & { promotionToken?: string },
  ): Promise<void>;
  /**
   * Until `cluster` is a primary whose new transactions are read-write and whose commits no synchronous standby
   * blocks. `clearFence`: a read-only flag the promoted standby copied from its fenced primary is cleared.
   */
  waitUntilWritable(
    site: SiteConfig,
    cluster: ClusterId,
    options: WaitOptions & { clearFence?: boolean },
  ): Promise<void>;
  /** The same proof, once: throws why `cluster` does not take writes now. */
  proveWritable(site: SiteConfig, cluster: ClusterId, options?: CallOptions): Promise<void>;
  /** Until `cluster`'s standby has replayed WAL up to `lsn`. */
  waitForReplay(
    site: SiteConfig,
    cluster: ClusterId,
    lsn: string,
    options: WaitOptions,
  ): Promise<{ lsn: string }>;
  /** What committed on `cluster` after `mark` was taken there. */
  writesSince(
    site: SiteConfig,
    cluster: ClusterId,
    mark: FenceMark,
    options?: CallOptions,
  ): Promise<WritesSince>;
  /** How `standby` follows `primary`, from both sides (the primary's side may be unreachable). */
  replication(
    site: SiteConfig,
    standby: ClusterId,
    primary: ClusterId,
    options?: CallOptions,
  ): Promise<ReplicationState>;
}

/** An Argo CD Application, on the cluster whose workloads it syncs. */
export interface ApplicationRef {
  namespace: string;
  name: string;
}

/** Whether an Argo CD Application syncs on its own, and who could undo a change to that. */
export interface SyncState {
  /** spec.syncPolicy.automated is set and its `enabled` is not false: self-heal may revert Baton's scaling. */
  automated: boolean;
  /** Baton turned automated sync off; the policy it gives back is recorded on the Application. */
  pausedByBaton: boolean;
  /** The ApplicationSet that owns the Application and would put its sync policy back, if any. */
  ownedBy?: string;
}

/**
 * GitOps controllers that would put a workload's replicas back to Git's value. Baton pauses an Argo CD Application's
 * automated sync while the site is away from home and gives it back when the site is home again.
 */
export interface GitOpsPort {
  /** null when the Application does not exist. */
  syncState(
    site: SiteConfig,
    cluster: ClusterId,
    app: ApplicationRef,
    options?: CallOptions,
  ): Promise<SyncState | null>;
  /** Turns automated sync off, recording the policy to give back on the Application in the same write. */
  pauseSync(site: SiteConfig, cluster: ClusterId, app: ApplicationRef, options?: CallOptions): Promise<void>;
  /** Gives back the policy Baton recorded; nothing when Baton paused nothing. */
  resumeSync(site: SiteConfig, cluster: ClusterId, app: ApplicationRef, options?: CallOptions): Promise<void>;
}

export interface HealthPort {
  check(url: string, options?: CallOptions): Promise<{ ok: boolean; status?: number; error?: string }>;
}

export interface Ports {
  cluster: ClusterPort;
  gitops: GitOpsPort;
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
