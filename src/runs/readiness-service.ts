/**
 * `/failover readiness [site]` (DESIGN §2): the last continuous readiness evaluation of each site and its age, read
 * from the readiness store; nothing is evaluated on the Slack request path (the worker's readiness job does that,
 * every `readiness.interval`).
 */
import type { Topology } from '../config/topology.js';
import { readinessIntervalOf } from '../config/topology.js';
import type { Clock } from '../core/ports.js';
import type { ReadinessEvaluation } from '../core/readiness/readiness-types.js';
import { BatonError } from '../errors.js';
import { readinessTickMs } from '../queue/readiness-job.js';
import type { ReadinessStore } from '../store/readiness-store.js';

/** What `/failover readiness` shows of one site. */
export interface SiteReadiness {
  site: string;
  homeCluster: string;
  /** The last evaluation; null before the first one. */
  evaluation: ReadinessEvaluation | null;
  /** The site's interval, and when its next evaluation is due (the first: within a tick of a worker running). */
  intervalMs: number;
  nextDueAt: number;
  /** Since when the channel has been told the site is not ready. */
  redSince?: number;
}

export class ReadinessService {
  constructor(
    private readonly deps: {
      readiness: Pick<ReadinessStore, 'last'>;
      topology: Topology;
      clock: Clock;
    },
  ) {}

  /** The readiness of `site`, or of every site. */
  async view(site?: string): Promise<SiteReadiness[]> {
    const { topology, clock } = this.deps;
    const sites = site === undefined ? topology.sites : topology.sites.filter((s) => s.name === site);
    if (!sites.length) throw new BatonError('unknown-site', `site ${site ?? ''} is not in the topology`);
    const now = clock.now();
    return Promise.all(
      sites.map(async (s) => {
        const record = await this.deps.readiness.last(s.name);
        const intervalMs = readinessIntervalOf(topology, s);
        return {
          site: s.name,
          homeCluster: s.homeCluster,
          evaluation: record?.evaluation ?? null,
          intervalMs,
          nextDueAt: record ? record.evaluation.at + intervalMs : now + readinessTickMs(topology),
          ...(record?.redSince !== undefined && { redSince: record.redSince }),
        };
      }),
    );
  }
}
