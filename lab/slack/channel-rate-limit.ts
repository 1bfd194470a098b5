/**
 * Slack's special limit on chat.postMessage — about one message per second per channel, short bursts allowed
 * — as a token bucket per channel, answered with a 429 and `Retry-After`. Only that limit is modelled: the
 * per-method tiers are not, and `faults.rateLimit` stands in for them when a test needs a 429.
 */

export interface ChannelRateLimitOptions {
  /** Tokens added per second. */
  perSecond: number;
  /** Bucket size: the burst allowed after a quiet spell. */
  burst: number;
}

export class ChannelRateLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /** Without `limit` nothing is limited. */
  constructor(
    private readonly limit: ChannelRateLimitOptions | undefined,
    private readonly now: () => number,
  ) {}

  /** Takes a token for a call; returns the Retry-After seconds when the channel has none left. */
  retryAfter(method: string, channel: string | undefined): number | undefined {
    const { limit } = this;
    if (!limit || method !== 'chat.postMessage' || !channel) return undefined;
    const at = this.now();
    const bucket = this.buckets.get(channel) ?? { tokens: limit.burst, at };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((at - bucket.at) / 1000) * limit.perSecond);
    bucket.at = at;
    this.buckets.set(channel, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / limit.perSecond));
  }
}
