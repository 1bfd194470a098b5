/**
 * The run store with Baton's run and step metrics attached. Every change to a run goes through `save` (the worker's
 * step progress, and every command through `mutate`), and a save is a compare-and-set that succeeds exactly once per
 * version, so what is counted here is counted once across all processes, whoever made the change.
 */
import type { Run, StepRecord } from '../core/model.js';
import { STEP_IDS, TERMINAL_STATES } from '../core/model.js';
import { measureRun } from '../core/runs/measure-run.js';
import type { AuditEvent } from '../core/runs/run-event.js';
import type { BatonMetrics, RunOutcome } from '../metrics.js';
import type { Lease } from '../store/run-store.js';
import { RunStore } from '../store/run-store.js';

type Redis = ConstructorParameters<typeof RunStore>[0];

const seconds = (from: number | undefined, to: number | undefined) =>
  from !== undefined && to !== undefined ? (to - from) / 1000 : 0;

export class MeteredRunStore extends RunStore {
  /**
   * When this process started each step's current execution (`<run>/<step>` → ms). The record's own startedAt
   * survives a pause and Retry, so it would count the time people took to decide.
   */
  private readonly executions = new Map<string, number>();

  constructor(
    redis: Redis,
    prefix: string,
    private readonly metrics: Pick<BatonMetrics, 'runFinished' | 'stepFinished' | 'runRecovered'>,
  ) {
    super(redis, prefix);
  }

  override async save(run: Run, audit: AuditEvent, lease?: Lease): Promise<Run> {
    const saved = await super.save(run, audit, lease);
    this.observe(saved, audit);
    return saved;
  }

  override async mutate(
    id: string,
    change: (run: Run) => Run,
    audit: (run: Run) => AuditEvent,
  ): Promise<Run> {
    // The last change computed is the one that was saved (earlier ones lost a version race and were retried).
    let last: { before: Run; after: Run } | undefined;
    const saved = await super.mutate(
      id,
      (before) => {
        const after = change(before);
        last = { before, after };
        return after;
      },
      audit,
    );
    if (last) this.observeSkips(last.before, last.after);
    return saved;
  }

  private observe(run: Run, { event }: AuditEvent): void {
    switch (event.type) {
      case 'step-started':
        this.executions.set(`${run.id}/${event.step}`, run.updatedAt);
        break;
      case 'step-succeeded':
      case 'step-failed': {
        const key = `${run.id}/${event.step}`;
        const record: StepRecord | undefined = run.steps[event.step];
        const started = this.executions.get(key) ?? record?.startedAt;
        this.executions.delete(key);
        const outcome = event.type === 'step-succeeded' ? 'succeeded' : 'failed';
        this.metrics.stepFinished(event.step, outcome, seconds(started, record?.finishedAt ?? run.updatedAt));
        break;
      }
      // The save that makes a run final carries its final event; later saves of a finished run are not counted.
      case 'run-succeeded':
      case 'run-aborted':
      case 'run-failed':
      case 'run-rejected':
      case 'run-cancelled':
      case 'run-expired':
        if (!TERMINAL_STATES.has(run.state)) break;
        this.metrics.runFinished(run.kind, run.state as RunOutcome);
        if (run.state === 'succeeded') this.observeRecovery(run);
        for (const id of STEP_IDS) this.executions.delete(`${run.id}/${id}`);
        break;
    }
  }

  /** The run's measured RTO, from the approval and (for an alert's run) from the alert, once it succeeded. */
  private observeRecovery(run: Run): void {
    const timings = measureRun(run);
    const labels = { site: run.site, kind: run.kind, mode: run.mode };
    if (timings.approvalToVerifiedMs !== null)
      this.metrics.runRecovered({ ...labels, from: 'approval' }, timings.approvalToVerifiedMs / 1000);
    if (timings.alertToVerifiedMs !== null)
      this.metrics.runRecovered({ ...labels, from: 'alert' }, timings.alertToVerifiedMs / 1000);
  }

  private observeSkips(before: Run, after: Run): void {
    for (const [id, record] of Object.entries(after.steps)) {
      if (record.status === 'skipped' && before.steps[id]?.status !== 'skipped')
        this.metrics.stepFinished(id, 'skipped', seconds(record.startedAt, record.finishedAt));
    }
  }
}
