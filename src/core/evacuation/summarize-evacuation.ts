/**
 * Whether an approved evacuation has come to rest, and what its one closing summary says: how many sites serve from
 * the target now, which sites need a person and what to do next, and the spread of their recovery times.
 *
 * When it is posted (the choice): once no site's run is still going (approved, running, aborting) — every site has
 * ended, is paused, or was never started (with its reason). `paused` is not terminal, but a paused run waits for a
 * person and nothing else will move it: the commander needs the summary then, with the paused sites first under
 * "Needs you", not when the last Retry or Abort comes. The summary is one message, edited in place: a paused site
 * that ends later turns it into "finished"; a Retry that sets a site running again shows as "running again" (the
 * publisher edits the message only if it was posted already, so nothing is posted while the evacuation first runs).
 * The recovery time is the runs' own measure (`measureRun`, as their reports and metrics give it): last approval →
 * verify succeeded.
 */
import type { Run, RunKind, RunState } from '../model.js';
import { allSteps } from '../model.js';
import { measureRun } from '../runs/measure-run.js';
import type { Evacuation } from './evacuation.js';
import { currentStep } from './evacuation-table.js';

/** How a run that did not bring its site over stands: paused, or how it ended. */
export type StoppedState = Exclude<RunState, 'proposed' | 'approved' | 'running' | 'aborting' | 'succeeded'>;

/** A site that needs a person: its run stopped short of serving from the target, or no run was started. */
export type SiteNeedingYou =
  | {
      site: string;
      state: StoppedState;
      runId: string;
      /** Where it stopped ('' when no step ran). */
      step: string;
    }
  | { site: string; state: 'not-started'; reason: string };

export interface RtoSpread {
  /** Sites whose run verified (the rest have no recovery time). */
  sites: number;
  minMs: number;
  medianMs: number;
  maxMs: number;
}

export interface EvacuationSummary {
  id: string;
  kind: RunKind;
  /** Where the sites moved from and to: `east`, or `east, north` when the sites differ. */
  from: string;
  to: string;
  /** finished: every run ended; waiting: none runs, some are paused; running: a site runs again after a Retry. */
  state: 'finished' | 'waiting' | 'running';
  sites: number;
  /** Sites whose run succeeded: they serve from the target. */
  moved: number;
  /** In the order a person should look at them: paused first, then failed, aborted, cancelled, not started. */
  needsYou: SiteNeedingYou[];
  /** Sites whose run is going again. */
  running: { site: string; runId: string; step: string }[];
  /** Approval → verified over the runs that verified; null when none did. */
  rto: RtoSpread | null;
}

const GOING: ReadonlySet<RunState> = new Set(['proposed', 'approved', 'running', 'aborting']);
const isStopped = (state: RunState): state is StoppedState => state !== 'succeeded' && !GOING.has(state);

const URGENCY: Readonly<Record<SiteNeedingYou['state'], number>> = {
  paused: 0,
  failed: 1,
  aborted: 2,
  cancelled: 3,
  rejected: 4,
  expired: 4,
  'not-started': 5,
};

/**
 * Where a stopped run stopped: its failed step; else (an abort undid it) the step its timeline last saw fail; else
 * the step it was at ('' when none ran: cancelled before it started).
 */
function stoppedAt(run: Run): string {
  const steps = allSteps(run.plan).map((s) => s.id);
  const failed = steps.find((id) => run.steps[id]?.status === 'failed');
  if (failed) return failed;
  const seen = run.timeline.findLast((e) => steps.some((id) => e.event.startsWith(`${id} failed`)));
  return steps.find((id) => seen?.event.startsWith(`${id} failed`)) ?? currentStep(run);
}

function spread(values: number[]): RtoSpread | null {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return null;
  const middle = Math.floor(n / 2);
  const median =
    n % 2 === 1 ? (sorted[middle] ?? 0) : Math.round(((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2);
  return { sites: n, minMs: sorted[0] ?? 0, medianMs: median, maxMs: sorted[n - 1] ?? 0 };
}

const joined = (values: readonly string[]): string => [...new Set(values)].join(', ');

/**
 * The evacuation's closing summary from the evacuation and its sites' runs (keyed by run id), or null when there is
 * nothing to sum up yet: not approved, a site neither started nor given its reason (the starting is under way), or a
 * site's run not readable.
 */
export function summarizeEvacuation(
  evacuation: Evacuation,
  runs: ReadonlyMap<string, Run>,
): EvacuationSummary | null {
  if (evacuation.state !== 'approved') return null;
  let moved = 0;
  const needsYou: SiteNeedingYou[] = [];
  const running: EvacuationSummary['running'] = [];
  const recovered: number[] = [];
  for (const site of evacuation.sites) {
    if (!site.runId) {
      if (site.notStarted === undefined) return null;
      needsYou.push({ site: site.site, state: 'not-started', reason: site.notStarted });
      continue;
    }
    const run = runs.get(site.runId);
    if (!run) return null;
    const rto = measureRun(run).approvalToVerifiedMs;
    if (rto !== null) recovered.push(rto);
    if (run.state === 'succeeded') moved += 1;
    else if (isStopped(run.state))
      needsYou.push({ site: site.site, state: run.state, runId: run.id, step: stoppedAt(run) });
    else running.push({ site: site.site, runId: run.id, step: currentStep(run) });
  }
  needsYou.sort((a, b) => URGENCY[a.state] - URGENCY[b.state]);
  // Paused is the one stopped state that is not terminal.
  const paused = needsYou.some((s) => s.state === 'paused');
  return {
    id: evacuation.id,
    kind: evacuation.kind,
    from: joined(evacuation.sites.map((s) => s.from)),
    to: joined(evacuation.sites.map((s) => s.to)),
    state: running.length ? 'running' : paused ? 'waiting' : 'finished',
    sites: evacuation.sites.length,
    moved,
    needsYou,
    running,
    rto: spread(recovered),
  };
}
