/**
 * The stand-in's HTTP transport: one loopback server that reads each body whole, routes `/api/<method>` to
 * the Web API and `POST /response/<id>` to response_urls, and writes their JSON replies. While an outage is
 * on it resets connections instead of answering; latency holds each request before Slack handles it.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An HTTP reply with a JSON body. */
export interface JsonReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface SlackHttpRoutes {
  /** `GET` or `POST /api/<method>`. */
  api(method: string, req: IncomingMessage, raw: string, url: URL): JsonReply;
  /** `POST /response/<id>`; `contentType` lower-cased. */
  responseUrl(id: string, raw: string, contentType: string): JsonReply;
  /** `POST /upload/v1/<token>`: a file's bytes, answered in plain text; `contentType` as sent. */
  upload(token: string, body: Buffer, contentType: string): Promise<{ status: number; text: string }>;
}

export interface SlackHttpOptions {
  routes: SlackHttpRoutes;
  /** Read on every request: reset the connection instead of answering. */
  outage: () => boolean;
  /** Read on every request: hold it this long (ms) before handling it. */
  latencyMs: () => number;
  /** Default: any free one. */
  port?: number;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, { status, body, headers = {} }: JsonReply) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Starts the HTTP server on 127.0.0.1; Socket Mode attaches its WebSocket upgrades to the same server. */
export async function listenSlackHttp(options: SlackHttpOptions): Promise<{ server: Server; port: number }> {
  const { routes } = options;
  const server = createServer((req, res) => {
    if (options.outage()) {
      req.socket.destroy();
      return;
    }
    readBody(req)
      .then(async (bytes) => {
        const raw = bytes.toString('utf8');
        const latencyMs = options.latencyMs();
        if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
        if (options.outage()) {
          req.socket.destroy();
          return;
        }
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        if (url.pathname.startsWith('/api/') && (req.method === 'POST' || req.method === 'GET'))
          return sendJson(
            res,
            routes.api(decodeURIComponent(url.pathname.slice('/api/'.length)), req, raw, url),
          );
        if (url.pathname.startsWith('/response/') && req.method === 'POST')
          return sendJson(
            res,
            routes.responseUrl(
              decodeURIComponent(url.pathname.slice('/response/'.length)),
              raw,
              (req.headers['content-type'] ?? '').toLowerCase(),
            ),
          );
        if (url.pathname.startsWith('/upload/v1/') && req.method === 'POST') {
          const reply = await routes.upload(
            decodeURIComponent(url.pathname.slice('/upload/v1/'.length)),
            bytes,
            req.headers['content-type'] ?? '',
          );
          res.writeHead(reply.status, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(reply.text);
          return;
        }
        sendJson(res, { status: 404, body: { ok: false, error: 'not_found' } });
      })
      .catch(() => {
        if (!res.headersSent) sendJson(res, { status: 500, body: { ok: false, error: 'internal_error' } });
        else res.destroy();
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { server, port };
}
