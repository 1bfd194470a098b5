/**
 * In a whole-cluster evacuation many sites' runs scale workloads on the same API server at once. An API server's
 * priority and fairness answers mutating requests over its budget with 429 and Retry-After (the stand-in's
 * `maxMutatingPerSecond`); a burst of 40 scale writes from one process would be refused, retried together a second
 * later, refused again, and some runs would fail. The adapter paces writes per API server (every context on that
 * server shares the pace) and retries a 429 after its Retry-After. What is counted is the stand-in's own log.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { KubernetesClusters } from '../../src/adapters/kubernetes.js';
import type { SiteConfig } from '../../src/config/topology.js';
import type { WorkloadRef } from '../../src/core/ports.js';
import { createLogger } from '../../src/logger.js';
import { startKubeApiServer } from '../../lab/kubernetes/kube-api-server.js';
import type { KubeApiServer, RequestRecord } from '../../lab/kubernetes/kube-api-server.js';

const log = createLogger({ level: 'silent' });
const SITES = 40;
const RATE = 5;
const WINDOW_MS = 1_000;

const workloadOf = (i: number): WorkloadRef => ({
  namespace: 'default',
  kind: i % 4 === 0 ? 'StatefulSet' : 'Deployment',
  name: `app-${i}`,
});

/** Site `i`, whose standby cluster `west` is reached through context `west-a` or `west-b` (one API server). */
const siteOf = (i: number): SiteConfig =>
  ({
    name: `site-${i}`,
    homeCluster: 'east',
    clusters: { west: { kubeContext: i % 2 === 0 ? 'west-a' : 'west-b' } },
    workloads: [],
    checks: { minReadyNodes: 1 },
    alerts: [],
  }) as unknown as SiteConfig; // only what the adapter reads: the cluster's kube context

let server: KubeApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(count: number, maxMutatingPerSecond: number): Promise<KubeApiServer> {
  server = await startKubeApiServer({
    clusters: {
      west: {
        nodes: 1,
        controllerDelayMs: 0,
        maxMutatingPerSecond,
        workloads: Array.from({ length: count }, (_, i) => ({
          ...workloadOf(i),
          replicas: 1,
          images: ['registry.example/app:1'],
        })),
      },
    },
  });
  return server;
}

/** Two contexts, with users of their own, on the one API server of `west`. */
function kubeConfigOf(stand: KubeApiServer): KubeConfig {
  const document = stand.kubeConfig({ west: 'west-a' });
  const context = document.contexts[0];
  const user = document.users[0];
  if (!context || !user) throw new Error('the stand-in wrote no context');
  document.users.push({ name: 'west-b-user', user: { ...user.user } });
  document.contexts.push({ name: 'west-b', context: { ...context.context, user: 'west-b-user' } });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(JSON.stringify(document));
  return kubeConfig;
}

const isScaleWrite = (r: RequestRecord) => r.method === 'PUT' && r.path.endsWith('/scale');

/** The most admitted writes that arrived within any one window of WINDOW_MS, by the stand-in's clock. */
function mostWritesInAWindow(writes: RequestRecord[]): number {
  const times = writes.map((r) => r.at).sort((a, b) => a - b);
  return Math.max(
    0,
    ...times.map((start) => times.filter((t) => t >= start && t < start + WINDOW_MS).length),
  );
}

describe('scale writes of many sites on one API server', () => {
  it('are paced under the server’s mutating budget: no 429, every write lands once', async () => {
    const stand = await start(SITES, RATE);
    const clusters = new KubernetesClusters({
      kubeConfig: kubeConfigOf(stand),
      log,
      retry: { attempts: 4, baseDelayMs: 50 },
      writesPerSecond: RATE,
    });

    const results = await Promise.allSettled(
      Array.from({ length: SITES }, (_, i) => clusters.scaleWorkload(siteOf(i), 'west', workloadOf(i), 3)),
    );

    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [`site-${i}: ${String(r.reason)}`] : [],
    );
    expect(failed).toEqual([]);
    const writes = stand.requests('west').filter(isScaleWrite);
    expect(writes.filter((r) => r.status === 429)).toHaveLength(0);
    expect(writes.map((r) => r.status)).toEqual(Array.from({ length: SITES }, () => 200));
    for (let i = 0; i < SITES; i += 1) {
      const workload = workloadOf(i);
      expect(stand.workload('west', workload.namespace, workload.kind, workload.name).replicas).toBe(3);
      expect(writes.filter((r) => r.path.includes(`/${workload.name}/scale`))).toHaveLength(1);
    }
    expect(mostWritesInAWindow(writes)).toBeLessThanOrEqual(RATE);
    // Reads are not paced: every site read its scale first.
    expect(
      stand.requests('west').filter((r) => r.method === 'GET' && r.path.endsWith('/scale')),
    ).toHaveLength(SITES);
  }, 120_000);

  it('retries the API server’s 429 (a text body) after its Retry-After, and the write lands once', async () => {
    // Another process has used the budget: this one paces at 2/s, the server admits 1/s.
    const stand = await start(2, 1);
    const clusters = new KubernetesClusters({
      kubeConfig: kubeConfigOf(stand),
      log,
      retry: { attempts: 4, baseDelayMs: 50 },
      writesPerSecond: 2,
    });

    await Promise.all([0, 1].map((i) => clusters.scaleWorkload(siteOf(i), 'west', workloadOf(i), 3)));

    const writes = stand.requests('west').filter(isScaleWrite);
    const refused = writes.filter((r) => r.status === 429);
    expect(refused).toHaveLength(1);
    expect(writes.filter((r) => r.status === 200)).toHaveLength(2);
    const [first] = refused;
    const retried = writes.find((r) => r.status === 200 && r.path === first?.path);
    // Retry-After: 1 was honoured: the retry arrived at least a second after the refusal.
    expect((retried?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(1_000);
    for (const i of [0, 1]) {
      const workload = workloadOf(i);
      expect(stand.workload('west', workload.namespace, workload.kind, workload.name).replicas).toBe(3);
    }
  }, 60_000);
});
