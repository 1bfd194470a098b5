/**
 * Baton's ClusterPort on the real Kubernetes API, through @kubernetes/client-node 1.x: ready nodes, workload
 * status, scaling through the scale subresource, waiting for readiness, and the CloudNativePG switchover and
 * failover (cnpg-clusters.ts). One API client set per kubeconfig context; TLS is verified with the kubeconfig's CA,
 * as kubectl does.
 * Every request has a timeout and is retried (429, 5xx, resets, timeouts; 409 for writes) with jittered backoff;
 * failures become BatonErrors whose messages say what to do next.
 */
import { delimiter } from 'node:path';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  Observable,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type {
  ConfigurationOptions,
  ObservableMiddleware,
  RequestContext,
  ResponseContext,
  V1Scale,
} from '@kubernetes/client-node';
import type { ClusterId, SiteConfig } from '../config/topology.js';
import { systemClock } from '../core/clock.js';
import type {
  CallOptions,
  Clock,
  ClusterPort,
  Log,
  WaitOptions,
  WorkloadRef,
  WorkloadStatus,
} from '../core/ports.js';
import { waitUntil } from '../core/wait.js';
import { BatonError, isBatonError } from '../errors.js';
import { cnpgStatus, demoteCnpg, promoteCnpg } from './cnpg-clusters.js';
import type {
  CnpgClusterAccess,
  CnpgClusterObject,
  CnpgClusterRef,
  CnpgClusterStatus,
  DemoteCnpgOptions,
  PromoteCnpgOptions,
} from './cnpg-clusters.js';

export interface RetryPolicy {
  /** Tries per request, the first included (default 4). */
  attempts: number;
  /** First backoff; doubled per attempt, jittered, capped at 5 s (default 200 ms). */
  baseDelayMs: number;
}

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
}

/** Waits are bounded by the step's signal, or `timeoutMs` when there is none; polls at most every 500 ms. */
export type { WaitOptions } from '../core/ports.js';
export { parseCnpgDemotionToken } from './cnpg-clusters.js';
export type {
  CnpgClusterRef,
  CnpgClusterStatus,
  CnpgDemotionToken,
  DemoteCnpgOptions,
  PromoteCnpgOptions,
} from './cnpg-clusters.js';

interface ClientSet {
  context: string;
  server: string;
  core: CoreV1Api;
  apps: AppsV1Api;
  custom: CustomObjectsApi;
}

/** What a request does, for RBAC and not-found messages. */
interface Operation {
  verb: 'get' | 'list' | 'update' | 'patch';
  group: string;
  resource: string;
  /** Human name of the object, e.g. `Deployment default/web`. */
  object: string;
  namespace?: string;
  name?: string;
  write: boolean;
}

interface Target {
  site: SiteConfig;
  cluster: ClusterId;
  clients: ClientSet;
}

const CNPG = { group: 'postgresql.cnpg.io', version: 'v1', plural: 'clusters' } as const;

const MAX_BACKOFF_MS = 5_000;
const MAX_RETRY_AFTER_MS = 10_000;
const MAX_POLL_MS = 500;
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);
const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** A failed attempt, classified before it becomes a BatonError. */
interface Failure {
  error: unknown;
  retriable: boolean;
  /** From a 429/503 Retry-After header. */
  retryAfterMs?: number;
}

/** The Kubernetes clusters of every site, behind Baton's ClusterPort. */
export class KubernetesClusters implements ClusterPort {
  private readonly kubeConfig: KubeConfig;
  private readonly log: Log;
  private readonly requestTimeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly clients = new Map<string, ClientSet>();

  constructor(options: KubernetesClustersOptions) {
    this.kubeConfig = options.kubeConfig;
    this.log = options.log.child({ component: 'kubernetes' });
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.retry = options.retry ?? { attempts: 4, baseDelayMs: 200 };
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
  }

  /**
   * Loads the kubeconfig at `kubeconfigPath` (the value of KUBECONFIG: one path, or several joined by the path
   * delimiter, merged as kubectl merges them), or, without one, the in-cluster service account.
   */
  static fromEnvironment(options: {
    kubeconfigPath?: string;
    log: Log;
    requestTimeoutMs?: number;
    retry?: RetryPolicy;
  }): KubernetesClusters {
    const paths = (options.kubeconfigPath ?? '').split(delimiter).filter(Boolean);
    const files = paths.map((path) => {
      const file = new KubeConfig();
      try {
        file.loadFromFile(path);
      } catch (error) {
        throw new BatonError(
          'config-invalid',
          `Cannot read the kubeconfig ${path} (from KUBECONFIG): ${describe(error)} — fix KUBECONFIG or the file`,
          { cause: error },
        );
      }
      return file;
    });
    const [kubeConfig = new KubeConfig(), ...rest] = files;
    for (const file of rest) mergeKubeConfig(kubeConfig, file);
    if (files.length === 0) {
      kubeConfig.loadFromCluster();
      if (/undefined/.test(kubeConfig.getCurrentCluster()?.server ?? 'undefined')) {
        throw new BatonError(
          'config-invalid',
          'KUBECONFIG is not set and Baton is not running in a pod with a service account — set KUBECONFIG to a ' +
            'kubeconfig with one context per cluster',
        );
      }
    }
    return new KubernetesClusters({ ...options, kubeConfig });
  }

  // -------------------------------------------------------------------------------------------------------------
  // ClusterPort
  // -------------------------------------------------------------------------------------------------------------

  async readyNodeCount(site: SiteConfig, cluster: ClusterId, call: CallOptions = {}): Promise<number> {
    const target = this.target(site, cluster);
    const operation: Operation = {
      verb: 'list',
      group: '',
      resource: 'nodes',
      object: 'nodes',
      write: false,
    };
    let ready = 0;
    let next: string | undefined;
    do {
      const page = await this.call(
        target,
        operation,
        (options) => target.clients.core.listNode({ limit: 500, ...(next && { _continue: next }) }, options),
        { signal: call.signal },
      );
      for (const node of page.items) {
        if (node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ready += 1;
      }
      next = page.metadata?._continue || undefined;
    } while (next);
    return ready;
  }

  async getWorkload(
    site: SiteConfig,
    cluster: ClusterId,
    workload: WorkloadRef,
    call: CallOptions = {},
  ): Promise<WorkloadStatus | null> {
    return (await this.readWorkload(this.target(site, cluster), workload, call.signal))?.status ?? null;
  }

  async scaleWorkload(
    site: SiteConfig,
    cluster: ClusterId,
    workload: WorkloadRef,
    replicas: number,
    call: CallOptions = {},
  ): Promise<void> {
    const target = this.target(site, cluster);
    const object = `${workload.kind} ${workload.namespace}/${workload.name}`;
    const resource = `${workload.kind === 'Deployment' ? 'deployments' : 'statefulsets'}/scale`;
    const scope = { group: 'apps', resource, object, namespace: workload.namespace, name: workload.name };
    const request = { name: workload.name, namespace: workload.namespace };
    const { apps } = target.clients;
    // A stale resourceVersion (someone else scaled in between) is answered by reading again, not by resending.
    for (let round = 1; ; round += 1) {
      const scale = await this.call(
        target,
        { ...scope, verb: 'get', write: false },
        (options) =>
          workload.kind === 'Deployment'
            ? apps.readNamespacedDeploymentScale(request, options)
            : apps.readNamespacedStatefulSetScale(request, options),
        { signal: call.signal },
      );
      const from = scale.spec?.replicas ?? 0;
      if (from === replicas) return;
      const body: V1Scale = { ...scale, spec: { ...scale.spec, replicas } };
      try {
        await this.call(
          target,
          { ...scope, verb: 'update', write: true },
          (options) =>
            workload.kind === 'Deployment'
              ? apps.replaceNamespacedDeploymentScale({ ...request, body }, options)
              : apps.replaceNamespacedStatefulSetScale({ ...request, body }, options),
          { retryConflicts: false, signal: call.signal },
        );
        this.log.info({ site: site.name, cluster, workload: object, from, to: replicas }, 'scaled workload');
        return;
      } catch (error) {
        if (!(isBatonError(error) && error.code === 'cluster-conflict') || round >= this.retry.attempts)
          throw error;
        this.log.debug(
          { site: site.name, cluster, workload: object, round },
          'scale conflict; reading again',
        );
      }
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Beyond the port: used by the composition root and the cloudnative-pg promotion
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
    const target = this.target(site, cluster);
    const label = `${workload.kind} ${workload.namespace}/${workload.name}`;
    return waitUntil(
      this.clock,
      {
        ...options,
        pollMs: Math.min(options.pollMs ?? 250, MAX_POLL_MS),
        timeoutError: (seen) =>
          new BatonError(
            'not-ready',
            `${label} on ${cluster}: ${seen} after ${formatMs(options.timeoutMs ?? 0)} — look at its pods ` +
              `(kubectl -n ${workload.namespace} get pods, describe): image pulls, scheduling, readiness probes; ` +
              'Retry when they are Ready',
            { retriable: true },
          ),
      },
      async () => {
        const found = await this.readWorkload(target, workload, options.signal);
        if (!found) {
          throw new BatonError(
            'workload-missing',
            `${label} does not exist on ${this.where(target)} — create it there (same images as the other side), then Retry`,
          );
        }
        if (found.status.readyReplicas >= replicas && found.observedGeneration >= found.generation) {
          return { done: true, value: found.status };
        }
        return {
          done: false,
          seen: `${found.status.readyReplicas}/${replicas} Ready (spec.replicas ${found.status.replicas})`,
        };
      },
    );
  }

  /** Reads a CloudNativePG `Cluster` and says whether it is still a replica or already a healthy primary. */
  async cnpgClusterStatus(
    site: SiteConfig,
    cluster: ClusterId,
    ref: CnpgClusterRef,
    signal?: AbortSignal,
  ): Promise<CnpgClusterStatus> {
    return cnpgStatus(await this.readCnpg(this.target(site, cluster), ref, signal));
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
    return demoteCnpg(this.cnpgAccess(site, cluster, ref), options);
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
    return promoteCnpg(this.cnpgAccess(site, cluster, ref), options);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Internals
  // -------------------------------------------------------------------------------------------------------------

  private async readWorkload(
    target: Target,
    workload: WorkloadRef,
    signal?: AbortSignal,
  ): Promise<{ status: WorkloadStatus; generation: number; observedGeneration: number } | null> {
    const request = { name: workload.name, namespace: workload.namespace };
    const { apps } = target.clients;
    const operation: Operation = {
      verb: 'get',
      group: 'apps',
      resource: workload.kind === 'Deployment' ? 'deployments' : 'statefulsets',
      object: `${workload.kind} ${workload.namespace}/${workload.name}`,
      namespace: workload.namespace,
      name: workload.name,
      write: false,
    };
    try {
      const object = await this.call(
        target,
        operation,
        (options) =>
          workload.kind === 'Deployment'
            ? apps.readNamespacedDeployment(request, options)
            : apps.readNamespacedStatefulSet(request, options),
        { signal },
      );
      return {
        status: {
          replicas: object.spec?.replicas ?? 1,
          // The API omits zero counts.
          readyReplicas: object.status?.readyReplicas ?? 0,
          images: (object.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? ''),
        },
        generation: object.metadata?.generation ?? 0,
        observedGeneration: object.status?.observedGeneration ?? 0,
      };
    } catch (error) {
      if (isBatonError(error) && error.code === 'not-found') return null;
      throw error;
    }
  }

  /** One CloudNativePG Cluster, read and merge-patched through this adapter's retries and error translation. */
  private cnpgAccess(site: SiteConfig, cluster: ClusterId, ref: CnpgClusterRef): CnpgClusterAccess {
    const target = this.target(site, cluster);
    const operation: Operation = {
      verb: 'patch',
      group: CNPG.group,
      resource: CNPG.plural,
      object: `CloudNativePG Cluster ${ref.namespace}/${ref.name}`,
      namespace: ref.namespace,
      name: ref.name,
      write: true,
    };
    return {
      ref,
      where: cluster,
      read: (signal) => this.readCnpg(target, ref, signal),
      mergePatch: async (patch, signal) => {
        await this.call(
          target,
          operation,
          (requestOptions) =>
            target.clients.custom.patchNamespacedCustomObject(
              { ...CNPG, namespace: ref.namespace, name: ref.name, body: patch },
              setHeaderOptions('Content-Type', PatchStrategy.MergePatch, requestOptions),
            ),
          { signal },
        );
      },
      clock: this.clock,
      log: this.log.child({ site: site.name, cluster }),
    };
  }

  private async readCnpg(
    target: Target,
    ref: CnpgClusterRef,
    signal?: AbortSignal,
  ): Promise<CnpgClusterObject> {
    const label = `CloudNativePG Cluster ${ref.namespace}/${ref.name}`;
    try {
      return (await this.call(
        target,
        {
          verb: 'get',
          group: CNPG.group,
          resource: CNPG.plural,
          object: label,
          namespace: ref.namespace,
          name: ref.name,
          write: false,
        },
        (options) =>
          target.clients.custom.getNamespacedCustomObject(
            { ...CNPG, namespace: ref.namespace, name: ref.name },
            options,
          ),
        { signal },
      )) as CnpgClusterObject;
    } catch (error) {
      if (isBatonError(error) && error.code === 'not-found') {
        throw new BatonError(
          'cnpg-cluster-missing',
          `${label} does not exist on ${this.where(target)} — check database.${target.cluster}.cnpgCluster in the ` +
            'topology and that CloudNativePG runs there',
          { cause: error },
        );
      }
      throw error;
    }
  }

  private target(site: SiteConfig, cluster: ClusterId): Target {
    const config = site.clusters[cluster];
    if (!config) {
      throw new BatonError(
        'unknown-cluster',
        `Site ${site.name} has no cluster "${cluster}" (it has ${Object.keys(site.clusters).join(', ')})`,
      );
    }
    const context = config.kubeContext ?? this.kubeConfig.getCurrentContext();
    return { site, cluster, clients: this.clientsFor(context, site, cluster) };
  }

  private clientsFor(context: string | undefined, site: SiteConfig, cluster: ClusterId): ClientSet {
    const known = this.kubeConfig.getContexts().map((c) => c.name);
    if (!context) {
      throw new BatonError(
        'unknown-kube-context',
        `sites.${site.name}.clusters.${cluster} names no kubeContext and the kubeconfig has no current-context — ` +
          `set kubeContext (contexts: ${known.join(', ') || 'none'})`,
      );
    }
    const cached = this.clients.get(context);
    if (cached) return cached;
    const contextObject = this.kubeConfig.getContextObject(context);
    if (!contextObject) {
      throw new BatonError(
        'unknown-kube-context',
        `The kubeconfig has no context "${context}" (site ${site.name}, cluster ${cluster}); it has ` +
          `${known.length > 0 ? known.join(', ') : 'none'} — fix clusters.${cluster}.kubeContext or KUBECONFIG`,
      );
    }
    const server = this.kubeConfig.getCluster(contextObject.cluster)?.server;
    if (!server) {
      throw new BatonError(
        'unknown-kube-context',
        `Context "${context}" names cluster "${contextObject.cluster}", which the kubeconfig does not define`,
      );
    }
    // Each context gets a KubeConfig of its own: client-node authenticates with the *current* context at request time.
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions(snapshot(this.kubeConfig, context));
    const clients: ClientSet = {
      context,
      server,
      core: kubeConfig.makeApiClient(CoreV1Api),
      apps: kubeConfig.makeApiClient(AppsV1Api),
      custom: kubeConfig.makeApiClient(CustomObjectsApi),
    };
    this.clients.set(context, clients);
    return clients;
  }

  private where(target: Target): string {
    return `${target.cluster} (context ${target.clients.context})`;
  }

  /** One request with a timeout per attempt, retried with jittered backoff, its failure translated. */
  private async call<T>(
    target: Target,
    operation: Operation,
    send: (options: ConfigurationOptions) => Promise<T>,
    settings: { retryConflicts?: boolean; signal?: AbortSignal | undefined } = {},
  ): Promise<T> {
    const retryConflicts = settings.retryConflicts ?? operation.write;
    const attempts = Math.max(1, this.retry.attempts);
    for (let attempt = 1; ; attempt += 1) {
      settings.signal?.throwIfAborted();
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), this.requestTimeoutMs);
      const onAbort = () => controller.abort();
      settings.signal?.addEventListener('abort', onAbort, { once: true });
      let failure: Failure;
      try {
        return await send(withSignal(controller.signal));
      } catch (error) {
        if (settings.signal?.aborted) throw settings.signal.reason;
        failure = classify(error, retryConflicts);
      } finally {
        clearTimeout(timer);
        settings.signal?.removeEventListener('abort', onAbort);
      }
      if (!failure.retriable || attempt >= attempts) {
        throw this.translate(target, operation, failure.error, attempt);
      }
      const backoff = Math.min(MAX_BACKOFF_MS, this.retry.baseDelayMs * 2 ** (attempt - 1));
      const jittered = backoff / 2 + (this.random() * backoff) / 2;
      const delayMs = Math.round(Math.max(jittered, Math.min(failure.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS)));
      this.log.debug(
        {
          site: target.site.name,
          cluster: target.cluster,
          verb: operation.verb,
          resource: operation.resource,
          attempt,
          delayMs,
          reason: shortReason(failure.error),
        },
        'Kubernetes request failed; retrying',
      );
      await this.clock.sleep(delayMs, settings.signal);
    }
  }

  private translate(target: Target, operation: Operation, error: unknown, attempts: number): BatonError {
    const where = this.where(target);
    const api = `the Kubernetes API of ${target.cluster} (${target.clients.server}, context ${target.clients.context})`;
    const tries = attempts > 1 ? ` (${attempts} attempts)` : '';
    if (error instanceof ApiException) {
      const code = error.code;
      const status = parseStatus(error.body);
      const said = status?.message ? `: ${status.message}` : '';
      if (code === 401) {
        return new BatonError(
          'cluster-unauthorized',
          `Kubernetes rejected Baton's credentials for ${target.cluster} (context ${target.clients.context}) — ` +
            'renew the token in the kubeconfig',
          { cause: error },
        );
      }
      if (code === 403) {
        return new BatonError('cluster-forbidden', forbiddenMessage(where, operation, status?.message), {
          cause: error,
        });
      }
      if (code === 404) {
        // An object that is not there names itself in details.name; a path the server does not serve does not.
        const missingObject = status?.details?.name !== undefined || status === null;
        return missingObject
          ? new BatonError(
              'not-found',
              `${operation.object} not found on ${where} — check its name in the topology and that it is deployed there`,
              { cause: error },
            )
          : new BatonError(
              'cluster-api-missing',
              `${api} does not serve ${operation.group || 'core'} ${operation.resource}${said} — is the API ` +
                `(${operation.group === CNPG.group ? 'the CloudNativePG operator and its CRDs' : 'group'}) installed there?`,
              { cause: error },
            );
      }
      if (code === 409) {
        return new BatonError(
          'cluster-conflict',
          `${operation.object} on ${where} kept changing while Baton wrote it${tries}${said} — Retry`,
          { retriable: true, cause: error },
        );
      }
      if (code === 429) {
        return new BatonError(
          'cluster-throttled',
          `${api} kept throttling Baton (429 Too Many Requests)${tries} — Retry in a minute; check API priority and fairness`,
          { retriable: true, cause: error },
        );
      }
      if (code >= 500) {
        return new BatonError(
          'cluster-api-error',
          `${api} failed to ${operation.verb} ${operation.object}: ${code} ${status?.reason ?? ''}${said}${tries} — ` +
            'the control plane is struggling; Retry, or check the API server and etcd',
          { retriable: true, cause: error },
        );
      }
      return new BatonError(
        code === 422 ? 'cluster-invalid' : 'cluster-request-rejected',
        `${api} refused to ${operation.verb} ${operation.object}: ${code} ${status?.reason ?? ''}${said}`,
        { cause: error },
      );
    }
    const code = errorCode(error);
    if (code !== undefined && TLS_CODES.has(code)) {
      return new BatonError(
        'cluster-tls',
        `Baton does not trust the certificate of ${api}: ${code} — check certificate-authority-data of that cluster ` +
          'in the kubeconfig (TLS is always verified)',
        { cause: error },
      );
    }
    if (isTimeout(error)) {
      return new BatonError(
        'cluster-unreachable',
        `${api} did not answer within ${formatMs(this.requestTimeoutMs)}${tries} — is the cluster down or the ` +
          'network path to it broken? Baton retries',
        { retriable: true, cause: error },
      );
    }
    if (code !== undefined && NETWORK_CODES.has(code)) {
      return new BatonError(
        'cluster-unreachable',
        `Cannot reach ${api}: ${describeNetwork(code)}${tries} — is the cluster down or the network path to it ` +
          'broken? Baton retries',
        { retriable: true, cause: error },
      );
    }
    return new BatonError(
      'cluster-config',
      `Cannot talk to ${api}: ${describe(error)} — check that cluster's entry in the kubeconfig`,
      { cause: error },
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

/** Request options that abort the HTTP request when `signal` does. */
function withSignal(signal: AbortSignal): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (context: RequestContext) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

function classify(error: unknown, retryConflicts: boolean): Failure {
  if (error instanceof ApiException) {
    const code = error.code;
    const retryAfter = Number(error.headers?.['retry-after']);
    const retryAfterMs = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined;
    return {
      error,
      retriable: code === 429 || code >= 500 || (code === 409 && retryConflicts),
      ...(retryAfterMs !== undefined && { retryAfterMs }),
    };
  }
  const code = errorCode(error);
  if (code !== undefined && TLS_CODES.has(code)) return { error, retriable: false };
  return { error, retriable: isTimeout(error) || (code !== undefined && NETWORK_CODES.has(code)) };
}

function errorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

const isTimeout = (error: unknown): boolean =>
  error instanceof Error && (error.name === 'AbortError' || (error as { type?: string }).type === 'aborted');

interface StatusObject {
  message?: string;
  reason?: string;
  details?: { name?: string; group?: string; kind?: string };
}

/** client-node 1.x hands over the body of an unexpected status as text (or nothing, for 401). */
function parseStatus(body: unknown): StatusObject | null {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return body ? { message: body.slice(0, 300) } : null;
    }
  }
  if (typeof value !== 'object' || value === null) return null;
  return value as StatusObject;
}

const FORBIDDEN =
  /User "([^"]*)" cannot (\S+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)"| at the cluster scope)/;

function forbiddenMessage(where: string, operation: Operation, serverMessage: string | undefined): string {
  const match = serverMessage ? FORBIDDEN.exec(serverMessage) : null;
  const user = match?.[1] ?? 'Baton';
  const verb = match?.[2] ?? operation.verb;
  const resource = match?.[3] ?? operation.resource;
  const group = match?.[4] ?? operation.group;
  const namespace = match ? match[5] : operation.namespace;
  const scope = namespace ? `in namespace "${namespace}"` : 'at cluster scope';
  return (
    `Kubernetes RBAC on ${where} does not let ${user} ${verb} ${resource} (API group "${group}") ${scope} — ` +
    `grant verb "${verb}" on resource "${resource}" in apiGroups ["${group}"] to Baton's ${namespace ? 'Role' : 'ClusterRole'}, then Retry`
  );
}

function snapshot(kubeConfig: KubeConfig, currentContext: string): object {
  return {
    clusters: kubeConfig.getClusters(),
    users: kubeConfig.getUsers(),
    contexts: kubeConfig.getContexts(),
    currentContext,
  };
}

/** kubectl's merge: the first file to define a name (or current-context) wins. */
function mergeKubeConfig(into: KubeConfig, file: KubeConfig): void {
  const has = (list: { name: string }[], name: string) => list.some((entry) => entry.name === name);
  for (const entry of file.getClusters()) if (!has(into.getClusters(), entry.name)) into.addCluster(entry);
  for (const entry of file.getUsers()) if (!has(into.getUsers(), entry.name)) into.addUser(entry);
  for (const entry of file.getContexts()) if (!has(into.getContexts(), entry.name)) into.addContext(entry);
  if (!into.getCurrentContext() && file.getCurrentContext()) into.setCurrentContext(file.getCurrentContext());
}

function describeNetwork(code: string): string {
  const names: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    EPIPE: 'connection closed',
    ETIMEDOUT: 'connection timed out',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ENOTFOUND: 'host name not found',
    EAI_AGAIN: 'DNS lookup failed',
  };
  return names[code] ?? code;
}

function shortReason(error: unknown): string {
  if (error instanceof ApiException) return `HTTP ${error.code}`;
  return errorCode(error) ?? (isTimeout(error) ? 'timeout' : describe(error));
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}
