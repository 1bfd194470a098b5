/**
 * The incident store's Lua scripts (src/store/lua/) and the calls around them. A notification is sent first without
 * its alerts, since a repeat of the group's last one needs none of them. A script that follows a site's pointer (its
 * open notice, the run that last got alerts) is told the pointer's keys by the caller, which reads the pointer first:
 * every key a script touches must be one of its KEYS on Redis Cluster. The script checks the pointer again and
 * answers `retry` when it moved, so each call still decides on one atomic view.
 */
import type { Redis } from 'ioredis';
import type { StoreKeys } from '../keys.js';
import { loadScript } from '../script.js';
import type { WebhookAlert } from '../../alerts/alertmanager-payload.js';
import type { IncidentTransition, RecordOptions, RecordResult } from './incident-record.js';
import { parseState } from './incident-record.js';
import { MAX_NAMES, digestOf, distinctNames, packAlerts } from './pack-alerts.js';

/** Alert state outlives its run by this much, then Redis forgets it. */
const TTL_MS = 30 * 24 * 3600_000;
/** A call whose pointer keeps moving under it gives up after this many reads of it. */
const ATTEMPTS = 20;

const RECORD_ALERTS = loadScript('record-alerts', {
  keys: ['site', 'noticeSeq', 'incident', 'alerts'],
  args: [
    'mode',
    'id',
    'now',
    'ttl',
    'autoApproveAfterMs',
    'groupKey',
    'truncatedFiring',
    'onlyIfKnown',
    'summary',
    'names',
    'maxNames',
    'digest',
    'packed',
    'anyFiring',
    'phase',
  ],
});

const HAS_NEW_ALERTS = loadScript('has-new-alerts', {
  keys: ['site', 'incident', 'alerts'],
  args: ['lastRun', 'groupKey', 'digest', 'firing'],
});

/** Forgets a record's pending marker once Slack has been told about `version`. */
export const CLEAR_PENDING = loadScript('clear-pending', { keys: ['incident'], args: ['version'] });

/** Sets a once-only flag on a record: 1 for the one caller that set it. */
export const CLAIM_FLAG = loadScript('claim-flag', { keys: ['incident'], args: ['flag', 'value'] });

/** Counts one witness probe against a run's quiet period; HGETALL of the record, or {} without one. */
export const RECORD_PROBE = loadScript('record-probe', {
  keys: ['incident'],
  args: ['createdAt', 'at', 'ok', 'detail', 'maxGap'],
});

/** Whose record a notification goes to: run `runId`'s, or the site's open notice (`notify`). */
export type IncidentTarget = { mode: 'run'; site: string; runId: string } | { mode: 'notify'; site: string };

/**
 * Applies `alerts` to the target's record (see record-alerts.lua). Returns null when nothing was recorded: a run
 * without a record and `onlyIfKnown`, or a notice with nothing firing and none open.
 */
export async function recordAlerts(
  redis: Redis,
  keys: StoreKeys,
  target: IncidentTarget,
  alerts: readonly WebhookAlert[],
  options: RecordOptions & { onlyIfKnown: boolean },
): Promise<RecordResult | null> {
  const packed = packAlerts(alerts);
  const args = {
    mode: target.mode,
    now: options.now,
    ttl: TTL_MS,
    autoApproveAfterMs: options.autoApproveAfterMs ?? '',
    groupKey: options.groupKey,
    truncatedFiring: options.truncatedFiring ? '1' : '0',
    onlyIfKnown: options.onlyIfKnown ? '1' : '0',
    summary: options.summary ?? '',
    names: distinctNames(alerts),
    maxNames: MAX_NAMES,
    digest: digestOf(options.groupKey, options.truncatedFiring, packed),
    anyFiring: alerts.some((alert) => alert.status === 'firing') ? '1' : '0',
  };
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    const id = target.mode === 'run' ? target.runId : await noticeToWrite(redis, keys, target.site);
    const call = {
      keys: {
        site: keys.alertSite(target.site),
        noticeSeq: keys.alertNoticeSeq(),
        incident: target.mode === 'run' ? keys.alertRun(id) : keys.alertNotice(target.site, id),
        alerts: target.mode === 'run' ? keys.alertRunAlerts(id) : keys.alertNoticeAlerts(target.site, id),
      },
      args: { ...args, id, packed: '', phase: 'probe' },
    };
    // First without the alerts: a repeat of the group's last notification needs none of them.
    let out = (await RECORD_ALERTS.run(redis, call)) as string[];
    if (out[0] === 'need-data') {
      out = (await RECORD_ALERTS.run(redis, {
        ...call,
        args: { ...call.args, packed, phase: 'data' },
      })) as string[];
    }
    if (out.length === 1 && out[0] === 'retry') continue;
    if (out.length === 1 && out[0] === 'none') return null;
    const [recorded = '', transition = 'none', changed = '0', ...flat] = out;
    return {
      state: parseState(recorded, flat),
      transition: transition as IncidentTransition,
      changed: changed === '1',
    };
  }
  throw new Error(`the open alert notice of ${target.site} is changing too fast`);
}

/**
 * The run that last received alerts for `site`, and whether any firing alert of `alerts` (one notification's) is
 * new to it (see has-new-alerts.lua).
 */
export async function lastRunOf(
  redis: Redis,
  keys: StoreKeys,
  site: string,
  alerts: readonly WebhookAlert[],
  group: Pick<RecordOptions, 'groupKey' | 'truncatedFiring'>,
): Promise<{ runId?: string; hasNew: boolean }> {
  const { groupKey } = group;
  const digest = digestOf(groupKey, group.truncatedFiring, packAlerts(alerts));
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    const lastRun = await redis.hget(keys.alertSite(site), 'lastRun');
    if (!lastRun) return { hasNew: true };
    const call = {
      keys: {
        site: keys.alertSite(site),
        incident: keys.alertRun(lastRun),
        alerts: keys.alertRunAlerts(lastRun),
      },
      args: { lastRun, groupKey, digest, firing: 'probe' },
    };
    let out = (await HAS_NEW_ALERTS.run(redis, call)) as string[];
    if (out[0] === 'need-data') {
      const firing = packAlerts(alerts.filter((alert) => alert.status === 'firing'));
      out = (await HAS_NEW_ALERTS.run(redis, { ...call, args: { ...call.args, firing } })) as string[];
    }
    if (out.length === 1 && out[0] === 'retry') continue;
    const [runId, hasNew] = out as unknown as [string, number];
    return { ...(runId && { runId }), hasNew: hasNew === 1 };
  }
  throw new Error(`the last run to get alerts for ${site} is changing too fast`);
}

/** The notice a delivery for `site` writes: its open one, else the sequence's next (the script checks both). */
async function noticeToWrite(redis: Redis, keys: StoreKeys, site: string): Promise<string> {
  const [open, seq] = await Promise.all([
    redis.hget(keys.alertSite(site), 'open'),
    redis.get(keys.alertNoticeSeq()),
  ]);
  return open ?? String(Number(seq ?? 0) + 1);
}
