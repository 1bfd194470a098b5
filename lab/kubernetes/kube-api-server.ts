/**
 * A Kubernetes API server stand-in for tests, the sandbox and drills: one HTTPS listener per cluster on 127.0.0.1,
 * each with its own nodes, Deployments, StatefulSets, pods and CloudNativePG `Cluster` objects. It speaks the real
 * wire protocol (JSON, `kind: Status` errors, resourceVersion preconditions, the apps/v1 scale subresource and its
 * patch content types, plain discovery documents), so @kubernetes/client-node and kubectl talk to it unmodified,
 * with TLS verified against the CA it generates. Faults are injected per cluster: latency, failing requests,
 * outages and RBAC denials.
 *
 * This is its public entry; the server lives in api-server/, the CloudNativePG operator in cnpg/.
 */
export { startKubeApiServer } from './api-server/start-kube-api-server.js';
export type {
  InjectedFailure,
  KubeApiServer,
  KubeApiServerOptions,
  KubeconfigDocument,
  KubeconfigOptions,
  Outage,
  RbacDenial,
  RequestRecord,
  StandInApplication,
  StandInClusterOptions,
  StandInNode,
  StandInWorkload,
  WorkloadState,
} from './api-server/types.js';
export type { CnpgClusterObject, StandInCnpgCluster } from './cnpg/cluster-object.js';
