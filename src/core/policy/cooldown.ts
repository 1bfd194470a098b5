/**
 * Cooldown (DESIGN §6): a site that failed over less than its `cooldown` ago refuses a new failover, so that a
 * flapping alert cannot bounce production between clusters. Failback is not affected (and a succeeded failback ends
 * the cooldown), and break-glass (`--force`) overrides it. Pure: the caller passes the site's history and the time.
 */
import type { ClusterId } from '../../config/topology.js';
import { BatonError } from '../../errors.js';
import type { Run } from '../model.js';

/** The cooldown of a site whose topology does not set `cooldown`. */
export const DEFAULT_COOLDOWN_MS = 10 * 60_000;

const MINUTE_MS = 60_000;

/** The succeeded failover the site is served by now: the run, where it moved the site, and when it finished. */
export interface LastFailover {
  runId: string;
  to: ClusterId;
  finishedAt: number;
}

export interface CooldownInput {
  site: string;
  lastFailover?: LastFailover | undefined;
  now: number;
  cooldownMs: number;
  /** A break-glass proposal (`--force`): the cooldown does not hold it back. */
  force: boolean;
  /** Approvals a break-glass run needs, to say so in the refusal. */
  breakGlassRequired: number;
}

export type CooldownDecision =
  { ok: true } | { ok: false; lastFailover: LastFailover; until: number; reason: string };

/** The refusal (code `cooldown`), with what a caller needs to tell the channel once per cooldown. */
export class CooldownError extends BatonError {
  constructor(
    message: string,
    readonly lastFailover: LastFailover,
    /** When the cooldown ends. */
    readonly until: number,
  ) {
    super('cooldown', message);
  }
}

/**
 * The failover that put the site where it serves now: the newest succeeded run of `history` (any order), when it is a
 * failover, finished when it succeeded rather than at its last save. A failback since then (people brought the site
 * home on purpose) ends the cooldown, as Baton's record of who serves since when does.
 */
export function lastFailover(history: readonly Run[]): LastFailover | undefined {
  let newest: { run: Run; finishedAt: number } | undefined;
  for (const run of history) {
    if (run.state !== 'succeeded') continue;
    const succeeded = run.timeline.findLast((entry) => entry.event === 'succeeded');
    const finishedAt = succeeded?.at ?? run.updatedAt;
    if (!newest || finishedAt > newest.finishedAt) newest = { run, finishedAt };
  }
  if (newest?.run.kind !== 'failover') return undefined;
  return { runId: newest.run.id, to: newest.run.to, finishedAt: newest.finishedAt };
}

/** Whether a new failover may be proposed now; when not, the refusal in the operator's words. */
export function checkCooldown(input: CooldownInput): CooldownDecision {
  const { site, lastFailover: last, now, cooldownMs, force } = input;
  if (force || !last) return { ok: true };
  const until = last.finishedAt + cooldownMs;
  if (now >= until) return { ok: true };
  const agoMs = Math.max(0, now - last.finishedAt);
  const ago = agoMs < MINUTE_MS ? 'less than a minute' : `${Math.floor(agoMs / MINUTE_MS)} min`;
  const left = Math.ceil((until - now) / MINUTE_MS);
  const reason =
    `${site} failed over to ${last.to} ${ago} ago (run ${last.runId}); a new failover is refused for ${left} more ` +
    `min (cooldown ${cooldownText(cooldownMs)}), so that a flapping alert cannot bounce it between clusters. ` +
    `Failback is not affected: \`/failback ${site}\`. An approver can override it with break-glass ` +
    `(${input.breakGlassRequired} approvals): \`/failover ${site} <reason> --force\``;
  return { ok: false, lastFailover: last, until, reason };
}

/** `10 min`, or `1m30s` for a cooldown that is not whole minutes (as the topology's durations are written). */
function cooldownText(ms: number): string {
  const minutes = Math.floor(ms / MINUTE_MS);
  const seconds = Math.round((ms % MINUTE_MS) / 1000);
  if (seconds === 0) return `${minutes} min`;
  return `${minutes > 0 ? `${minutes}m` : ''}${seconds}s`;
}
