/**
 * The deployment's game day pass as periodic work (src/queue/periodic.ts): one job scheduler, whose passes run in
 * any one worker. Passes that overlap, or run in two workers at once, are safe: every move of a drill is a
 * compare-and-set save (src/runs/drill-scheduler.ts).
 */
import type { DrillScheduler } from '../runs/drill-scheduler.js';
import type { PeriodicJob } from './periodic.js';

export const DRILL_SCHEDULER_ID = 'game-days';
/** How often the pass runs: a game day starts at most this late, and its hold ends at most this late. */
export const DRILL_PASS_EVERY_MS = 15_000;

/**
 * The first pass comes one interval after boot, as auto-approval's does: a game day starts at most that late anyway,
 * and a test that drives the passes itself on a FakeClock can push the worker's out of the way entirely.
 */
export function drillJob(scheduler: DrillScheduler, everyMs = DRILL_PASS_EVERY_MS): PeriodicJob {
  return { id: DRILL_SCHEDULER_ID, everyMs, firstAfterMs: everyMs, run: () => scheduler.tick() };
}
