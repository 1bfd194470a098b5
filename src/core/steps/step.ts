import type { SiteConfig, WorkloadConfig } from '../../config/topology.js';
import type { FenceDebt, Run, StepEvent, StepId } from '../model.js';
import type { Clock, Log, Ports } from '../ports.js';

export interface StepSettings {
  /** How often to poll Kubernetes readiness and PostgreSQL replay. */
  pollIntervalMs: number;
  /** How often to poll Route 53 GetChange (DESIGN §5: about every 2 s). */
  dnsPollIntervalMs: number;
}

export const DEFAULT_STEP_SETTINGS: StepSettings = { pollIntervalMs: 500, dnsPollIntervalMs: 2000 };

export interface StepContext {
  site: SiteConfig;
  run: Readonly<Pick<Run, 'id' | 'kind' | 'mode' | 'from' | 'to' | 'force' | 'segment' | 'acceptedRisks'>>;
  ports: Ports;
  clock: Clock;
  /** Aborted when the attempt times out; long waits must pass it on. */
  signal: AbortSignal;
  log: Log;
  settings: StepSettings;
  /** What an earlier attempt of this step saved with `checkpoint`, possibly in another worker. */
  progress: Readonly<Record<string, unknown>>;
  /** Persists intermediate progress now, so a resumed step does not repeat an external action. */
  checkpoint(progress: Record<string, unknown>): Promise<void>;
  /** What an earlier step of this run recorded (output over progress); undefined when it never ran or was skipped. */
  outputOf(id: StepId): Readonly<Record<string, unknown>> | undefined;
  /**
   * Persists `progress` and marks the point of no return as passed, before the call that crosses it: from then on
   * Abort undoes nothing and the run can only finish or pause. `what` is the timeline's line.
   */
  passPointOfNoReturn(progress: Record<string, unknown>, what: string): Promise<void>;
  /** The old side stays unfenced: Baton fences it the moment it answers, and failback waits until then. */
  openFenceDebt(debt: Pick<FenceDebt, 'database' | 'workloads' | 'reason'>): Promise<void>;
  /** Tells people now, in the channel and the audit (data loss, a breached fence). */
  announce(event: StepEvent): Promise<void>;
}

/**
 * One step of a plan. The runner calls `isDone` before `apply`, so running a step twice is always safe; `apply`
 * itself checks before each external action, because a worker may die between an action and its record.
 */
export interface StepDefinition {
  id: StepId;
  reversible: boolean;
  pointOfNoReturn: boolean;
  defaults: { timeoutMs: number; retries: number };
  isDone(ctx: StepContext): Promise<boolean>;
  apply(ctx: StepContext): Promise<Record<string, unknown> | void>;
  /** For reversible steps: is the undo already in effect? */
  isUndone?(ctx: StepContext): Promise<boolean>;
  undo?(ctx: StepContext): Promise<void>;
}

export const workloadKey = (w: Pick<WorkloadConfig, 'namespace' | 'kind' | 'name'>): string =>
  `${w.namespace}/${w.kind}/${w.name}`;

export const workloadLabel = (w: Pick<WorkloadConfig, 'namespace' | 'name'>): string =>
  `${w.namespace}/${w.name}`;

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const rounded = unit === 0 || value >= 10 ? Math.round(value) : Math.round(value * 10) / 10;
  return `${rounded} ${units[unit]}`;
}
