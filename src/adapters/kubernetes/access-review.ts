/**
 * "May Baton do this here?" asked of a cluster's API server without doing it: a `SelfSubjectAccessReview`
 * (authorization.k8s.io/v1), which the API server answers for the credentials that send it and never stores. Every
 * authenticated user may create one (the default `system:basic-user` ClusterRole), so the review needs no grant of
 * its own; it is also the cheapest proof that a context's API server answers and accepts its credentials.
 *
 * Sent through the CustomObjectsApi client every context already has: the typed AuthorizationV1Api would send the
 * same POST, and this keeps the client set of a context unchanged.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterId, SiteConfig } from '../../config/topology.js';
import { systemClock } from '../../core/clock.js';
import type { Log } from '../../core/ports.js';
import { KubeClients } from './kube-clients.js';
import type { Operation } from './kube-errors.js';
import { sendWithRetry } from './kube-retry.js';
import type { KubeRequestPolicy, RetryPolicy } from './kube-retry.js';
import { DEFAULT_KUBE_WRITES_PER_SECOND, WritePacer } from './write-pacer.js';

/** What RBAC is asked about: a verb on a resource (with its subresource) in a namespace, or at cluster scope. */
export interface AccessQuestion {
  verb: string;
  /** API group, '' for core. */
  group: string;
  resource: string;
  subresource?: string;
  /** Omitted: cluster scope (nodes), or every namespace for a namespaced resource. */
  namespace?: string;
}

export interface AccessAnswer {
  allowed: boolean;
  /** The authorizer's reason, when it gives one (RBAC names the binding that allowed it). */
  reason: string;
  /** Set when an authorizer failed part of the evaluation (the answer may still stand). */
  evaluationError?: string;
}

interface ReviewStatus {
  allowed?: unknown;
  reason?: unknown;
  evaluationError?: unknown;
}

const CREATE_REVIEW: Operation = {
  verb: 'create',
  group: 'authorization.k8s.io',
  resource: 'selfsubjectaccessreviews',
  object: 'a SelfSubjectAccessReview',
  write: false,
};

export interface KubernetesAccessReviewOptions {
  kubeConfig: KubeConfig;
  log: Log;
  /** Per HTTP request (default 10 s). */
  requestTimeoutMs?: number;
  retry?: RetryPolicy;
}

/** SelfSubjectAccessReviews on the cluster of each site, through the kubeconfig context the topology names. */
export class KubernetesAccessReview {
  private readonly clients: KubeClients;
  private readonly requests: KubeRequestPolicy;

  constructor(options: KubernetesAccessReviewOptions) {
    this.clients = new KubeClients(options.kubeConfig);
    this.requests = {
      log: options.log.child({ component: 'kubernetes-access-review' }),
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      retry: options.retry ?? { attempts: 4, baseDelayMs: 200 },
      clock: systemClock,
      random: Math.random,
      // Reviews are reads of RBAC (write: false); the pacer is never used here.
      writes: new WritePacer(DEFAULT_KUBE_WRITES_PER_SECOND, systemClock),
    };
  }

  /** Whether the credentials of `cluster`'s context may do what `question` asks; throws when the API cannot say. */
  async review(
    site: SiteConfig,
    cluster: ClusterId,
    question: AccessQuestion,
    signal?: AbortSignal,
  ): Promise<AccessAnswer> {
    const target = this.clients.target(site, cluster);
    const body = {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: {
        resourceAttributes: {
          verb: question.verb,
          group: question.group,
          resource: question.resource,
          ...(question.subresource && { subresource: question.subresource }),
          ...(question.namespace && { namespace: question.namespace }),
        },
      },
    };
    const answer = (await sendWithRetry(
      this.requests,
      target,
      CREATE_REVIEW,
      (options) =>
        target.clients.custom.createClusterCustomObject(
          { group: 'authorization.k8s.io', version: 'v1', plural: 'selfsubjectaccessreviews', body },
          options,
        ),
      { signal },
    )) as { status?: ReviewStatus } | undefined;
    const status = answer?.status ?? {};
    return {
      allowed: status.allowed === true,
      reason: typeof status.reason === 'string' ? status.reason : '',
      ...(typeof status.evaluationError === 'string' &&
        status.evaluationError && { evaluationError: status.evaluationError }),
    };
  }
}
