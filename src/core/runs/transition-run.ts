import { BatonError } from '../../errors.js';
import type { Actor, Run, RunState } from '../model.js';
import { TERMINAL_STATES } from '../model.js';
import { handOverPrewarm } from '../prewarm/hand-over.js';

/** Every legal move of the run state machine (DESIGN §5). Anything else is refused. */
const TRANSITIONS: Readonly<Record<RunState, readonly RunState[]>> = {
  proposed: ['approved', 'rejected', 'expired', 'cancelled'],
  approved: ['running', 'cancelled', 'failed'],
  running: ['succeeded', 'paused', 'failed', 'aborting'],
  paused: ['running', 'aborting', 'failed'],
  // paused: Abort arrived after the point of no return; nothing is undone and the run can only go on.
  aborting: ['aborted', 'failed', 'paused'],
  succeeded: [],
  rejected: [],
  expired: [],
  cancelled: [],
  failed: [],
  aborted: [],
};

export function canTransition(from: RunState, to: RunState): boolean {
  return TRANSITIONS[from].includes(to);
}

export const isTerminal = (state: RunState): boolean => TERMINAL_STATES.has(state);

/** Returns a new run in state `to`, with a timeline entry; throws `illegal-transition` otherwise. */
export function transitionRun(
  run: Run,
  to: RunState,
  change: { at: number; actor?: Actor; reason?: string },
): Run {
  if (!canTransition(run.state, to)) {
    const allowed = TRANSITIONS[run.state];
    throw new BatonError(
      'illegal-transition',
      `Run ${run.id} is ${run.state}; it cannot become ${to}` +
        (allowed.length ? ` (it can become: ${allowed.join(', ')})` : ' (it is finished)'),
    );
  }
  const entry = { at: change.at, event: to, ...(change.actor && { actor: change.actor }) };
  return {
    ...run,
    ...(to === 'approved' && { steps: handOverPrewarm(run) }),
    state: to,
    updatedAt: change.at,
    stateReason: change.reason,
    timeline: [...run.timeline, change.reason ? { ...entry, detail: change.reason } : entry],
  };
}
