/**
 * GET /healthz (the process is alive), GET /readyz (see readiness.ts) and GET /metrics (Prometheus text format).
 * Plain node:http handlers, served by Bolt's HTTP receiver in the web role and by serve-http.ts elsewhere.
 */
import type { ServerResponse } from 'node:http';
import type { CustomRoute } from '@slack/bolt';
import type { Log } from '../core/ports.js';
import { describeError } from '../errors.js';
import type { BatonMetrics } from '../metrics.js';
import type { Readiness } from './readiness.js';

export interface OpsRoutesOptions {
  readiness: Readiness;
  /** Omitted: no /metrics route. */
  metrics?: Pick<BatonMetrics, 'registry'>;
  log: Log;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res
    .writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(text)),
      'cache-control': 'no-store',
    })
    .end(text);
}

export function opsRoutes(options: OpsRoutesOptions): CustomRoute[] {
  const { readiness, metrics, log } = options;
  const routes: CustomRoute[] = [
    {
      path: '/healthz',
      method: 'GET',
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end('ok\n');
      },
    },
    {
      path: '/readyz',
      method: 'GET',
      handler: (req, res) => {
        // `/readyz?verbose` adds the boot-time doctor's lines, as the Kubernetes API server's own /readyz?verbose does.
        const verbose = new URL(req.url ?? '/', 'http://localhost').searchParams.has('verbose');
        readiness.check({ verbose }).then(
          (result) => json(res, result.ready ? 200 : 503, result),
          (error: unknown) => json(res, 503, { ready: false, reason: describeError(error) }),
        );
      },
    },
  ];
  if (metrics) {
    const { registry } = metrics;
    routes.push({
      path: '/metrics',
      method: 'GET',
      handler: (_req, res) => {
        registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
          (error: unknown) => {
            log.warn({ err: describeError(error) }, 'metrics: scrape failed');
            res
              .writeHead(500, { 'content-type': 'text/plain' })
              .end(`scrape failed: ${describeError(error)}\n`);
          },
        );
      },
    });
  }
  return routes;
}
