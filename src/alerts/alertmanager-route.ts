/**
 * `POST /alertmanager`: Alertmanager's webhook receiver (transport only; ingest-alerts.ts decides what to do).
 *
 * In order: the bearer token (SHA-256 digests compared in constant time, so neither the content nor the length
 * leaks), the content type, the body size (Content-Length first, then while reading, so an oversized body is never
 * buffered), JSON, the version 4 schema. Every refusal is a 4xx with a JSON `{ error, message }` that says what to
 * fix, and nothing is recorded. 200 only once the alerts are recorded in Redis; anything that could not be recorded
 * answers 503, which Alertmanager retries (it does not retry 4xx).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { CustomRoute } from '@slack/bolt';
import type { Topology } from '../config/topology.js';
import type { Clock, Log } from '../core/ports.js';
import { BatonError, describeError } from '../errors.js';
import type { BatonMetrics } from '../metrics.js';
import { parseAlertmanagerPayload } from './alertmanager-payload.js';
import type { IncidentStore } from '../store/incidents/incident-store.js';
import type { IngestParts } from './ingest-alerts.js';
import { AlertIngest } from './ingest-alerts.js';

export const ALERTMANAGER_PATH = '/alertmanager';

/**
 * Default body limit. A 20,000-alert storm with typical labels is about 10 MiB; Alertmanager's `max_alerts` on the
 * receiver caps it (Baton then sees `truncatedAlerts`). The token is checked before a byte of the body is read.
 */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
/** A client that sends its body slower than this is cut off (a stuck or hostile sender holds no buffer forever). */
const BODY_TIMEOUT_MS = 30_000;

export interface AlertmanagerRouteOptions {
  /** `ALERTMANAGER_TOKEN`: the bearer token Alertmanager sends (`http_config.authorization.credentials_file`). */
  token: string;
  topology: Topology;
  /** Where alert incidents are recorded (on the web role's producer connection: fails fast when Redis is down). */
  incidents: IncidentStore;
  clock: Clock;
  log: Log;
  /** Largest accepted body (default {@link DEFAULT_MAX_BODY_BYTES}). */
  maxBodyBytes?: number;
  /** Counts requests by outcome (baton_webhooks_total). */
  metrics?: Pick<BatonMetrics, 'webhook'>;
}

/** A refusal: the status, a stable code and what to do about it. */
class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;
const digest = (text: string | Buffer) => createHash('sha256').update(text).digest();

/** Constant-time check of an `Authorization: Bearer <token>` header against the expected token's digest. */
export function bearerMatches(header: string | undefined, expectedDigest: Buffer): boolean {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  // Compare something even when the header is missing or malformed, so timing says nothing about which it was.
  const given = digest(match?.[1] ?? '');
  return timingSafeEqual(given, expectedDigest) && match !== null;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** Reads the body up to `limit` bytes; refuses (413) as soon as it is known to be larger. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(tooLarge(Number(declared), limit));
  }
  // With a Content-Length the body goes straight into one buffer (no second 10 MB copy for a storm).
  const expected = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const whole = expected === undefined ? undefined : Buffer.allocUnsafe(expected);
    let size = 0;
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new HttpRefusal(
          408,
          'body-timeout',
          `the request body did not arrive within ${BODY_TIMEOUT_MS / 1000} s`,
        ),
      );
    }, BODY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        reject(tooLarge(size, limit));
        return;
      }
      if (whole) {
        // Node's parser stops at Content-Length; this only guards the copy.
        if (size > whole.length) {
          cleanup();
          reject(new HttpRefusal(400, 'invalid-length', 'the body is longer than its Content-Length'));
          return;
        }
        chunk.copy(whole, size - chunk.length);
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(whole ? whole.subarray(0, size) : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

const tooLarge = (size: number, limit: number) =>
  new HttpRefusal(
    413,
    'body-too-large',
    `the body is ${size} bytes, more than the ${limit} bytes Baton accepts; set max_alerts on the Alertmanager ` +
      'receiver (webhook_configs[].max_alerts) to cap the alerts per notification',
    // The unread rest of the body must not be parsed as the next request on a kept-alive connection.
    { connection: 'close' },
  );

/**
 * The `POST /alertmanager` route (other methods get 405), built on the web role's parts. Throws `config-invalid`
 * when the token is empty.
 */
export function alertmanagerRoute(parts: IngestParts, options: AlertmanagerRouteOptions): CustomRoute {
  if (!options.token) {
    throw new BatonError(
      'config-invalid',
      'ALERTMANAGER_TOKEN is empty: set it to a long random string and give Alertmanager the same in credentials_file',
    );
  }
  const expected = digest(options.token);
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const log = options.log.child({ component: 'alertmanager' });
  const ingest = new AlertIngest({
    parts,
    incidents: options.incidents,
    topology: options.topology,
    clock: options.clock,
    log,
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (!bearerMatches(req.headers.authorization, expected)) {
      throw new HttpRefusal(
        401,
        'unauthorized',
        req.headers.authorization
          ? 'the bearer token does not match ALERTMANAGER_TOKEN'
          : 'missing Authorization: Bearer <token>; configure http_config.authorization.credentials_file on the receiver',
        { 'www-authenticate': 'Bearer realm="baton"', connection: 'close' },
      );
    }
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(type)) {
      throw new HttpRefusal(
        415,
        'unsupported-media-type',
        `expected Content-Type application/json (as Alertmanager sends), got ${JSON.stringify(type.slice(0, 100))}`,
        { connection: 'close' },
      );
    }
    const encoding = req.headers['content-encoding'];
    if (encoding && encoding.toLowerCase() !== 'identity') {
      throw new HttpRefusal(415, 'unsupported-encoding', `Content-Encoding ${encoding} is not supported`, {
        connection: 'close',
      });
    }
    const started = performance.now();
    const body = await readBody(req, limit);
    const read = performance.now();
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new HttpRefusal(400, 'invalid-json', `the body is not JSON (${describeError(error)})`);
    }
    const parsed = parseAlertmanagerPayload(json);
    if (!parsed.ok) {
      const refusal = new HttpRefusal(
        400,
        'invalid-payload',
        `not an Alertmanager webhook payload: ${parsed.problems.join('; ')}`,
      );
      log.warn({ problems: parsed.problems.slice(0, 5) }, 'refused an invalid Alertmanager payload');
      throw refusal;
    }
    const payload = parsed.payload;
    const validated = performance.now();
    const outcome = await ingest.ingest(payload);
    const done = performance.now();
    log.info(
      {
        // Where the time went: receiving the body, JSON and schema, recording in Redis and queueing Slack updates.
        ms: {
          read: round(read - started),
          validate: round(validated - read),
          record: round(done - validated),
        },
        groupKey: payload.groupKey,
        status: payload.status,
        alerts: payload.alerts.length,
        truncatedAlerts: payload.truncatedAlerts,
        unmatched: outcome.unmatched,
        sites: outcome.sites,
      },
      'Alertmanager notification recorded',
    );
    options.metrics?.webhook('alertmanager', 'accepted');
    send(res, 200, { status: 'ok', unmatched: outcome.unmatched, sites: outcome.sites });
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof HttpRefusal) {
        options.metrics?.webhook('alertmanager', error.status === 401 ? 'unauthorized' : 'invalid');
        if (error.status !== 400)
          log.warn({ status: error.status, code: error.code }, 'refused an Alertmanager request');
        send(res, error.status, { error: error.code, message: error.message }, error.headers);
        return;
      }
      options.metrics?.webhook('alertmanager', 'error');
      log.error(
        { err: describeError(error) },
        'could not record an Alertmanager notification; it will retry',
      );
      send(
        res,
        503,
        {
          error: 'unavailable',
          message: `Baton could not record the alerts (${describeError(error)}); Alertmanager will retry`,
        },
        { 'retry-after': '5' },
      );
    });
  };

  return {
    path: ALERTMANAGER_PATH,
    // Other methods are routed here too, to answer 405 instead of Bolt's bare 404.
    method: ['POST', 'GET', 'PUT', 'PATCH', 'DELETE'],
    handler: (req, res) => {
      if (req.method !== 'POST') {
        options.metrics?.webhook('alertmanager', 'invalid');
        send(res, 405, { error: 'method-not-allowed', message: 'use POST' }, { allow: 'POST' });
        return;
      }
      handler(req, res);
    },
  };
}
