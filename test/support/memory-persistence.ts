/**
 * An in-memory RunPersistence for unit tests of the run engine: the same contract as the Redis store (optimistic
 * version, JSON round trip, lease), without Redis. It can be told to lose its lease after a number of saves or
 * lease checks, or when a save matches a predicate (a worker that crashes right after that write).
 */
import type { FenceDebt, Run } from '../../src/core/model.js';
import type { RunPersistence } from '../../src/core/runs/execute-run.js';
import type { AuditEvent } from '../../src/core/runs/run-event.js';
import { describeEvent } from '../../src/core/runs/run-event.js';
import { LeaseLostError } from '../../src/core/runs/execute-run.js';
import { BatonError } from '../../src/errors.js';

export interface MemoryPersistenceOptions {
  /** Saves 1..N succeed; from then on every save and lease check throws LeaseLostError. */
  leaseLostAfterSaves?: number;
  /** Lease checks 1..N succeed; from then on every save and lease check throws LeaseLostError. */
  leaseLostAfterChecks?: number;
  /** After a save for which this is true is stored, the lease is lost (the write landed, then the worker died). */
  loseLeaseWhen?: (run: Run, audit: AuditEvent) => boolean;
}

export interface SavedRun {
  run: Run;
  audit: AuditEvent;
}

/** Redis stores runs as JSON: undefined properties vanish and nothing is shared with the caller. */
const roundTrip = (run: Run): Run => JSON.parse(JSON.stringify(run)) as Run;

export class MemoryPersistence implements RunPersistence {
  readonly saves: SavedRun[] = [];
  /** Fence debts opened, in order (the store merges them per site). */
  readonly fenceDebts: FenceDebt[] = [];
  leaseChecks = 0;
  private stored: Run;
  private lost = false;

  constructor(
    initial: Run,
    private readonly options: MemoryPersistenceOptions = {},
  ) {
    this.stored = roundTrip(initial);
  }

  /** The run as last stored. */
  get current(): Run {
    return roundTrip(this.stored);
  }

  /** The audit actions of every stored save, in order, e.g. `step-started preflight`. */
  get auditTrail(): string[] {
    return this.saves.map(({ audit: { event } }) => {
      const detail = describeEvent(event);
      return detail ? `${event.type} ${detail}` : event.type;
    });
  }

  /** Another worker took the run over. */
  loseLease(): void {
    this.lost = true;
  }

  get leaseLost(): boolean {
    return this.hasLostLease();
  }

  async save(run: Run, audit: AuditEvent): Promise<Run> {
    if (this.hasLostLease()) throw new LeaseLostError(run.id);
    if (run.version !== this.stored.version) {
      throw new BatonError(
        'run-conflict',
        `run ${run.id} is at version ${this.stored.version}, the save was based on ${run.version}`,
        { retriable: true },
      );
    }
    const next = roundTrip({ ...run, version: run.version + 1 });
    this.stored = next;
    this.saves.push({ run: roundTrip(next), audit });
    if (this.options.loseLeaseWhen?.(next, audit)) this.lost = true;
    return roundTrip(next);
  }

  async openFenceDebt(debt: FenceDebt): Promise<void> {
    if (this.hasLostLease()) throw new LeaseLostError(debt.runId);
    this.fenceDebts.push(debt);
  }

  async assertLease(): Promise<void> {
    const { leaseLostAfterChecks } = this.options;
    if (leaseLostAfterChecks !== undefined && this.leaseChecks >= leaseLostAfterChecks) this.lost = true;
    this.leaseChecks += 1;
    if (this.hasLostLease()) throw new LeaseLostError(this.stored.id);
  }

  private hasLostLease(): boolean {
    const { leaseLostAfterSaves } = this.options;
    if (leaseLostAfterSaves !== undefined && this.saves.length >= leaseLostAfterSaves) this.lost = true;
    return this.lost;
  }
}
