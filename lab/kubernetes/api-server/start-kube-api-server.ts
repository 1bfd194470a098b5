/**
 * Starts the Kubernetes API stand-in: one HTTPS listener per cluster, all with a server certificate signed by one
 * CA of their own, sharing one CloudNativePG operator; and the handle a test or the sandbox drives it with (state to
 * read and change as a controller would, faults to inject, kubeconfigs to write, the requests it received).
 */
import { stringify } from 'yaml';
import { CnpgOperator } from '../cnpg/cnpg-operator.js';
import { timestamp } from '../timestamp.js';
import type { AutoscalerRecord } from './autoscaling-resources.js';
import { createCertificates } from './certificates.js';
import { createClusterState, findCnpg, findWorkload, nextRevision, settle } from './cluster-state.js';
import type { ClusterState } from './cluster-state.js';
import { handleRequest } from './handle-request.js';
import type { RequestContext } from './handle-request.js';
import { buildKubeconfig } from './kubeconfig.js';
import { applyOutage, attachListener, listen, stopListening } from './listener.js';
import type { KubeApiServer, KubeApiServerOptions, RequestRecord } from './types.js';
import { changeSpec, podReady, visiblePods, workloadStatus } from './workload-controller.js';

const findAutoscaler = (state: ClusterState, namespace: string, name: string): AutoscalerRecord => {
  const hpa = state.autoscalers.find((a) => a.namespace === namespace && a.name === name);
  if (!hpa) throw new Error(`no HorizontalPodAutoscaler ${namespace}/${name} on ${state.id}`);
  return hpa;
};

/** Starts one HTTPS API server per cluster of `options.clusters`, on 127.0.0.1 ports of the system's choosing. */
export async function startKubeApiServer(options: KubeApiServerOptions): Promise<KubeApiServer> {
  const tls = await createCertificates();
  const clusters = new Map<string, ClusterState>();
  const log: RequestRecord[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const cnpgOperator = new CnpgOperator();

  const context: RequestContext = {
    log,
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, ms);
        timers.add(timer);
      }),
  };

  for (const [id, clusterOptions] of Object.entries(options.clusters)) {
    const state = attachListener(
      createClusterState(id, clusterOptions, cnpgOperator),
      tls,
      (clusterState, req, res) => handleRequest(context, clusterState, req, res),
    );
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

  return {
    clusterIds: [...clusters.keys()],
    caCertificate: tls.caPem,
    url: (id) => `https://127.0.0.1:${cluster(id).port}`,
    kubeConfig: (contexts, kubeconfigOptions) =>
      buildKubeconfig(tls.caPem, cluster, contexts, kubeconfigOptions),
    kubeconfigYaml: (contexts, kubeconfigOptions) =>
      stringify(buildKubeconfig(tls.caPem, cluster, contexts, kubeconfigOptions)),
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
        observedGeneration: workload.observed.generation,
        pods: visiblePods(workload, now).map((pod) => ({ name: pod.name, ready: podReady(pod, now) })),
      };
    },
    nodes: (id) =>
      cluster(id).nodes.map((node) => ({
        name: node.name,
        ready: node.ready,
        unschedulable: node.unschedulable,
        allocatable: { ...node.allocatable },
      })),
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
    setNodeUnschedulable(id, name, unschedulable) {
      const state = cluster(id);
      const node = state.nodes.find((n) => n.name === name);
      if (!node) throw new Error(`no node ${name} on ${id}`);
      if (node.unschedulable === unschedulable) return;
      node.unschedulable = unschedulable;
      node.resourceVersion = nextRevision(state);
    },
    setPodTemplate(id, namespace, kind, name, template) {
      const state = cluster(id);
      settle(state);
      const workload = findWorkload(state, namespace, kind, name);
      // Served at once (pods included); the new generation makes the controller's status catch up as for images.
      workload.template = structuredClone(template);
      changeSpec(state, workload, {}, Date.now());
    },
    setImages(id, namespace, kind, name, images) {
      const state = cluster(id);
      settle(state);
      changeSpec(state, findWorkload(state, namespace, kind, name), { images }, Date.now());
    },
    updateCnpgCluster(id, namespace, name, change) {
      const state = cluster(id);
      const record = findCnpg(state, namespace, name);
      change(record.object);
      record.object.metadata.resourceVersion = nextRevision(state);
      state.cnpgOperator.adopt(record);
    },
    autoscaler(id, namespace, name) {
      const state = cluster(id);
      settle(state);
      const hpa = findAutoscaler(state, namespace, name);
      return {
        minReplicas: hpa.minReplicas,
        maxReplicas: hpa.maxReplicas,
        annotations: { ...hpa.annotations },
        desiredReplicas: hpa.desiredReplicas,
      };
    },
    setRecommendedReplicas(id, namespace, name, replicas) {
      const state = cluster(id);
      settle(state);
      findAutoscaler(state, namespace, name).recommendedReplicas = replicas;
    },
    application(id, namespace, name) {
      const state = cluster(id);
      settle(state);
      const found = state.applications.find(
        (a) => a.object.metadata.namespace === namespace && a.object.metadata.name === name,
      );
      if (!found) throw new Error(`no Application ${namespace}/${name} on ${id}`);
      return structuredClone(found.object);
    },
    setSelfHeal(id, selfHeal) {
      const state = cluster(id);
      settle(state);
      state.selfHeal = selfHeal && { ...selfHeal, since: Date.now() };
    },
    setGitManifest(id, namespace, kind, name, git) {
      const state = cluster(id);
      settle(state);
      findWorkload(state, namespace, kind, name).git = { ...git };
    },
    setLatency(id, ms) {
      cluster(id).faults.latencyMs = ms;
    },
    failNext(id, failure) {
      cluster(id).faults.failures.push({ ...failure, remaining: failure.times ?? 1 });
    },
    setOutage: (id, outage) => applyOutage(cluster(id), outage),
    deny(id, denial) {
      cluster(id).faults.denials.push({ ...denial });
    },
    setToken(id, token) {
      const state = cluster(id);
      state.options = { ...state.options, token };
    },
    setPodReadyAfter(id, ms) {
      const state = cluster(id);
      // The controllers act first on the spec changes they saw before now: those pods were created with the old delay.
      settle(state);
      const podReadyAfterMs = ms ?? options.clusters[id]?.podReadyAfterMs;
      state.options = { ...state.options, podReadyAfterMs };
    },
    async clearFaults(id) {
      for (const state of id === undefined ? clusters.values() : [cluster(id)]) {
        state.faults.latencyMs = 0;
        state.faults.failures = [];
        state.faults.denials = [];
        await applyOutage(state, null);
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
