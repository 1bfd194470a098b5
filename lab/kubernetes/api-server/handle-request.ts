/**
 * One HTTP request to a stand-in cluster: recorded, delayed, authenticated, failed or denied as injected, routed to
 * a discovery document or to the core, apps or CloudNativePG resources (anything else is a 404, as on a real API
 * server without them), and answered as JSON (errors as a `kind: Status`).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ACCESS_REVIEW_GROUP, serveAccessReview } from './access-review.js';
import { serveApps } from './apps-resources.js';
import { serveArgoApplications } from './argocd-resources.js';
import { serveAutoscalers } from './autoscaling-resources.js';
import { authenticate, authorize } from './authorize.js';
import { settle } from './cluster-state.js';
import type { ClusterState } from './cluster-state.js';
import { serveCnpgClusters } from './cnpg-resources.js';
import { serveCore } from './core-resources.js';
import { discoveryDocument, servedResource } from './discovery.js';
import { takeInjectedFailure } from './faults.js';
import { admitRequest } from './flow-control.js';
import { resourceAttributes } from './request-attributes.js';
import type { Attributes, Request } from './request-attributes.js';
import { badRequest, methodNotAllowed, pathNotFound, StatusError, statusError } from './status-errors.js';
import type { RequestRecord } from './types.js';

/** What a request needs of the whole stand-in: the request log, and a sleep that `close()` can cut short. */
export interface RequestContext {
  log: RequestRecord[];
  sleep(ms: number): Promise<void>;
}

const MAX_BODY_BYTES = 3 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw statusError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Answers `req` for the cluster `state`, and records it in `context.log`. */
export async function handleRequest(
  context: RequestContext,
  state: ClusterState,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://127.0.0.1');
  const method = (req.method ?? 'GET').toUpperCase();
  const record: RequestRecord = {
    cluster: state.id,
    at: Date.now(),
    method,
    path: url.pathname,
    query: url.search.replace(/^\?/, ''),
    contentType: req.headers['content-type'],
    accept: req.headers.accept,
    userAgent: req.headers['user-agent'],
    authorization: req.headers.authorization !== undefined,
    status: 0,
  };
  context.log.push(record);
  let status = 200;
  let payload: unknown;
  let headers: Record<string, string> = {};
  try {
    const text = await readBody(req);
    if (state.faults.latencyMs > 0) await context.sleep(state.faults.latencyMs);
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    let body: unknown;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch (error) {
        throw badRequest(`error decoding request body: ${(error as Error).message}`);
      }
      record.body = body;
    }
    authenticate(state, req.headers.authorization);
    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const attributes = resourceAttributes(method, segments, url.searchParams.get('watch') === 'true');
    // Flow control comes after authentication and before authorization, as in kube-apiserver's filter chain.
    const rejected = admitRequest(state, attributes, record.at);
    if (rejected) {
      record.status = rejected.status;
      if (!res.destroyed) res.writeHead(rejected.status, rejected.headers).end(rejected.text);
      return;
    }
    const failure = takeInjectedFailure(state, method, url.pathname, attributes);
    if (failure) throw failure;
    authorize(state, attributes);
    settle(state);
    payload = routeRequest(
      state,
      { method, path: url.pathname, query: url.searchParams, contentType, body },
      segments,
      attributes,
    );
    // A create that succeeds answers 201 Created (a SelfSubjectAccessReview, the only create served).
    if (attributes?.verb === 'create') status = 201;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const statusErr =
      error instanceof StatusError
        ? error
        : statusError(500, 'InternalError', `Internal error occurred: ${message}`, {
            causes: [{ message }],
          });
    status = statusErr.status.code;
    payload = statusErr.status;
    headers = statusErr.headers;
  }
  record.status = status;
  if (res.destroyed) return;
  const json = JSON.stringify(payload);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(json),
    'Cache-Control': 'no-cache, private',
    'Audit-Id': randomUUID(),
    ...headers,
  });
  res.end(json);
}

/** The answer to `request` (path split into `segments`), or a thrown StatusError. */
function routeRequest(
  state: ClusterState,
  request: Request,
  segments: string[],
  attributes: Attributes | null,
): unknown {
  const document = discoveryDocument(segments, state.port);
  if (document !== undefined) return document;
  if (!attributes || !servedResource(segments, attributes)) throw pathNotFound();
  if (attributes.verb === 'watch') {
    throw statusError(405, 'MethodNotAllowed', 'watch is not served by this API server', {});
  }
  switch (attributes.group) {
    case '':
      if (request.method !== 'GET') throw methodNotAllowed();
      return serveCore(state, attributes, request.query);
    case 'apps':
      return serveApps(state, attributes, request);
    case 'autoscaling':
      return serveAutoscalers(state, attributes, request);
    case 'argoproj.io':
      return serveArgoApplications(state, attributes, request);
    case ACCESS_REVIEW_GROUP:
      return serveAccessReview(state, attributes, request);
    default:
      return serveCnpgClusters(state, attributes, request);
  }
}
