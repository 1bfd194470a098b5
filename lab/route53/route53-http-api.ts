/**
 * The stand-in's HTTP side: the 2013-04-01 REST paths mapped to actions, each request logged, authenticated
 * (SigV4), counted against the account quota, failed on demand (faults, outages, latency) and only then handed to
 * the operation, whose body or error goes back as the real service sends it.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ApiError, errorBody, faultError, invalidInput, toApiError } from './route53-errors.js';
import type { Route53Action, Route53Fault, Route53RequestLogEntry } from './route53-types.js';
import { readAuthorization, verifySignature } from './verify-sigv4.js';

/** A routed, authenticated request, for the operation to answer. */
export interface ApiCall {
  action: Route53Action;
  /** The id in the path (zone, change or health check), decoded. */
  id: string;
  query: URLSearchParams;
  body: string;
  /** The request's log entry, for the operation to add what it learns (a batch's changes). */
  entry: Route53RequestLogEntry;
}

export interface HttpApiOptions {
  port?: number;
  now: () => number;
  latencyMs: number;
  requestsPerSecond?: number;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Answers the call with a response body, or throws an ApiError. */
  handle: (call: ApiCall) => string;
}

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_LOGGED_REQUESTS = 10_000;

/** The action a method and path name, and the id in the path. */
function route(method: string, path: string): { action: Route53Action; id: string } | undefined {
  const match = /^\/2013-04-01\/(hostedzone|change|healthcheck)\/([^/]+)(?:\/(rrset|status))?\/?$/.exec(path);
  if (!match) return undefined;
  const [, kind, rawId = '', sub] = match;
  let id: string;
  try {
    id = decodeURIComponent(rawId);
  } catch {
    return undefined; // not a path the service serves
  }
  const key = `${method} ${kind}${sub === undefined ? '' : `/${sub}`}`;
  const actions: Record<string, Route53Action> = {
    'POST hostedzone/rrset': 'ChangeResourceRecordSets',
    'GET hostedzone/rrset': 'ListResourceRecordSets',
    'GET hostedzone': 'GetHostedZone',
    'GET change': 'GetChange',
    'GET healthcheck': 'GetHealthCheck',
    'POST healthcheck': 'UpdateHealthCheck',
    'GET healthcheck/status': 'GetHealthCheckStatus',
  };
  const action = actions[key];
  return action === undefined ? undefined : { action, id };
}

export class Route53HttpApi {
  /** Requests received (the latest 10,000), oldest first. */
  readonly requests: Route53RequestLogEntry[] = [];
  latencyMs: number;
  /** While on, every connection is reset. */
  outage = false;
  private readonly faults: { remaining: number; fault: Route53Fault; action?: Route53Action }[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  private constructor(private readonly options: HttpApiOptions) {
    this.latencyMs = options.latencyMs;
    this.server = createServer((request, response) => void this.serve(request, response));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** Listens on 127.0.0.1 (`options.port`, default a free one). */
  static async start(options: HttpApiOptions): Promise<Route53HttpApi> {
    const api = new Route53HttpApi(options);
    await new Promise<void>((resolve, reject) => {
      api.server.once('error', reject);
      api.server.listen(options.port ?? 0, '127.0.0.1', () => {
        api.server.off('error', reject);
        resolve();
      });
    });
    return api;
  }

  get endpoint(): string {
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  /** Fails the next `count` requests (of `action` only, when given) with `fault`, after authentication. */
  failNext(count: number, fault: Route53Fault, action?: Route53Action): void {
    if (count > 0) this.faults.push({ remaining: count, fault, ...(action && { action }) });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private log(entry: Route53RequestLogEntry): void {
    this.requests.push(entry);
    // A long sandbox session polls for hours; the recent past is all a rate measurement needs.
    if (this.requests.length > MAX_LOGGED_REQUESTS) {
      this.requests.splice(0, this.requests.length - MAX_LOGGED_REQUESTS);
    }
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://route53.local');
    const method = request.method ?? 'GET';
    const matched = route(method, url.pathname);
    const entry: Route53RequestLogEntry = {
      at: this.options.now(),
      method,
      path: url.pathname,
      action: matched?.action ?? 'Unknown',
      ...(matched && { resourceId: matched.id }),
      status: 0,
    };
    this.log(entry);
    if (this.outage) {
      // An outage looks like a reset connection to the client, not an HTTP error.
      entry.reset = true;
      request.socket.resetAndDestroy();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) break;
      chunks.push(chunk);
    }
    const body = Buffer.concat(chunks);
    const requestId = randomUUID();
    let status = 200;
    let payload: string;
    try {
      if (size > MAX_BODY_BYTES) throw invalidInput('Invalid request: the request body is too large');
      const auth = readAuthorization(request);
      if (this.options.credentials) await verifySignature(request, body, auth, this.options.credentials);
      if (!matched) {
        throw new ApiError(
          404,
          'UnknownOperationException',
          `The Route 53 stand-in does not serve ${method} ${url.pathname}`,
        );
      }
      this.throttle(entry, matched.action, matched.id);
      this.injectFault(matched.action, matched.id);
      payload = this.options.handle({
        action: matched.action,
        id: matched.id,
        query: url.searchParams,
        body: body.toString('utf8'),
        entry,
      });
    } catch (error) {
      const apiError = toApiError(error);
      status = apiError.status;
      entry.errorCode = apiError.code;
      payload = errorBody(apiError, requestId);
    }
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    entry.status = status;
    if (response.destroyed) return;
    response.writeHead(status, {
      'content-type': 'text/xml',
      'content-length': Buffer.byteLength(payload),
      'x-amzn-requestid': requestId,
    });
    response.end(payload);
  }

  /**
   * The account quota: a request beyond `requestsPerSecond` in the trailing second is throttled, whichever client
   * sent it. Route 53 answers `Throttling` / "Rate exceeded" with HTTP 400 (Route 53 Developer Guide, "Throttling
   * for Amazon Route 53 API requests"). Its documented quota was five requests per second per account; it is now a
   * token bucket per account (refilled at 10/s, bursts to 50) and per operation: a sliding window of 5 is no kinder.
   */
  private throttle(entry: Route53RequestLogEntry, action: Route53Action, id: string): void {
    const limit = this.options.requestsPerSecond;
    if (limit === undefined) return;
    const since = entry.at - 1000;
    // Every request counts against the quota, throttled ones included, as they do against Route 53's.
    const recent = this.requests.filter((logged) => logged.at > since && !logged.reset && logged !== entry);
    if (recent.length >= limit) throw faultError('Throttling', action, id);
  }

  private injectFault(action: Route53Action, id: string): void {
    const rule = this.faults.find(
      (candidate) => candidate.action === undefined || candidate.action === action,
    );
    if (!rule) return;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.faults.splice(this.faults.indexOf(rule), 1);
    throw faultError(rule.fault, action, id);
  }
}
