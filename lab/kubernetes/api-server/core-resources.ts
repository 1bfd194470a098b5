/**
 * The core group (`/api/v1`): nodes, namespaces and pods, read with label and field selectors, and serialized as
 * the API serves them (a node's kubelet conditions, a pod's owner, containers and readiness conditions).
 */
import { createHash } from 'node:crypto';
import { timestamp } from '../timestamp.js';
import type { ClusterState, NodeRecord, PodState, WorkloadRecord } from './cluster-state.js';
import { DEFAULT_ALLOCATABLE, DEFAULT_CAPACITY } from './cluster-state.js';
import { GIT_VERSION } from './discovery.js';
import { pageList, parseFieldSelector, parseLabelSelector } from './list-query.js';
import type { Attributes } from './request-attributes.js';
import { notFound } from './status-errors.js';
import type { ObjectMeta } from './types.js';
import { podSpecFields, qosClass } from './pod-template.js';
import { containerNames, podReady, visiblePods } from './workload-controller.js';

/** GET of nodes, namespaces and pods (one, or a list). */
export function serveCore(state: ClusterState, attributes: Attributes, query: URLSearchParams): unknown {
  const now = Date.now();
  const labelRequirements = parseLabelSelector(query.get('labelSelector') ?? '');
  const matchesLabels = (object: Record<string, unknown>) => {
    const labels = ((object.metadata as ObjectMeta).labels ?? {}) as Record<string, string>;
    return labelRequirements.every((requirement) => requirement(labels));
  };
  if (attributes.resource === 'nodes') {
    // The node registry's selectable fields: metadata.name and spec.unschedulable (pkg/registry/core/node).
    const fieldRequirements = parseFieldSelector(query.get('fieldSelector') ?? '', [
      'metadata.name',
      'spec.unschedulable',
    ]);
    const nodes = state.nodes
      .filter((node) =>
        fieldRequirements.every((r) =>
          r({ 'metadata.name': node.name, 'spec.unschedulable': String(node.unschedulable) }),
        ),
      )
      .map((node) => serializeNode(state, node))
      .filter(matchesLabels);
    if (!attributes.name) return pageList(state, 'NodeList', 'v1', nodes, query);
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
      return pageList(state, 'NamespaceList', 'v1', names.map(namespace).filter(matchesLabels), query);
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
  if (!attributes.name) return pageList(state, 'PodList', 'v1', pods, query);
  const pod = pods.find((p) => (p.metadata as ObjectMeta).name === attributes.name);
  if (!pod) throw notFound('pods', '', attributes.name);
  return { kind: 'Pod', apiVersion: 'v1', ...pod };
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
      ...podSpecFields(pod.images, workload.template),
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
      qosClass: qosClass(pod.images, workload.template),
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
    spec: {
      podCIDR: '10.244.0.0/24',
      // `kubectl cordon` sets spec.unschedulable; the node lifecycle controller adds the matching taint.
      ...(node.unschedulable && {
        unschedulable: true,
        taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }],
      }),
    },
    status: {
      capacity: customSize(node) ? { ...node.allocatable } : { ...DEFAULT_CAPACITY },
      allocatable: { ...node.allocatable },
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

/** A node given a size of its own: its capacity is shown as its allocatable (a test sets what it needs). */
const customSize = (node: NodeRecord): boolean =>
  JSON.stringify(node.allocatable) !== JSON.stringify(DEFAULT_ALLOCATABLE);
