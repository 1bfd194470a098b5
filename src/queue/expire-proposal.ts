import { SYSTEM_ACTOR } from '../core/model.js';
import type { Run } from '../core/model.js';
import { transitionRun } from '../core/runs/transition-run.js';
import { BatonError } from '../errors.js';
import type { RunStore } from '../store/run-store.js';

/**
 * Marks a proposal past its expiry as expired, which also frees its site. Returns null when the run is not a due
 * proposal (any more): checked inside the atomic save, so a late approval and the expiry cannot both win.
 */
export async function expireIfDue(store: RunStore, runId: string, now: number): Promise<Run | null> {
  try {
    return await store.mutate(
      runId,
      (run) => {
        if (run.state !== 'proposed' || run.expiresAt === undefined || now < run.expiresAt) {
          throw new BatonError('not-due', `run ${runId} is not a due proposal`);
        }
        return transitionRun(run, 'expired', { at: now, reason: 'no decision before expiry' });
      },
      () => ({ event: { type: 'run-expired' }, actor: SYSTEM_ACTOR }),
    );
  } catch (error) {
    if (error instanceof BatonError && error.code === 'not-due') return null;
    throw error;
  }
}
