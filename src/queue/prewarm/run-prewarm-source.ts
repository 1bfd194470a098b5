/**
 * A single proposal's pre-warm, kept on its run (`run.prewarm`): each change is a save of the run with its
 * `prewarm-*` audit event, refused once a run worker may be saving the run (an approval hands the record over in the
 * same save that approves it: core/prewarm/hand-over.ts).
 */
import type { Run } from '../../core/model.js';
import { SYSTEM_ACTOR } from '../../core/model.js';
import { runPrewarmPhase } from '../../core/prewarm/prewarm-phase.js';
import { BatonError } from '../../errors.js';
import type { RunStore } from '../../store/run-store.js';
import type { Clock } from '../../core/ports.js';
import type { PrewarmSource } from './follow-prewarm.js';

/** States pre-warm may write its record in: never one a run worker is saving (its saves would conflict). */
const WRITABLE = new Set<Run['state']>(['proposed', 'rejected', 'expired', 'cancelled']);

export function runPrewarmSource(
  options: { store: RunStore; clock: Clock; onChange?: (run: Run) => void },
  runId: string,
): PrewarmSource {
  const { store, clock } = options;
  return {
    id: runId,
    async read() {
      const run = await store.get(runId);
      return run && { phase: runPrewarmPhase(run), target: run, prewarm: run.prewarm };
    },
    async record(change, event) {
      const saved = await store.mutate(
        runId,
        (current) => {
          if (!WRITABLE.has(current.state)) {
            throw new BatonError(
              'not-proposed',
              `run ${runId} is ${current.state}; pre-warm leaves it to the run`,
            );
          }
          return { ...current, prewarm: change(current.prewarm), updatedAt: clock.now() };
        },
        () => ({ event, actor: SYSTEM_ACTOR }),
      );
      options.onChange?.(saved);
    },
  };
}
