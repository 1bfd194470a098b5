/**
 * Whether Baton's own probes of the serving cluster agree that it is down (pure). A single probe cannot tell "the
 * cluster is down" from "Baton is cut off from it" or from a blip, so the witness needs a run of failed probes that
 * covers the whole quiet period: at least `required` of them, the first within `slackMs` of the period's start (or,
 * after a success or a gap in probing restarted the count, a whole quiet period before now), the last one within
 * the last pass, and no success in between. The failures are counted by every worker's passes in the incident
 * record ({@link ProbeTally}).
 */
import type { ProbeTally } from '../store/incidents/incident-record.js';

export interface ProbeRule {
  /** The quiet period. */
  afterMs: number;
  /** Failed probes needed (the witness's `probes`). */
  required: number;
  /** How late the first probe may be, and how old the last one; about a few auto-approval passes. */
  slackMs: number;
  now: number;
}

export type ProbeVerdict =
  | {
      agrees: true;
      /** Failed probes in a row, since when, and the newest one's error. */
      streak: number;
      since: number;
      detail: string;
    }
  | {
      agrees: false;
      /** The newest probe, or one after the newest failure, got an answer. */
      reason: 'answered';
      failed: number;
      total: number;
      okAt: number;
      /** The answer's status, when the newest probe is the success. */
      status?: string;
    }
  | {
      agrees: false;
      /** Fewer failures in a row than required. */
      reason: 'too-few';
      streak: number;
      required: number;
      since?: number;
    }
  | {
      agrees: false;
      /** The failures began too late to cover the quiet period (a success or a gap in probing reset the count). */
      reason: 'too-short';
      streak: number;
      since: number;
      /** The last success before them, if that is what reset the count. */
      okAt?: number;
      /** When the policy could approve if every probe keeps failing. */
      earliestAt: number;
    }
  | {
      agrees: false;
      /** The newest failure is older than the last pass (nobody has probed lately). */
      reason: 'stale';
      lastAt: number;
    };

export function judgeProbes(tally: ProbeTally | undefined, rule: ProbeRule): ProbeVerdict {
  const { afterMs, required, slackMs, now } = rule;
  const last = tally?.last;
  if (!tally || !last) return { agrees: false, reason: 'too-few', streak: 0, required };
  const { streak, streakSince, streakLast, lastOkAt } = tally;
  if (last.ok || streak === 0 || streakSince === undefined || streakLast === undefined) {
    if (lastOkAt !== undefined) {
      return {
        agrees: false,
        reason: 'answered',
        failed: tally.failed,
        total: tally.total,
        okAt: lastOkAt,
        ...(last.ok && { status: last.detail }),
      };
    }
    return { agrees: false, reason: 'too-few', streak: 0, required };
  }
  if (streak < required) return { agrees: false, reason: 'too-few', streak, required, since: streakSince };
  if (now - streakLast > slackMs) return { agrees: false, reason: 'stale', lastAt: streakLast };
  // The run of failures must cover the quiet period: begin within the slack of its start (the normal case) or, if a
  // success or a gap restarted the count, at least a quiet period (less the slack) before now.
  const earliestAt = Math.max(tally.since, streakSince - slackMs) + afterMs;
  if (now < earliestAt) {
    return {
      agrees: false,
      reason: 'too-short',
      streak,
      since: streakSince,
      ...(lastOkAt !== undefined && lastOkAt < streakSince && { okAt: lastOkAt }),
      earliestAt,
    };
  }
  return { agrees: true, streak, since: streakSince, detail: last.detail };
}
