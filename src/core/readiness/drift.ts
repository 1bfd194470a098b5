/**
 * Drift: how two clusters' pod templates of one workload differ where a failover would notice — the image each
 * container runs, the names of its environment variables (values are never read: they may be secrets), the
 * ConfigMaps and Secrets the template refers to (a missing one keeps pods from starting: CreateContainerConfigError),
 * and each container's resource requests. Each difference is one short line, e.g. "web: env LOG_LEVEL only on east".
 * Pure.
 */
import type { ClusterId } from '../../config/topology.js';
import type { ContainerTemplate, WorkloadTemplate } from '../ports.js';
import { formatAmounts } from './resource-format.js';

export interface TemplateSide {
  cluster: ClusterId;
  template: WorkloadTemplate;
}

/**
 * The differences between `a`'s and `b`'s templates of the workload `label` (e.g. `web`), `a` named first in each
 * line; [] when they agree. Containers are matched by name; a pod of more than one container names it (`web/proxy`).
 */
export function templateDrift(label: string, a: TemplateSide, b: TemplateSide): string[] {
  const lines: string[] = [];
  const names = unique([...a.template.containers, ...b.template.containers].map((c) => c.name));
  const prefix = (container: string) => (names.length > 1 ? `${label}/${container}` : label);
  for (const name of names) {
    const left = a.template.containers.find((c) => c.name === name);
    const right = b.template.containers.find((c) => c.name === name);
    if (!left || !right) {
      const has = left ? a : b;
      lines.push(`${label}: container ${name} only on ${has.cluster}`);
      continue;
    }
    lines.push(...containerDrift(prefix(name), { ...a, container: left }, { ...b, container: right }));
  }
  lines.push(...onlyOn(`${label}: ConfigMap`, a, a.template.configMaps, b, b.template.configMaps));
  lines.push(...onlyOn(`${label}: Secret`, a, a.template.secrets, b, b.template.secrets));
  return lines;
}

function containerDrift(
  prefix: string,
  a: TemplateSide & { container: ContainerTemplate },
  b: TemplateSide & { container: ContainerTemplate },
): string[] {
  const lines: string[] = [];
  if (a.container.image !== b.container.image) {
    lines.push(`${prefix}: image ${a.container.image} on ${a.cluster}, ${b.container.image} on ${b.cluster}`);
  }
  lines.push(...onlyOn(`${prefix}: env`, a, a.container.envNames, b, b.container.envNames));
  const left = a.container.requests;
  const right = b.container.requests;
  if (left.cpuMillis !== right.cpuMillis || left.memoryBytes !== right.memoryBytes) {
    lines.push(
      `${prefix}: requests ${formatAmounts(left)} on ${a.cluster}, ${formatAmounts(right)} on ${b.cluster}`,
    );
  }
  return lines;
}

/** "<what> X, Y only on east", once per side that has names the other lacks. */
function onlyOn(
  what: string,
  a: TemplateSide,
  aNames: string[],
  b: TemplateSide,
  bNames: string[],
): string[] {
  const lines: string[] = [];
  const onlyA = unique(aNames.filter((n) => !bNames.includes(n))).sort();
  const onlyB = unique(bNames.filter((n) => !aNames.includes(n))).sort();
  if (onlyA.length > 0) lines.push(`${what} ${onlyA.join(', ')} only on ${a.cluster}`);
  if (onlyB.length > 0) lines.push(`${what} ${onlyB.join(', ')} only on ${b.cluster}`);
  return lines;
}

const unique = (values: string[]): string[] => [...new Set(values)];
