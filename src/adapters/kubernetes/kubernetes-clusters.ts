/**
 * Baton's ClusterPort on the real Kubernetes API, through @kubernetes/client-node 1.x: ready nodes, workload
 * status, scaling through the scale subresource, waiting for readiness, and the CloudNativePG switchover and
 * failover. One API client set per kubeconfig context; TLS is verified with the kubeconfig's CA, as kubectl does.
 * Writes are paced per API server (a few per second, shared by every site's run in this process: one instance per
 * process). Every request has a timeout and is retried (429, 5xx, resets, timeouts; 409 for writes) with jittered
 * backoff, a 429 after its Retry-After; failures become BatonErrors whose messages say what to do next. This class only resolves the cluster and
 * delegates; each job has its own file in this folder.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterId, SiteConfig } from '../../config/topology.js';
import { systemClock } from '../../core/clock.js';
import type {
  ApplicationRef,
  AutoscalerRange,
  AutoscalerRef,
  AutoscalerStatus,
  CallOptions,
  Clock,
  ClusterPort,
  GitOpsPort,
  Log,
  NodeCapacity,
  WaitOptions,
  WorkloadRef,
  WorkloadStatus,
  WorkloadTemplate,
} from '../../core/ports.js';
import { applicationSyncState, pauseApplicationSync, resumeApplicationSync } from './argocd-applications.js';
import { listAutoscalers, setAutoscalerRange } from './autoscalers.js';
import { createCnpgAccess, readCnpgCluster } from './cnpg-access.js';
import { demoteCnpg } from './cnpg-demote.js';
import type { DemoteCnpgOptions } from './cnpg-demote.js';
import { promoteCnpg } from './cnpg-promote.js';
import type { PromoteCnpgOptions } from './cnpg-promote.js';
import { cnpgStatus } from './cnpg-status.js';
import type { CnpgClusterRef, CnpgClusterStatus } from './cnpg-status.js';
import { KubeClients } from './kube-clients.js';
import { loadKubeConfig } from './kube-config.js';
import type { KubeRequestPolicy, RetryPolicy } from './kube-retry.js';
import { readNodeCapacity } from './node-capacity.js';
import { countReadyNodes } from './nodes.js';
import { readWorkloadTemplate } from './workload-template.js';
import { readWorkload, scaleWorkload, waitForWorkloadReady } from './workloads.js';
import { DEFAULT_KUBE_WRITES_PER_SECOND, WritePacer } from './write-pacer.js';

export interface KubernetesClustersOptions {
  kubeConfig: KubeConfig;
  log: Log;
  /** Per HTTP request (default 10 s). */
  requestTimeoutMs?: number;
  retry?: RetryPolicy;
  /** Time for polling and backoff (default: the wall clock). */
  clock?: Clock;
  /** Randomness for backoff jitter, in [0, 1) (default Math.random). */
  random?: () => number;
  /**
   * Writes (scale, patches) this instance starts per API server in any second, over every context on that server
   * (BATON_KUBE_WRITES_PER_SECOND, default 20). Reads are not paced.
   */
  writesPerSecond?: number;
}

/** The Kubernetes clusters of every site, behind Baton's ClusterPort. */
export class KubernetesClusters implements ClusterPort, GitOpsPort {
  private readonly clients: KubeClients;
  private readonly requests: KubeRequestPolicy;

  constructor(options: KubernetesClustersOptions) {
    this.clients = new KubeClients(options.kubeConfig);
    const clock = options.clock ?? systemClock;
    this.requests = {
      log: options.log.child({ component: 'kubernetes' }),
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      retry: options.retry ?? { attempts: 4, baseDelayMs: 200 },
      clock,
      random: options.random ?? Math.random,
      writes: new WritePacer(options.writesPerSecond ?? DEFAULT_KUBE_WRITES_PER_SECOND, clock),
    };
  }

  /**
   * Loads the kubeconfig at `kubeconfigPath` (the value of KUBECONFIG: one path, or several joined by the path
   * delimiter, merged as kubectl merges them), or, without one, the in-cluster service account.
   */
  static fromEnvironment(options: {
    kubeconfigPath?: string;
    /** BATON_ALLOW_INSECURE_KUBE=1: accept `insecure-skip-tls-verify` clusters (refused otherwise). */
    allowInsecureKube?: boolean;
    log: Log;
    requestTimeoutMs?: number;
    retry?: RetryPolicy;
    writesPerSecond?: number;
  }): KubernetesClusters {
    const kubeConfig = loadKubeConfig(options.kubeconfigPath, {
      allowInsecure: options.allowInsecureKube === true,
      log: options.log,
    });
    return new KubernetesClusters({ ...options, kubeConfig });
  }

  // -------------------------------------------------------------------------------------------------------------
  // ClusterPort
  // -------------------------------------------------------------------------------------------------------------

  async readyNodeCount(site: SiteConfig, cluster: ClusterId, call: CallOptions = {}): Promise<number> {
    return countReadyNodes(this.requests, this.clients.target(site, cluster), call.signal);
  }

  async getWorkload(
    site: SiteConfig,
    cluster: ClusterId,
    workload: WorkloadRef,
    call: CallOptions = {},
  ): Promise<WorkloadStatus | null> {
    const found = await readWorkload(
      this.requests,
      this.clients.target(site, cluster),
      workload,
      call.signal,
    );
    return found?.status ?? null;
  }

  /** The pod template's images, env names, requests and the ConfigMaps and Secrets it refers to. */
  async workloadTemplate(
    site: SiteConfig,
    cluster: ClusterId,
    workload: WorkloadRef,
    call: CallOptions = {},
  ): Promise<WorkloadTemplate | null> {
    return readWorkloadTemplate(this.requests, this.clients.target(site, cluster), workload, call.signal);
  }

  /** Ready, uncordoned nodes with their allocatable resources and what their pods request. */
  async nodeCapacity(site: SiteConfig, cluster: ClusterId, call: CallOptions = {}): Promise<NodeCapacity[]> {
    return readNodeCapacity(this.requests, this.clients.target(site, cluster), call.signal);
  }

  async scaleWorkload(
    site: SiteConfig,
    cluster: ClusterId,
    workload: WorkloadRef,
    replicas: number,
    call: CallOptions = {},
  ): Promise<void> {
    return scaleWorkload(this.requests, this.clients.target(site, cluster), workload, replicas, call.signal);
  }

  /** The HorizontalPodAutoscalers (autoscaling/v2) whose scaleTargetRef names the workload. */
  async listAutoscalers(
    site: SiteConfig,
    cluster: ClusterId,
    workload: WorkloadRef,
    call: CallOptions = {},
  ): Promise<AutoscalerStatus[]> {
    return listAutoscalers(this.requests, this.clients.target(site, cluster), workload, call.signal);
  }

  /** Merge-patches an HPA's range and Baton's record of the range to give back. */
  async setAutoscalerRange(
    site: SiteConfig,
    cluster: ClusterId,
    autoscaler: AutoscalerRef,
    range: AutoscalerRange & { heldFrom: AutoscalerRange | null },
    call: CallOptions = {},
  ): Promise<void> {
    return setAutoscalerRange(
      this.requests,
      this.clients.target(site, cluster),
      autoscaler,
      range,
      call.signal,
    );
  }

  // -------------------------------------------------------------------------------------------------------------
  // Waits (the only way a step waits for a workload), and the CloudNativePG promotion
  // -------------------------------------------------------------------------------------------------------------

  /**
   * Resolves once the controller has seen the latest spec and `readyReplicas ≥ replicas`. Bounded by the signal (the
   * step's timeout) or `timeoutMs` (`not-ready`); either way the error says what it last saw.
   */
  async waitForReady(
    site: SiteConfig,
    cluster: ClusterId,
    workload: WorkloadRef,
    replicas: number,
    options: WaitOptions,
  ): Promise<WorkloadStatus> {
    return waitForWorkloadReady(
      this.requests,
      this.clients.target(site, cluster),
      workload,
      replicas,
      options,
    );
  }

  // -------------------------------------------------------------------------------------------------------------
  // GitOpsPort: Argo CD Applications on the cluster they sync
  // -------------------------------------------------------------------------------------------------------------

  syncState(site: SiteConfig, cluster: ClusterId, app: ApplicationRef, call: CallOptions = {}) {
    return applicationSyncState(this.requests, this.clients.target(site, cluster), app, call.signal);
  }

  pauseSync(site: SiteConfig, cluster: ClusterId, app: ApplicationRef, call: CallOptions = {}) {
    return pauseApplicationSync(this.requests, this.clients.target(site, cluster), app, call.signal);
  }

  resumeSync(site: SiteConfig, cluster: ClusterId, app: ApplicationRef, call: CallOptions = {}) {
    return resumeApplicationSync(this.requests, this.clients.target(site, cluster), app, call.signal);
  }

  /** Reads a CloudNativePG `Cluster` and says whether it is still a replica or already a healthy primary. */
  async cnpgClusterStatus(
    site: SiteConfig,
    cluster: ClusterId,
    ref: CnpgClusterRef,
    signal?: AbortSignal,
  ): Promise<CnpgClusterStatus> {
    return cnpgStatus(await readCnpgCluster(this.requests, this.clients.target(site, cluster), ref, signal));
  }

  /**
   * Demotes the primary CloudNativePG Cluster of a distributed topology in favour of `newPrimary` (merge patch
   * `spec.replica.primary`) and waits until the operator publishes `status.demotionToken`, which the new primary's
   * promotion must carry. Idempotent: a Cluster already demoted returns its token with `changed: false`.
   */
  async demoteCnpgCluster(
    site: SiteConfig,
    cluster: ClusterId,
    ref: CnpgClusterRef,
    options: DemoteCnpgOptions,
  ): Promise<{ demotionToken: string; changed: boolean }> {
    return demoteCnpg(createCnpgAccess(this.requests, this.clients.target(site, cluster), ref), options);
  }

  /**
   * Promotes a CloudNativePG replica Cluster and waits until the operator reports a healthy, Ready primary. With
   * `promotionToken` (the demoted primary's token) it is the documented switchover: `spec.replica.primary: <self>`
   * and `spec.replica.promotionToken` in one patch. Without, a failover (`spec.replica.enabled: false`, or
   * `primary: <self>` in a distributed topology). A Cluster that is already a primary is left alone. Bounded by the
   * signal, and by `timeoutMs` when given. Resolves whether this call changed it.
   */
  async promoteCnpgCluster(
    site: SiteConfig,
    cluster: ClusterId,
    ref: CnpgClusterRef,
    options: PromoteCnpgOptions,
  ): Promise<{ changed: boolean; status: CnpgClusterStatus }> {
    return promoteCnpg(createCnpgAccess(this.requests, this.clients.target(site, cluster), ref), options);
  }
}
