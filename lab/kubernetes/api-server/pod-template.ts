/**
 * A workload's pod template as the API serves it, in the Deployment or StatefulSet and in each of its pods:
 * containers named after their images with their env, envFrom and resources.requests, init containers (sidecars
 * with `restartPolicy: Always`), volumes and imagePullSecrets; and the QoS class the API derives from the requests.
 */
import type { StandInPodTemplate, StandInResources } from './types.js';
import { containerNames } from './workload-controller.js';

/** What a container requests unless the template says otherwise: a modest web container's requests. */
export const DEFAULT_REQUESTS: StandInResources = { cpu: '100m', memory: '128Mi' };

const CONTAINER_DEFAULTS = {
  imagePullPolicy: 'IfNotPresent',
  terminationMessagePath: '/dev/termination-log',
  terminationMessagePolicy: 'File',
};

const resources = (requests: StandInResources): Record<string, unknown> =>
  Object.keys(requests).length > 0 ? { requests: { ...requests } } : {};

/** The template's spec fields besides the pod-level defaults: containers, initContainers, volumes, pull secrets. */
export function podSpecFields(images: string[], template: StandInPodTemplate): Record<string, unknown> {
  const names = containerNames(images);
  const containers = images.map((image, i) => {
    const spec = template.containers?.[i] ?? {};
    return {
      name: names[i],
      image,
      ...(spec.env && spec.env.length > 0 && { env: structuredClone(spec.env) }),
      ...(spec.envFrom && spec.envFrom.length > 0 && { envFrom: structuredClone(spec.envFrom) }),
      resources: resources(spec.requests ?? DEFAULT_REQUESTS),
      ...CONTAINER_DEFAULTS,
    };
  });
  const initContainers = (template.initContainers ?? []).map((init) => ({
    name: init.name,
    image: init.image,
    resources: resources(init.requests ?? {}),
    ...(init.restartPolicy && { restartPolicy: init.restartPolicy }),
    ...CONTAINER_DEFAULTS,
  }));
  return {
    ...(initContainers.length > 0 && { initContainers }),
    containers,
    ...(template.volumes && template.volumes.length > 0 && { volumes: structuredClone(template.volumes) }),
    ...(template.imagePullSecrets &&
      template.imagePullSecrets.length > 0 && {
        imagePullSecrets: template.imagePullSecrets.map((name) => ({ name })),
      }),
  };
}

/**
 * status.qosClass: BestEffort when no container requests anything, else Burstable (the stand-in's containers set no
 * limits, so none is Guaranteed) — kubernetes.io/docs/concepts/workloads/pods/pod-qos/.
 */
export function qosClass(images: string[], template: StandInPodTemplate): 'BestEffort' | 'Burstable' {
  const requests = [
    ...images.map((_, i) => template.containers?.[i]?.requests ?? DEFAULT_REQUESTS),
    ...(template.initContainers ?? []).map((init) => init.requests ?? {}),
  ];
  return requests.some((r) => Object.keys(r).length > 0) ? 'Burstable' : 'BestEffort';
}
