/**
 * The Web API's wire format, as Slack's method reference describes it: a call's arguments come from the query
 * string and a form-encoded or JSON body (a `token` field counts only in a form body or a GET), and every
 * method answers `{ ok: true, … }` or `{ ok: false, error }`.
 */
import type { IncomingMessage } from 'node:http';

/** A method's arguments: strings from a query or form body, any JSON value from a JSON body. */
export type Params = Record<string, unknown>;

/** What a method answers, always with HTTP 200. */
export type Answer =
  { ok: true; [key: string]: unknown } | { ok: false; error: string; [key: string]: unknown };

export const fail = (error: string, extra: Params = {}): Answer => ({ ok: false, error, ...extra });

/** A string argument; form bodies carry numbers as strings, JSON bodies may not. */
export const asString = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;

/** An object argument, sent as a JSON string (form bodies) or as an object (JSON bodies). */
export function parseJsonParam(value: unknown): Params | undefined {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Params;
  if (typeof value !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Params)
      : undefined;
  } catch {
    return undefined;
  }
}

export interface DecodedCall {
  params: Params;
  /** A `token` argument, where Slack reads one (query or form body; never a JSON body). */
  bodyToken?: string;
  /** Why the body could not be read: `missing_post_type`, `invalid_post_type` or `invalid_json`. */
  error?: string;
}

/** A Web API call's arguments: the query string, then a form-encoded or JSON body on top. */
export function decodeWebApiCall(req: IncomingMessage, raw: string, url: URL): DecodedCall {
  const params: Params = Object.fromEntries(url.searchParams);
  if (req.method === 'GET' || raw.length === 0)
    return { params, ...(asString(params.token) && { bodyToken: asString(params.token) }) };
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (!contentType) return { params, error: 'missing_post_type' };
  if (contentType === 'application/x-www-form-urlencoded') {
    Object.assign(params, Object.fromEntries(new URLSearchParams(raw)));
    const token = asString(params.token);
    return { params, ...(token && { bodyToken: token }) };
  }
  if (contentType === 'application/json') {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        return { params, error: 'invalid_json' };
      // Slack reads the token of a JSON body only from the Authorization header.
      Object.assign(params, parsed);
      return { params };
    } catch {
      return { params, error: 'invalid_json' };
    }
  }
  return { params, error: 'invalid_post_type' };
}
