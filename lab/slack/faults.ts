/**
 * Faults a test can inject into the stand-in: 429s and 5xx answers for the next matching calls, an outage
 * that resets every connection, and latency on every answer.
 */
import type { Answer } from './web-api-wire.js';
import { fail } from './web-api-wire.js';

export interface SlackFaults {
  /** The next `count` (default 1) matching calls get HTTP 429 with `Retry-After: retryAfterS`. */
  rateLimit(options: { method?: string; channel?: string; retryAfterS: number; count?: number }): void;
  /** The next `count` (default 1; Infinity until `clear`) matching calls get HTTP `status`. */
  fail(options: { status: 500 | 503; method?: string; count?: number }): void;
  /**
   * While on, every connection is reset before an answer, as when Slack is unreachable; open Socket Mode
   * connections are reset too and new ones refused.
   */
  outage(on: boolean): void;
  /**
   * Delay every request by `ms`, plus up to `jitterMs` more drawn for each one, before Slack handles it: with jitter,
   * two requests sent a moment apart may reach Slack in either order, as over a real network.
   */
  latency(ms: number, options?: { jitterMs?: number }): void;
  /** Ends every fault. */
  clear(): void;
}

/** The answer a fault gives in place of the method's. */
export interface FaultAnswer {
  status: number;
  headers: Record<string, string>;
  body: Answer;
}

interface PendingFault {
  method?: string;
  channel?: string;
  remaining: number;
  answer: FaultAnswer;
}

export class FaultInjector {
  /** Read by the HTTP server and Socket Mode on every request and upgrade. */
  outage = false;
  private baseLatencyMs = 0;
  private jitterMs = 0;
  /** What tests call (`server.faults`); its functions hold no `this`, so they can be passed around. */
  readonly controls: SlackFaults;
  private pending: PendingFault[] = [];

  /** `onOutage` runs when an outage starts, to reset connections that are already open. */
  constructor(onOutage: () => void) {
    this.controls = {
      rateLimit: ({ method, channel, retryAfterS, count = 1 }) => {
        this.pending.push({
          ...(method && { method }),
          ...(channel && { channel }),
          remaining: count,
          answer: { status: 429, headers: { 'retry-after': String(retryAfterS) }, body: fail('ratelimited') },
        });
      },
      fail: ({ status, method, count = 1 }) => {
        const error = status === 503 ? 'service_unavailable' : 'internal_error';
        this.pending.push({
          ...(method && { method }),
          remaining: count,
          answer: { status, headers: {}, body: fail(error) },
        });
      },
      outage: (on) => {
        this.outage = on;
        if (on) onOutage();
      },
      latency: (ms, { jitterMs = 0 } = {}) => {
        this.baseLatencyMs = ms;
        this.jitterMs = jitterMs;
      },
      clear: () => {
        this.pending = [];
        this.outage = false;
        this.baseLatencyMs = 0;
        this.jitterMs = 0;
      },
    };
  }

  /** How long to hold the request now arriving (ms). */
  latencyMs(): number {
    return this.baseLatencyMs + (this.jitterMs > 0 ? Math.random() * this.jitterMs : 0);
  }

  /** Uses up one injected answer matching this call, if any. */
  take(method: string, channel: string | undefined): FaultAnswer | undefined {
    const fault = this.pending.find(
      (f) => (!f.method || f.method === method) && (!f.channel || f.channel === channel),
    );
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.pending = this.pending.filter((f) => f !== fault);
    return fault.answer;
  }
}
