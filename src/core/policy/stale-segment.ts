/**
 * Stale clicks. A run's buttons carry its execution segment (bumped by approve, retry, skip, accepting the
 * split-brain risk and abort), and a Retry, Skip, Abort or Accept-risk that names another segment than the run's
 * current one was decided on a message the run has moved on from: it is refused. The segment, not the run's
 * `version`: the version changes on every progress save, so a click racing a step's progress would be refused for
 * nothing, while the segment changes only when someone (or something) decided what the run does next.
 */
import type { Actor, Run, TimelineEntry } from '../model.js';

/** What started a segment, by the `running` transition's reason. */
const RESUMED_BY: Readonly<Record<string, string>> = {
  retry: 'retried',
  skip: 'step skipped',
  'split-brain risk accepted': 'split-brain risk accepted',
};

/** The timeline entry that started the run's current segment, and what it did, e.g. `retried`. */
export function segmentStart(run: Pick<Run, 'timeline'>): { entry: TimelineEntry; verb: string } | undefined {
  for (let i = run.timeline.length - 1; i >= 0; i -= 1) {
    const entry = run.timeline[i];
    if (!entry) continue;
    if (entry.event === 'approved') return { entry, verb: 'approved' };
    if (entry.event === 'aborting') return { entry, verb: 'abort asked' };
    const resumed = entry.event === 'running' && entry.detail ? RESUMED_BY[entry.detail] : undefined;
    if (resumed) return { entry, verb: resumed };
  }
  return undefined;
}

/** `now paused, retried by U0BOB`: where the run is and who moved it on, with actors shown by `actorText`. */
export function movedOnText(
  run: Pick<Run, 'timeline' | 'state'>,
  format: { state: (state: string) => string; actor: (actor: Actor) => string },
): string {
  const start = segmentStart(run);
  const by = start?.entry.actor ? ` by ${format.actor(start.entry.actor)}` : '';
  return `now ${format.state(run.state)}${start ? `, ${start.verb}${by}` : ''}`;
}

/** Whether a command decided on a message showing `expectedSegment` is stale (undefined: an old message, never). */
export const isStaleSegment = (run: Pick<Run, 'segment'>, expectedSegment: number | undefined): boolean =>
  expectedSegment !== undefined && expectedSegment !== run.segment;
