/**
 * Slack's rate limits on the methods Baton posts with, as token buckets answered with a 429 and `Retry-After`:
 *
 * - chat.postMessage's special limit: about one message per second per channel, short bursts allowed.
 * - chat.update's own limit: it is a Tier 3 method ("50+ per minute … sporadic bursts are welcome"), counted per
 *   method per workspace per app, so its calls never use up chat.postMessage's per-channel budget or the reverse.
 *
 * Slack's rate-limits page gives these figures; it publishes no burst sizes, so tests choose them. Other tiers are
 * not modelled: `faults.rateLimit` stands in for them when a test needs a 429.
 */

export interface ChannelRateLimitOptions {
  /** Tokens added per second. */
  perSecond: number;
  /** Bucket size: the burst allowed after a quiet spell. */
  burst: number;
}

/** A per-method (Tier) limit for one workspace. */
export interface MethodRateLimitOptions {
  /** Tokens added per minute (Tier 3: 50). */
  perMinute: number;
  /** Bucket size: the burst allowed after a quiet spell. */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class ChannelRateLimit {
  private readonly buckets = new Map<string, Bucket>();

  /** Without a limit nothing is limited. */
  constructor(
    private readonly limit: ChannelRateLimitOptions | undefined,
    private readonly now: () => number,
    private readonly updateLimit?: MethodRateLimitOptions,
  ) {}

  /** Takes a token for a call; returns the Retry-After seconds when its bucket has none left. */
  retryAfter(method: string, channel: string | undefined): number | undefined {
    if (method === 'chat.postMessage' && channel && this.limit)
      return this.take(`channel:${channel}`, this.limit.perSecond, this.limit.burst);
    if (method === 'chat.update' && this.updateLimit)
      return this.take('method:chat.update', this.updateLimit.perMinute / 60, this.updateLimit.burst);
    return undefined;
  }

  private take(key: string, perSecond: number, burst: number): number | undefined {
    const at = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: burst, at };
    bucket.tokens = Math.min(burst, bucket.tokens + ((at - bucket.at) / 1000) * perSecond);
    bucket.at = at;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
  }
}
