/**
 * The rows of an evacuation's live table: per site, where it is (its current step) and its state, from the site's
 * run once one was started, from the proposal before — with the site's pre-warm while proposed, and once given back.
 */
import type { Run, StepStatus } from '../model.js';
import { allSteps } from '../model.js';
import type { SitePrewarm } from '../prewarm/evacuation-site-prewarm.js';
import type { Prewarm } from '../prewarm/prewarm-record.js';
import type { Evacuation, EvacuationSite } from './evacuation.js';
import { isSiteReady } from './evacuation.js';

export interface EvacuationRow {
  site: string;
  from: string;
  to: string;
  /** The step the run is at (running, else the last that ended), '' before it starts. */
  step: string;
  /** A run state, or what the proposal says: `preflight…`, `ready`, `not ready`, `open run r3`, `not started`. */
  state: string;
  runId?: string;
  /** Why: the run's stateReason, or the reason no run was started. */
  detail?: string;
  /** The site's pre-warm, while the evacuation is proposed, or once it was given back (no run took it). */
  prewarm?: Prewarm;
}

const ENDED: ReadonlySet<StepStatus> = new Set(['succeeded', 'failed', 'skipped', 'undone', 'undo-failed']);

/** The step a run is at: the first running one, else the last one that ended. */
export function currentStep(run: Run): string {
  const steps = allSteps(run.plan);
  const running = steps.find((s) => run.steps[s.id]?.status === 'running');
  if (running) return running.id;
  const ended = steps.filter((s) => ENDED.has(run.steps[s.id]?.status ?? 'pending'));
  return ended[ended.length - 1]?.id ?? '';
}

function proposalState(site: EvacuationSite): string {
  if (site.openRun) return `open run ${site.openRun}`;
  if (!site.preflight) return 'preflight…';
  return isSiteReady(site) ? 'ready' : 'not ready';
}

/** `prewarms`: each site's pre-warm record, by site (none: no pre-warm shown). */
export function evacuationRows(
  evacuation: Evacuation,
  runs: ReadonlyMap<string, Run>,
  prewarms: ReadonlyMap<string, SitePrewarm> = new Map(),
): EvacuationRow[] {
  return evacuation.sites.map((site) => {
    const base = { site: site.site, from: site.from, to: site.to };
    const prewarm = prewarms.get(site.site)?.prewarm;
    const runId = site.runId ?? site.openRun;
    const run = runId ? runs.get(runId) : undefined;
    if (run && (site.runId || evacuation.state !== 'proposed')) {
      return {
        ...base,
        step: currentStep(run),
        state: run.state,
        runId: run.id,
        ...(run.stateReason && { detail: run.stateReason }),
      };
    }
    if (evacuation.state === 'proposed') {
      return { ...base, step: '', state: proposalState(site), ...(prewarm && !site.openRun && { prewarm }) };
    }
    return {
      ...base,
      step: '',
      state: evacuation.state === 'approved' ? 'not started' : evacuation.state,
      ...(site.notStarted && { detail: site.notStarted }),
      ...(prewarm?.released && { prewarm }),
    };
  });
}

/** A version of everything the table shows: it only grows, so a stale render can be told from a fresh one. */
export function tableStamp(
  evacuation: Evacuation,
  runs: ReadonlyMap<string, Run>,
  prewarms: ReadonlyMap<string, SitePrewarm> = new Map(),
): number {
  let stamp = evacuation.version;
  for (const run of runs.values()) stamp += run.version;
  for (const record of prewarms.values()) stamp += record.version;
  return stamp;
}
