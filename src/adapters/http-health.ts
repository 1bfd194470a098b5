/**
 * The health probe behind {@link HealthPort}: one GET, healthy only on a 2xx answer. It never throws; a failure
 * comes back as a short reason an operator can act on (timeout, refused, TLS, DNS).
 */
import type { CallOptions, HealthPort } from '../core/ports.js';

export interface HttpHealthOptions {
  /** Time allowed for the answer's status line and headers (default 3000 ms). */
  timeoutMs?: number;
}

export type HealthResult = Awaited<ReturnType<HealthPort['check']>>;

// Node's TLS verification errors (err.cause.code from undici) and what they mean to an operator.
const TLS_CODES: Record<string, string> = {
  CERT_HAS_EXPIRED: 'certificate expired',
  CERT_NOT_YET_VALID: 'certificate not yet valid',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'certificate chain incomplete',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unknown certificate issuer',
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate does not match the host name',
  ERR_SSL_WRONG_VERSION_NUMBER: 'not a TLS server',
};

/** {@link HealthPort} over the platform's fetch. */
export class HttpHealth implements HealthPort {
  private readonly timeoutMs: number;

  constructor(options: HttpHealthOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 3_000;
  }

  async check(url: string, options: CallOptions = {}): Promise<HealthResult> {
    options.signal?.throwIfAborted();
    try {
      const response = await fetch(url, {
        method: 'GET',
        // A redirect (e.g. to a login page) is not the endpoint answering healthy; it is reported as not ok.
        redirect: 'manual',
        headers: { accept: '*/*', 'user-agent': 'baton-health' },
        signal: options.signal
          ? AbortSignal.any([options.signal, AbortSignal.timeout(this.timeoutMs)])
          : AbortSignal.timeout(this.timeoutMs),
      });
      // Only the status matters: release the connection instead of reading a body that may never end.
      await response.body?.cancel().catch(() => undefined);
      const { status } = response;
      if (status >= 200 && status < 300) return { ok: true, status };
      const location = response.headers.get('location');
      return {
        ok: false,
        status,
        error:
          status >= 300 && status < 400 && location
            ? `HTTP ${status} redirect to ${location}`
            : `HTTP ${status}${response.statusText ? ` ${response.statusText}` : ''}`,
      };
    } catch (error) {
      // The step's own abort is not an answer from the endpoint.
      if (options.signal?.aborted) throw options.signal.reason;
      return { ok: false, error: this.reason(error) };
    }
  }

  private reason(error: unknown): string {
    const name = (error as { name?: unknown } | null)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') return `timeout after ${this.timeoutMs} ms`;
    if (error instanceof TypeError && /invalid url|failed to parse url/i.test(error.message))
      return 'invalid URL';
    const cause = (error as { cause?: unknown } | null)?.cause;
    const code = (cause as { code?: unknown } | null)?.code;
    const causeMessage = cause instanceof Error ? cause.message : '';
    if (typeof code === 'string') {
      if (code === 'ECONNREFUSED') return 'connection refused';
      if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'DNS: host not found';
      if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset';
      if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
      if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'connect timeout';
      // llhttp parse errors: something answered, but not with HTTP.
      if (code.startsWith('HPE_')) return `not an HTTP answer (${code})`;
      const tls = TLS_CODES[code];
      if (tls) return `TLS: ${tls}`;
      if (
        code.startsWith('ERR_SSL_') ||
        code.startsWith('ERR_TLS_') ||
        /certificate|ssl|tls/i.test(causeMessage)
      ) {
        return `TLS: ${causeMessage || code}`;
      }
      return code;
    }
    if (causeMessage) return causeMessage.slice(0, 200);
    return error instanceof Error ? error.message.slice(0, 200) : String(error).slice(0, 200);
  }
}
