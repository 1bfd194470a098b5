import { BatonError } from '../../errors.js';
import type { SiteConfig, WorkloadConfig } from '../../config/topology.js';
import type { Run, StepId } from '../model.js';
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
  run: Readonly<Pick<Run, 'id' | 'kind' | 'mode' | 'from' | 'to' | 'force'>>;
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

/**
 * Polls `check` until it returns a value, or the signal aborts (the runner's timeout); then the error says what
 * was still awaited, from `waitingFor`.
 */
export async function pollUntil<T>(
  ctx: Pick<StepContext, 'clock' | 'signal'>,
  intervalMs: number,
  check: () => Promise<T | undefined>,
  waitingFor?: () => string,
): Promise<T> {
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    try {
      await ctx.clock.sleep(intervalMs, ctx.signal);
    } catch (reason) {
      const detail = waitingFor?.();
      if (!detail || !(reason instanceof BatonError)) throw reason;
      throw new BatonError(reason.code, `${reason.message} — last seen: ${detail}`, {
        retriable: reason.retriable,
        cause: reason,
      });
    }
  }
}

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

/** Compares PostgreSQL LSNs of the form `16/B374D848`. */
export function compareLsn(a: string, b: string): number {
  const value = (lsn: string): bigint => {
    const [hi, lo] = lsn.split('/');
    if (hi === undefined || lo === undefined) throw new Error(`not an LSN: ${lsn}`);
    return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
  };
  const diff = value(a) - value(b);
  return diff === 0n ? 0 : diff > 0n ? 1 : -1;
}
