/**
 * The adapters' own overhead (issue 3): how late polling notices a change, how long the promotion wrapper takes on
 * real PostgreSQL, and Route 53's request rate. Everything runs against the lab: the Kubernetes and Route 53
 * stand-ins through the official SDKs, and a real PostgreSQL primary and standby.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { KubernetesClusters } from '../src/adapters/kubernetes.js';
import { PostgresDatabases } from '../src/adapters/postgres.js';
import { Route53Dns } from '../src/adapters/route53.js';
import { createLogger } from '../src/logger.js';
import { LAB_AWS, startLab } from '../lab/sandbox/start-lab.js';
import type { Row } from './support.js';
import { ms, percentile, renderTable, runIfMain, sleep } from './support.js';

const INSYNC_SAMPLES = 8;
const READY_SAMPLES = 40;
const PROMOTIONS = 10;
const BURST = 40;

/** The largest number of timestamps inside any `windowMs` window. */
function peak(times: readonly number[], windowMs = 1000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let end = 0, start = 0; end < sorted.length; end += 1) {
    while ((sorted[end] as number) - (sorted[start] as number) >= windowMs) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

export async function adapterPolling(): Promise<string> {
  const log = createLogger({ level: 'silent' });
  const lab = await startLab({ podReadyAfterMs: 700 });
  try {
    const site = lab.topology.sites[0];
    if (!site) throw new Error('no site');
    const route53 = new Route53Dns({ endpoint: lab.route53.endpoint, credentials: LAB_AWS, log });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(lab.kube.kubeconfigYaml({ east: 'active-cluster', west: 'passive-cluster' }));
    const kube = new KubernetesClusters({ kubeConfig, log });
    const databases = new PostgresDatabases({
      urlFor: (_site, cluster) => lab.postgres.urls[cluster] ?? '',
      log,
    });

    // INSYNC lag: the stand-in flips a change to INSYNC after a random delay; waitForInsync polls every 2 s.
    const insyncLag: number[] = [];
    for (let i = 0; i < INSYNC_SAMPLES; i += 1) {
      const delay = 300 + Math.floor(Math.random() * 3000);
      lab.route53.setInsyncAfterMs(delay);
      const to = i % 2 === 0 ? 'west' : 'east';
      const { changeId } = await route53.switchTo(site, to);
      const change = lab.route53.change(changeId.replace(/^\/change\//, ''));
      const flipAt = Date.parse(change?.submittedAt ?? '') + delay;
      await route53.waitForInsync(changeId, { timeoutMs: 30_000 });
      insyncLag.push(Date.now() - flipAt);
    }

    // Readiness lag: pods turn Ready 700 ms after a scale-up; waitForReady polls (≤ 500 ms). On east: west's `web`
    // has an HPA, which would put a direct scale back at its next sync (as on a real cluster).
    const readyLag: number[] = [];
    const web = site.workloads[0];
    if (!web) throw new Error('no workload');
    for (let i = 0; i < READY_SAMPLES; i += 1) {
      const replicas = i % 2 === 0 ? 1 : 3; // east starts at 5: down first, then up
      const scaledAt = Date.now();
      await kube.scaleWorkload(site, 'east', web, replicas);
      await kube.waitForReady(site, 'east', web, replicas, { timeoutMs: 10_000 });
      // Scale-downs are Ready at once; only scale-ups wait on pods.
      if (replicas > 1) readyLag.push(Date.now() - (scaledAt + 700));
    }

    // Promotion wrapper on real PostgreSQL: pg_promote, wait out of recovery, prove writes; then rebuild.
    const promote: number[] = [];
    let standby = lab.postgres.standby;
    let primary = lab.postgres.primary;
    for (let i = 0; i < PROMOTIONS; i += 1) {
      const started = performance.now();
      await databases.requestPromotion(site, standby.name);
      await databases.waitUntilWritable(site, standby.name, { timeoutMs: 60_000, clearFence: true });
      promote.push(performance.now() - started);
      await lab.postgres.rebuildAsStandby(primary, standby);
      await lab.postgres.waitForStreaming(primary);
      [standby, primary] = [primary, standby];
    }

    // Route 53 rate: a burst of concurrent reads from one adapter.
    lab.route53.clearRequests();
    await Promise.all(Array.from({ length: BURST }, () => route53.currentTarget(site)));
    const peakRate = peak(lab.route53.requests.map((r) => r.at));
    await databases.close();
    route53.close();
    await sleep(0);

    const rows: Row[] = [
      {
        metric: `INSYNC seen after the stand-in flips (${INSYNC_SAMPLES} changes, poll 2 s)`,
        values: [
          ms(percentile(insyncLag, 50), 0),
          ms(percentile(insyncLag, 99), 0),
          ms(Math.max(...insyncLag), 0),
        ],
        budget: '≤ 2 s',
        pass: Math.max(...insyncLag) <= 2000,
      },
      {
        metric: `readiness seen after pods are Ready (${READY_SAMPLES / 2} scale-ups)`,
        values: [
          ms(percentile(readyLag, 50), 0),
          ms(percentile(readyLag, 99), 0),
          ms(Math.max(...readyLag), 0),
        ],
        budget: '≤ 1 s',
        pass: Math.max(...readyLag) <= 1000,
      },
      {
        metric: `promotion wrapper on real PostgreSQL (${PROMOTIONS} promotions)`,
        values: [ms(percentile(promote, 50), 0), ms(percentile(promote, 99), 0), ms(Math.max(...promote), 0)],
        budget: 'p99 < 2 s',
        pass: percentile(promote, 99) < 2000,
      },
      {
        metric: `Route 53 requests in the busiest second (burst of ${BURST} reads)`,
        values: [String(peakRate), '', ''],
        budget: '≤ 5 per s',
        pass: peakRate <= 5,
      },
    ];
    return renderTable({
      title: 'Adapter polling and promotion (issue 3)',
      setup:
        'The lab: Kubernetes and Route 53 stand-ins through the official SDKs, a real PostgreSQL 15 primary and hot ' +
        'standby (fsync off). Columns: p50, p99, max.',
      columns: ['p50', 'p99', 'max'],
      rows,
    });
  } finally {
    await lab.stop();
  }
}

runIfMain(import.meta.url, adapterPolling);
