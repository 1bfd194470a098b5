/**
 * A change's status (GetChange), asked once for everyone in this process who waits for it. Sites switched in one
 * batch share its change id, so fifty runs waiting for INSYNC poll one id: they share the request that is queued or
 * on its way, a waiter polling every `pollMs` takes an answer younger than that, and INSYNC, which is final, is
 * remembered. Nothing is ever answered from older news than a waiter's own poll would have brought.
 */
import type { CallOptions, Clock } from '../../core/ports.js';
import { recordChangeStatus } from './change-record-sets.js';
import type { Route53Requests } from './route53-requests.js';

type Status = 'PENDING' | 'INSYNC';

/** INSYNC ids remembered (a run's few, an evacuation's batches); the oldest go first. */
const REMEMBERED = 1000;

export class ChangeStatuses {
  private readonly insync = new Set<string>();
  private readonly latest = new Map<
    string,
    { askedAt: number; answered: boolean; status: Promise<Status> }
  >();

  constructor(
    private readonly requests: Route53Requests,
    private readonly clock: Clock,
  ) {}

  /**
   * The change's status. `maxAgeMs`: an answer to a request made that long ago or less will do (a poller passes its
   * interval); by default only a request not yet answered is shared.
   */
  async status(changeId: string, options: CallOptions & { maxAgeMs?: number } = {}): Promise<Status> {
    if (this.insync.has(changeId)) return 'INSYNC';
    const now = this.clock.now();
    const last = this.latest.get(changeId);
    if (last && (!last.answered || now - last.askedAt <= (options.maxAgeMs ?? 0)))
      return untilAborted(last.status, options.signal);
    const entry = {
      askedAt: now,
      answered: false,
      status: recordChangeStatus(this.requests, changeId, {}),
    };
    this.latest.set(changeId, entry);
    entry.status.then(
      (status) => {
        entry.answered = true;
        if (status === 'INSYNC') this.remember(changeId);
      },
      () => {
        if (this.latest.get(changeId) === entry) this.latest.delete(changeId);
      },
    );
    return untilAborted(entry.status, options.signal);
  }

  private remember(changeId: string): void {
    this.latest.delete(changeId);
    this.insync.add(changeId);
    if (this.insync.size > REMEMBERED) {
      const [oldest] = this.insync;
      if (oldest !== undefined) this.insync.delete(oldest);
    }
  }
}

/**
 * The shared status for one waiter: its own signal ends its wait (the request goes on for the others), and the
 * listener goes once the status is in, so a run polling one signal for minutes adds none.
 */
function untilAborted<T>(status: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return status;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    status.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
