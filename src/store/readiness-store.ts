/**
 * Continuous readiness in Redis (`{baton}:readiness:<site>`, a hash): the last evaluation of each site, and the
 * verdict last posted to the incident channel and when. Recording an evaluation and deciding what to post is one
 * compare-and-set (lua/record-readiness.lua), so a change of verdict posts once however many workers evaluate the
 * site, recovery posts once, and a site that stays red is reminded at most once per `remindEveryMs` (a day).
 */
import type { Redis } from 'ioredis';
import type { ReadinessEvaluation } from '../core/readiness/readiness-types.js';
import { StoreKeys } from './keys.js';
import { loadScript } from './script.js';

/** What the channel hears after an evaluation was recorded. */
export type ReadinessNotice = 'unready' | 'recovered' | 'reminder';
export type RecordOutcome = ReadinessNotice | 'none' | 'stale';

const RECORD_OUTCOMES: readonly string[] = ['unready', 'recovered', 'reminder', 'none', 'stale'];

/** A red site is reminded at most this often. */
export const READINESS_REMINDER_EVERY_MS = 24 * 3600_000;
/** How long a site's record outlives its last evaluation (a site removed from the topology fades away). */
const RECORD_TTL_MS = 14 * 24 * 3600_000;

const RECORD_READINESS = loadScript('record-readiness', {
  keys: ['readiness'],
  args: ['at', 'startedAt', 'verdict', 'evaluation', 'remindEveryMs', 'ttlMs'],
});
/** The paused-run reminders' claim: "due when `everyMs` passed since the last claim", reused for evaluations. */
const CLAIM = loadScript('claim-reminder', {
  keys: ['reminder'],
  args: ['now', 'pausedAt', 'everyMs', 'ttlMs'],
});

/** A site's readiness record. */
export interface ReadinessRecord {
  evaluation: ReadinessEvaluation;
  /** The verdict the channel was last told, and when (absent before anything was decided). */
  posted?: { ready: boolean; at: number };
  /** Since when the channel has been told the site is not ready (absent while it is ready). */
  redSince?: number;
}

export class ReadinessStore {
  private readonly keys: StoreKeys;

  constructor(
    private readonly redis: Redis,
    prefix?: string,
  ) {
    this.keys = new StoreKeys(prefix);
  }

  /**
   * Claims the site's next evaluation when `everyMs` has passed since the last claim: true for exactly one caller
   * per interval across every worker (a pass that lost its worker is claimed again after the interval).
   */
  async claimEvaluation(site: string, now: number, everyMs: number): Promise<boolean> {
    const claimed = await CLAIM.run(this.redis, {
      keys: { reminder: this.keys.readinessClaim(site) },
      args: { now, pausedAt: 0, everyMs, ttlMs: everyMs * 2 },
    });
    return claimed === 1;
  }

  /**
   * Stores the evaluation and says what to post about it: at most one caller gets each notice. `redSince` is when
   * the channel was first told the site is not ready (for "ready again after 2 h"), absent when it was not.
   */
  async record(
    evaluation: ReadinessEvaluation,
    options: { remindEveryMs?: number } = {},
  ): Promise<{ outcome: RecordOutcome; redSince?: number }> {
    const reply = await RECORD_READINESS.run(this.redis, {
      keys: { readiness: this.keys.readiness(evaluation.site) },
      args: {
        at: evaluation.at,
        startedAt: evaluation.at - evaluation.durationMs,
        verdict: evaluation.ready ? 'ready' : 'unready',
        evaluation: JSON.stringify(evaluation),
        remindEveryMs: options.remindEveryMs ?? READINESS_REMINDER_EVERY_MS,
        ttlMs: RECORD_TTL_MS,
      },
    });
    const [outcome, redSince] = Array.isArray(reply) ? reply.map(String) : [String(reply), ''];
    if (!outcome || !RECORD_OUTCOMES.includes(outcome))
      throw new Error(`record-readiness returned ${String(reply)}`);
    return { outcome: outcome as RecordOutcome, ...(redSince && { redSince: Number(redSince) }) };
  }

  /** The site's last evaluation and what was last posted; null before its first evaluation. */
  async last(site: string): Promise<ReadinessRecord | null> {
    const raw = await this.redis.hmget(
      this.keys.readiness(site),
      'evaluation',
      'posted',
      'postedAt',
      'redSince',
    );
    const [evaluation, posted, postedAt, redSince] = raw;
    if (!evaluation) return null;
    return {
      evaluation: JSON.parse(evaluation) as ReadinessEvaluation,
      ...(posted && { posted: { ready: posted === 'ready', at: Number(postedAt ?? 0) } }),
      ...(redSince && { redSince: Number(redSince) }),
    };
  }

  /** The last evaluation of each site (null where there is none yet), in the order given. */
  async lastOf(sites: readonly string[]): Promise<(ReadinessRecord | null)[]> {
    return Promise.all(sites.map((site) => this.last(site)));
  }
}
