/**
 * What Baton remembers about alerts, in Redis beside the runs: which alerts (by fingerprint) belong to which
 * incident, whether each is firing or resolved, and the incident's totals. An incident is either a run (every alert
 * that proposed it, or that arrived while it was open) or a site's `notify` notice.
 *
 * Every webhook is applied by one Lua script, so duplicates from Alertmanager replicas, retries and out-of-order
 * deliveries converge on the same state: an alert's newest episode wins (a later `startsAt`), and within one
 * episode "resolved" beats "firing". The script reports transitions (firing → all resolved and back) and leaves a
 * `pending` marker that the caller clears once it has acted on them (Slack updates), so a crash or a Redis error
 * between the two makes the next delivery of the same alerts finish the job.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Script } from '../store/script.js';
import type { WebhookAlert } from './alertmanager-payload.js';

/** Alert state outlives its run by this much, then Redis forgets it. */
const TTL_MS = 30 * 24 * 3600_000;
/** Distinct alert names kept per incident (shown in messages); a storm of names does not grow the record. */
const MAX_NAMES = 20;

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
  /** Flags set once (see {@link IncidentStore.claim}). */
  flags: string[];
  /** The auto-approval witness's probes of the serving cluster in the current quiet period (runs only). */
  probes?: ProbeTally;
}

/**
 * The auto-approval policy's probes of the serving cluster's `healthUrl` since the current quiet period began,
 * from every worker's passes (see {@link IncidentStore.recordProbe}). Times are when each probe began.
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

/**
 * KEYS: [1] the site's pointer hash (`lastRun` for runs, `open` for notices), [2] the notices' sequence.
 * ARGV: mode (run | notify), incident key base, run id, now, ttl, autoApproveAfterMs, groupKey, truncatedFiring,
 * onlyIfKnown, summary, names (newline-separated), maxNames, digest, alerts (packed, see packAlerts), anyFiring,
 * `probe` to ask whether the alerts are needed (then they are not sent) or `data`.
 * Returns {'need-data'} when the group's last notification differs and no alerts were sent, {'none'} when nothing
 * was recorded, else {id, transition, changed, ...HGETALL meta}.
 */
const RECORD = new Script(`
local mode, base, id = ARGV[1], ARGV[2], ARGV[3]
local now, ttl = tonumber(ARGV[4]), ARGV[5]
local groupKey, digest, data = ARGV[7], ARGV[13], ARGV[14]
if mode == 'notify' then
  id = redis.call('HGET', KEYS[1], 'open')
  if not id then
    if ARGV[15] ~= '1' then return {'none'} end
    id = tostring(redis.call('INCR', KEYS[2]))
    redis.call('HSET', KEYS[1], 'open', id)
  end
end
local meta = base .. id
local fps = meta .. ':alerts'
if ARGV[9] == '1' and redis.call('EXISTS', meta) == 0 then return {'none'} end

local function result(transition, changed)
  local out = {id, transition, changed and '1' or '0'}
  local all = redis.call('HGETALL', meta)
  for i = 1, #all do out[#out + 1] = all[i] end
  return out
end

-- The group's last notification, applied again, changes nothing: skip the per-alert work (repeats, replicas).
local digestField = 'digest:' .. groupKey
if redis.call('HGET', meta, digestField) == digest then
  if mode == 'run' then redis.call('HSET', KEYS[1], 'lastRun', id) end
  return result('none', false)
end
if ARGV[16] == 'probe' then return {'need-data'} end

local m = redis.call('HMGET', meta, 'firing', 'alerts', 'trunc', 'episode', 'version', 'lastEndsAt', 'firstStartsAt', 'autoApproveAfterMs')
local firing, alerts, trunc = tonumber(m[1] or '0'), tonumber(m[2] or '0'), tonumber(m[3] or '0')
local episode, version = tonumber(m[4] or '0'), tonumber(m[5] or '0')
local lastEnds, firstStart = tonumber(m[6] or '0'), m[7] and tonumber(m[7]) or nil
local before = firing + trunc
local changed = false
local written = {}

-- A new incident has no alerts to compare with: skip reading them back.
local fresh = redis.call('EXISTS', fps) == 0
local bFp, bStart, bSt, bEnds, n = {}, {}, {}, {}, 0
local function apply()
  if n == 0 then return end
  local olds = {}
  if not fresh then olds = redis.call('HMGET', fps, unpack(bFp, 1, n)) end
  local sets = {}
  for j = 1, n do
    local fp, startText, st = bFp[j], bStart[j], bSt[j]
    local start = tonumber(startText)
    local old = written[fp] or olds[j]
    local accept, oldSt = false, nil
    if not old then
      accept = true
      alerts = alerts + 1
    else
      local sep = string.find(old, '|', 1, true)
      local oldStart = tonumber(string.sub(old, 1, sep - 1))
      oldSt = string.sub(old, sep + 1, sep + 1)
      if start > oldStart or (start == oldStart and oldSt == 'f' and st == 'r') then accept = true end
    end
    if accept then
      if oldSt == 'f' then firing = firing - 1 end
      if st == 'f' then firing = firing + 1 end
      if st == 'r' then
        local ends = tonumber(bEnds[j])
        if ends > lastEnds then lastEnds = ends end
      end
      if not firstStart or start < firstStart then firstStart = start end
      local value = startText .. '|' .. st
      written[fp] = value
      sets[#sets + 1] = fp
      sets[#sets + 1] = value
      changed = true
    end
  end
  if #sets > 0 then redis.call('HSET', fps, unpack(sets)) end
  n = 0
end
for fp, start, st, ends in string.gmatch(data, '([^\\t\\n]+)\\t(%d+)\\t([fr])\\t(%d+)\\n') do
  n = n + 1
  bFp[n], bStart[n], bSt[n], bEnds[n] = fp, start, st, ends
  if n == 1000 then apply() end
end
apply()

if groupKey ~= '' then
  local field = 'trunc:' .. groupKey
  local had = redis.call('HEXISTS', meta, field) == 1
  if ARGV[8] == '1' and not had then
    redis.call('HSET', meta, field, '1')
    trunc = trunc + 1
    changed = true
  elseif ARGV[8] ~= '1' and had then
    redis.call('HDEL', meta, field)
    trunc = trunc - 1
    changed = true
  end
end

local transition = 'none'
local after = firing + trunc
local notice = false
if ARGV[6] ~= '' then
  local current = tonumber(m[8] or '0')
  local wanted = tonumber(ARGV[6])
  if current == 0 or wanted < current then
    redis.call('HSET', meta, 'autoApproveAfterMs', ARGV[6])
    changed = true
    notice = true
  end
end
if changed then
  version = version + 1
  if before == 0 and after > 0 then
    transition = 'firing'
    episode = episode + 1
    redis.call('HSET', meta, 'firingSince', now)
    redis.call('HDEL', meta, 'resolvedAt')
  elseif before > 0 and after == 0 then
    transition = 'resolved'
    local resolvedAt = lastEnds > 0 and lastEnds or now
    redis.call('HSET', meta, 'resolvedAt', string.format('%d', resolvedAt))
  end
  redis.call('HSET', meta, 'firing', firing, 'alerts', alerts, 'trunc', trunc, 'episode', episode,
    'version', version, 'lastEndsAt', string.format('%d', lastEnds))
  if firstStart then redis.call('HSET', meta, 'firstStartsAt', string.format('%d', firstStart)) end
  if ARGV[10] ~= '' then redis.call('HSETNX', meta, 'summary', ARGV[10]) end
  if ARGV[11] ~= '' then
    local names = redis.call('HGET', meta, 'names') or ''
    local count = 0
    for _ in string.gmatch(names, '[^\\n]+') do count = count + 1 end
    for name in string.gmatch(ARGV[11], '[^\\n]+') do
      if count >= tonumber(ARGV[12]) then break end
      if not string.find('\\n' .. names .. '\\n', '\\n' .. name .. '\\n', 1, true) then
        names = names == '' and name or (names .. '\\n' .. name)
        count = count + 1
      end
    end
    redis.call('HSET', meta, 'names', names)
  end
  if mode == 'notify' or transition ~= 'none' or notice then
    redis.call('HSET', meta, 'pending', version)
  end
  if mode == 'notify' and after == 0 and redis.call('HGET', KEYS[1], 'open') == id then
    redis.call('HDEL', KEYS[1], 'open')
  end
end
redis.call('HSET', meta, digestField, digest)
if mode == 'run' then redis.call('HSET', KEYS[1], 'lastRun', id) end
redis.call('PEXPIRE', meta, ttl)
redis.call('PEXPIRE', fps, ttl)
redis.call('PEXPIRE', KEYS[1], ttl)
return result(transition, changed)
`);

/**
 * KEYS: [1] the site's pointer hash. ARGV: incident key base, groupKey, digest of the group's alerts, the firing
 * alerts packed (or `probe` to ask whether they are needed).
 * Returns {lastRun or '', 1 when some alert is not part of that run's incident (or is a newer episode), else 0}, or
 * {'need-data'}.
 */
const HAS_NEW = new Script(`
local lastRun = redis.call('HGET', KEYS[1], 'lastRun')
if not lastRun then return {'', 1} end
local meta = ARGV[1] .. lastRun
if redis.call('HGET', meta, 'digest:' .. ARGV[2]) == ARGV[3] then return {lastRun, 0} end
if ARGV[4] == 'probe' then return {'need-data'} end
local fps = meta .. ':alerts'
local batch = {}
local function check()
  if #batch == 0 then return false end
  local fields = {}
  for j = 1, #batch do fields[j] = batch[j][1] end
  local olds = redis.call('HMGET', fps, unpack(fields))
  for j = 1, #batch do
    local old = olds[j]
    if not old then return true end
    local sep = string.find(old, '|', 1, true)
    if tonumber(batch[j][2]) > tonumber(string.sub(old, 1, sep - 1)) then return true end
  end
  batch = {}
  return false
end
for fp, start in string.gmatch(ARGV[4], '([^\\t\\n]+)\\t(%d+)\\t[fr]\\t%d+\\n') do
  batch[#batch + 1] = {fp, start}
  if #batch == 1000 and check() then return {lastRun, 1} end
end
if check() then return {lastRun, 1} end
return {lastRun, 0}
`);

const CLEAR_PENDING = new Script(`
if redis.call('HGET', KEYS[1], 'pending') == ARGV[1] then return redis.call('HDEL', KEYS[1], 'pending') end
return 0
`);

const CLAIM = new Script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HSETNX', KEYS[1], 'flag:' .. ARGV[1], ARGV[2])
`);

/**
 * KEYS: [1] the run's alert record. ARGV: the run's createdAt, the probe's start, ok (1 | 0), detail, max gap (ms).
 * Counts one witness probe against the current quiet period (which it derives from `firingSince`, so a probe can
 * never be counted against a period that an alert delivery has just replaced). Order-independent: probes from
 * several workers may arrive out of order, and only their start times matter. Returns HGETALL of the record, or
 * {} when there is none.
 */
const RECORD_PROBE = new Script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local createdAt, at, ok, detail, maxGap = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1', ARGV[4], tonumber(ARGV[5])
local firingSince = tonumber(redis.call('HGET', KEYS[1], 'firingSince') or ARGV[1])
local since = math.max(createdAt, firingSince)
local p = redis.call('HMGET', KEYS[1], 'probe:since', 'probe:total', 'probe:failed', 'probe:streak',
  'probe:streakSince', 'probe:streakLast', 'probe:lastOkAt', 'probe:lastAt')
local fields = {'probe:streakSince', 'probe:streakLast', 'probe:lastOkAt', 'probe:lastAt', 'probe:lastOk',
  'probe:lastDetail'}
local total, failed, streak, streakSince, streakLast, lastOkAt, lastAt = 0, 0, 0, nil, nil, nil, nil
if tonumber(p[1]) == since then
  total, failed, streak = tonumber(p[2] or '0'), tonumber(p[3] or '0'), tonumber(p[4] or '0')
  streakSince, streakLast = tonumber(p[5] or ''), tonumber(p[6] or '')
  lastOkAt, lastAt = tonumber(p[7] or ''), tonumber(p[8] or '')
else
  redis.call('HDEL', KEYS[1], unpack(fields))
end
local function fmt(n) return string.format('%d', n) end
if at >= since then
  total = total + 1
  if ok then
    if not lastOkAt or at > lastOkAt then lastOkAt = at end
    -- A success ends the streak it follows; a streak that began after it stands.
    if streak > 0 and streakSince <= at then streak, streakSince, streakLast = 0, nil, nil end
  else
    failed = failed + 1
    -- A failure that began before the newest success is older news than that success.
    if not lastOkAt or at > lastOkAt then
      if streak > 0 and at - streakLast > maxGap then streak, streakSince, streakLast = 0, nil, nil end
      streak = streak + 1
      if not streakSince or at < streakSince then streakSince = at end
      if not streakLast or at > streakLast then streakLast = at end
    end
  end
  if not lastAt or at >= lastAt then
    redis.call('HSET', KEYS[1], 'probe:lastAt', fmt(at), 'probe:lastOk', ok and '1' or '0', 'probe:lastDetail', detail)
  end
end
redis.call('HSET', KEYS[1], 'probe:since', fmt(since), 'probe:total', total, 'probe:failed', failed, 'probe:streak', streak)
if streak > 0 then
  redis.call('HSET', KEYS[1], 'probe:streakSince', fmt(streakSince), 'probe:streakLast', fmt(streakLast))
else
  redis.call('HDEL', KEYS[1], 'probe:streakSince', 'probe:streakLast')
end
if lastOkAt then redis.call('HSET', KEYS[1], 'probe:lastOkAt', fmt(lastOkAt)) end
return redis.call('HGETALL', KEYS[1])
`);

/**
 * Alerts as one string, a line each: `fingerprint<TAB>startsAt<TAB>f|r<TAB>endsAt` (endsAt 0 while firing). One
 * argument instead of 80,000 keeps a storm cheap to send; fingerprints never hold tabs or newlines (the payload
 * schema allows printable ASCII only).
 */
export function packAlerts(alerts: readonly WebhookAlert[]): string {
  const cached = packCache.get(alerts);
  if (cached !== undefined) return cached;
  const lines = new Array<string>(alerts.length);
  for (let i = 0; i < alerts.length; i += 1) {
    const alert = alerts[i] as WebhookAlert;
    lines[i] =
      `${alert.fingerprint}\t${alert.startsAt}\t${alert.status === 'firing' ? 'f' : 'r'}\t${alert.endsAt ?? 0}\n`;
  }
  const text = lines.join('');
  packCache.set(alerts, text);
  return text;
}
/** One notification's alerts are packed once, though several calls (lastRun, recordRun) send them. */
const packCache = new WeakMap<readonly WebhookAlert[], string>();

function distinctNames(alerts: readonly WebhookAlert[]): string {
  const names = new Set<string>();
  for (const alert of alerts) {
    const name = alert.labels.alertname;
    // Newlines separate names in the record; an alertname never has one (Prometheus label values may).
    if (name && !name.includes('\n')) names.add(name);
    if (names.size >= MAX_NAMES) break;
  }
  return [...names].join('\n');
}

/**
 * What makes two notifications of a group the same for the record: their alerts and whether the list was cut.
 * (Not the auto-approval period: it comes from the configuration, which a repeat does not change.)
 */
function digestOf(groupKey: string, truncatedFiring: boolean, packed: string): string {
  const key = `${groupKey}\n${truncatedFiring ? 1 : 0}\n`;
  const cached = lastDigest.packed === packed && lastDigest.key === key ? lastDigest.digest : undefined;
  if (cached !== undefined) return cached;
  const digest = createHash('sha1').update(key).update(packed).digest('base64');
  lastDigest = { key, packed, digest };
  return digest;
}
/** lastRun and recordRun digest the same notification one after the other: hash a storm once. */
let lastDigest = { key: '', packed: '', digest: '' };

function parseState(id: string, flat: readonly string[]): IncidentState {
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

export class IncidentStore {
  constructor(
    private readonly redis: Redis,
    /** The store's key prefix (e.g. `baton:`); alert state lives under `<prefix>alerts:`. */
    private readonly prefix = 'baton:',
  ) {}

  private key = {
    runBase: () => `${this.prefix}alerts:run:`,
    run: (runId: string) => `${this.prefix}alerts:run:${runId}`,
    noticeBase: (site: string) => `${this.prefix}alerts:notice:${site}:`,
    notice: (site: string, id: string) => `${this.prefix}alerts:notice:${site}:${id}`,
    site: (site: string) => `${this.prefix}alerts:site:${site}`,
    noticeSeq: () => `${this.prefix}alerts:notice-seq`,
  };

  /**
   * Records alerts against run `runId` of `site`. With `onlyIfKnown`, alerts for a run that has no alert record
   * yet are dropped (resolved alerts Baton never saw firing). Returns null when nothing was recorded.
   */
  async recordRun(
    site: string,
    runId: string,
    alerts: readonly WebhookAlert[],
    options: RecordOptions & { onlyIfKnown: boolean },
  ): Promise<RecordResult | null> {
    return this.record('run', site, runId, alerts, options);
  }

  /** Records `notify` alerts of `site` against its open notice, opening one when an alert fires. */
  recordNotice(
    site: string,
    alerts: readonly WebhookAlert[],
    options: RecordOptions,
  ): Promise<RecordResult | null> {
    return this.record('notify', site, '', alerts, { ...options, onlyIfKnown: false });
  }

  /**
   * The run that last received alerts for `site`, and whether any firing alert of `alerts` (one notification's) is
   * new to it (not recorded there, or firing again since). Alerts that are not new belong to an incident Baton
   * already handled.
   */
  async lastRun(
    site: string,
    alerts: readonly WebhookAlert[],
    group: Pick<RecordOptions, 'groupKey' | 'truncatedFiring'>,
  ): Promise<{ runId?: string; hasNew: boolean }> {
    const { groupKey } = group;
    const digest = digestOf(groupKey, group.truncatedFiring, packAlerts(alerts));
    const keys = [this.key.site(site)];
    let out = (await HAS_NEW.run(this.redis, keys, [
      this.key.runBase(),
      groupKey,
      digest,
      'probe',
    ])) as string[];
    if (out[0] === 'need-data') {
      const firing = packAlerts(alerts.filter((alert) => alert.status === 'firing'));
      out = (await HAS_NEW.run(this.redis, keys, [this.key.runBase(), groupKey, digest, firing])) as string[];
    }
    const [runId, hasNew] = out as unknown as [string, number];
    return { ...(runId && { runId }), hasNew: hasNew === 1 };
  }

  async runState(runId: string): Promise<IncidentState | null> {
    const flat = await this.redis.hgetall(this.key.run(runId));
    return Object.keys(flat).length ? parseState(runId, Object.entries(flat).flat()) : null;
  }

  async noticeState(site: string, id: string): Promise<IncidentState | null> {
    const flat = await this.redis.hgetall(this.key.notice(site, id));
    return Object.keys(flat).length ? parseState(id, Object.entries(flat).flat()) : null;
  }

  /** Forgets the pending marker once Slack has been told about `version` (a newer change keeps it). */
  async clearRunPending(runId: string, version: number): Promise<void> {
    await CLEAR_PENDING.run(this.redis, [this.key.run(runId)], [String(version)]);
  }

  async clearNoticePending(site: string, id: string, version: number): Promise<void> {
    await CLEAR_PENDING.run(this.redis, [this.key.notice(site, id)], [String(version)]);
  }

  /** Sets a once-only flag on a run's alert record; true for the one caller that set it (false if it was set). */
  async claim(runId: string, flag: string, value = '1'): Promise<boolean> {
    return (await CLAIM.run(this.redis, [this.key.run(runId)], [flag, value])) === 1;
  }

  /**
   * Counts one auto-approval witness probe of the serving cluster against run `runId`'s current quiet period, for
   * every worker's later passes to see (see {@link ProbeTally}). Returns the record as it is now, or null when the
   * run has no alert record.
   */
  async recordProbe(runId: string, probe: ProbeRecord): Promise<IncidentState | null> {
    const flat = (await RECORD_PROBE.run(
      this.redis,
      [this.key.run(runId)],
      [
        String(probe.createdAt),
        String(Math.round(probe.at)),
        probe.ok ? '1' : '0',
        probe.detail.slice(0, 300),
        String(probe.maxGapMs),
      ],
    )) as string[];
    return flat.length ? parseState(runId, flat) : null;
  }

  private async record(
    mode: 'run' | 'notify',
    site: string,
    runId: string,
    alerts: readonly WebhookAlert[],
    options: RecordOptions & { onlyIfKnown: boolean },
  ): Promise<RecordResult | null> {
    const packed = packAlerts(alerts);
    const args: string[] = [
      mode,
      mode === 'run' ? this.key.runBase() : this.key.noticeBase(site),
      runId,
      String(options.now),
      String(TTL_MS),
      options.autoApproveAfterMs === undefined ? '' : String(options.autoApproveAfterMs),
      options.groupKey,
      options.truncatedFiring ? '1' : '0',
      options.onlyIfKnown ? '1' : '0',
      options.summary ?? '',
      distinctNames(alerts),
      String(MAX_NAMES),
      digestOf(options.groupKey, options.truncatedFiring, packed),
      '',
      alerts.some((alert) => alert.status === 'firing') ? '1' : '0',
      'probe',
    ];
    const keys = [this.key.site(site), this.key.noticeSeq()];
    // First without the alerts: a repeat of the group's last notification needs none of them.
    let out = (await RECORD.run(this.redis, keys, args)) as string[];
    if (out[0] === 'need-data') {
      args[13] = packed;
      args[15] = 'data';
      out = (await RECORD.run(this.redis, keys, args)) as string[];
    }
    if (out[0] === 'none' && out.length === 1) return null;
    const [id = '', transition = 'none', changed = '0', ...flat] = out;
    return {
      state: parseState(id, flat),
      transition: transition as IncidentTransition,
      changed: changed === '1',
    };
  }
}
