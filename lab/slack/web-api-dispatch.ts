/**
 * One Web API call from arrival to answer, checked in Slack's order: an injected fault, a body that cannot be
 * read, the token (bot or app-level, and where each may come from), the method, its scope, then the
 * per-channel rate limit. Every call is logged with its outcome, for tests to assert on.
 */
import type { IncomingMessage } from 'node:http';
import type { ChannelRateLimit } from './channel-rate-limit.js';
import type { FaultInjector } from './faults.js';
import type { JsonReply } from './http-server.js';
import type { WebApiMethod } from './web-api-methods.js';
import { METHOD_SCOPES } from './web-api-methods.js';
import type { Answer } from './web-api-wire.js';
import { asString, decodeWebApiCall, fail } from './web-api-wire.js';

export interface SlackApiCall {
  method: string;
  channel?: string;
  /** When the request arrived (ms, the server's clock). */
  at: number;
  status: number;
  ok: boolean;
  error?: string;
}

export interface WebApiDispatchOptions {
  /** The only bot token accepted. */
  botToken: string;
  /** The app-level token, good for apps.connections.open only. */
  appToken?: string;
  scopes: Set<string>;
  methods: Record<string, WebApiMethod>;
  faults: FaultInjector;
  rateLimit: ChannelRateLimit;
  now: () => number;
}

export class WebApiDispatch {
  private readonly callLog: SlackApiCall[] = [];

  constructor(private readonly options: WebApiDispatchOptions) {}

  /** Every call, oldest first, narrowed by `filter`. */
  calls(filter: { method?: string; channel?: string; ok?: boolean } = {}): SlackApiCall[] {
    return structuredClone(
      this.callLog.filter(
        (c) =>
          (!filter.method || c.method === filter.method) &&
          (!filter.channel || c.channel === filter.channel) &&
          (filter.ok === undefined || c.ok === filter.ok),
      ),
    );
  }

  /** `/api/<method>`: the HTTP reply and its log entry. */
  answer(method: string, req: IncomingMessage, raw: string, url: URL): JsonReply {
    const { options } = this;
    const at = options.now();
    const decoded = decodeWebApiCall(req, raw, url);
    const channel = asString(decoded.params.channel);
    const answer = (status: number, body: Answer, headers: Record<string, string> = {}): JsonReply => {
      this.callLog.push({
        method,
        ...(channel && { channel }),
        at,
        status,
        ok: body.ok,
        ...(!body.ok && { error: body.error }),
      });
      return { status, body, headers };
    };

    const fault = options.faults.take(method, channel);
    if (fault) return answer(fault.status, fault.body, fault.headers);
    if (decoded.error) return answer(200, fail(decoded.error));

    const header = req.headers.authorization;
    const headerToken = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    const appLevel = method === 'apps.connections.open';
    // apps.connections.open takes the app-level token only from the Authorization header; an app-level token
    // is good for nothing else, and a bot token not for that.
    const token = appLevel ? headerToken : (headerToken ?? decoded.bodyToken);
    if (!token) return answer(200, fail('not_authed'));
    const isAppToken = options.appToken !== undefined && token === options.appToken;
    if (appLevel ? token === options.botToken : isAppToken)
      return answer(200, fail('not_allowed_token_type'));
    if (!(appLevel ? isAppToken : token === options.botToken)) return answer(200, fail('invalid_auth'));

    // Own properties only: `/api/toString` is an unknown method to Slack, not a function of a JavaScript object.
    const handler = Object.hasOwn(options.methods, method) ? options.methods[method] : undefined;
    if (!handler) return answer(200, fail('unknown_method', { req_method: method }));
    const needed = Object.hasOwn(METHOD_SCOPES, method) ? METHOD_SCOPES[method] : undefined;
    const { scopes } = options;
    if (needed && !scopes.has(needed))
      return answer(200, fail('missing_scope', { needed, provided: [...scopes].join(',') }));

    const retryAfter = options.rateLimit.retryAfter(method, channel);
    if (retryAfter !== undefined)
      return answer(429, fail('ratelimited'), { 'retry-after': String(retryAfter) });

    return answer(200, handler(decoded.params), {
      'x-oauth-scopes': appLevel ? 'connections:write' : [...scopes].join(','),
    });
  }
}
