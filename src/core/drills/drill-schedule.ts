/**
 * When a game day runs: reading `--at`, `--every` and `--hold`, the next occurrence, whether a due occurrence may
 * start (blocked windows, the age of its approvals), and approving a proposed drill with the same rules as a run.
 * Pure: the caller passes the time.
 */
import type { ApprovalsConfig } from '../../config/topology.js';
import { BatonError } from '../../errors.js';
import type { Actor } from '../model.js';
import { approverMatch } from '../model.js';
import type { BlockedWindow } from '../policy/blocked-windows.js';
import { blockedWindowAt } from '../policy/blocked-windows.js';
import { findSameApprover } from '../policy/identity.js';
import type { Drill } from './drill.js';
import { DRILL_LIMITS } from './drill.js';

const UNIT_MS = { w: 7 * 86_400_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;
type Unit = keyof typeof UNIT_MS;
const ORDER: readonly Unit[] = ['w', 'd', 'h', 'm', 's'];
const PART = /(\d+)(w|d|h|m|s)/y;

/** `7d`, `1w`, `30m`, `1h30m` → ms, or null when it is not a duration. */
export function parseDrillDuration(text: string): number | null {
  if (!text) return null;
  PART.lastIndex = 0;
  let total = 0;
  let last = -1;
  while (PART.lastIndex < text.length) {
    const match = PART.exec(text);
    if (!match) return null;
    const index = ORDER.indexOf(match[2] as Unit);
    if (index <= last) return null;
    last = index;
    total += Number(match[1]) * UNIT_MS[match[2] as Unit];
  }
  return total > 0 ? total : null;
}

/** 604800000 → `7d`, 5400000 → `1h30m`. */
export function formatDrillDuration(ms: number): string {
  let rest = Math.round(ms);
  let out = '';
  for (const unit of ORDER) {
    if (unit === 'w') continue; // `14d` reads better than `2w`
    const count = Math.floor(rest / UNIT_MS[unit]);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * UNIT_MS[unit];
    }
  }
  return out || '0s';
}

const HH_MM = /^([01]?\d|2[0-3]):([0-5]\d)$/;
const ISO = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * `--at`: `HH:MM` (UTC, the next time the clock shows it) or an ISO time (`2026-12-08T14:00Z`; without an offset it
 * is UTC). Returns ms, or a reason that says what to write.
 */
export function parseDrillAt(
  text: string,
  now: number,
): { ok: true; at: number } | { ok: false; error: string } {
  const example = '--at 14:00 (UTC, next occurrence) or --at 2026-12-08T14:00Z';
  const hhmm = HH_MM.exec(text);
  let at: number;
  if (hhmm) {
    const day = new Date(now);
    at = Date.UTC(
      day.getUTCFullYear(),
      day.getUTCMonth(),
      day.getUTCDate(),
      Number(hhmm[1]),
      Number(hhmm[2]),
    );
    if (at <= now) at += UNIT_MS.d;
  } else if (ISO.test(text)) {
    const iso = text.replace(' ', 'T');
    at = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/i.test(iso) ? iso : `${iso}Z`);
    if (Number.isNaN(at)) return { ok: false, error: `"${text}" is not a time; write ${example}` };
    if (at <= now)
      return { ok: false, error: `${new Date(at).toISOString()} is in the past; write ${example}` };
  } else {
    return { ok: false, error: `"${text}" is not a time; write ${example}` };
  }
  if (at - now > DRILL_LIMITS.maxAheadMs)
    return { ok: false, error: `--at is more than 90 days ahead; pick a nearer date` };
  return { ok: true, at };
}

/** The occurrence after one that was due at `dueAt`: the first start after `now` on the drill's rhythm. */
export function nextOccurrence(
  drill: Pick<Drill, 'everyMs'>,
  dueAt: number,
  now: number,
): number | undefined {
  if (drill.everyMs === undefined) return undefined;
  let next = dueAt + drill.everyMs;
  while (next <= now) next += drill.everyMs;
  return next;
}

/** What to do with a drill whose occurrence is due. */
export type DueDecision =
  | { kind: 'start' }
  /** Skip this occurrence (the caller still checks readiness before a start). */
  | { kind: 'skip'; reason: string; window?: BlockedWindow }
  /** The approvals are too old to reuse: the drill expires. */
  | { kind: 'expire'; reason: string };

export function decideDue(
  drill: Pick<Drill, 'approvedAt'>,
  now: number,
  windows: readonly BlockedWindow[],
): DueDecision {
  if (drill.approvedAt !== undefined && now - drill.approvedAt > DRILL_LIMITS.approvalsValidMs) {
    return {
      kind: 'expire',
      reason:
        `its approvals (${new Date(drill.approvedAt).toISOString().slice(0, 10)}) are more than 30 days old; ` +
        'propose the drill again to have it approved afresh',
    };
  }
  const window = blockedWindowAt(windows, now);
  if (window) return { kind: 'skip', reason: `inside blocked window ${window.text}`, window };
  return { kind: 'start' };
}

export type DrillApproval =
  | { ok: true; drill: Drill; complete: boolean; count: number; required: number }
  | {
      ok: false;
      code: 'not-proposed' | 'expired' | 'self-approval' | 'already-approved' | 'same-os-account';
      reason: string;
    };

/**
 * One approval of a drill, by the rules of a run's (DESIGN §6): distinct approvers, never the requester unless
 * allowed, before expiry. The caller has checked that the actor is an approver. A drill is always planned, so it
 * needs `approvals.required`, never break-glass.
 */
export function approveDrill(
  drill: Drill,
  actor: Actor,
  context: { config: ApprovalsConfig; now: number },
): DrillApproval {
  const { config, now } = context;
  if (drill.state !== 'proposed')
    return { ok: false, code: 'not-proposed', reason: `Drill ${drill.id} is already ${drill.state}` };
  if (now >= drill.expiresAt)
    return { ok: false, code: 'expired', reason: `Drill ${drill.id} expired; propose it again` };
  const asRequester = config.allowSelfApproval ? null : approverMatch(actor, drill.requestedBy);
  if (asRequester)
    return {
      ok: false,
      code: asRequester === 'same-person' ? 'self-approval' : 'same-os-account',
      reason: 'You proposed this drill; another approver must approve it',
    };
  const earlier = findSameApprover(
    drill.approvals.map((a) => a.actor),
    actor,
  );
  if (earlier)
    return {
      ok: false,
      code: earlier.match === 'same-person' ? 'already-approved' : 'same-os-account',
      reason: 'An approval from you (or your OS account) is already counted',
    };
  const approvals = [...drill.approvals, { actor, at: now, breakGlass: false }];
  const required = config.required;
  const complete = approvals.length >= required;
  const next: Drill = { ...drill, approvals, updatedAt: now };
  if (!complete) return { ok: true, drill: next, complete, count: approvals.length, required };
  const nextAt = Math.max(drill.at ?? now, now);
  return {
    ok: true,
    drill: { ...next, state: 'scheduled', approvedAt: now, nextAt },
    complete,
    count: approvals.length,
    required,
  };
}

/** The refusal of a proposal whose first start falls in a blocked window (a one-off would only be skipped). */
export function refuseFirstStartInWindow(
  windows: readonly BlockedWindow[],
  firstAt: number,
  repeating: boolean,
): void {
  if (repeating) return;
  const window = blockedWindowAt(windows, firstAt);
  if (!window) return;
  throw new BatonError(
    'drill-blocked',
    `${new Date(firstAt).toISOString().slice(0, 16)}Z is inside blocked window ${window.text} ` +
      '(drills.blockedWindows); pick another time with --at HH:MM (UTC)',
  );
}
