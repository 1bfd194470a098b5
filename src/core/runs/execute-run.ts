import type { SiteConfig } from '../../config/topology.js';
import { BatonError, describeError } from '../../errors.js';
import type { FenceDebt, PlannedStep, Run, StepEvent, StepId, StepRecord } from '../model.js';
import { SYSTEM_ACTOR, allSteps } from '../model.js';
import type { Clock, Log, Ports } from '../ports.js';
import type { StepRegistry } from '../steps/index.js';
import type { StepContext, StepDefinition, StepSettings } from '../steps/step.js';
import { POINT_OF_NO_RETURN_KEY, pastPointOfNoReturn } from './point-of-no-return.js';
import type { AuditEvent, RunEvent } from './run-event.js';
import { transitionRun } from './transition-run.js';

/** Thrown when another worker owns the run now: this one must not start, or record, anything more. */
export class LeaseLostError extends BatonError {
  constructor(runId: string) {
    super('lease-lost', `Lost the lock on run ${runId}; another worker continues it`, { retriable: false });
  }
}

export interface RunPersistence {
  /** Saves the run (only while this worker holds its lease) and returns it with its new version. */
  save(run: Run, audit: AuditEvent): Promise<Run>;
  /** Throws LeaseLostError when this worker no longer owns the run. */
  assertLease(): Promise<void>;
  /** Opens (or widens) the site's fence debt, only while this worker holds its lease. */
  openFenceDebt(debt: FenceDebt): Promise<void>;
}

export interface ExecuteRunOptions {
  run: Run;
  site: SiteConfig;
  ports: Ports;
  steps: StepRegistry;
  clock: Clock;
  log: Log;
  settings: StepSettings;
  persistence: RunPersistence;
  /** Asked between steps; true once SIGTERM arrived: finish the current step, then hand the run back. */
  shouldStop(): boolean;
  /** Called after every save, fire and forget (Slack progress). Never awaited, so it cannot block a step. */
  onChange?(run: Run): void;
  backoff?: { baseMs: number; maxMs: number };
  random?: () => number;
}

export type ExecuteOutcome = 'succeeded' | 'paused' | 'aborted' | 'failed' | 'released' | 'nothing-to-do';

const FINISHED: ReadonlySet<StepRecord['status']> = new Set(['succeeded', 'skipped']);

/** How long a timed-out attempt may take to say what it was waiting for (a query cut off on a busy worker is slow). */
const ABORT_GRACE_MS = 1_000;

/**
 * Runs (or resumes) a run from what was persisted: each group's unfinished steps in parallel, each step checking
 * `isDone` before `apply`, with per-attempt timeouts and retries with backoff. A step that fails for good pauses
 * the run. A run in `aborting` undoes what it can. Progress is saved after every step, so any worker can resume.
 */
export async function executeRun(options: ExecuteRunOptions): Promise<{ outcome: ExecuteOutcome; run: Run }> {
  const engine = new RunEngine(options);
  const outcome = await engine.execute();
  return { outcome, run: engine.current };
}

class RunEngine {
  current: Run;
  private saving: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: ExecuteRunOptions) {
    this.current = options.run;
  }

  async execute(): Promise<ExecuteOutcome> {
    const { clock } = this.options;
    if (this.current.state === 'approved') {
      await this.update(
        (run) => transitionRun(run, 'running', { at: clock.now(), actor: SYSTEM_ACTOR }),
        system({ type: 'run-started' }),
      );
    }
    if (this.current.state === 'aborting') return this.abort();
    if (this.current.state !== 'running') return 'nothing-to-do';

    for (const group of this.current.plan.groups) {
      const pending = group.filter((step) => !FINISHED.has(this.record(step.id).status));
      if (!pending.length) continue;
      if (this.options.shouldStop()) return 'released';
      await this.options.persistence.assertLease();
      const results = await Promise.allSettled(pending.map((step) => this.runStep(step)));
      const leaseLost = results.find((r) => r.status === 'rejected' && r.reason instanceof LeaseLostError);
      if (leaseLost?.status === 'rejected') throw leaseLost.reason;
      const crashed = results.find((r) => r.status === 'rejected');
      if (crashed?.status === 'rejected') throw crashed.reason;
      const failed = pending.filter((step) => this.record(step.id).status === 'failed');
      if (failed.length) {
        const reason = failed.map((step) => `${step.id}: ${this.record(step.id).error}`).join('; ');
        await this.update(
          (run) => transitionRun(run, 'paused', { at: clock.now(), actor: SYSTEM_ACTOR, reason }),
          system({ type: 'run-paused', reason }),
        );
        return 'paused';
      }
    }
    await this.update(
      (run) =>
        transitionRun(run, 'succeeded', { at: clock.now(), actor: SYSTEM_ACTOR, reason: recoveryText(run) }),
      system({ type: 'run-succeeded', summary: recoveryText(this.current) }),
    );
    return 'succeeded';
  }

  private record(id: StepId): StepRecord {
    return this.current.steps[id] ?? { id, status: 'pending', attempts: 0 };
  }

  /** Saves are serialized: steps of one group finish concurrently but the run record has one writer. */
  private update(change: (run: Run) => Run, audit: AuditEvent): Promise<Run> {
    const next = this.saving.then(async () => {
      const saved = await this.options.persistence.save(change(this.current), audit);
      this.current = saved;
      this.notify();
      return saved;
    });
    this.saving = next.catch(() => undefined);
    return next;
  }

  private notify(): void {
    try {
      this.options.onChange?.(this.current);
    } catch (error) {
      this.options.log.warn({ err: describeError(error) }, 'progress notification failed');
    }
  }

  private patchStep(id: StepId, patch: Partial<StepRecord>, timeline?: string): (run: Run) => Run {
    const at = this.options.clock.now();
    return (run) => ({
      ...run,
      updatedAt: at,
      steps: {
        ...run.steps,
        [id]: { ...(run.steps[id] ?? { id, status: 'pending', attempts: 0 }), ...patch },
      },
      timeline: timeline ? [...run.timeline, { at, event: timeline }] : run.timeline,
    });
  }

  private context(step: PlannedStep, signal: AbortSignal): StepContext {
    const { site, clock, settings, log } = this.options;
    const ports = guardPorts(this.options.ports, signal);
    const record = () => this.record(step.id);
    const save = async (progress: Record<string, unknown>) => {
      // A timed-out attempt may still be running; it must not record progress for the attempt after it.
      signal.throwIfAborted();
      await this.options.persistence.assertLease();
      await this.update(
        this.patchStep(step.id, { progress }),
        system({ type: 'step-progress', step: step.id }),
      );
    };
    const announce = async (event: StepEvent) => {
      signal.throwIfAborted();
      await this.update(
        (run) => ({
          ...run,
          updatedAt: clock.now(),
          timeline: [...run.timeline, { at: clock.now(), event: event.kind, detail: event.text }],
        }),
        system({ type: event.kind, text: event.text }),
      );
    };
    return {
      site,
      run: this.current,
      ports,
      clock,
      signal,
      settings,
      log: log.child({ step: step.id }),
      get progress() {
        return record().progress ?? {};
      },
      checkpoint: save,
      outputOf: (id) => {
        const other = this.current.steps[id];
        if (!other || other.status === 'pending' || other.status === 'skipped') return undefined;
        return { ...other.progress, ...other.output };
      },
      passPointOfNoReturn: async (progress, what) => {
        signal.throwIfAborted();
        await this.options.persistence.assertLease();
        await this.update(
          this.patchStep(step.id, { progress: { ...progress, [POINT_OF_NO_RETURN_KEY]: clock.now() } }, what),
          system({ type: 'point-of-no-return', step: step.id, what }),
        );
      },
      openFenceDebt: async (parts) => {
        signal.throwIfAborted();
        const run = this.current;
        await this.options.persistence.openFenceDebt({
          site: run.site,
          cluster: run.from,
          runId: run.id,
          since: clock.now(),
          ...parts,
        });
        const what = [parts.database && 'database', parts.workloads && 'workloads']
          .filter(Boolean)
          .join(' and ');
        await announce({
          kind: 'fence-debt-opened',
          text: `${run.site}: ${run.from}'s ${what} not fenced (${parts.reason}). Baton fences ${run.from} the moment it answers; failback waits until then`,
        });
      },
      announce,
    };
  }

  private async runStep(step: PlannedStep): Promise<void> {
    const { clock, log, steps } = this.options;
    const definition = steps[step.id];
    const startedAt = this.record(step.id).startedAt ?? clock.now();
    for (let attempt = 0; ; attempt += 1) {
      await this.options.persistence.assertLease();
      const attempts = this.record(step.id).attempts + 1;
      // One save per attempt (state, start time and attempt count together): every save waits for an fsync.
      await this.update(
        this.patchStep(step.id, {
          status: 'running',
          startedAt,
          attempts,
          ...(attempt === 0 && { error: undefined }),
        }),
        attempt === 0
          ? system({ type: 'step-started', step: step.id })
          : system({ type: 'step-attempt', step: step.id, attempt: attempts }),
      );
      try {
        const output = await this.withTimeout(step, async (signal) => {
          const ctx = this.context(step, signal);
          if (await definition.isDone(ctx)) return { alreadyDone: true };
          return (await definition.apply(ctx)) ?? {};
        });
        await this.update(
          this.patchStep(
            step.id,
            { status: 'succeeded', finishedAt: clock.now(), output },
            `${step.id} succeeded`,
          ),
          system({ type: 'step-succeeded', step: step.id }),
        );
        return;
      } catch (error) {
        if (error instanceof LeaseLostError) throw error;
        const retriable = !(error instanceof BatonError) || error.retriable;
        const message = describeError(error);
        const code = error instanceof BatonError ? error.code : 'step-error';
        if (!retriable || attempt >= step.retries) {
          await this.update(
            this.patchStep(
              step.id,
              { status: 'failed', finishedAt: clock.now(), error: message, errorCode: code },
              `${step.id} failed: ${message}`,
            ),
            system({ type: 'step-failed', step: step.id, message }),
          );
          return;
        }
        log.warn({ step: step.id, attempt: attempts, err: message }, 'step failed, retrying');
        await this.update(
          this.patchStep(step.id, { error: message, errorCode: code }),
          system({ type: 'step-retry', step: step.id, message }),
        );
        await clock.sleep(this.backoff(attempt));
      }
    }
  }

  private backoff(attempt: number): number {
    const { baseMs, maxMs } = this.options.backoff ?? { baseMs: 1000, maxMs: 30_000 };
    const random = this.options.random ?? Math.random;
    const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
    return Math.round(ceiling / 2 + (random() * ceiling) / 2);
  }

  /** Races the attempt against its timeout; on timeout the step's signal aborts so its waits stop. */
  private async withTimeout<T>(step: PlannedStep, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const timer = new AbortController();
    const limit = step.timeoutMs < 1000 ? `${step.timeoutMs} ms` : `${Math.round(step.timeoutMs / 1000)} s`;
    const timeout = new BatonError('step-timeout', `${step.title} did not finish within ${limit}`, {
      retriable: true,
    });
    const attempt = work(controller.signal);
    const expired = this.options.clock.sleep(step.timeoutMs, timer.signal).then(async () => {
      controller.abort(timeout);
      // A wait rejects with what it was still waiting for; a call cut off mid-flight takes a moment to notice (its
      // socket closes). Give it that moment, so the operator reads "last seen: …" and not only "did not finish".
      const said = await Promise.race([
        attempt.then(
          () => undefined,
          (error: unknown) => error,
        ),
        this.options.clock.sleep(ABORT_GRACE_MS).then(() => undefined),
      ]);
      if (said instanceof BatonError && said.code === timeout.code) throw said;
      throw timeout;
    });
    try {
      return await Promise.race([attempt, expired]);
    } finally {
      timer.abort();
      expired.catch(() => undefined);
      attempt.catch(() => undefined); // a hung attempt that settles later must not crash the process
    }
  }

  /**
   * Undoes completed (or partly done) reversible steps in reverse order. Once the database has been promoted, the
   * point of no return is behind us and nothing is undone: unfencing the old primary or pulling capacity from the
   * new one would only make things worse.
   */
  private async abort(): Promise<ExecuteOutcome> {
    const { clock, steps } = this.options;
    const ordered = allSteps(this.current.plan);
    const ponr = pastPointOfNoReturn(this.current);
    if (ponr) {
      // Undoing the fence or the scale-up now would leave the new primary without its old side fenced, or without
      // capacity. The run can only finish: it pauses where it stands, and Retry (or Skip) goes on.
      const { from, to } = this.current;
      const reason =
        `Abort refused: ${ponr.title.replace(/ — .*$/, '')} was already requested, so nothing can be undone — ` +
        `${to}'s database is (or is becoming) the primary and ${from} stays fenced. Retry to finish the run.`;
      await this.update(
        (run) => transitionRun(run, 'paused', { at: clock.now(), actor: SYSTEM_ACTOR, reason }),
        system({ type: 'abort-refused', reason }),
      );
      return 'paused';
    }
    const touched = ordered
      .filter(
        (step) => step.reversible && ['succeeded', 'failed', 'running'].includes(this.record(step.id).status),
      )
      .reverse();
    const failures: string[] = [];
    for (const step of touched) {
      if (this.options.shouldStop()) return 'released';
      await this.options.persistence.assertLease();
      const definition: StepDefinition = steps[step.id];
      try {
        await this.withTimeout(step, async (signal) => {
          const ctx = this.context(step, signal);
          if (definition.isUndone && (await definition.isUndone(ctx))) return;
          await definition.undo?.(ctx);
        });
        await this.update(
          this.patchStep(step.id, { status: 'undone' }, `${step.id} undone`),
          system({ type: 'step-undone', step: step.id }),
        );
      } catch (error) {
        if (error instanceof LeaseLostError) throw error;
        const message = describeError(error);
        failures.push(`${step.id}: ${message}`);
        await this.update(
          this.patchStep(
            step.id,
            { status: 'undo-failed', error: message },
            `${step.id} undo failed: ${message}`,
          ),
          system({ type: 'step-undo-failed', step: step.id, message }),
        );
      }
    }
    const to = failures.length ? 'failed' : 'aborted';
    const reason = failures.length
      ? `Abort could not undo ${failures.join('; ')} — restore these by hand`
      : touched.length
        ? `Undid ${touched.map((s) => s.id).join(', ')}`
        : 'Nothing had changed';
    await this.update(
      (run) => transitionRun(run, to, { at: clock.now(), actor: SYSTEM_ACTOR, reason }),
      system({ type: `run-${to}`, reason }),
    );
    return to;
  }
}

/** An event of the worker's own making. */
const system = (event: RunEvent): AuditEvent => ({ event, actor: SYSTEM_ACTOR });

/**
 * The ports as one attempt sees them: once its signal aborts (the attempt timed out), every further call is refused,
 * so an abandoned attempt whose call was in flight cannot go on acting while the run is paused, retried or aborted.
 */
function guardPorts(ports: Ports, signal: AbortSignal): Ports {
  const guard = <P extends object>(port: P): P =>
    new Proxy(port, {
      get(target, key, receiver) {
        const value: unknown = Reflect.get(target, key, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) =>
          signal.aborted ? Promise.reject(signal.reason) : Reflect.apply(value, target, args);
      },
    });
  return {
    cluster: guard(ports.cluster),
    gitops: guard(ports.gitops),
    dns: guard(ports.dns),
    database: guard(ports.database),
    health: guard(ports.health),
  };
}

/** "Recovered in 4 m 12 s" from the first approval (or creation) to now. */
function recoveryText(run: Run): string {
  const last = run.timeline.at(-1)?.at ?? run.updatedAt;
  const started = run.timeline.find((e) => e.event === 'running')?.at ?? run.createdAt;
  const seconds = Math.max(0, Math.round((last - started) / 1000));
  return `Finished in ${seconds >= 60 ? `${Math.floor(seconds / 60)} m ${seconds % 60} s` : `${seconds} s`}`;
}
