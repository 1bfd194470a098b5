/**
 * Readiness's cluster checks: drift between the two clusters' pod templates of each workload (a warning: drift does
 * not block a failover, but the incident commander should know what will run differently), and whether the
 * standby (`to`) has the capacity for the serving replica count (failed when it cannot). Reads only.
 */
import type { ClusterId, SiteConfig, WorkloadConfig } from '../../config/topology.js';
import { describeError, isBatonError } from '../../errors.js';
import type { PreflightCheck } from '../model.js';
import type { NodeCapacity, Ports, WorkloadStatus, WorkloadTemplate } from '../ports.js';
import { workloadKey, workloadLabel } from '../steps/step.js';
import type { CapacityDemand } from './capacity.js';
import { capacityVerdict } from './capacity.js';
import { templateDrift } from './drift.js';

type Read<T> = { ok: true; value: T } | { ok: false; error: unknown };

const read = <T>(work: Promise<T>): Promise<Read<T>> =>
  work.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

/** One `drift <namespace>/<kind>/<name>` check per workload, then `capacity`. */
export async function clusterReadinessChecks(input: {
  site: SiteConfig;
  ports: Pick<Ports, 'cluster'>;
  from: ClusterId;
  to: ClusterId;
  signal?: AbortSignal;
}): Promise<PreflightCheck[]> {
  const { site, ports, from, to } = input;
  const call = input.signal ? { signal: input.signal } : {};
  const [workloads, nodes] = await Promise.all([
    Promise.all(
      site.workloads.map(async (workload) => {
        const [target, source, status] = await Promise.all([
          read(ports.cluster.workloadTemplate(site, to, workload, call)),
          read(ports.cluster.workloadTemplate(site, from, workload, call)),
          read(ports.cluster.getWorkload(site, to, workload, call)),
        ]);
        return { workload, target, source, status };
      }),
    ),
    read(ports.cluster.nodeCapacity(site, to, call)),
  ]);
  return [
    ...workloads.map(({ workload, target, source }) => driftCheck(workload, from, to, source, target)),
    capacityCheck(to, workloads, nodes),
  ];
}

function driftCheck(
  workload: WorkloadConfig,
  from: ClusterId,
  to: ClusterId,
  source: Read<WorkloadTemplate | null>,
  target: Read<WorkloadTemplate | null>,
): PreflightCheck {
  const id = `drift ${workloadKey(workload)}`;
  const label = `${workload.kind} ${workloadLabel(workload)}`;
  if (!target.ok)
    return { id, status: 'failed', detail: cannotRead(`${label}'s pod template on ${to}`, target.error) };
  if (!source.ok) {
    // The serving side down is what an emergency failover is for: compare nothing, block nothing. Credentials,
    // RBAC or TLS refused there are Baton's own configuration, which a failback will need: those fail.
    if (isBatonError(source.error) && source.error.code === 'cluster-unreachable') {
      return { id, status: 'warning', detail: `not compared: ${from} unreachable` };
    }
    if (isBatonError(source.error) && source.error.retriable) {
      return {
        id,
        status: 'warning',
        detail: `not compared: ${from} failing (${describeError(source.error)})`,
      };
    }
    return { id, status: 'failed', detail: cannotRead(`${label}'s pod template on ${from}`, source.error) };
  }
  const missing = [!target.value && to, !source.value && from].filter(Boolean);
  if (!target.value || !source.value) {
    return {
      id,
      status: 'warning',
      detail: `not compared: ${label} does not exist on ${missing.join(' and ')}`,
    };
  }
  const lines = templateDrift(
    workload.name,
    { cluster: to, template: target.value },
    { cluster: from, template: source.value },
  );
  if (lines.length === 0) {
    return {
      id,
      status: 'passed',
      detail: `${workload.name}: same images, env names, ConfigMaps, Secrets and requests on ${to} and ${from}`,
    };
  }
  return { id, status: 'warning', detail: lines.join('; ') };
}

function capacityCheck(
  to: ClusterId,
  workloads: {
    workload: WorkloadConfig;
    target: Read<WorkloadTemplate | null>;
    source: Read<WorkloadTemplate | null>;
    status: Read<WorkloadStatus | null>;
  }[],
  nodes: Read<NodeCapacity[]>,
): PreflightCheck {
  const id = 'capacity';
  if (!nodes.ok) return { id, status: 'failed', detail: cannotRead(`${to}'s nodes and pods`, nodes.error) };
  const demands: CapacityDemand[] = [];
  for (const { workload, target, source, status } of workloads) {
    const label = `${workload.kind} ${workloadLabel(workload)}`;
    if (!status.ok) return { id, status: 'failed', detail: cannotRead(`${label} on ${to}`, status.error) };
    if (!target.ok)
      return { id, status: 'failed', detail: cannotRead(`${label}'s pod template on ${to}`, target.error) };
    // A workload missing on the target (preflight fails it) will run the serving side's template once created.
    const template = target.value ?? (source.ok ? source.value : null);
    if (!template) {
      return {
        id,
        status: 'failed',
        detail: `not measured: ${label} exists on neither side — create it on ${to}, then look again`,
      };
    }
    demands.push({
      label: workload.name,
      replicas: workload.replicas,
      current: status.value?.replicas ?? 0,
      podRequests: template.podRequests ?? sumRequests(template),
    });
  }
  const verdict = capacityVerdict(to, demands, nodes.value);
  return { id, status: verdict.fits ? 'passed' : 'failed', detail: verdict.detail };
}

function sumRequests(template: WorkloadTemplate): { cpuMillis: number; memoryBytes: number } {
  return template.containers.reduce(
    (sum, c) => ({
      cpuMillis: sum.cpuMillis + c.requests.cpuMillis,
      memoryBytes: sum.memoryBytes + c.requests.memoryBytes,
    }),
    { cpuMillis: 0, memoryBytes: 0 },
  );
}

function cannotRead(what: string, error: unknown): string {
  return `could not read ${what}: ${describeError(error)}`;
}
