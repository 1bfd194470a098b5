/**
 * A Kubernetes API server stand-in for tests, the sandbox and drills: one HTTPS listener per cluster on 127.0.0.1,
 * each with its own nodes, Deployments, StatefulSets, pods and CloudNativePG `Cluster` objects. It speaks the real
 * wire protocol (JSON, `kind: Status` errors, resourceVersion preconditions, the apps/v1 scale subresource and its
 * patch content types, plain discovery documents), so @kubernetes/client-node and kubectl talk to it unmodified,
 * with TLS verified against the CA it generates. Faults are injected per cluster: latency, failing requests,
 * outages and RBAC denials.
 */
import { createHash, generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { Socket } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { stringify } from 'yaml';
import { CnpgOperator } from './cnpg-operator.js';
import type { CnpgClusterObject, CnpgRecord, StandInCnpgCluster } from './cnpg-operator.js';

export type { CnpgClusterObject, StandInCnpgCluster } from './cnpg-operator.js';

// ---------------------------------------------------------------------------------------------------------------
// Options and the public handle
// ---------------------------------------------------------------------------------------------------------------

export interface StandInWorkload {
  namespace: string;
  kind: 'Deployment' | 'StatefulSet';
  name: string;
  /** spec.replicas; all of these pods are Ready from the start. */
  replicas: number;
  /** One container per image, in pod template order. */
  images: string[];
}

export interface StandInNode {
  name: string;
  ready: boolean;
}

export interface StandInClusterOptions {
  /** A count of Ready nodes (default 3), or each node with its readiness. */
  nodes?: number | StandInNode[];
  workloads?: StandInWorkload[];
  cnpgClusters?: StandInCnpgCluster[];
  /** Pods become Ready this long after a scale-up creates them (default 0); scale-down is immediate. */
  podReadyAfterMs?: number;
  /** When set, requests without `Authorization: Bearer <token>` get 401. */
  token?: string;
  /** The authenticated user named in RBAC denials (default `system:serviceaccount:baton:baton`). */
  user?: string;
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
  pods: { name: string; ready: boolean }[];
}

export interface RequestRecord {
  cluster: string;
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
  /** Replaces the pod template's images, as a rollout would (pods keep their readiness). */
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
  setLatency(cluster: string, ms: number): void;
  failNext(cluster: string, failure: InjectedFailure): void;
  setOutage(cluster: string, outage: Outage | null): Promise<void>;
  deny(cluster: string, denial: RbacDenial): void;
  /** Removes latency, pending failures, denials and any outage (of one cluster, or all). */
  clearFaults(cluster?: string): Promise<void>;
  requests(cluster?: string): RequestRecord[];
  clearRequests(): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Wire shapes
// ---------------------------------------------------------------------------------------------------------------

interface ObjectMeta {
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

interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: { reason?: string; message: string; field?: string }[];
    retryAfterSeconds?: number;
  };
  code: number;
}

/** An error answered as a `kind: Status` object. */
class StatusError extends Error {
  constructor(
    readonly status: StatusBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(status.message);
  }
}

function statusError(
  code: number,
  reason: string,
  message: string,
  details?: StatusBody['details'],
  headers?: Record<string, string>,
): StatusError {
  return new StatusError(
    {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      ...(details && { details }),
      code,
    },
    headers,
  );
}

/** `deployments.apps`, or `nodes` for the core group, as the API server names a resource in messages. */
const qualified = (resource: string, group: string): string => (group ? `${resource}.${group}` : resource);

const notFound = (resource: string, group: string, name: string): StatusError =>
  statusError(404, 'NotFound', `${qualified(resource, group)} "${name}" not found`, {
    name,
    group,
    kind: resource,
  });

const conflict = (resource: string, group: string, name: string): StatusError =>
  statusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": the object has been modified; ` +
      'please apply your changes to the latest version and try again',
    { name, group, kind: resource },
  );

const badRequest = (message: string): StatusError => statusError(400, 'BadRequest', message);

const pathNotFound = (): StatusError =>
  statusError(404, 'NotFound', 'the server could not find the requested resource', {});

const methodNotAllowed = (): StatusError =>
  statusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});

// ---------------------------------------------------------------------------------------------------------------
// The resources served, for discovery, RBAC attributes and messages
// ---------------------------------------------------------------------------------------------------------------

interface ResourceDef {
  name: string;
  singularName: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  /** For subresources whose kind lives in another group (deployments/scale is autoscaling/v1 Scale). */
  group?: string;
  version?: string;
}

/** A resource of a discovery document; verbs are those this stand-in serves. */
const def = (name: string, kind: string, verbs: string[], extra: Partial<ResourceDef> = {}): ResourceDef => ({
  name,
  singularName: name.includes('/') ? '' : kind.toLowerCase(),
  kind,
  namespaced: true,
  verbs,
  ...extra,
});

const READ = ['get', 'list'];
const SCALE = { group: 'autoscaling', version: 'v1' };

const GROUPS: Record<string, { version: string; resources: ResourceDef[] }> = {
  '': {
    version: 'v1',
    resources: [
      def('namespaces', 'Namespace', READ, { namespaced: false, shortNames: ['ns'] }),
      def('nodes', 'Node', READ, { namespaced: false, shortNames: ['no'] }),
      def('pods', 'Pod', READ, { shortNames: ['po'], categories: ['all'] }),
    ],
  },
  apps: {
    version: 'v1',
    resources: [
      def('deployments', 'Deployment', READ, { shortNames: ['deploy'], categories: ['all'] }),
      def('deployments/scale', 'Scale', ['get', 'patch', 'update'], SCALE),
      def('deployments/status', 'Deployment', ['get']),
      def('statefulsets', 'StatefulSet', READ, { shortNames: ['sts'], categories: ['all'] }),
      def('statefulsets/scale', 'Scale', ['get', 'patch', 'update'], SCALE),
      def('statefulsets/status', 'StatefulSet', ['get']),
    ],
  },
  'postgresql.cnpg.io': {
    version: 'v1',
    resources: [
      def('clusters', 'Cluster', ['get', 'list', 'patch'], { categories: ['all'] }),
      def('clusters/status', 'Cluster', ['get']),
    ],
  },
};

const GIT_VERSION = 'v1.30.4';

// ---------------------------------------------------------------------------------------------------------------
// Cluster state
// ---------------------------------------------------------------------------------------------------------------

interface PodState {
  name: string;
  /** The pod exists from this instant (StatefulSets create pods one at a time, OrderedReady). */
  createdAt: number;
  readyAt: number;
  node: string;
  ip: string;
  templateHash: string;
  images: string[];
}

interface WorkloadRecord {
  kind: StandInWorkload['kind'];
  namespace: string;
  name: string;
  uid: string;
  creationTimestamp: string;
  replicas: number;
  images: string[];
  generation: number;
  resourceVersion: string;
  pods: PodState[];
  /** Last status written, to bump resourceVersion when pods change it (as the controller's writes would). */
  lastStatus: string;
}

interface NodeRecord {
  name: string;
  ready: boolean;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  transitionAt: string;
}

interface Faults {
  latencyMs: number;
  failures: (InjectedFailure & { remaining: number })[];
  denials: RbacDenial[];
  outage: Outage | null;
}

interface ClusterState {
  id: string;
  options: StandInClusterOptions;
  user: string;
  revision: number;
  nodes: NodeRecord[];
  workloads: WorkloadRecord[];
  cnpg: CnpgRecord[];
  /** The CloudNativePG operator: one for every API server, as replica clusters span Kubernetes clusters. */
  cnpgOperator: CnpgOperator;
  podSeq: number;
  faults: Faults;
  server: Server;
  port: number;
  sockets: Set<Socket>;
}

const timestamp = (ms = Date.now()): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

const nextRevision = (state: ClusterState): string => String(++state.revision);

/** Applies the passage of time: pods becoming Ready, the CloudNativePG operator acting on what it was asked. */
function settle(state: ClusterState, now = Date.now()): void {
  for (const workload of state.workloads) {
    const status = JSON.stringify(workloadStatus(workload, now));
    if (status !== workload.lastStatus) {
      workload.lastStatus = status;
      workload.resourceVersion = nextRevision(state);
    }
  }
  state.cnpgOperator.reconcile(now);
}

function podReady(pod: PodState, now: number): boolean {
  return now >= pod.readyAt;
}

function visiblePods(workload: WorkloadRecord, now: number): PodState[] {
  return workload.pods.filter((pod) => now >= pod.createdAt);
}

interface WorkloadStatusCounts {
  replicas: number;
  readyReplicas: number;
  availableReplicas: number;
  updatedReplicas: number;
}

function workloadStatus(workload: WorkloadRecord, now: number): WorkloadStatusCounts {
  const pods = visiblePods(workload, now);
  const ready = pods.filter((pod) => podReady(pod, now)).length;
  const hash = templateHash(workload.images);
  return {
    replicas: pods.length,
    readyReplicas: ready,
    availableReplicas: ready,
    updatedReplicas: pods.filter((pod) => pod.templateHash === hash).length,
  };
}

function templateHash(images: string[]): string {
  // Kubernetes' pod-template-hash is a short safe-encoded hash of the template; any stable hash reads the same.
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const digest = createHash('sha256').update(images.join('\n')).digest();
  return Array.from(digest.subarray(0, 10), (byte) => alphabet[byte % alphabet.length]).join('');
}

function podSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return Array.from(randomBytes(5), (byte) => alphabet[byte % alphabet.length]).join('');
}

/** Creates or removes pods so that `workload.replicas` of them exist; new ones become Ready after the delay. */
function reconcilePods(
  state: ClusterState,
  workload: WorkloadRecord,
  now: number,
  readyAfterMs: number,
): void {
  const hash = templateHash(workload.images);
  if (workload.kind === 'Deployment') {
    while (workload.pods.length > workload.replicas) {
      // A ReplicaSet scales down the pods that are not Ready first, then the newest.
      const notReady = workload.pods.findIndex((pod) => !podReady(pod, now));
      workload.pods.splice(notReady >= 0 ? notReady : workload.pods.length - 1, 1);
    }
    while (workload.pods.length < workload.replicas) {
      workload.pods.push(
        newPod(state, workload, `${workload.name}-${hash}-${podSuffix()}`, now, now + readyAfterMs),
      );
    }
    return;
  }
  // StatefulSet, OrderedReady: pod N is created only once pod N-1 is Ready; scale-down removes the highest ordinal.
  workload.pods.length = Math.min(workload.pods.length, workload.replicas);
  while (workload.pods.length < workload.replicas) {
    const previous = workload.pods[workload.pods.length - 1];
    const createdAt = Math.max(now, previous?.readyAt ?? now);
    workload.pods.push(
      newPod(
        state,
        workload,
        `${workload.name}-${workload.pods.length}`,
        createdAt,
        createdAt + readyAfterMs,
      ),
    );
  }
}

function newPod(
  state: ClusterState,
  workload: WorkloadRecord,
  name: string,
  createdAt: number,
  readyAt: number,
): PodState {
  state.podSeq += 1;
  const node = state.nodes[state.podSeq % Math.max(1, state.nodes.length)]?.name ?? '';
  return {
    name,
    createdAt,
    readyAt,
    node,
    ip: `10.244.${Math.floor(state.podSeq / 250) % 250}.${(state.podSeq % 250) + 2}`,
    templateHash: templateHash(workload.images),
    images: [...workload.images],
  };
}

function containerNames(images: string[]): string[] {
  const used = new Map<string, number>();
  return images.map((image) => {
    const base =
      (image.split('@')[0] ?? image)
        .split('/')
        .pop()
        ?.replace(/:.*$/, '')
        .replace(/[^a-z0-9-]/g, '-') || 'app';
    const count = (used.get(base) ?? 0) + 1;
    used.set(base, count);
    return count === 1 ? base : `${base}-${count}`;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Serialization of the objects served
// ---------------------------------------------------------------------------------------------------------------

function podTemplate(workload: WorkloadRecord): Record<string, unknown> {
  const names = containerNames(workload.images);
  return {
    metadata: { labels: { app: workload.name } },
    spec: {
      containers: workload.images.map((image, i) => ({
        name: names[i],
        image,
        imagePullPolicy: 'IfNotPresent',
        resources: {},
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
      })),
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      securityContext: {},
    },
  };
}

/** Omits zero counts, as the API does for Deployment status fields (`omitempty`). */
function withoutZeros(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, value]) => value !== 0));
}

function serializeWorkload(workload: WorkloadRecord, now: number): Record<string, unknown> {
  const counts = workloadStatus(workload, now);
  const metadata = {
    name: workload.name,
    namespace: workload.namespace,
    uid: workload.uid,
    resourceVersion: workload.resourceVersion,
    generation: workload.generation,
    creationTimestamp: workload.creationTimestamp,
    labels: { app: workload.name },
    annotations: workload.kind === 'Deployment' ? { 'deployment.kubernetes.io/revision': '1' } : {},
  };
  const selector = { matchLabels: { app: workload.name } };
  if (workload.kind === 'Deployment') {
    const maxUnavailable = Math.floor(workload.replicas * 0.25);
    const available = counts.availableReplicas >= workload.replicas - maxUnavailable;
    const complete =
      counts.updatedReplicas === workload.replicas && counts.availableReplicas === workload.replicas;
    const rs = `${workload.name}-${templateHash(workload.images)}`;
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata,
      spec: {
        replicas: workload.replicas,
        selector,
        template: podTemplate(workload),
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
      },
      status: {
        observedGeneration: workload.generation,
        ...withoutZeros({
          replicas: counts.replicas,
          updatedReplicas: counts.updatedReplicas,
          readyReplicas: counts.readyReplicas,
          availableReplicas: counts.availableReplicas,
          unavailableReplicas: Math.max(0, workload.replicas - counts.availableReplicas),
        }),
        conditions: [
          {
            type: 'Available',
            status: available ? 'True' : 'False',
            reason: available ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
            message: available
              ? 'Deployment has minimum availability.'
              : 'Deployment does not have minimum availability.',
            lastUpdateTime: workload.creationTimestamp,
            lastTransitionTime: workload.creationTimestamp,
          },
          {
            type: 'Progressing',
            status: 'True',
            reason: complete ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
            message: complete
              ? `ReplicaSet "${rs}" has successfully progressed.`
              : `ReplicaSet "${rs}" is progressing.`,
            lastUpdateTime: workload.creationTimestamp,
            lastTransitionTime: workload.creationTimestamp,
          },
        ],
      },
    };
  }
  const revision = `${workload.name}-${templateHash(workload.images).slice(0, 10)}`;
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata,
    spec: {
      replicas: workload.replicas,
      selector,
      serviceName: workload.name,
      template: podTemplate(workload),
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 10,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
    },
    status: {
      observedGeneration: workload.generation,
      // StatefulSetStatus.replicas is not omitempty; the other counts are.
      replicas: counts.replicas,
      ...withoutZeros({
        readyReplicas: counts.readyReplicas,
        currentReplicas: counts.updatedReplicas,
        updatedReplicas: counts.updatedReplicas,
        availableReplicas: counts.availableReplicas,
      }),
      currentRevision: revision,
      updateRevision: revision,
      collisionCount: 0,
    },
  };
}

function serializeScale(workload: WorkloadRecord, now: number): Record<string, unknown> {
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: workload.name,
      namespace: workload.namespace,
      uid: workload.uid,
      resourceVersion: workload.resourceVersion,
      creationTimestamp: workload.creationTimestamp,
    },
    spec: { replicas: workload.replicas },
    status: { replicas: workloadStatus(workload, now).replicas, selector: `app=${workload.name}` },
  };
}

function serializePod(
  state: ClusterState,
  workload: WorkloadRecord,
  pod: PodState,
  now: number,
): Record<string, unknown> {
  const ready = podReady(pod, now);
  const names = containerNames(pod.images);
  const created = timestamp(pod.createdAt);
  const readySince = timestamp(ready ? pod.readyAt : pod.createdAt);
  const owner =
    workload.kind === 'Deployment'
      ? { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${workload.name}-${pod.templateHash}` }
      : { apiVersion: 'apps/v1', kind: 'StatefulSet', name: workload.name };
  const labels: Record<string, string> =
    workload.kind === 'Deployment'
      ? { app: workload.name, 'pod-template-hash': pod.templateHash }
      : {
          app: workload.name,
          'apps.kubernetes.io/pod-index': pod.name.slice(workload.name.length + 1),
          'statefulset.kubernetes.io/pod-name': pod.name,
        };
  return {
    metadata: {
      name: pod.name,
      namespace: workload.namespace,
      uid: createHash('sha1')
        .update(`${state.id}/${workload.namespace}/${pod.name}/${pod.createdAt}`)
        .digest('hex'),
      resourceVersion: workload.resourceVersion,
      creationTimestamp: created,
      labels,
      ownerReferences: [{ ...owner, uid: workload.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      containers: pod.images.map((image, i) => ({ name: names[i], image, imagePullPolicy: 'IfNotPresent' })),
      nodeName: pod.node,
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
    },
    status: {
      phase: 'Running',
      conditions: [
        { type: 'PodReadyToStartContainers', status: 'True', lastTransitionTime: created },
        { type: 'Initialized', status: 'True', lastTransitionTime: created },
        {
          type: 'Ready',
          status: ready ? 'True' : 'False',
          lastTransitionTime: readySince,
          ...(!ready && {
            reason: 'ContainersNotReady',
            message: `containers with unready status: [${names.join(' ')}]`,
          }),
        },
        {
          type: 'ContainersReady',
          status: ready ? 'True' : 'False',
          lastTransitionTime: readySince,
          ...(!ready && {
            reason: 'ContainersNotReady',
            message: `containers with unready status: [${names.join(' ')}]`,
          }),
        },
        { type: 'PodScheduled', status: 'True', lastTransitionTime: created },
      ],
      hostIP: '10.0.0.10',
      podIP: pod.ip,
      podIPs: [{ ip: pod.ip }],
      startTime: created,
      containerStatuses: pod.images.map((image, i) => ({
        name: names[i],
        image,
        imageID: `${image.split(':')[0] ?? image}@sha256:${createHash('sha256').update(image).digest('hex')}`,
        ready,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: created } },
      })),
      qosClass: 'BestEffort',
    },
  };
}

function serializeNode(state: ClusterState, node: NodeRecord): Record<string, unknown> {
  return {
    metadata: {
      name: node.name,
      uid: node.uid,
      resourceVersion: node.resourceVersion,
      creationTimestamp: node.creationTimestamp,
      labels: {
        'kubernetes.io/hostname': node.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'topology.kubernetes.io/zone': `${state.id}-a`,
      },
    },
    spec: { podCIDR: '10.244.0.0/24' },
    status: {
      conditions: [
        {
          type: 'MemoryPressure',
          status: 'False',
          reason: 'KubeletHasSufficientMemory',
          message: 'kubelet has sufficient memory available',
          lastHeartbeatTime: timestamp(),
          lastTransitionTime: node.creationTimestamp,
        },
        {
          type: 'DiskPressure',
          status: 'False',
          reason: 'KubeletHasNoDiskPressure',
          message: 'kubelet has no disk pressure',
          lastHeartbeatTime: timestamp(),
          lastTransitionTime: node.creationTimestamp,
        },
        {
          type: 'PIDPressure',
          status: 'False',
          reason: 'KubeletHasSufficientPID',
          message: 'kubelet has sufficient PID available',
          lastHeartbeatTime: timestamp(),
          lastTransitionTime: node.creationTimestamp,
        },
        node.ready
          ? {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              message: 'kubelet is posting ready status',
              lastHeartbeatTime: timestamp(),
              lastTransitionTime: node.transitionAt,
            }
          : {
              type: 'Ready',
              status: 'Unknown',
              reason: 'NodeStatusUnknown',
              message: 'Kubelet stopped posting node status.',
              lastHeartbeatTime: node.transitionAt,
              lastTransitionTime: node.transitionAt,
            },
      ],
      addresses: [
        { type: 'InternalIP', address: '10.0.0.10' },
        { type: 'Hostname', address: node.name },
      ],
      nodeInfo: {
        kubeletVersion: GIT_VERSION,
        kubeProxyVersion: GIT_VERSION,
        containerRuntimeVersion: 'containerd://1.7.20',
        operatingSystem: 'linux',
        architecture: 'amd64',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        kernelVersion: '6.1.0-25-amd64',
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Patches
// ---------------------------------------------------------------------------------------------------------------

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** RFC 6902 JSON patch; throws a message the way the API server words apply errors. */
function jsonPatch(document: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations))
    throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc = structuredClone(document);
  const unprocessable = (detail: string) =>
    statusError(
      422,
      'Invalid',
      `the server rejected our request due to an error in our request (${detail})`,
      {
        causes: [{ reason: 'UnexpectedServerResponse', message: detail }],
      },
    );
  const parse = (pointer: unknown): string[] => {
    if (typeof pointer !== 'string' || (pointer !== '' && !pointer.startsWith('/'))) {
      throw unprocessable(`JSON pointer must be empty or start with a "/": ${String(pointer)}`);
    }
    return pointer === ''
      ? []
      : pointer
          .slice(1)
          .split('/')
          .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  };
  const parentOf = (tokens: string[], op: string): { parent: unknown; key: string } => {
    let node: unknown = doc;
    for (const token of tokens.slice(0, -1)) {
      node = Array.isArray(node) ? node[Number(token)] : isObject(node) ? node[token] : undefined;
      if (node === undefined)
        throw unprocessable(`${op} operation does not apply: doc is missing path: /${tokens.join('/')}`);
    }
    return { parent: node, key: tokens[tokens.length - 1] ?? '' };
  };
  const get = (tokens: string[], op: string): unknown => {
    if (tokens.length === 0) return doc;
    const { parent, key } = parentOf(tokens, op);
    const value = Array.isArray(parent) ? parent[Number(key)] : isObject(parent) ? parent[key] : undefined;
    if (value === undefined)
      throw unprocessable(`${op} operation does not apply: doc is missing key: /${tokens.join('/')}`);
    return value;
  };
  const remove = (tokens: string[], op: string): unknown => {
    const value = get(tokens, op);
    const { parent, key } = parentOf(tokens, op);
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else if (isObject(parent)) delete parent[key];
    return value;
  };
  const add = (tokens: string[], value: unknown, op: string, replace: boolean): void => {
    if (tokens.length === 0) {
      doc = structuredClone(value);
      return;
    }
    const { parent, key } = parentOf(tokens, op);
    if (Array.isArray(parent)) {
      const index = key === '-' ? parent.length : Number(key);
      if (!Number.isInteger(index) || index < 0 || index > parent.length)
        throw unprocessable(`${op}: invalid index ${key}`);
      parent.splice(index, replace ? 1 : 0, structuredClone(value));
    } else if (isObject(parent)) {
      if (replace && !(key in parent))
        throw unprocessable(`replace operation does not apply: doc is missing key: /${tokens.join('/')}`);
      parent[key] = structuredClone(value);
    } else {
      throw unprocessable(`${op} operation does not apply: doc is missing path: /${tokens.join('/')}`);
    }
  };
  for (const operation of operations) {
    if (!isObject(operation)) throw badRequest('json: cannot unmarshal patch operation');
    const { op } = operation;
    const path = parse(operation.path);
    switch (op) {
      case 'add':
        add(path, operation.value, 'add', false);
        break;
      case 'replace':
        add(path, operation.value, 'replace', true);
        break;
      case 'remove':
        remove(path, 'remove');
        break;
      case 'test':
        if (!isDeepStrictEqual(get(path, 'test'), operation.value))
          throw unprocessable('testing value /' + path.join('/') + ' failed: test failed');
        break;
      case 'move':
        add(path, remove(parse(operation.from), 'move'), 'move', false);
        break;
      case 'copy':
        add(path, get(parse(operation.from), 'copy'), 'copy', false);
        break;
      default:
        throw unprocessable(`Unexpected kind: ${String(op)}`);
    }
  }
  return doc;
}

const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
} as const;

/** Applies a PATCH body of `contentType`; `strategic` is refused where the API refuses it (custom resources). */
function applyPatch(document: unknown, contentType: string, body: unknown, allowStrategic: boolean): unknown {
  const accepted = allowStrategic
    ? [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.strategic]
    : [PATCH_TYPES.json, PATCH_TYPES.merge];
  if (!(accepted as string[]).includes(contentType)) {
    throw statusError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    );
  }
  if (contentType === PATCH_TYPES.json) return jsonPatch(document, body);
  // A strategic merge patch of the scalar fields served here merges exactly like a JSON merge patch.
  if (!isObject(body)) throw badRequest('json: cannot unmarshal patch into an object');
  return mergePatch(document, body);
}

// ---------------------------------------------------------------------------------------------------------------
// Label and field selectors
// ---------------------------------------------------------------------------------------------------------------

type Requirement = (labels: Record<string, string>) => boolean;

function parseLabelSelector(selector: string): Requirement[] {
  const requirements: Requirement[] = [];
  // Split on commas outside parentheses (`env in (a,b)`).
  const parts = selector.match(/(?:[^,(]|\([^)]*\))+/g) ?? [];
  for (const raw of parts) {
    const part = raw.trim();
    if (!part) continue;
    let match: RegExpExecArray | null;
    if ((match = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part))) {
      const [, key = '', op, list = ''] = match;
      const values = list.split(',').map((v) => v.trim());
      requirements.push((labels) =>
        op === 'in' ? values.includes(labels[key] ?? '\0') : !values.includes(labels[key] ?? '\0'),
      );
    } else if ((match = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(part))) {
      const [, key = '', op, value = ''] = match;
      requirements.push((labels) => (op === '!=' ? labels[key] !== value : labels[key] === value));
    } else if ((match = /^!([\w./-]+)$/.exec(part))) {
      const key = match[1] ?? '';
      requirements.push((labels) => !(key in labels));
    } else if ((match = /^([\w./-]+)$/.exec(part))) {
      const key = match[1] ?? '';
      requirements.push((labels) => key in labels);
    } else {
      throw badRequest(`unable to parse requirement: ${part}`);
    }
  }
  return requirements;
}

function parseFieldSelector(selector: string, supported: string[]): Requirement[] {
  return selector
    .split(',')
    .filter((part) => part.trim())
    .map((part) => {
      const match = /^\s*([\w.]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
      if (!match) throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
      const [, field = '', op, value = ''] = match;
      if (!supported.includes(field)) {
        throw badRequest(`field label not supported: ${field}`);
      }
      return (fields: Record<string, string>) =>
        op === '!=' ? fields[field] !== value : fields[field] === value;
    });
}

// ---------------------------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------------------------

interface Attributes {
  verb: string;
  group: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

interface Request {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string;
  body: unknown;
}

const MAX_BODY_BYTES = 3 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw statusError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses `/api/v1/...` and `/apis/<group>/<version>/...` into RBAC request attributes. */
function resourceAttributes(method: string, segments: string[], watch: boolean): Attributes | null {
  let group: string;
  let rest: string[];
  if (segments[0] === 'api' && segments[1] === 'v1') {
    group = '';
    rest = segments.slice(2);
  } else if (segments[0] === 'apis' && segments.length >= 3) {
    group = segments[1] ?? '';
    rest = segments.slice(3);
  } else {
    return null;
  }
  if (rest.length === 0) return null;
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1] ?? '';
    rest = rest.slice(2);
  }
  const [resource = '', name = '', subresource = '', ...extra] = rest;
  if (extra.length > 0) return null;
  const verbs: Record<string, string> = {
    GET: name ? 'get' : 'list',
    PUT: 'update',
    PATCH: 'patch',
    POST: 'create',
    DELETE: name ? 'delete' : 'deletecollection',
  };
  let verb = verbs[method] ?? method.toLowerCase();
  if (watch && verb === 'list') verb = 'watch';
  return { verb, group, resource, subresource, namespace, name };
}

function denialMessage(attributes: Attributes, user: string): string {
  const resource = attributes.subresource
    ? `${attributes.resource}/${attributes.subresource}`
    : attributes.resource;
  const scope = attributes.namespace ? `in the namespace "${attributes.namespace}"` : 'at the cluster scope';
  const reason = `User "${user}" cannot ${attributes.verb} resource "${resource}" in API group "${attributes.group}" ${scope}`;
  const subject = qualified(attributes.resource, attributes.group);
  return attributes.name
    ? `${subject} "${attributes.name}" is forbidden: ${reason}`
    : `${subject} is forbidden: ${reason}`;
}

function failureFor(
  status: number,
  retryAfterSeconds: number | undefined,
  attributes: Attributes | null,
): StatusError {
  const headers: Record<string, string> =
    retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) };
  const retry = retryAfterSeconds === undefined ? {} : { retryAfterSeconds };
  switch (status) {
    case 429:
      return statusError(429, 'TooManyRequests', 'Too many requests, please try again later.', retry, {
        'Retry-After': String(retryAfterSeconds ?? 1),
        ...headers,
      });
    case 503:
      return statusError(
        503,
        'ServiceUnavailable',
        'the server is currently unable to handle the request',
        retry,
        headers,
      );
    case 504:
      return statusError(
        504,
        'Timeout',
        'the server was unable to return a response in the time allotted, but may still be processing the request',
        retry,
        headers,
      );
    case 409:
      return conflict(
        attributes?.resource || 'resources',
        attributes?.group ?? '',
        attributes?.name || 'unknown',
      );
    case 500:
      return statusError(500, 'InternalError', 'Internal error occurred: etcdserver: request timed out', {
        causes: [{ message: 'etcdserver: request timed out' }],
      });
    default:
      return statusError(
        status,
        status >= 500 ? 'InternalError' : 'BadRequest',
        `injected failure ${status}`,
        retry,
        headers,
      );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// X.509: a CA and a server certificate for 127.0.0.1, built with node:crypto (ECDSA P-256, SHA-256)
// ---------------------------------------------------------------------------------------------------------------

function der(tag: number, content: Buffer): Buffer {
  const length = content.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.from([tag, length]);
  else if (length < 0x100) header = Buffer.from([tag, 0x81, length]);
  else header = Buffer.from([tag, 0x82, length >> 8, length & 0xff]);
  return Buffer.concat([header, content]);
}

const derSequence = (...items: Buffer[]): Buffer => der(0x30, Buffer.concat(items));
const derSet = (...items: Buffer[]): Buffer => der(0x31, Buffer.concat(items));
const derOctets = (content: Buffer): Buffer => der(0x04, content);
const derBitString = (content: Buffer, unusedBits = 0): Buffer =>
  der(0x03, Buffer.concat([Buffer.from([unusedBits]), content]));
const derExplicit = (n: number, content: Buffer): Buffer => der(0xa0 + n, content);
const derUtf8 = (text: string): Buffer => der(0x0c, Buffer.from(text, 'utf8'));
const derTrue = (): Buffer => Buffer.from([0x01, 0x01, 0xff]);

function derInteger(bytes: Buffer): Buffer {
  let content = bytes;
  while (content.length > 1 && content[0] === 0 && ((content[1] ?? 0) & 0x80) === 0)
    content = content.subarray(1);
  if (((content[0] ?? 0) & 0x80) !== 0) content = Buffer.concat([Buffer.from([0]), content]);
  return der(0x02, content);
}

function derOid(oid: string): Buffer {
  const [first = 0, second = 0, ...rest] = oid.split('.').map(Number);
  const bytes = [first * 40 + second];
  for (const value of rest) {
    const chunk = [value & 0x7f];
    for (let v = value >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}

function derTime(date: Date): Buffer {
  const iso = date.toISOString();
  const text = `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return der(0x17, Buffer.from(text, 'ascii')); // UTCTime: fine until 2050
}

const derName = (commonName: string): Buffer =>
  derSequence(derSet(derSequence(derOid('2.5.4.3'), derUtf8(commonName))));
const extension = (oid: string, critical: boolean, value: Buffer): Buffer =>
  derSequence(derOid(oid), ...(critical ? [derTrue()] : []), derOctets(value));

const ECDSA_SHA256 = derSequence(derOid('1.2.840.10045.4.3.2'));

function keyId(publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // The key identifier is the SHA-1 of the subjectPublicKey bits: the tail of the SPKI after the algorithm.
  return createHash('sha1')
    .update(spki.subarray(spki.length - 65))
    .digest();
}

function certificate(options: {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signingKey: KeyObject;
  issuerKeyId: Buffer;
  ca: boolean;
}): string {
  const now = Date.now();
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const extensions = options.ca
    ? [
        extension('2.5.29.19', true, derSequence(derTrue())),
        extension('2.5.29.15', true, derBitString(Buffer.from([0x06]), 1)), // keyCertSign, cRLSign
        extension('2.5.29.14', false, derOctets(keyId(options.publicKey))),
      ]
    : [
        extension('2.5.29.19', true, derSequence()),
        extension('2.5.29.15', true, derBitString(Buffer.from([0x80]), 7)), // digitalSignature
        extension('2.5.29.37', false, derSequence(derOid('1.3.6.1.5.5.7.3.1'))), // serverAuth
        extension(
          '2.5.29.17',
          false,
          derSequence(der(0x82, Buffer.from('localhost', 'ascii')), der(0x87, Buffer.from([127, 0, 0, 1]))),
        ),
        extension('2.5.29.35', false, derSequence(der(0x80, options.issuerKeyId))),
      ];
  const tbs = derSequence(
    derExplicit(0, derInteger(Buffer.from([2]))),
    derInteger(serial),
    ECDSA_SHA256,
    derName(options.issuer),
    derSequence(derTime(new Date(now - 3_600_000)), derTime(new Date(now + 365 * 86_400_000))),
    derName(options.subject),
    options.publicKey.export({ type: 'spki', format: 'der' }),
    derExplicit(3, derSequence(...extensions)),
  );
  const signature = sign('sha256', tbs, options.signingKey);
  const cert = derSequence(tbs, ECDSA_SHA256, derBitString(signature));
  const base64 = cert.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${base64.trimEnd()}\n-----END CERTIFICATE-----\n`;
}

function createCertificates(): { caPem: string; certPem: string; keyPem: string } {
  const ca = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const leaf = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const caName = `baton-sandbox-ca-${randomBytes(4).toString('hex')}`;
  const caKeyId = keyId(ca.publicKey);
  const caPem = certificate({
    subject: caName,
    issuer: caName,
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
    issuerKeyId: caKeyId,
    ca: true,
  });
  const certPem = certificate({
    subject: 'kube-apiserver',
    issuer: caName,
    publicKey: leaf.publicKey,
    signingKey: ca.privateKey,
    issuerKeyId: caKeyId,
    ca: false,
  });
  const keyPem = leaf.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { caPem, certPem, keyPem };
}

// ---------------------------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------------------------

const DEFAULT_USER = 'system:serviceaccount:baton:baton';

function initialState(
  id: string,
  options: StandInClusterOptions,
  cnpgOperator: CnpgOperator,
): Omit<ClusterState, 'server' | 'port' | 'sockets'> {
  const created = timestamp();
  const state: Omit<ClusterState, 'server' | 'port' | 'sockets'> = {
    id,
    options,
    user: options.user ?? DEFAULT_USER,
    revision: 1000,
    nodes: [],
    workloads: [],
    cnpg: [],
    cnpgOperator,
    podSeq: 0,
    faults: { latencyMs: 0, failures: [], denials: [], outage: null },
  };
  const bump = () => String(++state.revision);
  const nodes =
    typeof options.nodes === 'object'
      ? options.nodes
      : Array.from({ length: options.nodes ?? 3 }, (_, i) => ({ name: `${id}-node-${i + 1}`, ready: true }));
  state.nodes = nodes.map((node) => ({
    name: node.name,
    ready: node.ready,
    uid: randomUUID(),
    resourceVersion: bump(),
    creationTimestamp: created,
    transitionAt: created,
  }));
  for (const spec of options.workloads ?? []) {
    if (!Number.isInteger(spec.replicas) || spec.replicas < 0)
      throw new Error(`${spec.name}: replicas must be ≥ 0`);
    const workload: WorkloadRecord = {
      kind: spec.kind,
      namespace: spec.namespace,
      name: spec.name,
      uid: randomUUID(),
      creationTimestamp: created,
      replicas: spec.replicas,
      images: [...spec.images],
      generation: 1,
      resourceVersion: bump(),
      pods: [],
      lastStatus: '',
    };
    // Pods given at start are Ready at once (StatefulSet ordering included).
    reconcilePods(state as ClusterState, workload, Date.now(), 0);
    workload.lastStatus = JSON.stringify(workloadStatus(workload, Date.now()));
    state.workloads.push(workload);
  }
  for (const spec of options.cnpgClusters ?? []) {
    state.cnpg.push(cnpgOperator.add(id, spec, bump));
  }
  return state;
}

/** Starts one HTTPS API server per cluster of `options.clusters`, on 127.0.0.1 ports of the system's choosing. */
export async function startKubeApiServer(options: KubeApiServerOptions): Promise<KubeApiServer> {
  const { caPem, certPem, keyPem } = createCertificates();
  const clusters = new Map<string, ClusterState>();
  const log: RequestRecord[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const cnpgOperator = new CnpgOperator();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const listen = (state: ClusterState, port: number) =>
    new Promise<void>((resolve, reject) => {
      state.server.once('error', reject);
      state.server.listen(port, '127.0.0.1', () => {
        state.server.off('error', reject);
        const address = state.server.address();
        state.port = typeof address === 'object' && address ? address.port : port;
        resolve();
      });
    });

  const stopListening = (state: ClusterState) =>
    new Promise<void>((resolve) => {
      if (!state.server.listening) return resolve();
      state.server.close(() => resolve());
      for (const socket of state.sockets) socket.destroy();
    });

  for (const [id, clusterOptions] of Object.entries(options.clusters)) {
    const server = createServer({ key: keyPem, cert: certPem });
    // The same object, not a copy: the operator's records bump this state's resourceVersions.
    const state: ClusterState = Object.assign(initialState(id, clusterOptions, cnpgOperator), {
      server,
      port: 0,
      sockets: new Set<Socket>(),
    });
    // Registered before the TLS handshake listener, so a reset happens before any byte is answered.
    server.prependListener('connection', (socket: Socket) => {
      if (state.faults.outage === 'reset') {
        socket.resetAndDestroy();
        return;
      }
      state.sockets.add(socket);
      socket.once('close', () => state.sockets.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      handle(state, req, res).catch(() => res.destroy());
    });
    clusters.set(id, state);
    await listen(state, 0);
  }

  const cluster = (id: string): ClusterState => {
    const state = clusters.get(id);
    if (!state)
      throw new Error(
        `the stand-in serves no cluster "${id}" (it serves ${[...clusters.keys()].join(', ')})`,
      );
    return state;
  };

  async function handle(state: ClusterState, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const record: RequestRecord = {
      cluster: state.id,
      method,
      path: url.pathname,
      query: url.search.replace(/^\?/, ''),
      contentType: req.headers['content-type'],
      accept: req.headers.accept,
      userAgent: req.headers['user-agent'],
      authorization: req.headers.authorization !== undefined,
      status: 0,
    };
    log.push(record);
    let status = 200;
    let payload: unknown;
    let headers: Record<string, string> = {};
    try {
      const text = await readBody(req);
      if (state.faults.latencyMs > 0) await sleep(state.faults.latencyMs);
      const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      let body: unknown;
      if (text) {
        try {
          body = JSON.parse(text);
        } catch (error) {
          throw badRequest(`error decoding request body: ${(error as Error).message}`);
        }
        record.body = body;
      }
      const token = state.options.token;
      if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) {
        throw statusError(401, 'Unauthorized', 'Unauthorized');
      }
      const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      const attributes = resourceAttributes(method, segments, url.searchParams.get('watch') === 'true');
      const failure = state.faults.failures.find(
        (f) =>
          f.remaining > 0 &&
          (f.method === undefined || f.method.toUpperCase() === method) &&
          (f.path === undefined ||
            (typeof f.path === 'string' ? url.pathname.includes(f.path) : f.path.test(url.pathname))),
      );
      if (failure) {
        failure.remaining -= 1;
        throw failureFor(failure.status, failure.retryAfterSeconds, attributes);
      }
      if (attributes) {
        const denied = state.faults.denials.some(
          (d) =>
            d.verb === attributes.verb &&
            (d.group ?? '') === attributes.group &&
            d.resource === attributes.resource &&
            (d.subresource ?? '') === attributes.subresource &&
            (d.namespace === undefined || d.namespace === attributes.namespace),
        );
        if (denied) {
          throw statusError(403, 'Forbidden', denialMessage(attributes, state.user), {
            ...(attributes.name && { name: attributes.name }),
            group: attributes.group,
            kind: attributes.resource,
          });
        }
      }
      settle(state);
      payload = route(
        state,
        { method, path: url.pathname, query: url.searchParams, contentType, body },
        segments,
        attributes,
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const statusErr =
        error instanceof StatusError
          ? error
          : statusError(500, 'InternalError', `Internal error occurred: ${message}`, {
              causes: [{ message }],
            });
      status = statusErr.status.code;
      payload = statusErr.status;
      headers = statusErr.headers;
    }
    record.status = status;
    if (res.destroyed) return;
    const json = JSON.stringify(payload);
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(json),
      'Cache-Control': 'no-cache, private',
      'Audit-Id': randomUUID(),
      ...headers,
    });
    res.end(json);
  }

  function route(
    state: ClusterState,
    request: Request,
    segments: string[],
    attributes: Attributes | null,
  ): unknown {
    const { method } = request;
    const [first, second] = segments;
    if (segments.length === 1 && first === 'version') return versionInfo();
    if (segments.length === 1 && first === 'api') {
      return {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${state.port}` }],
      };
    }
    if (segments.length === 1 && first === 'apis') {
      return {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: Object.keys(GROUPS).filter(Boolean).map(apiGroup),
      };
    }
    if (segments.length === 2 && first === 'apis' && second !== undefined && GROUPS[second])
      return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(second) };
    if (segments.length === 2 && first === 'api' && second === 'v1') return resourceList('');
    if (
      segments.length === 3 &&
      first === 'apis' &&
      second !== undefined &&
      GROUPS[second]?.version === segments[2]
    )
      return resourceList(second);
    if (!attributes) throw pathNotFound();
    const groupDef = GROUPS[attributes.group];
    const version = first === 'api' ? 'v1' : segments[2];
    if (!groupDef || groupDef.version !== version) throw pathNotFound();
    const fullName = attributes.subresource
      ? `${attributes.resource}/${attributes.subresource}`
      : attributes.resource;
    const def = groupDef.resources.find((r) => r.name === fullName);
    if (!def) throw pathNotFound();
    if (def.namespaced === false && attributes.namespace) throw pathNotFound();
    if (attributes.verb === 'watch') {
      throw statusError(405, 'MethodNotAllowed', 'watch is not served by this API server', {});
    }
    switch (attributes.group) {
      case '':
        if (method !== 'GET') throw methodNotAllowed();
        return core(state, attributes, request.query);
      case 'apps':
        return apps(state, attributes, request);
      default:
        return cnpg(state, attributes, request);
    }
  }

  function versionInfo(): Record<string, string> {
    return {
      major: '1',
      minor: '30',
      gitVersion: GIT_VERSION,
      gitCommit: '9fbd0d6a1c1e8a1e21b1ae2b2e1c6a6f3d1b4c1e',
      gitTreeState: 'clean',
      buildDate: '2024-08-14T19:00:00Z',
      goVersion: 'go1.22.5',
      compiler: 'gc',
      platform: 'linux/amd64',
    };
  }

  function apiGroup(group: string): Record<string, unknown> {
    const version = GROUPS[group]?.version ?? 'v1';
    const groupVersion = { groupVersion: `${group}/${version}`, version };
    return { name: group, versions: [groupVersion], preferredVersion: groupVersion };
  }

  function resourceList(group: string): Record<string, unknown> {
    const def = GROUPS[group];
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group ? `${group}/${def?.version}` : 'v1',
      resources: (def?.resources ?? []).map((r) => ({
        name: r.name,
        singularName: r.singularName,
        namespaced: r.namespaced,
        ...(r.group && { group: r.group, version: r.version }),
        kind: r.kind,
        verbs: r.verbs,
        ...(r.shortNames && { shortNames: r.shortNames }),
        ...(r.categories && { categories: r.categories }),
      })),
    };
  }

  /** Pages a list with `limit` and `continue`, as the API does. */
  function list(
    state: ClusterState,
    kind: string,
    apiVersion: string,
    items: unknown[],
    query: URLSearchParams,
  ): unknown {
    const limit = Number(query.get('limit') ?? 0);
    let start = 0;
    const token = query.get('continue');
    if (token) {
      try {
        start = Number((JSON.parse(Buffer.from(token, 'base64url').toString()) as { start: number }).start);
      } catch {
        throw badRequest('continue key is not valid: illegal base64 data');
      }
      if (!Number.isInteger(start) || start < 0) throw badRequest('continue key is not valid');
    }
    const end = limit > 0 ? start + limit : items.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(state.revision) };
    if (end < items.length) {
      metadata.continue = Buffer.from(JSON.stringify({ start: end })).toString('base64url');
      metadata.remainingItemCount = items.length - end;
    }
    return { kind, apiVersion, metadata, items: items.slice(start, end) };
  }

  function core(state: ClusterState, attributes: Attributes, query: URLSearchParams): unknown {
    const now = Date.now();
    const labelRequirements = parseLabelSelector(query.get('labelSelector') ?? '');
    const matchesLabels = (object: Record<string, unknown>) => {
      const labels = ((object.metadata as ObjectMeta).labels ?? {}) as Record<string, string>;
      return labelRequirements.every((requirement) => requirement(labels));
    };
    if (attributes.resource === 'nodes') {
      const fieldRequirements = parseFieldSelector(query.get('fieldSelector') ?? '', ['metadata.name']);
      const nodes = state.nodes
        .map((node) => serializeNode(state, node))
        .filter(
          (node) =>
            matchesLabels(node) &&
            fieldRequirements.every((r) => r({ 'metadata.name': (node.metadata as ObjectMeta).name })),
        );
      if (!attributes.name) return list(state, 'NodeList', 'v1', nodes, query);
      const node = state.nodes.find((n) => n.name === attributes.name);
      if (!node) throw notFound('nodes', '', attributes.name);
      return { kind: 'Node', apiVersion: 'v1', ...serializeNode(state, node) };
    }
    if (attributes.resource === 'namespaces') {
      const names = [
        ...new Set([
          'default',
          'kube-system',
          ...state.workloads.map((w) => w.namespace),
          ...state.cnpg.map((c) => c.object.metadata.namespace ?? ''),
        ]),
      ].sort();
      const namespace = (name: string) => ({
        metadata: {
          name,
          uid: createHash('sha1').update(`${state.id}/${name}`).digest('hex'),
          resourceVersion: '1',
          creationTimestamp: state.nodes[0]?.creationTimestamp,
          labels: { 'kubernetes.io/metadata.name': name },
        },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      });
      if (!attributes.name)
        return list(state, 'NamespaceList', 'v1', names.map(namespace).filter(matchesLabels), query);
      if (!names.includes(attributes.name)) throw notFound('namespaces', '', attributes.name);
      return { kind: 'Namespace', apiVersion: 'v1', ...namespace(attributes.name) };
    }
    // pods
    const fieldRequirements = parseFieldSelector(query.get('fieldSelector') ?? '', [
      'metadata.name',
      'metadata.namespace',
      'spec.nodeName',
      'status.phase',
    ]);
    const pods = state.workloads
      .filter((w) => !attributes.namespace || w.namespace === attributes.namespace)
      .flatMap((w) => visiblePods(w, now).map((pod) => serializePod(state, w, pod, now)))
      .filter((pod) => {
        const meta = pod.metadata as ObjectMeta;
        const fields = {
          'metadata.name': meta.name,
          'metadata.namespace': meta.namespace ?? '',
          'spec.nodeName': String((pod.spec as Record<string, unknown>).nodeName),
          'status.phase': 'Running',
        };
        return matchesLabels(pod) && fieldRequirements.every((r) => r(fields));
      });
    if (!attributes.name) return list(state, 'PodList', 'v1', pods, query);
    const pod = pods.find((p) => (p.metadata as ObjectMeta).name === attributes.name);
    if (!pod) throw notFound('pods', '', attributes.name);
    return { kind: 'Pod', apiVersion: 'v1', ...pod };
  }

  function apps(state: ClusterState, attributes: Attributes, request: Request): unknown {
    const now = Date.now();
    const kind = attributes.resource === 'deployments' ? 'Deployment' : 'StatefulSet';
    const inScope = state.workloads.filter(
      (w) => w.kind === kind && (!attributes.namespace || w.namespace === attributes.namespace),
    );
    if (!attributes.name) {
      if (request.method !== 'GET') throw methodNotAllowed();
      const requirements = parseLabelSelector(request.query.get('labelSelector') ?? '');
      const items = inScope
        .map((w) => {
          const { apiVersion: _a, kind: _k, ...object } = serializeWorkload(w, now);
          return object;
        })
        .filter((o) =>
          requirements.every((r) => r(((o.metadata as ObjectMeta).labels ?? {}) as Record<string, string>)),
        );
      return list(state, `${kind}List`, 'apps/v1', items, request.query);
    }
    const workload = inScope.find((w) => w.name === attributes.name);
    if (!workload) throw notFound(attributes.resource, 'apps', attributes.name);
    if (attributes.subresource === 'status' || attributes.subresource === '') {
      if (request.method !== 'GET') throw methodNotAllowed();
      return serializeWorkload(workload, now);
    }
    // The scale subresource.
    const current = serializeScale(workload, now);
    if (request.method === 'GET') return current;
    let updated: unknown;
    if (request.method === 'PUT') {
      if (request.contentType !== 'application/json') {
        throw statusError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`,
        );
      }
      updated = request.body;
    } else if (request.method === 'PATCH') {
      updated = applyPatch(current, request.contentType, request.body, true);
    } else {
      throw methodNotAllowed();
    }
    const replicas = validateScale(updated, workload, attributes.resource);
    if (request.query.get('dryRun') === 'All') return { ...current, spec: { replicas } };
    if (replicas !== workload.replicas) {
      workload.replicas = replicas;
      workload.generation += 1;
      reconcilePods(state, workload, now, state.options.podReadyAfterMs ?? 0);
      workload.lastStatus = JSON.stringify(workloadStatus(workload, now));
      workload.resourceVersion = nextRevision(state);
    }
    return serializeScale(workload, now);
  }

  /** The replica count a PUT body or patched Scale asks for, validated as the API validates it. */
  function validateScale(value: unknown, workload: WorkloadRecord, resource: string): number {
    if (!isObject(value)) throw badRequest('the body of the request was not a Scale object');
    if (value.kind !== undefined && value.kind !== 'Scale') {
      throw badRequest(
        `Scale in version "v1" cannot be handled as a ${String(value.kind)}: the object kind is not Scale`,
      );
    }
    const metadata = isObject(value.metadata) ? value.metadata : {};
    if (metadata.name !== undefined && metadata.name !== workload.name) {
      throw badRequest(
        `the name of the object (${String(metadata.name)}) does not match the name on the URL (${workload.name})`,
      );
    }
    const resourceVersion = metadata.resourceVersion;
    if (
      resourceVersion !== undefined &&
      resourceVersion !== '' &&
      resourceVersion !== workload.resourceVersion
    ) {
      throw conflict(resource, 'apps', workload.name);
    }
    const spec = isObject(value.spec) ? value.spec : {};
    const replicas = spec.replicas ?? 0;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || Math.abs(replicas) > 2 ** 31 - 1) {
      throw badRequest(
        `Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal ${typeof replicas === 'string' ? 'string' : 'number ' + String(replicas)} into Go struct field ScaleSpec.spec.replicas of type int32`,
      );
    }
    if (replicas < 0) {
      const detail = `Invalid value: ${replicas}: must be greater than or equal to 0`;
      throw statusError(
        422,
        'Invalid',
        `Scale.autoscaling "${workload.name}" is invalid: spec.replicas: ${detail}`,
        {
          name: workload.name,
          group: 'autoscaling',
          kind: 'Scale',
          causes: [{ reason: 'FieldValueInvalid', message: detail, field: 'spec.replicas' }],
        },
      );
    }
    return replicas;
  }

  function cnpg(state: ClusterState, attributes: Attributes, request: Request): unknown {
    const inScope = state.cnpg.filter(
      (c) => !attributes.namespace || c.object.metadata.namespace === attributes.namespace,
    );
    if (!attributes.name) {
      if (request.method !== 'GET') throw methodNotAllowed();
      const items = inScope.map((c) => structuredClone(c.object));
      return list(state, 'ClusterList', 'postgresql.cnpg.io/v1', items, request.query);
    }
    const record = inScope.find((c) => c.object.metadata.name === attributes.name);
    if (!record) throw notFound('clusters', 'postgresql.cnpg.io', attributes.name);
    if (request.method === 'GET') return structuredClone(record.object);
    if (request.method !== 'PATCH' || attributes.subresource === 'status') throw methodNotAllowed();
    const before = record.object;
    const patched = applyPatch(before, request.contentType, request.body, false);
    if (!isObject(patched) || !isObject(patched.metadata) || !isObject(patched.spec)) {
      throw badRequest('the patched object is not a Cluster');
    }
    const requested = patched.metadata.resourceVersion;
    if (requested !== undefined && requested !== before.metadata.resourceVersion) {
      throw conflict('clusters', 'postgresql.cnpg.io', before.metadata.name);
    }
    if (
      patched.metadata.name !== before.metadata.name ||
      patched.metadata.namespace !== before.metadata.namespace
    ) {
      throw badRequest(
        `the name of the object (${String(patched.metadata.name)}) does not match the name on the URL (${before.metadata.name})`,
      );
    }
    // The status subresource is enabled: writes to the main resource never change status.
    const after = structuredClone({
      ...(patched as unknown as CnpgClusterObject),
      apiVersion: before.apiVersion,
      kind: before.kind,
      metadata: {
        ...(patched.metadata as ObjectMeta),
        uid: before.metadata.uid,
        creationTimestamp: before.metadata.creationTimestamp,
        resourceVersion: before.metadata.resourceVersion,
        generation: before.metadata.generation,
      },
      status: before.status,
    });
    if (isDeepStrictEqual(after, before)) return structuredClone(before);
    // The validating webhook runs on dry runs too (sideEffects: None).
    const denial = state.cnpgOperator.admit(before, after);
    if (denial) throw statusError(422, 'Invalid', denial.message, denial.details);
    if (request.query.get('dryRun') === 'All') return after;
    if (!isDeepStrictEqual(after.spec, before.spec))
      after.metadata.generation = (before.metadata.generation ?? 1) + 1;
    after.metadata.resourceVersion = nextRevision(state);
    record.object = after;
    // The operator acts on the new spec on a later read: the answer to this write still shows the old status.
    state.cnpgOperator.specWritten(record, Date.now());
    return structuredClone(record.object);
  }

  const findWorkload = (
    state: ClusterState,
    namespace: string,
    kind: string,
    name: string,
  ): WorkloadRecord => {
    const workload = state.workloads.find(
      (w) => w.namespace === namespace && w.kind === kind && w.name === name,
    );
    if (!workload) throw new Error(`no ${kind} ${namespace}/${name} on ${state.id}`);
    return workload;
  };
  const findCnpg = (state: ClusterState, namespace: string, name: string): CnpgRecord => {
    const record = state.cnpg.find(
      (c) => c.object.metadata.namespace === namespace && c.object.metadata.name === name,
    );
    if (!record) throw new Error(`no CloudNativePG Cluster ${namespace}/${name} on ${state.id}`);
    return record;
  };

  const kubeConfig = (
    contexts: Record<string, string>,
    kubeconfigOptions: KubeconfigOptions = {},
  ): KubeconfigDocument => {
    const entries = Object.entries(contexts);
    const first = entries[0];
    if (!first) throw new Error('kubeConfig needs at least one cluster id → context name');
    const caData = Buffer.from(caPem).toString('base64');
    return {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: entries.map(([id, context]) => ({
        name: context,
        cluster: { server: `https://127.0.0.1:${cluster(id).port}`, 'certificate-authority-data': caData },
      })),
      users: entries.map(([id, context]) => ({
        name: `${context}-user`,
        user: { token: kubeconfigOptions.tokens?.[id] ?? cluster(id).options.token ?? `sandbox-token-${id}` },
      })),
      contexts: entries.map(([, context]) => ({
        name: context,
        context: { cluster: context, user: `${context}-user` },
      })),
      'current-context': kubeconfigOptions.currentContext ?? first[1],
      preferences: {},
    };
  };

  return {
    clusterIds: [...clusters.keys()],
    caCertificate: caPem,
    url: (id) => `https://127.0.0.1:${cluster(id).port}`,
    kubeConfig,
    kubeconfigYaml: (contexts, kubeconfigOptions) => stringify(kubeConfig(contexts, kubeconfigOptions)),
    workload(id, namespace, kind, name) {
      const state = cluster(id);
      settle(state);
      const workload = findWorkload(state, namespace, kind, name);
      const now = Date.now();
      return {
        replicas: workload.replicas,
        readyReplicas: workloadStatus(workload, now).readyReplicas,
        images: [...workload.images],
        resourceVersion: workload.resourceVersion,
        generation: workload.generation,
        pods: visiblePods(workload, now).map((pod) => ({ name: pod.name, ready: podReady(pod, now) })),
      };
    },
    nodes: (id) => cluster(id).nodes.map((node) => ({ name: node.name, ready: node.ready })),
    cnpgCluster(id, namespace, name) {
      const state = cluster(id);
      settle(state);
      return structuredClone(findCnpg(state, namespace, name).object);
    },
    setNodeReady(id, name, ready) {
      const state = cluster(id);
      const node = state.nodes.find((n) => n.name === name);
      if (!node) throw new Error(`no node ${name} on ${id}`);
      if (node.ready === ready) return;
      node.ready = ready;
      node.transitionAt = timestamp();
      node.resourceVersion = nextRevision(state);
    },
    setImages(id, namespace, kind, name, images) {
      const state = cluster(id);
      const workload = findWorkload(state, namespace, kind, name);
      workload.images = [...images];
      workload.generation += 1;
      const hash = templateHash(images);
      for (const pod of workload.pods) Object.assign(pod, { images: [...images], templateHash: hash });
      workload.resourceVersion = nextRevision(state);
    },
    updateCnpgCluster(id, namespace, name, change) {
      const state = cluster(id);
      const record = findCnpg(state, namespace, name);
      change(record.object);
      record.object.metadata.resourceVersion = nextRevision(state);
      state.cnpgOperator.adopt(record);
    },
    setLatency(id, ms) {
      cluster(id).faults.latencyMs = ms;
    },
    failNext(id, failure) {
      cluster(id).faults.failures.push({ ...failure, remaining: failure.times ?? 1 });
    },
    async setOutage(id, outage) {
      const state = cluster(id);
      state.faults.outage = outage;
      if (outage === 'refused') await stopListening(state);
      else if (!state.server.listening) await listen(state, state.port);
      if (outage === 'reset') for (const socket of state.sockets) socket.resetAndDestroy();
    },
    deny(id, denial) {
      cluster(id).faults.denials.push({ ...denial });
    },
    async clearFaults(id) {
      for (const state of id === undefined ? clusters.values() : [cluster(id)]) {
        state.faults.latencyMs = 0;
        state.faults.failures = [];
        state.faults.denials = [];
        state.faults.outage = null;
        if (!state.server.listening) await listen(state, state.port);
      }
    },
    requests: (id) => log.filter((r) => id === undefined || r.cluster === id).map((r) => ({ ...r })),
    clearRequests() {
      log.length = 0;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all([...clusters.values()].map((state) => stopListening(state)));
    },
  };
}
