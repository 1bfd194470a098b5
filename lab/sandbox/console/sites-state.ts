/**
 * The page's list of sites (a sandbox started with `--sites N`): each site's record and the cluster DNS answers it
 * with now, read from outside as a user's resolver would, so an evacuation shows site by site as it lands.
 */
import type { Lab } from '../start-lab.js';
import { sharedForMs } from '../world-view.js';

export interface SiteState {
  name: string;
  record: string;
  home: string;
  /** The cluster whose addresses DNS answers for the record now (null: no answer, or neither's). */
  servedBy: string | null;
}

/** Reads every site's DNS at most once a second, whatever the number of open pages. */
export function sitesState(lab: Pick<Lab<never>, 'topology' | 'servedBy'>): () => Promise<SiteState[]> {
  return sharedForMs(
    () =>
      Promise.all(
        lab.topology.sites.map(async (site) => ({
          name: site.name,
          record: site.dns.recordName,
          home: site.homeCluster,
          servedBy: await lab.servedBy(site.name).catch(() => null),
        })),
      ),
    1000,
  );
}
