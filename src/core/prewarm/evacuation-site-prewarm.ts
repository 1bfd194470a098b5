/**
 * Pre-warm of one site of a proposed evacuation (DESIGN §6): each site warms as a single proposal would, but its
 * record lives in its own key (store/site-prewarm-store.ts), never on the evacuation — fifty sites saving progress
 * into one optimistically versioned record would lose their races, as fifty preflight results once did.
 *
 * The approval hands each started site's record to its run: it marks the record handed over (a compare-and-set, so
 * a checkpoint pre-warm writes afterwards fails and the change it guards is never made) and creates the run with it,
 * so the run's scale-up-target starts from pre-warm's checkpoint. A site left unstarted is given back. Pure.
 */
import type { Evacuation, EvacuationSite } from '../evacuation/evacuation.js';
import type { Run } from '../model.js';
import type { PrewarmPhase, PrewarmTarget } from './prewarm-phase.js';
import type { Prewarm } from './prewarm-record.js';

/** A site's pre-warm record during an evacuation. */
export interface SitePrewarm {
  /** Absent until pre-warm wrote anything (the approval may hand over a site that never warmed). */
  prewarm?: Prewarm;
  /** When the approval took it for the site's run: from then on pre-warm changes nothing; only a give-back writes. */
  handedOverAt?: number;
  /** Bumped by every save (compare-and-set); the evacuation's table re-renders when it moves. */
  version: number;
}

/** The run-shaped proposal pre-warm acts for: the site's move, as its run will make it. */
export function evacuationPrewarmTarget(evacuation: Evacuation, site: EvacuationSite): PrewarmTarget {
  return {
    id: `${evacuation.id}-${site.site}`,
    kind: evacuation.kind,
    mode: site.mode,
    from: site.from,
    to: site.to,
    force: false,
    segment: 0,
    site: site.site,
    ...(site.preflight && { preflight: site.preflight }),
  };
}

/**
 * Where the site's pre-warm stands. `run` is the site's run once the evacuation started one (null: not read, or not
 * found). A run onto the warmed side owns its pods, handed over or not: they are never given back under it (at worst
 * an Abort leaves them up). Only a run whose target moved elsewhere meanwhile leaves them to be given back.
 */
export function evacuationPrewarmPhase(
  evacuation: Pick<Evacuation, 'state'>,
  site: EvacuationSite,
  record: SitePrewarm | undefined,
  run: Pick<Run, 'to'> | null,
): PrewarmPhase {
  switch (evacuation.state) {
    case 'rejected':
    case 'expired':
      return { phase: 'give-back', because: evacuation.state };
    case 'proposed':
      // A site that had an open run is not started, so never warmed: the open run's own pre-warm owns the target.
      return site.openRun ? { phase: 'off' } : { phase: 'open' };
    case 'approved': {
      if (site.runId) {
        const taken = !record?.prewarm || !run || run.to === record.prewarm.cluster;
        return taken ? { phase: 'left-for-run' } : { phase: 'give-back', because: 'not-started' };
      }
      if (site.notStarted !== undefined) return { phase: 'give-back', because: 'not-started' };
      return { phase: 'deciding' };
    }
  }
}

/**
 * Why a give-back must not scale anything down, if it must not: the warmed side serves the site now, or another run
 * of the site is open (it may be about to take those pods). Both leave the pods up, which is safe; scaling down a
 * side that serves is not. A single proposal needs no such check: it is the site's one open run.
 */
export function whyLeaveWarm(
  evacuationId: string,
  site: string,
  prewarm: Pick<Prewarm, 'cluster'>,
  now: { serving: string | undefined; openRun: Pick<Run, 'id' | 'evacuation'> | null },
): string | null {
  if (now.serving === prewarm.cluster) return `${prewarm.cluster} serves ${site} now — left as it is`;
  if (now.openRun && now.openRun.evacuation !== evacuationId) {
    return `run ${now.openRun.id} of ${site} is open — ${prewarm.cluster} left as it is`;
  }
  return null;
}
