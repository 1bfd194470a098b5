import type { PlannedStep, Run } from '../model.js';
import { allSteps } from '../model.js';

/** The progress key that marks a point-of-no-return step as crossed (StepContext.passPointOfNoReturn). */
export const POINT_OF_NO_RETURN_KEY = 'pointOfNoReturnAt';

/** Whether a run has crossed the point of no return, by what it persisted: the step succeeded or asked to cross. */
export function pastPointOfNoReturn(run: Pick<Run, 'plan' | 'steps'>): PlannedStep | undefined {
  return allSteps(run.plan).find((step) => {
    if (!step.pointOfNoReturn) return false;
    const record = run.steps[step.id];
    return record?.status === 'succeeded' || record?.progress?.[POINT_OF_NO_RETURN_KEY] !== undefined;
  });
}
