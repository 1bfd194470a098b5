/**
 * The DESIGN example site brought to life on this machine: a Kubernetes API stand-in serving both clusters, a
 * Route 53 stand-in answering DNS for the record, a real PostgreSQL primary and hot standby, and a health endpoint
 * per cluster. Baton reaches all of it through its real adapters and the official SDKs, configured only by the
 * environment and topology file this returns. Used by the end-to-end tests, `npm run sandbox` and the drill.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Resolver } from 'node:dns/promises';
import { parseDocument } from 'yaml';
import type { Topology } from '../../src/config/topology.js';
import { parseTopology } from '../../src/config/topology.js';
import type { KubeApiServer } from '../kubernetes/kube-api-server.js';
import { startKubeApiServer } from '../kubernetes/kube-api-server.js';
import type { PostgresPair } from '../postgres/postgres-pair.js';
import { startPostgresPair } from '../postgres/postgres-pair.js';
import type { Route53StandIn } from '../route53/route53-api-server.js';
import { route53SeedFor, startRoute53ApiServer } from '../route53/route53-api-server.js';
import type { StandInAutoscaler } from '../kubernetes/api-server/types.js';
import type { ExampleSiteEntry } from './extra-sites.js';
import { checkSiteCount, extraSiteEntries, extraWorkloads, nodesFor } from './extra-sites.js';
import { argoTracking, GITOPS_CLUSTER, WEST_HPA, WORKER } from './west-gitops.js';

export const EXAMPLE_TOPOLOGY_FILE = new URL('../../examples/baton.yaml', import.meta.url);
/** The DESIGN example topology file, as a path. */
export const EXAMPLE_TOPOLOGY = fileURLToPath(EXAMPLE_TOPOLOGY_FILE);

/** The lab topology's `drills.abortOn` alert (DESIGN §3's optional fields). */
export const LAB_ABORT_ALERT = 'HighErrorRate';

/** Test credentials for the Route 53 stand-in, which verifies SigV4 signatures against them. */
export const LAB_AWS = {
  accessKeyId: 'AKIALABBATON0000TEST',
  secretAccessKey: 'lab-secret-key-for-the-stand-in',
};

export interface HealthEndpoint {
  url: string;
  /** Answer 200 (true) or 503 (false), or stop answering at all (`'down'`: connections refused). */
  set(state: boolean | 'down'): Promise<void>;
}

export interface Lab<P extends PostgresPair | null = PostgresPair> {
  dir: string;
  topologyPath: string;
  topology: Topology;
  /** Everything a `baton` process needs to reach the lab (add REDIS_URL, Slack settings, BATON_KEY_PREFIX). */
  env: Record<string, string>;
  kube: KubeApiServer;
  route53: Route53StandIn;
  /** The database pair; null in a lab started with `database: false` (its topology then has no database). */
  postgres: P;
  health: Record<string, HealthEndpoint>;
  /** Whether west's workloads are tracked by an Argo CD Application (and the site has `worker`): `gitops`. */
  gitops: boolean;
  /** The HPAs the clusters start with (west's on `web`). */
  autoscalers: { cluster: string; hpa: StandInAutoscaler }[];
  /** What a user's resolver gets for the record of `site` (default the example site) now. */
  resolve(site?: string): Promise<string[]>;
  /** Which cluster those answers belong to. */
  servedBy(site?: string): Promise<string | null>;
  stop(): Promise<void>;
}

export interface LabOptions {
  podReadyAfterMs?: number;
  insyncAfterMs?: number;
  image?: string;
  /** Start the PostgreSQL pair (default true). Without it the site has no `database` and no database steps. */
  database?: boolean;
  /**
   * West as an Argo CD Application manages it (west-gitops.ts): the site gets a second workload, `worker`, and
   * west's workloads carry Argo CD's tracking annotation; self-heal starts off. Default false.
   */
  gitops?: boolean;
  /** The HPA controller's sync period (default 15 s, as kube-controller-manager's). */
  hpaSyncPeriodMs?: number;
  /** `readiness.interval` of the topology (e.g. `30s`), so readiness turns red soon after a break; default unset. */
  readinessInterval?: string;
  /** How many sites (default 1, the example alone; at most 50): sites 2..N as extra-sites.ts describes them. */
  sites?: number;
  /**
   * The Route 53 stand-in throttles beyond this many requests per second, whichever process sends them, as the real
   * account quota does (five per second per account, Route 53 Developer Guide "Quotas"). Default: no limit.
   */
  route53RequestsPerSecond?: number;
}

async function startHealthEndpoint(): Promise<HealthEndpoint & { close(): Promise<void> }> {
  let healthy = true;
  const handler = (_req: unknown, res: ServerResponse) => {
    res.writeHead(healthy ? 200 : 503, { 'content-type': 'text/plain' }).end(healthy ? 'ok\n' : 'down\n');
  };
  let server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  let listening = true;
  return {
    url: `http://127.0.0.1:${port}/health`,
    async set(state) {
      if (state === 'down') {
        if (listening) await close();
        listening = false;
        return;
      }
      healthy = state;
      if (!listening) {
        server = createServer(handler);
        await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
        listening = true;
      }
    },
    close: () => (listening ? close() : Promise.resolve()),
  };
}

export async function startLab(options?: LabOptions & { database?: true }): Promise<Lab>;
export async function startLab(options: LabOptions): Promise<Lab<PostgresPair | null>>;
export async function startLab(options: LabOptions = {}): Promise<Lab<PostgresPair | null>> {
  const sites = options.sites ?? 1;
  const tooMany = checkSiteCount(sites);
  if (tooMany) throw new Error(tooMany);
  const dir = await mkdtemp(join(tmpdir(), 'baton-lab-'));
  const stops: (() => Promise<void>)[] = [() => rm(dir, { recursive: true, force: true })];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
  };
  try {
    const image = options.image ?? 'registry.example.com/web:1.42.0';
    const health = { east: await startHealthEndpoint(), west: await startHealthEndpoint() };
    stops.push(
      () => health.east.close(),
      () => health.west.close(),
    );

    const postgres =
      options.database === false
        ? null
        : await startPostgresPair({ names: { primary: 'east', standby: 'west' } });
    if (postgres) stops.push(() => postgres.stop());

    // West's `web` is owned by an HPA, so its manifest in Git has no replicas (Argo CD's docs recommend this).
    const gitops = options.gitops ?? false;
    const tracked = (w: { namespace: string; kind: 'Deployment'; name: string }) =>
      gitops ? { annotations: argoTracking(w) } : {};
    const web = { namespace: 'default', kind: 'Deployment', name: 'web', replicas: 5 } as const;
    const autoscalers = [{ cluster: GITOPS_CLUSTER, hpa: WEST_HPA }];
    // Sized so that every site's serving replicas fit on either cluster (3 nodes for the example alone).
    const nodes = nodesFor(sites, web.replicas + (gitops ? WORKER.replicas : 0));
    const kube = await startKubeApiServer({
      clusters: {
        east: {
          nodes,
          podReadyAfterMs: options.podReadyAfterMs ?? 500,
          workloads: [
            { ...web, images: [image] },
            ...(gitops ? [{ ...WORKER, images: [image] }] : []),
            ...extraWorkloads(sites, true, image),
          ],
        },
        west: {
          nodes,
          podReadyAfterMs: options.podReadyAfterMs ?? 500,
          workloads: [
            { ...web, replicas: 1, images: [image], git: { replicas: null }, ...tracked(web) },
            ...(gitops
              ? [{ ...WORKER, replicas: WORKER.standbyReplicas, images: [image], ...tracked(WORKER) }]
              : []),
            ...extraWorkloads(sites, false, image),
          ],
          autoscalers: [WEST_HPA],
          ...(options.hpaSyncPeriodMs !== undefined && { hpaSyncPeriodMs: options.hpaSyncPeriodMs }),
        },
      },
    });
    stops.push(() => kube.close());

    // The DESIGN example, unchanged except for what only this machine can answer (health URLs and the resolver) and
    // DESIGN's optional game-day abort: a firing HighErrorRate aborts a game day before its point of no return.
    const doc = parseDocument(await readFile(EXAMPLE_TOPOLOGY_FILE, 'utf8'));
    doc.set('drills', doc.createNode({ abortOn: [{ alertname: LAB_ABORT_ALERT }] }, { flow: true }));
    doc.setIn(['sites', 0, 'clusters', 'east', 'healthUrl'], health.east.url);
    doc.setIn(['sites', 0, 'clusters', 'west', 'healthUrl'], health.west.url);
    if (!postgres) doc.deleteIn(['sites', 0, 'database']);
    if (options.readinessInterval)
      doc.set('readiness', doc.createNode({ interval: options.readinessInterval }, { flow: true }));
    if (gitops) doc.addIn(['sites', 0, 'workloads'], doc.createNode({ ...WORKER }, { flow: true }));
    const example = (doc.toJS() as { sites: ExampleSiteEntry[] }).sites[0];
    if (example)
      for (const entry of extraSiteEntries(sites, example)) doc.addIn(['sites'], doc.createNode(entry));
    const env: Record<string, string> = postgres
      ? { EAST_DATABASE_URL: postgres.urls.east ?? '', WEST_DATABASE_URL: postgres.urls.west ?? '' }
      : {};
    const first = parseTopology(doc.toString(), env);
    if (!first.ok) throw new Error(`lab topology: ${first.problems.join('; ')}`);
    const site = first.topology.sites[0];
    if (!site) throw new Error('lab topology has no site');

    const route53 = await startRoute53ApiServer({
      ...route53SeedFor(first.topology.sites),
      insyncAfterMs: options.insyncAfterMs ?? 500,
      ...(options.route53RequestsPerSecond !== undefined && {
        requestsPerSecond: options.route53RequestsPerSecond,
      }),
      credentials: LAB_AWS,
    });
    stops.push(() => route53.close());
    // The zone's name servers first; they refuse the load balancers' names, which their own zone's servers answer.
    first.topology.sites.forEach((_, index) =>
      doc.setIn(['sites', index, 'dns', 'resolvers'], [route53.dnsAddress, route53.aliasDnsAddress]),
    );
    const parsed = parseTopology(doc.toString(), env);
    if (!parsed.ok) throw new Error(`lab topology: ${parsed.problems.join('; ')}`);

    const topologyPath = join(dir, 'baton.yaml');
    await writeFile(topologyPath, doc.toString());
    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfigPath,
      kube.kubeconfigYaml({ east: 'active-cluster', west: 'passive-cluster' }),
      {
        mode: 0o600,
      },
    );
    Object.assign(env, {
      BATON_CONFIG: topologyPath,
      KUBECONFIG: kubeconfigPath,
      AWS_ENDPOINT_URL_ROUTE_53: route53.endpoint,
      AWS_ACCESS_KEY_ID: LAB_AWS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LAB_AWS.secretAccessKey,
      AWS_REGION: 'us-east-1',
    });

    const resolver = new Resolver({ timeout: 1000, tries: 2 });
    resolver.setServers([route53.dnsAddress]);
    const siteNamed = (name = site.name) => {
      const found = first.topology.sites.find((s) => s.name === name);
      if (!found) throw new Error(`the lab has no site ${name}`);
      return found;
    };
    const resolve = async (name?: string): Promise<string[]> => {
      const record = siteNamed(name).dns.recordName;
      try {
        return (await resolver.resolve4(record)).sort();
      } catch {
        return [];
      }
    };
    const elbZone = new Resolver({ timeout: 1000, tries: 2 });
    elbZone.setServers([route53.aliasDnsAddress]);
    // Each cluster's addresses per site (the extra sites share the example's load balancers, so these repeat).
    const addresses = new Map<string, Record<string, string[]>>();
    for (const s of first.topology.sites) {
      const byCluster: Record<string, string[]> = {};
      for (const [cluster, target] of Object.entries(s.dns.targets)) {
        byCluster[cluster] =
          'values' in target
            ? [...target.values].sort()
            : (await elbZone.resolve4(target.aliasDnsName)).sort();
      }
      addresses.set(s.name, byCluster);
    }
    return {
      dir,
      topologyPath,
      topology: parsed.topology,
      env,
      kube,
      route53,
      postgres,
      health,
      gitops,
      autoscalers,
      resolve,
      async servedBy(name?: string) {
        const answers = (await resolve(name)).join(',');
        const byCluster = addresses.get(siteNamed(name).name) ?? {};
        return Object.entries(byCluster).find(([, a]) => a.join(',') === answers)?.[0] ?? null;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
