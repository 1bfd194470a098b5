/**
 * Reads `/failover drill …` (DESIGN §2): `drill [site] [--at T] [--every 7d] [--hold 30m] [reason…]`, `drill list`,
 * `drill cancel <id>`. Pure; `--at` is checked for its shape here and resolved against the clock by the listener
 * (`HH:MM` is the next time the UTC clock shows it). Every error says what to write.
 */
import { DRILL_LIMITS } from '../core/drills/drill.js';
import { formatDrillDuration, parseDrillDuration } from '../core/drills/drill-schedule.js';
import { truncatePlainText } from './blocks/limits.js';

export type DrillCommand =
  | {
      action: 'propose';
      site: string;
      /** As typed; the listener resolves it (`HH:MM` or an ISO time, UTC). */
      at?: string;
      everyMs?: number;
      holdMs?: number;
      reason: string;
    }
  | { action: 'list' }
  | { action: 'cancel'; drillId: string };

export const DRILL_USAGE =
  '/failover drill [site] [--at 14:00|2026-12-08T14:00Z] [--every 7d] [--hold 30m] [reason] · drill list · drill cancel <id>';

const FLAG = /^(?:--|[\u2014\u2013])(at|every|hold)(?:=(.*))?$/i;
const ANY_FLAG = /^(?:--|[\u2014\u2013])[A-Za-z]/;
const DRILL_ID = /^d?0*([1-9][0-9]{0,15})$/i;
const AT_SHAPE = /^(\d{1,2}:\d{2}|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}\S*)$/i;

const quote = (word: string): string => `"${truncatePlainText(word, 40)}"`;

function duration(flag: 'every' | 'hold', value: string): number | string {
  const ms = parseDrillDuration(value.toLowerCase());
  const example = flag === 'every' ? '--every 7d' : '--hold 30m';
  if (ms === null) return `${quote(value)} is not a duration; write e.g. ${example} (units: w, d, h, m)`;
  const [min, max] =
    flag === 'every'
      ? [DRILL_LIMITS.minEveryMs, DRILL_LIMITS.maxEveryMs]
      : [DRILL_LIMITS.minHoldMs, DRILL_LIMITS.maxHoldMs];
  if (ms < min || ms > max)
    return `--${flag} must be between ${formatDrillDuration(min)} and ${formatDrillDuration(max)}; write e.g. ${example}`;
  return ms;
}

/** `words` are the ones after `drill`; `sites` the configured names, lowercase. */
export function parseDrillCommand(
  words: readonly string[],
  sites: readonly string[],
): DrillCommand | { error: string } {
  const first = words[0]?.toLowerCase();
  if (first === 'list') {
    if (words.length > 1) return { error: 'drill list takes nothing more: /failover drill list' };
    return { action: 'list' };
  }
  if (first === 'cancel') {
    const match = words.length === 2 ? DRILL_ID.exec(words[1] ?? '') : null;
    if (!match)
      return { error: 'drill cancel needs one drill id, e.g. /failover drill cancel d3 (see drill list)' };
    return { action: 'cancel', drillId: `d${match[1]}` };
  }
  const rest: string[] = [];
  let at: string | undefined;
  let everyMs: number | undefined;
  let holdMs: number | undefined;
  for (let i = 0; i < words.length; i += 1) {
    const word = words[i] ?? '';
    const flag = FLAG.exec(word);
    if (!flag) {
      if (ANY_FLAG.test(word))
        return {
          error: `Unknown flag ${quote(word)}; a drill takes --at, --every and --hold. ${DRILL_USAGE}`,
        };
      rest.push(word);
      continue;
    }
    const name = (flag[1] ?? '').toLowerCase() as 'at' | 'every' | 'hold';
    let value = flag[2];
    if (value === undefined) {
      value = words[i + 1];
      i += 1;
    }
    if (!value)
      return {
        error: `--${name} needs a value, e.g. ${name === 'at' ? '--at 14:00' : name === 'every' ? '--every 7d' : '--hold 30m'}`,
      };
    if (name === 'at') {
      if (!AT_SHAPE.test(value))
        return {
          error: `${quote(value)} is not a time; write --at 14:00 (UTC, next occurrence) or --at 2026-12-08T14:00Z`,
        };
      at = value;
      continue;
    }
    const ms = duration(name, value);
    if (typeof ms === 'string') return { error: ms };
    if (name === 'every') everyMs = ms;
    else holdMs = ms;
  }
  let site: string;
  let reasonWords = rest;
  const named = rest[0]?.toLowerCase();
  if (named !== undefined && sites.includes(named)) {
    site = named;
    reasonWords = rest.slice(1);
  } else if (sites.length === 1 && sites[0] !== undefined) {
    site = sites[0];
  } else {
    return { error: `Name the site: /failover drill <site> [--at 14:00]. Sites: ${sites.join(', ')}` };
  }
  return {
    action: 'propose',
    site,
    ...(at !== undefined && { at }),
    ...(everyMs !== undefined && { everyMs }),
    ...(holdMs !== undefined && { holdMs }),
    reason: truncatePlainText(reasonWords.join(' ').trim(), 500),
  };
}
