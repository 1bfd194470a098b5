/**
 * The Slack Web API client of the worker side. The client's own retries are off: the notify queue owns retrying
 * (per channel, honouring Retry-After, across processes), and a client that sleeps inside a call would hold a job
 * and its rate-limit slot. Every failure comes out as a SlackApiError (a BatonError) that says whether to retry,
 * how long Slack asked us to wait, and what an operator should check.
 */
import { ErrorCode, LogLevel, WebClient } from '@slack/web-api';
import type { Logger, WebAPICallResult } from '@slack/web-api';
import type { Log } from '../core/ports.js';
// Baton's codes, beside the Slack client's own ErrorCode.
import type { ErrorCode as BatonErrorCode } from '../error-codes.js';
import { BatonError } from '../errors.js';

export interface SlackWebClientOptions {
  /** The bot token (`xoxb-…`). */
  token: string;
  /** Web API base (default Slack's); the sandbox and tests point it at the stand-in. */
  apiUrl?: string;
  log: Log;
  /** Per-request timeout (default 10 s), so a hung connection cannot hold a notify job for long. */
  timeoutMs?: number;
  /** Told about every failed call (Baton's metrics count them by method and Slack error). */
  onError?: (error: SlackApiError) => void;
}

/** A failed Slack call. `slackError` is Slack's own code (`channel_not_found`) when Slack answered one. */
export class SlackApiError extends BatonError {
  readonly method: string;
  readonly slackError?: string;
  /** HTTP status when Slack answered something other than 200. */
  readonly status?: number;
  /** How long Slack asked us to wait (429 Retry-After), in ms. */
  readonly retryAfterMs?: number;

  constructor(
    code: BatonErrorCode,
    message: string,
    details: {
      method: string;
      retriable: boolean;
      slackError?: string;
      status?: number;
      retryAfterMs?: number;
      cause?: unknown;
    },
  ) {
    super(code, message, { retriable: details.retriable, cause: details.cause });
    this.name = 'SlackApiError';
    this.method = details.method;
    if (details.slackError !== undefined) this.slackError = details.slackError;
    if (details.status !== undefined) this.status = details.status;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
  }
}

// Slack error codes that describe a passing problem on Slack's side: trying again later can succeed.
const TRANSIENT_SLACK_ERRORS = new Set([
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'ratelimited',
  'rate_limited',
  'team_added_to_org',
  'org_login_required',
]);

const AUTH_SLACK_ERRORS = new Set([
  'not_authed',
  'invalid_auth',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'not_allowed_token_type',
]);

interface CodedLike {
  code?: unknown;
  message?: unknown;
  data?: { error?: unknown; needed?: unknown };
  statusCode?: unknown;
  retryAfter?: unknown;
  original?: { message?: unknown; code?: unknown };
}

/** Why Slack refused, and what an operator does about it. */
function describePlatformError(
  method: string,
  slackError: string,
  channel: string | undefined,
  needed?: string,
): { code: BatonErrorCode; message: string } {
  const where = channel ? ` ${channel}` : '';
  if (AUTH_SLACK_ERRORS.has(slackError))
    return {
      code: 'slack-auth',
      message: `Slack refused the bot token on ${method} (${slackError}) — check SLACK_BOT_TOKEN and that the Baton app is still installed in the workspace`,
    };
  switch (slackError) {
    case 'missing_scope':
      return {
        code: 'slack-missing-scope',
        message: `The Slack app lacks the scope ${needed ?? '(unknown)'} needed for ${method} — add it to the app manifest and reinstall the app`,
      };
    case 'channel_not_found':
      return {
        code: 'slack-channel-not-found',
        message: `Slack cannot find channel${where} for ${method} — check slack.incidentChannel in the topology; a private channel must invite the bot (/invite @Baton)`,
      };
    case 'not_in_channel':
      return {
        code: 'slack-not-in-channel',
        message: `The Baton bot is not a member of channel${where} — invite it with /invite @Baton`,
      };
    case 'is_archived':
      return {
        code: 'slack-channel-archived',
        message: `Channel${where} is archived — point slack.incidentChannel at a live channel`,
      };
    case 'message_not_found':
      return {
        code: 'slack-message-not-found',
        message: `The message to update in${where} no longer exists (deleted in Slack?)`,
      };
    case 'expired_trigger_id':
    case 'exchanged_trigger_id':
    case 'invalid_trigger_id':
      return {
        code: 'slack-trigger-expired',
        message: `Slack refused the trigger_id (${slackError}): modals must open within 3 s of the click, once — open them before any slow work`,
      };
    default:
      return {
        code: 'slack-rejected',
        message: `Slack refused ${method}${where} (${slackError})`,
      };
  }
}

/**
 * Translates whatever a WebClient call threw into a SlackApiError (one already translated passes through).
 * `channel` only improves the message.
 */
export function toSlackApiError(error: unknown, method: string, channel?: string): SlackApiError {
  if (error instanceof SlackApiError) return error;
  const coded = (typeof error === 'object' && error !== null ? error : {}) as CodedLike;
  switch (coded.code) {
    case ErrorCode.RateLimitedError: {
      const seconds = typeof coded.retryAfter === 'number' ? coded.retryAfter : 1;
      return new SlackApiError(
        'slack-rate-limited',
        `Slack rate-limited ${method}; it asked to wait ${seconds} s`,
        {
          method,
          retriable: true,
          status: 429,
          slackError: 'ratelimited',
          retryAfterMs: seconds * 1000,
          cause: error,
        },
      );
    }
    case ErrorCode.HTTPError: {
      const status = typeof coded.statusCode === 'number' ? coded.statusCode : 0;
      return new SlackApiError(
        'slack-unavailable',
        `Slack answered HTTP ${status} to ${method} — a Slack-side problem; Baton retries with backoff (see the Slack status page if it lasts)`,
        { method, retriable: status >= 500 || status === 429 || status === 408, status, cause: error },
      );
    }
    case ErrorCode.RequestError: {
      const detail = String(coded.original?.code ?? coded.original?.message ?? coded.message ?? 'no answer');
      return new SlackApiError(
        'slack-unreachable',
        `Could not reach Slack for ${method} (${detail}) — check outbound HTTPS from Baton and SLACK_API_URL; Baton retries`,
        { method, retriable: true, cause: error },
      );
    }
    case ErrorCode.PlatformError: {
      const slackError = String(coded.data?.error ?? 'unknown_error');
      const needed = typeof coded.data?.needed === 'string' ? coded.data.needed : undefined;
      const transient = TRANSIENT_SLACK_ERRORS.has(slackError);
      const { code, message }: { code: BatonErrorCode; message: string } = transient
        ? {
            code: 'slack-unavailable',
            message: `Slack failed ${method} (${slackError}); Baton retries with backoff`,
          }
        : describePlatformError(method, slackError, channel, needed);
      return new SlackApiError(code, message, { method, retriable: transient, slackError, cause: error });
    }
    default: {
      // p-retry hands back plain Errors (a 429 without a usable Retry-After); they are worth another try.
      const detail = error instanceof Error ? error.message : String(error);
      return new SlackApiError('slack-error', `Slack call ${method} failed: ${detail}`, {
        method,
        retriable: true,
        cause: error,
      });
    }
  }
}

/** The WebClient's own log lines, at debug: its failures reach Baton as SlackApiErrors, logged by the caller. */
function webClientLogger(log: Log): Logger {
  let level = LogLevel.INFO;
  const line = (parts: unknown[]) =>
    parts.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(' ');
  const child = log.child({ component: 'slack-web-api' });
  return {
    debug: (...parts: unknown[]) => child.debug({}, line(parts)),
    info: (...parts: unknown[]) => child.debug({}, line(parts)),
    warn: (...parts: unknown[]) => child.debug({}, line(parts)),
    // Schema complaints in response_metadata ([ERROR] …) explain a refused message: worth a warning.
    error: (...parts: unknown[]) => child.warn({}, line(parts)),
    setLevel: (next: LogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

/** A WebClient whose every method throws SlackApiError instead of the SDK's coded errors. */
class TranslatingWebClient extends WebClient {
  onError?: (error: SlackApiError) => void;

  override async apiCall(method: string, options?: Record<string, unknown>): Promise<WebAPICallResult> {
    try {
      return await super.apiCall(method, options);
    } catch (error) {
      const channel = typeof options?.channel === 'string' ? options.channel : undefined;
      const failure = toSlackApiError(error, method, channel);
      this.onError?.(failure);
      throw failure;
    }
  }
}

/**
 * Creates the worker side's Slack client: no retries of its own (`retries: 0`, rate-limited calls rejected at
 * once with the Retry-After), a request timeout, method names never taken as absolute URLs (the token only goes
 * to `apiUrl`), and errors translated to SlackApiError.
 */
export function createSlackWebClient(options: SlackWebClientOptions): WebClient {
  const client = new TranslatingWebClient(options.token, {
    ...(options.apiUrl && { slackApiUrl: options.apiUrl }),
    logger: webClientLogger(options.log),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: options.timeoutMs ?? 10_000,
    allowAbsoluteUrls: false,
  });
  if (options.onError) client.onError = options.onError;
  return client;
}

/**
 * POSTs a reply to a response_url (JSON, as Bolt's `respond` does; never with the bot token). Slack honours a
 * response_url 5 times within 30 minutes of the click; a refusal then is permanent, a 5xx or no answer is not.
 */
export async function postToResponseUrl(
  url: string,
  body: Record<string, unknown>,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  const method = 'response_url';
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new SlackApiError(
      'slack-unreachable',
      `Could not reach Slack's response_url (${detail}) — check outbound HTTPS from Baton; Baton retries`,
      { method, retriable: true, cause: error },
    );
  }
  const text = await response.text().catch(() => '');
  if (response.ok) return;
  let slackError = text.trim().slice(0, 100) || `http_${response.status}`;
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') slackError = parsed.error;
  } catch {
    // Slack answers some refusals in plain text (`invalid_payload`).
  }
  if (response.status === 429) {
    const seconds = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
    throw new SlackApiError('slack-rate-limited', `Slack rate-limited a response_url post`, {
      method,
      retriable: true,
      status: 429,
      slackError,
      ...(Number.isFinite(seconds) && { retryAfterMs: seconds * 1000 }),
    });
  }
  if (response.status >= 500)
    throw new SlackApiError(
      'slack-unavailable',
      `Slack answered HTTP ${response.status} to a response_url post; Baton retries`,
      { method, retriable: true, status: response.status, slackError },
    );
  throw new SlackApiError(
    'slack-response-url-refused',
    `Slack refused the response_url post (${slackError}): a response_url works 5 times within 30 minutes of the click`,
    { method, retriable: false, status: response.status, slackError },
  );
}
