/**
 * More sites in the lab (`startLab({ sites: N })`, `npm run sandbox -- --sites N`): sites 2..N, `app-02`…, each
 * served by east with west standby, database-less, with its own namespace on both clusters (a `web` Deployment sized
 * as the example's), a health path of its own on each cluster's health server, and a record `app-NN.<zone>` in the
 * example's hosted zone with the example's DNS strategy and load balancers: one cluster's ingress load balancer
 * serves every site's hostname, and one zone holds every record, so an evacuation changes many records in one zone.
 */
import type { StandInWorkload } from '../kubernetes/api-server/types.js';

/** The most sites a lab runs (the example site included): enough for a benchmark, few enough for one machine. */
export const MAX_SITES = 50;

/** The example's `web`: 5 replicas serving, 1 on the standby. */
const WEB = { kind: 'Deployment', name: 'web', replicas: 5, standbyReplicas: 1 } as const;

/** Site `n` (2…MAX_SITES) as `app-02`: zero-padded so the names sort in order. */
export const extraSiteName = (n: number): string => `app-${String(n).padStart(2, '0')}`;

/** Whether `value` is a site count the lab accepts, or the sentence that says why not. */
export function checkSiteCount(value: number, asTyped: string = String(value)): string | null {
  if (Number.isInteger(value) && value >= 1 && value <= MAX_SITES) return null;
  return `the number of sites must be a whole number from 1 to ${MAX_SITES}, got ${asTyped}`;
}

/**
 * Ready nodes per cluster for `sites` sites: the example's 3, more when every site's serving replicas would not fit
 * on them, so that an evacuation of east fits on west (Baton's capacity gate sums the pods' requests, and the
 * stand-in's pods request 100m CPU on 4-CPU nodes; ~30 pods a node leaves headroom).
 */
export function nodesFor(sites: number, servingPodsOfTheExample: number): number {
  const pods = servingPodsOfTheExample + (sites - 1) * WEB.replicas;
  return Math.max(3, Math.ceil(pods / 30));
}

/** The example site's entry as the topology file writes it (the parts this reads). */
export interface ExampleSiteEntry {
  clusters: Record<string, { kubeContext?: string; healthUrl: string }>;
  dns: Record<string, unknown> & { recordName: string };
  checks?: Record<string, unknown>;
}

/**
 * The `sites` entries to append to the example topology, given the example site's entry as the file writes it: its
 * `dns` (zone, strategy, set identifiers, load balancer targets) is reused as written; only the record name changes.
 */
export function extraSiteEntries(count: number, example: ExampleSiteEntry): Record<string, unknown>[] {
  const problem = checkSiteCount(count);
  if (problem) throw new Error(problem);
  const zone = example.dns.recordName.replace(/\.$/, '').split('.').slice(1).join('.');
  const entries: Record<string, unknown>[] = [];
  for (let n = 2; n <= count; n += 1) {
    const name = extraSiteName(n);
    entries.push({
      name,
      homeCluster: 'east',
      clusters: Object.fromEntries(
        Object.entries(example.clusters).map(([id, cluster]) => [
          id,
          { ...cluster, healthUrl: sitePath(cluster.healthUrl, name) },
        ]),
      ),
      workloads: [{ namespace: name, ...WEB }],
      dns: { ...structuredClone(example.dns), recordName: `${name}.${zone}` },
      ...(example.checks && { checks: { ...example.checks } }),
    });
  }
  return entries;
}

/** `http://h:p/health` → `http://h:p/app-02/health`: the cluster's health server answers every path alike. */
function sitePath(url: string, site: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${site}${parsed.pathname}`;
  return parsed.toString();
}

/** Each extra site's `web` in its own namespace, for one cluster: serving (east) or standby (west). */
export function extraWorkloads(count: number, serving: boolean, image: string): StandInWorkload[] {
  const workloads: StandInWorkload[] = [];
  for (let n = 2; n <= count; n += 1) {
    workloads.push({
      namespace: extraSiteName(n),
      kind: WEB.kind,
      name: WEB.name,
      replicas: serving ? WEB.replicas : WEB.standbyReplicas,
      images: [image],
    });
  }
  return workloads;
}
