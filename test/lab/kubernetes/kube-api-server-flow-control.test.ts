/**
 * The stand-in's opt-in mutating budget (`maxMutatingPerSecond`), on the wire: what kube-apiserver's max-in-flight
 * and priority-and-fairness filters answer a request over budget (429, Retry-After, a text/plain body), only for
 * mutating verbs, and nothing at all when the option is off.
 */
import { request } from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import { startKubeApiServer } from '../../../lab/kubernetes/kube-api-server.js';
import type { KubeApiServer } from '../../../lab/kubernetes/kube-api-server.js';

const SCALE = '/apis/apps/v1/namespaces/default/deployments/web/scale';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function call(server: KubeApiServer, method: string, path: string, body?: unknown): Promise<Reply> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, server.url('east')),
      {
        method,
        agent: false,
        ca: server.caCertificate,
        headers: {
          Accept: 'application/json',
          ...(payload !== undefined && { 'Content-Type': 'application/json' }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const scaleTo = (replicas: number) => ({
  apiVersion: 'autoscaling/v1',
  kind: 'Scale',
  metadata: { name: 'web', namespace: 'default' },
  spec: { replicas },
});

let server: KubeApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(maxMutatingPerSecond?: number): Promise<KubeApiServer> {
  server = await startKubeApiServer({
    clusters: {
      east: {
        nodes: 1,
        ...(maxMutatingPerSecond !== undefined && { maxMutatingPerSecond }),
        workloads: [
          { namespace: 'default', kind: 'Deployment', name: 'web', replicas: 1, images: ['web:1'] },
        ],
      },
    },
  });
  return server;
}

describe('Kubernetes API stand-in: mutating budget', () => {
  it('answers writes over budget as the API server does, and never limits reads', async () => {
    const stand = await start(2);
    const writes = await Promise.all([2, 3, 4].map((n) => call(stand, 'PUT', SCALE, scaleTo(n))));
    const statuses = writes.map((w) => w.status).sort();
    expect(statuses).toEqual([200, 200, 429]);
    const refused = writes.find((w) => w.status === 429);
    expect(refused?.headers['retry-after']).toBe('1');
    expect(refused?.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(refused?.text).toBe('Too many requests, please try again later.\n');

    const reads = await Promise.all(Array.from({ length: 10 }, () => call(stand, 'GET', SCALE)));
    expect(reads.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 200));
    const log = stand.requests('east');
    expect(log.filter((r) => r.status === 429).map((r) => r.method)).toEqual(['PUT']);
    expect(log.every((r) => typeof r.at === 'number')).toBe(true);
  });

  it('limits nothing by default', async () => {
    const stand = await start();
    const writes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(stand, 'PUT', SCALE, scaleTo(i + 2))),
    );
    // No resourceVersion is sent, so concurrent writes of the one object do not conflict either.
    expect(writes.map((w) => w.status)).toEqual(Array.from({ length: 20 }, () => 200));
  });
});
