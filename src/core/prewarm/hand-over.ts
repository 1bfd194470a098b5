/**
 * An approval hands pre-warm's record to the run (DESIGN §6, "a proposal that ends any other way leaves them for the
 * run"): the scale-up-target step starts with pre-warm's checkpoint as its own progress. It then finds the pods Ready
 * (`isDone`), and an Abort undoes it back to what pre-warm found (replica counts, HPA ranges), not merely to
 * `standbyReplicas` with the HPAs still held. Pre-warm writes no checkpoint once the run is approved, so the record
 * handed over covers every change it made.
 */
import type { Run } from '../model.js';

export function handOverPrewarm(run: Run): Run['steps'] {
  const step = run.steps['scale-up-target'];
  if (!run.prewarm || run.prewarm.released || !step || run.prewarm.cluster !== run.to) return run.steps;
  const { before, autoscalersBefore } = run.prewarm.progress;
  if (before === undefined && autoscalersBefore === undefined) return run.steps;
  return {
    ...run.steps,
    'scale-up-target': {
      ...step,
      progress: {
        ...(before !== undefined && { before }),
        ...(autoscalersBefore !== undefined && { autoscalersBefore }),
        ...step.progress,
      },
    },
  };
}
