/**
 * One site of a proposed evacuation as a pre-warmed proposal (core/prewarm/evacuation-site-prewarm.ts): its record
 * lives in its own key (store/site-prewarm-store.ts), its state comes from the evacuation. A write is refused once
 * the approval handed the record to the site's run, except the give-back of a site the decision did not start.
 *
 * Fifty sites look at one evacuation every poll: the record (tens of kilobytes with fifty preflights) is read again
 * only when its version moved, and the read is shared by every site in the process.
 */
import type { Evacuation } from '../../core/evacuation/evacuation.js';
import { SYSTEM_ACTOR } from '../../core/model.js';
import type { Clock } from '../../core/ports.js';
import type { SiteConfig } from '../../config/topology.js';
import {
  evacuationPrewarmPhase,
  evacuationPrewarmTarget,
  whyLeaveWarm,
} from '../../core/prewarm/evacuation-site-prewarm.js';
import { prewarmTouched } from '../../core/prewarm/prewarm-phase.js';
import { BatonError } from '../../errors.js';
import type { EvacuationStore } from '../../store/evacuation-store.js';
import type { RunStore } from '../../store/run-store.js';
import type { SitePrewarmStore } from '../../store/site-prewarm-store.js';
import type { PrewarmSource } from './follow-prewarm.js';

/** Reads evacuations, again only when their version moved (one process-wide cache, bounded). */
export class EvacuationReader {
  private readonly cache = new Map<string, Evacuation>();

  constructor(
    private readonly store: EvacuationStore,
    private readonly limit = 64,
  ) {}

  async get(id: string): Promise<Evacuation | null> {
    const version = await this.store.versionOf(id);
    if (version === null) return null;
    const cached = this.cache.get(id);
    if (cached && cached.version === version) return cached;
    const evacuation = await this.store.get(id);
    this.cache.delete(id);
    if (evacuation) this.cache.set(id, evacuation);
    // Oldest first out: the open evacuations are few, and recent.
    for (const key of this.cache.keys()) {
      if (this.cache.size <= this.limit) break;
      this.cache.delete(key);
    }
    return evacuation;
  }
}

export interface EvacuationSourceParts {
  evacuations: EvacuationReader;
  prewarms: SitePrewarmStore;
  runs: RunStore;
  /** The site's home (Baton's serving record is empty until a run moved it). */
  sites: readonly SiteConfig[];
  clock: Clock;
  /** The site's record changed: re-render the evacuation's table. Never awaited. */
  onChange?: (evacuationId: string) => void;
}

export function evacuationPrewarmSource(
  parts: EvacuationSourceParts,
  evacuationId: string,
  siteName: string,
): PrewarmSource {
  const { prewarms, runs, clock } = parts;
  return {
    id: `${evacuationId}:${siteName}`,
    async read() {
      const evacuation = await parts.evacuations.get(evacuationId);
      const site = evacuation?.sites.find((s) => s.site === siteName);
      if (!evacuation || !site) return null;
      const record = await prewarms.get(evacuationId, siteName);
      const run =
        evacuation.state === 'approved' && site.runId && record?.prewarm ? await runs.get(site.runId) : null;
      const phase = evacuationPrewarmPhase(evacuation, site, record, run);
      const prewarm = record?.prewarm;
      const snapshot = { phase, target: evacuationPrewarmTarget(evacuation, site), prewarm };
      if (phase.phase !== 'give-back' || !prewarm || prewarm.released || !prewarmTouched(prewarm)) {
        return snapshot;
      }
      const [served, openRun] = await Promise.all([runs.site(siteName), runs.openRun(siteName)]);
      const home = parts.sites.find((s) => s.name === siteName)?.homeCluster;
      const leaveAlone = whyLeaveWarm(evacuationId, siteName, prewarm, {
        serving: served.serving ?? home,
        openRun,
      });
      return leaveAlone ? { ...snapshot, leaveAlone } : snapshot;
    },
    async record(change, event) {
      await prewarms.mutate(
        evacuationId,
        siteName,
        (current) => {
          if (current?.handedOverAt !== undefined && event.type !== 'prewarm-released') {
            throw new BatonError(
              'not-proposed',
              `evacuation ${evacuationId} handed ${siteName}'s pre-warm to its run`,
            );
          }
          return { ...current, prewarm: change(current?.prewarm) };
        },
        { event, actor: SYSTEM_ACTOR, at: clock.now() },
      );
      parts.onChange?.(evacuationId);
    },
  };
}
