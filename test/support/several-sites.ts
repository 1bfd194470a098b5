/**
 * Topologies with many sites for evacuation tests: the example site copied under other names, each with its own DNS
 * record and health URLs, as a Topology in memory or as a topology file that `baton` processes load.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { EXAMPLE_TOPOLOGY } from '../../lab/sandbox/start-lab.js';

/** What {@link siteNamed} changes: the same fields in the topology file and in the normalized SiteConfig. */
interface NamedSite {
  name: string;
  homeCluster: string;
  clusters: Record<string, { healthUrl: string }>;
  dns: { recordName: string };
  alerts?: unknown;
}

/**
 * `site` as `name` served by `home`, with its own DNS record and health URLs, and the DESIGN §3 evacuation rule.
 * Works on a SiteConfig and on a site of the topology file alike.
 */
export function siteNamed<S extends NamedSite>(site: S, name: string, home: string): S {
  // A copy of `site` with only NamedSite's fields changed, so still an S.
  return {
    ...site,
    name,
    homeCluster: home,
    clusters: Object.fromEntries(
      Object.entries(site.clusters).map(([id, c]) => [
        id,
        { ...c, healthUrl: `https://${name}-${id}.example.com/health` },
      ]),
    ),
    dns: { ...site.dns, recordName: `${name}.example.com` },
    alerts: [{ match: { alertname: 'ClusterDown', cluster: 'east' }, action: 'propose-evacuation' }],
  } as S;
}

/**
 * Writes the example topology plus a database-less copy of its site for each of `names`, served by east, to a new
 * file in the temporary directory; returns its path.
 */
export async function writeSeveralSitesTopology(names: readonly string[]): Promise<string> {
  // The file as written, not the normalized Topology: that is what a `baton` process is given.
  const file = parse(await readFile(EXAMPLE_TOPOLOGY, 'utf8')) as {
    sites: (NamedSite & { database?: unknown })[];
  };
  const [base] = file.sites;
  if (!base) throw new Error('the example topology has no site');
  for (const name of names) {
    const site = siteNamed(base, name, 'east');
    delete site.database;
    file.sites.push(site);
  }
  const path = join(await mkdtemp(join(tmpdir(), 'baton-sites-')), 'baton.yaml');
  await writeFile(path, stringify(file));
  return path;
}
