/**
 * The Kubernetes adapter's public entry: Baton's ClusterPort on the Kubernetes API, with CloudNativePG switchover
 * and failover. The implementation lives in `kubernetes/`, one job per file.
 */
export { KubernetesClusters } from './kubernetes/kubernetes-clusters.js';
export type { KubernetesClustersOptions } from './kubernetes/kubernetes-clusters.js';
export type { RetryPolicy } from './kubernetes/kube-retry.js';
/** Waits are bounded by the step's signal, or `timeoutMs` when there is none; polls at most every 500 ms. */
export type { WaitOptions } from '../core/ports.js';
export { parseCnpgDemotionToken } from './kubernetes/cnpg-token.js';
export type { CnpgDemotionToken } from './kubernetes/cnpg-token.js';
export type { CnpgClusterRef, CnpgClusterStatus } from './kubernetes/cnpg-status.js';
export type { DemoteCnpgOptions } from './kubernetes/cnpg-demote.js';
export type { PromoteCnpgOptions } from './kubernetes/cnpg-promote.js';
