/**
 * An incident's record as Baton keeps it in Redis (a hash per run or notice), and its parsing into what messages and
 * the auto-approval policy read. An incident is either a run (every alert that proposed it, or that arrived while
 * it was open) or a site's `notify` notice.
 */

export type IncidentTransition = 'firing' | 'resolved' | 'none';

/** An incident's totals as messages and the auto-approval policy read them. */
export interface IncidentState {
  /** The run id, or the notice's sequence number. */
  id: string;
  /** Alerts firing now, counting a group whose list was truncated while firing as one. */
  firing: number;
  /** Distinct alerts (fingerprints) seen. */
  alerts: number;
  /** Bumped each time the incident starts firing again after having resolved (1 for the first time). */
  episode: number;
  /** Bumped by every change. */
  version: number;
  /** When the current firing episode began (Baton's clock, ms). */
  firingSince?: number;
  /** When the last firing alert resolved (its `endsAt`); set while `firing` is 0. */
  resolvedAt?: number;
  /** The earliest `startsAt` seen. */
  firstStartsAt?: number;
  summary?: string;
  names: string[];
  /** Auto-approval's quiet period (set only for runs an alert proposed with a rule that enables it). */
  autoApproveAfterMs?: number;
  /** A change Slack has not been told about yet (the version that set it). */
  pending?: number;
  /** Flags set once (see `IncidentStore.claim`). */
  flags: string[];
  /** The auto-approval witness's probes of the serving cluster in the current quiet period (runs only). */
  probes?: ProbeTally;
}

/**
 * The auto-approval policy's probes of the serving cluster's `healthUrl` since the current quiet period began,
 * from every worker's passes (see `IncidentStore.recordProbe`). Times are when each probe began.
 */
export interface ProbeTally {
  /** The quiet period's start these counts belong to; a new period (the alert fired again) starts from zero. */
  since: number;
  total: number;
  failed: number;
  /**
   * Failed probes in a row: since the last success, or since a gap in probing longer than the allowed one (what
   * happened during the gap is unknown).
   */
  streak: number;
  /** The first and the last failure of the streak (set while `streak` > 0). */
  streakSince?: number;
  streakLast?: number;
  /** The newest success. */
  lastOkAt?: number;
  /** The newest probe: whether it failed, and its HTTP status or error. */
  last?: { at: number; ok: boolean; detail: string };
}

export interface ProbeRecord {
  /** The run's `createdAt`: the quiet period starts then, or when the alert last started firing, if later. */
  createdAt: number;
  /** When the probe began (the clock's ms). */
  at: number;
  ok: boolean;
  /** The HTTP status, or why the probe failed. */
  detail: string;
  /** Failures further apart than this do not make one streak. */
  maxGapMs: number;
}

export interface RecordResult {
  state: IncidentState;
  transition: IncidentTransition;
  changed: boolean;
}

export interface RecordOptions {
  groupKey: string;
  /** The payload listed only some of the group's alerts (`truncatedAlerts` > 0) and the group is firing. */
  truncatedFiring: boolean;
  summary?: string;
  /** Shortest auto-approval quiet period of the rules that matched (runs only). */
  autoApproveAfterMs?: number;
  now: number;
}

/** The record's hash (HGETALL, flat) as an {@link IncidentState} with id `id`. */
export function parseState(id: string, flat: readonly string[]): IncidentState {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i] as string] = flat[i + 1] as string;
  const num = (key: string) => (f[key] === undefined ? undefined : Number(f[key]));
  const firing = (num('firing') ?? 0) + (num('trunc') ?? 0);
  return {
    id,
    firing,
    alerts: num('alerts') ?? 0,
    episode: num('episode') ?? 0,
    version: num('version') ?? 0,
    ...(f.firingSince !== undefined && { firingSince: Number(f.firingSince) }),
    ...(firing === 0 && f.resolvedAt !== undefined && { resolvedAt: Number(f.resolvedAt) }),
    ...(f.firstStartsAt !== undefined && { firstStartsAt: Number(f.firstStartsAt) }),
    ...(f.summary !== undefined && { summary: f.summary }),
    names: f.names ? f.names.split('\n') : [],
    ...(f.autoApproveAfterMs !== undefined && { autoApproveAfterMs: Number(f.autoApproveAfterMs) }),
    ...(f.pending !== undefined && { pending: Number(f.pending) }),
    flags: Object.keys(f)
      .filter((key) => key.startsWith('flag:'))
      .map((key) => key.slice('flag:'.length)),
    ...(f['probe:since'] !== undefined && { probes: parseProbes(f) }),
  };
}

function parseProbes(f: Record<string, string>): ProbeTally {
  const num = (key: string) => (f[key] === undefined ? undefined : Number(f[key]));
  const streak = num('probe:streak') ?? 0;
  const streakSince = num('probe:streakSince');
  const streakLast = num('probe:streakLast');
  const lastOkAt = num('probe:lastOkAt');
  const lastAt = num('probe:lastAt');
  return {
    since: num('probe:since') ?? 0,
    total: num('probe:total') ?? 0,
    failed: num('probe:failed') ?? 0,
    streak,
    ...(streak > 0 && streakSince !== undefined && { streakSince }),
    ...(streak > 0 && streakLast !== undefined && { streakLast }),
    ...(lastOkAt !== undefined && { lastOkAt }),
    ...(lastAt !== undefined && {
      last: { at: lastAt, ok: f['probe:lastOk'] === '1', detail: f['probe:lastDetail'] ?? '' },
    }),
  };
}
