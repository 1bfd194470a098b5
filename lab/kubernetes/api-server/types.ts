/**
 * The Kubernetes API stand-in's types: the options a test starts it with, the handle it gets back (state to read,
 * faults to inject, kubeconfigs to write), and the metadata of the objects it serves.
 */
import type { CnpgClusterObject, StandInCnpgCluster } from '../cnpg/cluster-object.js';
import type { ApplicationObject, StandInApplication } from './argocd-resources.js';
import type { GitManifest, SelfHealOptions } from './self-heal-controller.js';

export type { GitManifest, SelfHealOptions } from './self-heal-controller.js';
export type { StandInApplication } from './argocd-resources.js';

export interface StandInWorkload {
  namespace: string;
  kind: 'Deployment' | 'StatefulSet';
  name: string;
  /** spec.replicas; all of these pods are Ready from the start. */
  replicas: number;
  /** One container per image, in pod template order. */
  images: string[];
  /** metadata.labels (besides `app: <name>`) and annotations, e.g. a GitOps controller's tracking marks. */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Its manifest in Git, for the self-heal controller (default: `replicas` as given here). */
  git?: GitManifest;
  /** The pod template beyond its images: env, requests, volumes, pull secrets (default: DEFAULT_POD_TEMPLATE). */
  template?: StandInPodTemplate;
}

/** Quantities as a manifest writes them, e.g. `{ cpu: '250m', memory: '512Mi' }`. */
export type StandInResources = { cpu?: string; memory?: string };

/** An env entry as a manifest writes it: a value, or a reference to a ConfigMap's or Secret's key. */
export interface StandInEnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { name: string; key: string };
    secretKeyRef?: { name: string; key: string };
  };
}

/** One container of the template, in the order of the workload's `images`. */
export interface StandInContainer {
  env?: StandInEnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  /** resources.requests (default `{ cpu: '100m', memory: '128Mi' }`; `{}` for none, a BestEffort pod). */
  requests?: StandInResources;
}

export interface StandInPodTemplate {
  /** Per container, in the order of `images`; a missing entry is a container with the default requests only. */
  containers?: StandInContainer[];
  /** Init containers (`restartPolicy: 'Always'`: a sidecar). */
  initContainers?: { name: string; image: string; requests?: StandInResources; restartPolicy?: 'Always' }[];
  /** spec.volumes as a manifest writes them, e.g. `{ name: 'config', configMap: { name: 'web-config' } }`. */
  volumes?: Record<string, unknown>[];
  /** Names of spec.imagePullSecrets. */
  imagePullSecrets?: string[];
}

/** A HorizontalPodAutoscaler (autoscaling/v2) on a workload of the same namespace. */
export interface StandInAutoscaler {
  namespace: string;
  name: string;
  target: { kind: StandInWorkload['kind']; name: string };
  /** Default 1, as the API defaults it. */
  minReplicas?: number;
  maxReplicas: number;
  /** What the metrics recommend (default 1: an idle standby); the controller clamps it into the range. */
  recommendedReplicas?: number;
  annotations?: Record<string, string>;
}

export interface StandInNode {
  name: string;
  ready: boolean;
  /** spec.unschedulable: cordoned (default false). */
  unschedulable?: boolean;
  /**
   * status.allocatable, and status.capacity too (default: a 4 vCPU / 16 GiB machine after kubelet and system
   * reservations: `3920m`, `15218612Ki`, 110 pods).
   */
  allocatable?: { cpu: string; memory: string; pods?: string };
}

export interface StandInClusterOptions {
  /** A count of Ready nodes (default 3), or each node with its readiness. */
  nodes?: number | StandInNode[];
  workloads?: StandInWorkload[];
  cnpgClusters?: StandInCnpgCluster[];
  /** Pods become Ready this long after the controller creates them (default 0). */
  podReadyAfterMs?: number;
  /**
   * The Deployment and StatefulSet controllers act on a spec change (scale, new template) this long after it is
   * written, as kube-controller-manager does through its informers (default 50 ms): until then metadata.generation
   * is ahead of status.observedGeneration and the counts describe the previous spec.
   */
  controllerDelayMs?: number;
  /** When set, requests without `Authorization: Bearer <token>` get 401. */
  token?: string;
  /** The authenticated user named in RBAC denials (default `system:serviceaccount:baton:baton`). */
  user?: string;
  autoscalers?: StandInAutoscaler[];
  /** The HPA controller's sync period (default 15 s, as kube-controller-manager's). */
  hpaSyncPeriodMs?: number;
  /** A GitOps controller with self-heal, from the start (see `setSelfHeal`). */
  selfHeal?: SelfHealOptions;
  /** Argo CD Applications: with automated sync and selfHeal they put their workloads' replicas back to Git's. */
  applications?: StandInApplication[];
  /**
   * Mutating requests (any verb but get, list and watch) admitted in any second; more are answered 429 with
   * `Retry-After`, as an API server's priority and fairness does when overloaded (default: no limit).
   */
  maxMutatingPerSecond?: number;
}

export interface KubeApiServerOptions {
  /** Per cluster id (e.g. `east`), what that cluster holds. */
  clusters: Record<string, StandInClusterOptions>;
}

/** Makes the next `times` requests (default 1) that match fail with `status` and a real Status body. */
export interface InjectedFailure {
  status: number;
  times?: number;
  /** HTTP method to match, e.g. `PUT`. */
  method?: string;
  /** Matched against the URL path (no query): a substring, or a regular expression. */
  path?: string | RegExp;
  /** Sent as `Retry-After` (and `details.retryAfterSeconds`) with 429 and 503. */
  retryAfterSeconds?: number;
}

/** RBAC denies `verb` on `resource` (plus `subresource`) in `group` ('' for core), in `namespace` or everywhere. */
export interface RbacDenial {
  verb: string;
  group?: string;
  resource: string;
  subresource?: string;
  namespace?: string;
}

/** `reset`: connections are accepted and reset; `refused`: nothing listens on the port. */
export type Outage = 'reset' | 'refused';

export interface KubeconfigOptions {
  /** Default: the first context given. */
  currentContext?: string;
  /** Bearer token per cluster id (default: the cluster's configured token, or a placeholder). */
  tokens?: Record<string, string>;
}

/** A kubeconfig document (`kind: Config`), as kubectl and client-node read it. */
export interface KubeconfigDocument {
  apiVersion: 'v1';
  kind: 'Config';
  clusters: { name: string; cluster: { server: string; 'certificate-authority-data': string } }[];
  users: { name: string; user: { token: string } }[];
  contexts: { name: string; context: { cluster: string; user: string } }[];
  'current-context': string;
  preferences: Record<string, never>;
}

export interface WorkloadState {
  replicas: number;
  readyReplicas: number;
  images: string[];
  resourceVersion: string;
  generation: number;
  /** status.observedGeneration: the generation the controller has acted on. */
  observedGeneration: number;
  pods: { name: string; ready: boolean }[];
}

export interface AutoscalerState {
  minReplicas: number;
  maxReplicas: number;
  annotations: Record<string, string>;
  desiredReplicas: number;
}

export interface RequestRecord {
  cluster: string;
  /** When it arrived (ms since the epoch). */
  at: number;
  method: string;
  path: string;
  query: string;
  contentType: string | undefined;
  accept: string | undefined;
  userAgent: string | undefined;
  /** Whether an Authorization header was sent (its value is never recorded). */
  authorization: boolean;
  status: number;
  /** Parsed JSON request body of writes. */
  body?: unknown;
}

export interface KubeApiServer {
  readonly clusterIds: readonly string[];
  /** `https://127.0.0.1:<port>` of a cluster's API server. */
  url(cluster: string): string;
  /** PEM of the CA that signed every listener's certificate. */
  readonly caCertificate: string;
  /** A kubeconfig with one cluster, user and context per entry of `contexts` (cluster id → context name). */
  kubeConfig(contexts: Record<string, string>, options?: KubeconfigOptions): KubeconfigDocument;
  /** The same kubeconfig as YAML, to write to a file for kubectl or KUBECONFIG. */
  kubeconfigYaml(contexts: Record<string, string>, options?: KubeconfigOptions): string;
  workload(cluster: string, namespace: string, kind: StandInWorkload['kind'], name: string): WorkloadState;
  nodes(cluster: string): StandInNode[];
  cnpgCluster(cluster: string, namespace: string, name: string): CnpgClusterObject;
  setNodeReady(cluster: string, node: string, ready: boolean): void;
  /** Cordons (true) or uncordons a node, as `kubectl cordon` does: spec.unschedulable and its taint. */
  setNodeUnschedulable(cluster: string, node: string, unschedulable: boolean): void;
  /** Replaces the pod template beyond its images (a new generation, as any template change). */
  setPodTemplate(
    cluster: string,
    namespace: string,
    kind: StandInWorkload['kind'],
    name: string,
    template: StandInPodTemplate,
  ): void;
  /**
   * Replaces the pod template's images; once the controller sees it, the pods run them as after a rollout (they
   * keep their readiness).
   */
  setImages(
    cluster: string,
    namespace: string,
    kind: StandInWorkload['kind'],
    name: string,
    images: string[],
  ): void;
  /** Changes a CloudNativePG Cluster as its operator would (status included); bumps resourceVersion. */
  updateCnpgCluster(
    cluster: string,
    namespace: string,
    name: string,
    change: (object: CnpgClusterObject) => void,
  ): void;
  /** An HPA as its controller left it: range, the annotations on it, and the replicas it last set. */
  autoscaler(cluster: string, namespace: string, name: string): AutoscalerState;
  /** What the HPA's metrics recommend from now on (clamped into its range at the next sync). */
  setRecommendedReplicas(cluster: string, namespace: string, name: string, replicas: number): void;
  /** An Argo CD Application as it is now (after the ApplicationSet controller, if one owns it, has acted). */
  application(cluster: string, namespace: string, name: string): ApplicationObject;
  /** Turns a GitOps controller's self-heal on (or off, with null) for the cluster's workloads. */
  setSelfHeal(cluster: string, selfHeal: SelfHealOptions | null): void;
  /** Changes a workload's manifest in Git, as a commit would (the fix: drop `replicas`, or ignore them). */
  setGitManifest(
    cluster: string,
    namespace: string,
    kind: StandInWorkload['kind'],
    name: string,
    git: GitManifest,
  ): void;
  setLatency(cluster: string, ms: number): void;
  failNext(cluster: string, failure: InjectedFailure): void;
  setOutage(cluster: string, outage: Outage | null): Promise<void>;
  deny(cluster: string, denial: RbacDenial): void;
  /** Accepts only `token` from now on, as when a credential rotates (requests with the old one get 401). */
  setToken(cluster: string, token: string): void;
  /**
   * Pods the cluster's controllers create from now on become Ready `ms` after they are created, as when images pull
   * slowly or a readiness probe waits on a cold cache; pods already there keep their time. `null`: back to the
   * cluster's `podReadyAfterMs`.
   */
  setPodReadyAfter(cluster: string, ms: number | null): void;
  /** Removes latency, pending failures, denials and any outage (of one cluster, or all). */
  clearFaults(cluster?: string): Promise<void>;
  requests(cluster?: string): RequestRecord[];
  clearRequests(): void;
  close(): Promise<void>;
}

/** `metadata` of a served object, as read back by the routes. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  generation?: number;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}
