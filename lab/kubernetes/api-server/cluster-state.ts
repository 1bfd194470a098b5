/**
 * The state of one stand-in cluster: its nodes, workloads with their pods, CloudNativePG Clusters, faults and
 * listener; how it is seeded from the options, and how the passage of time is applied before each read.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:https';
import type { Socket } from 'node:net';
import type { CnpgOperator } from '../cnpg/cnpg-operator.js';
import type { CnpgRecord } from '../cnpg/cnpg-record.js';
import { timestamp } from '../timestamp.js';
import type { AutoscalerRecord } from './autoscaling-resources.js';
import { DEFAULT_HPA_SYNC_PERIOD_MS, syncAutoscalers } from './hpa-controller.js';
import type { GitManifest, SelfHealOptions } from './self-heal-controller.js';
import { selfHeal } from './self-heal-controller.js';
import type { ApplicationRecord } from './argocd-resources.js';
import { createApplicationRecord, reconcileApplicationSets } from './argocd-resources.js';
import type {
  InjectedFailure,
  Outage,
  RbacDenial,
  StandInClusterOptions,
  StandInNode,
  StandInPodTemplate,
  StandInWorkload,
} from './types.js';
import type { ObservedSpec, PendingSpec } from './workload-controller.js';
import { catchUpController, reconcilePods, workloadStatus } from './workload-controller.js';

export interface PodState {
  name: string;
  /** The pod exists from this instant (StatefulSets create pods one at a time, OrderedReady). */
  createdAt: number;
  readyAt: number;
  node: string;
  ip: string;
  templateHash: string;
  images: string[];
}

export interface WorkloadRecord {
  kind: StandInWorkload['kind'];
  namespace: string;
  name: string;
  uid: string;
  creationTimestamp: string;
  replicas: number;
  images: string[];
  generation: number;
  /** The spec the controller last acted on (status.observedGeneration and the counts describe it). */
  observed: ObservedSpec;
  /** Spec changes written but not yet seen by the controller, oldest first. */
  pending: PendingSpec[];
  resourceVersion: string;
  pods: PodState[];
  /** Last status written, to bump resourceVersion when pods change it (as the controller's writes would). */
  lastStatus: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** When spec.replicas last changed (self-heal reverts a delay after it). */
  specChangedAt: number;
  git: GitManifest;
  template: StandInPodTemplate;
}

export interface NodeRecord {
  name: string;
  ready: boolean;
  unschedulable: boolean;
  allocatable: { cpu: string; memory: string; pods: string };
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  transitionAt: string;
}

export interface Faults {
  latencyMs: number;
  failures: (InjectedFailure & { remaining: number })[];
  denials: RbacDenial[];
  outage: Outage | null;
}

export interface ClusterState {
  id: string;
  options: StandInClusterOptions;
  user: string;
  revision: number;
  nodes: NodeRecord[];
  workloads: WorkloadRecord[];
  cnpg: CnpgRecord[];
  autoscalers: AutoscalerRecord[];
  /** Argo CD Applications (argoproj.io), whose automated sync with self-heal reverts replicas. */
  applications: ApplicationRecord[];
  /** The HPA controller's next sync. */
  hpaNextSyncAt: number;
  /** A GitOps controller's self-heal, since `since`; null when off. */
  selfHeal: (SelfHealOptions & { since: number }) | null;
  /** The CloudNativePG operator: one for every API server, as replica clusters span Kubernetes clusters. */
  cnpgOperator: CnpgOperator;
  podSeq: number;
  faults: Faults;
  server: Server;
  port: number;
  sockets: Set<Socket>;
}

export const nextRevision = (state: ClusterState): string => String(++state.revision);

/**
 * Applies the passage of time: the workload controllers acting on the spec changes they have seen, pods becoming
 * Ready, the CloudNativePG operator acting on what it was asked.
 */
export function settle(state: ClusterState, now = Date.now()): void {
  reconcileApplicationSets(state, now);
  selfHeal(state, now);
  syncAutoscalers(state, now);
  for (const workload of state.workloads) {
    catchUpController(state, workload, now);
    const status = JSON.stringify({
      observedGeneration: workload.observed.generation,
      ...workloadStatus(workload, now),
    });
    if (status !== workload.lastStatus) {
      workload.lastStatus = status;
      workload.resourceVersion = nextRevision(state);
    }
  }
  state.cnpgOperator.reconcile(now);
}

const DEFAULT_USER = 'system:serviceaccount:baton:baton';

/**
 * A 4 vCPU / 16 GiB machine (an m5.xlarge, say) after the kubelet's kube-reserved, system-reserved and eviction
 * threshold: what `kubectl get node -o yaml` shows as status.allocatable on such a node.
 */
export const DEFAULT_ALLOCATABLE = { cpu: '3920m', memory: '15218612Ki', pods: '110' };
/** status.capacity of that machine. */
export const DEFAULT_CAPACITY = { cpu: '4', memory: '16202612Ki', pods: '110' };

/** A cluster's state from its options, without its listener; pods given at start are Ready at once. */
export function createClusterState(
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
    autoscalers: [],
    applications: [],
    hpaNextSyncAt: Date.now() + (options.hpaSyncPeriodMs ?? DEFAULT_HPA_SYNC_PERIOD_MS),
    selfHeal: options.selfHeal ? { ...options.selfHeal, since: Date.now() } : null,
    cnpgOperator,
    podSeq: 0,
    faults: { latencyMs: 0, failures: [], denials: [], outage: null },
  };
  const bump = () => String(++state.revision);
  const nodes: StandInNode[] =
    typeof options.nodes === 'object'
      ? options.nodes
      : Array.from({ length: options.nodes ?? 3 }, (_, i) => ({ name: `${id}-node-${i + 1}`, ready: true }));
  state.nodes = nodes.map((node) => ({
    name: node.name,
    ready: node.ready,
    unschedulable: node.unschedulable ?? false,
    allocatable: { ...DEFAULT_ALLOCATABLE, ...node.allocatable },
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
      observed: { generation: 1, replicas: spec.replicas, images: [...spec.images] },
      pending: [],
      resourceVersion: bump(),
      pods: [],
      lastStatus: '',
      labels: { app: spec.name, ...spec.labels },
      annotations: { ...spec.annotations },
      specChangedAt: Date.now(),
      git: spec.git ?? { replicas: spec.replicas },
      template: structuredClone(spec.template ?? {}),
    };
    // Pods given at start are Ready at once (StatefulSet ordering included).
    reconcilePods(state as ClusterState, workload, Date.now(), 0);
    workload.lastStatus = JSON.stringify({ observedGeneration: 1, ...workloadStatus(workload, Date.now()) });
    state.workloads.push(workload);
  }
  for (const spec of options.applications ?? []) state.applications.push(createApplicationRecord(spec, bump));
  for (const spec of options.autoscalers ?? []) {
    const minReplicas = spec.minReplicas ?? 1;
    state.autoscalers.push({
      namespace: spec.namespace,
      name: spec.name,
      uid: randomUUID(),
      creationTimestamp: created,
      resourceVersion: bump(),
      generation: 1,
      annotations: { ...spec.annotations },
      target: { ...spec.target },
      minReplicas,
      maxReplicas: spec.maxReplicas,
      recommendedReplicas: spec.recommendedReplicas ?? 1,
      currentReplicas: 0,
      desiredReplicas: 0,
    });
  }
  for (const spec of options.cnpgClusters ?? []) {
    state.cnpg.push(cnpgOperator.add(id, spec, bump));
  }
  return state;
}

/** A workload of the cluster, for the handle's reads and writes (a plain error: a test asked for a wrong one). */
export const findWorkload = (
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

/** A CloudNativePG Cluster of the cluster, for the handle's reads and writes. */
export const findCnpg = (state: ClusterState, namespace: string, name: string): CnpgRecord => {
  const record = state.cnpg.find(
    (c) => c.object.metadata.namespace === namespace && c.object.metadata.name === name,
  );
  if (!record) throw new Error(`no CloudNativePG Cluster ${namespace}/${name} on ${state.id}`);
  return record;
};
