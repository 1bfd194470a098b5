/**
 * A small node:http server for Baton's own routes, where Bolt's receiver does not serve them: the worker role on its
 * own, and the web role in Socket Mode (Bolt's Socket Mode receiver neither reports its port nor waits for requests
 * in flight when it stops). `closeServer` is the graceful stop every role's HTTP server shares.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { CustomRoute } from '@slack/bolt';
import type { Log } from '../core/ports.js';
import { describeError } from '../errors.js';

export interface HttpServerHandle {
  server: Server;
  /** The port it listens on (the one the OS picked when asked for 0). */
  port: number;
}

const allows = (route: CustomRoute, method: string) =>
  Array.isArray(route.method)
    ? route.method.some((m) => m.toUpperCase() === method)
    : route.method.toUpperCase() === method;

/** Listens on `port` (0: any free port) on every interface, routing by exact path and method. */
export async function serveRoutes(options: {
  port: number;
  routes: CustomRoute[];
  log: Log;
}): Promise<HttpServerHandle> {
  const { routes, log } = options;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const method = (req.method ?? 'GET').toUpperCase();
    const route = routes.find((r) => r.path === path && allows(r, method));
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    try {
      route.handler(req, res);
    } catch (error) {
      log.error({ err: describeError(error), path }, 'HTTP route failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => log.error({ err: describeError(error) }, 'HTTP server error'));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : options.port };
}

/**
 * Stops accepting connections at once, closes idle keep-alive connections, and lets requests in flight finish for
 * up to `timeoutMs`; then cuts whatever is left (logged).
 */
export async function closeServer(server: Server, options: { timeoutMs: number; log: Log }): Promise<void> {
  if (!server.listening) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const closed = new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
  });
  // A keep-alive connection that finishes its request while we wait becomes idle: close it then, not at the end.
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  try {
    if ((await Promise.race([closed, timedOut])) === 'timeout') {
      options.log.warn(
        { timeoutMs: options.timeoutMs },
        'requests still in flight after the shutdown grace period; closing their connections',
      );
      server.closeAllConnections();
      await closed;
    }
  } finally {
    clearTimeout(timer);
    clearInterval(sweep);
  }
}
