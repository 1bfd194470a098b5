/**
 * Which sites an evacuation moves, from Baton's record of who serves each site now (the same record a single
 * proposal plans from): a failover takes every site `cluster` serves to its other cluster; a failback brings home
 * every site whose home is `cluster` and that is served elsewhere.
 */
import type { ClusterId } from '../../config/topology.js';
import type { RunKind } from '../model.js';

export interface SiteServing {
  site: string;
  homeCluster: ClusterId;
  clusters: readonly ClusterId[];
  /** Who serves it per Baton's record (its home until a run moved it). */
  serving: ClusterId;
}

export interface SiteMove {
  site: string;
  from: ClusterId;
  to: ClusterId;
}

export function selectSites(kind: RunKind, cluster: ClusterId, sites: readonly SiteServing[]): SiteMove[] {
  const moves: SiteMove[] = [];
  for (const s of sites) {
    if (kind === 'failover') {
      if (s.serving !== cluster) continue;
      const to = s.clusters.find((c) => c !== cluster);
      if (to !== undefined) moves.push({ site: s.site, from: cluster, to });
    } else if (s.homeCluster === cluster && s.serving !== cluster) {
      moves.push({ site: s.site, from: s.serving, to: cluster });
    }
  }
  return moves;
}
