/**
 * Blocked windows (`drills.blockedWindows`): times when no game day may start, in UTC. Two forms:
 * - weekly: `Fri 00:00-24:00`, `Mon-Thu 22:00-06:00` (an end before the start runs past midnight), `Sat,Sun
 *   00:00-24:00`, `daily 12:00-13:00`;
 * - dates, inclusive: `2026-12-21..2027-01-04` (a release freeze), or one day `2026-12-25`.
 * Pure: parse once at load, then ask {@link blockedWindowAt} for a moment.
 */
import { BatonError } from '../../errors.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const DAY_MS = 86_400_000;

export type BlockedWindow =
  | { kind: 'weekly'; text: string; days: ReadonlySet<number>; startMinute: number; endMinute: number }
  | { kind: 'dates'; text: string; fromMs: number; untilMs: number };

const WEEKLY = /^(\S+)\s+(\d{2}):(\d{2})-(\d{2}):(\d{2})$/;
const DATES = /^(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?$/;

function fail(text: string, why: string): never {
  throw new BatonError(
    'config-invalid',
    `blocked window ${JSON.stringify(text)}: ${why}; write "Fri 00:00-24:00", "Mon-Thu 22:00-06:00" or "2026-12-21..2027-01-04" (UTC)`,
  );
}

function dayIndex(text: string, name: string): number {
  const index = DAYS.findIndex((day) => day.toLowerCase() === name.toLowerCase());
  if (index < 0) fail(text, `${JSON.stringify(name)} is not a day (${DAYS.join(', ')})`);
  return index;
}

function parseDays(text: string, spec: string): Set<number> {
  if (/^(daily|\*)$/i.test(spec)) return new Set([0, 1, 2, 3, 4, 5, 6]);
  const days = new Set<number>();
  for (const part of spec.split(',')) {
    const [first, last] = part.split('-');
    const from = dayIndex(text, first ?? '');
    const to = last === undefined ? from : dayIndex(text, last);
    for (let day = from; ; day = (day + 1) % 7) {
      days.add(day);
      if (day === to) break;
    }
  }
  return days;
}

function minuteOf(text: string, hours: string, minutes: string): number {
  const h = Number(hours);
  const m = Number(minutes);
  if (m > 59 || h > 24 || (h === 24 && m > 0)) fail(text, `${hours}:${minutes} is not a time of day`);
  return h * 60 + m;
}

function dateMs(text: string, date: string): number {
  const ms = Date.parse(`${date}T00:00:00Z`);
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date)
    fail(text, `${date} is not a date`);
  return ms;
}

export function parseBlockedWindow(text: string): BlockedWindow {
  const trimmed = text.trim();
  const dates = DATES.exec(trimmed);
  if (dates) {
    const fromMs = dateMs(trimmed, dates[1] ?? '');
    const lastMs = dates[2] ? dateMs(trimmed, dates[2]) : fromMs;
    if (lastMs < fromMs) fail(trimmed, 'it ends before it starts');
    return { kind: 'dates', text: trimmed, fromMs, untilMs: lastMs + DAY_MS };
  }
  const weekly = WEEKLY.exec(trimmed);
  if (!weekly) fail(trimmed, 'not a window');
  const [, spec = '', h1 = '', m1 = '', h2 = '', m2 = ''] = weekly;
  const startMinute = minuteOf(trimmed, h1, m1);
  const endMinute = minuteOf(trimmed, h2, m2);
  if (startMinute === endMinute) fail(trimmed, 'it starts and ends at the same time');
  return { kind: 'weekly', text: trimmed, days: parseDays(trimmed, spec), startMinute, endMinute };
}

function weeklyContains(window: Extract<BlockedWindow, { kind: 'weekly' }>, at: number): boolean {
  const date = new Date(at);
  const day = date.getUTCDay();
  const minute = date.getUTCHours() * 60 + date.getUTCMinutes();
  const { days, startMinute, endMinute } = window;
  if (startMinute < endMinute) return days.has(day) && minute >= startMinute && minute < endMinute;
  // Past midnight: the part after the start on a listed day, or the part before the end on the day after one.
  return (days.has(day) && minute >= startMinute) || (days.has((day + 6) % 7) && minute < endMinute);
}

/** The first window that contains `at` (ms), or null when a game day may start then. */
export function blockedWindowAt(windows: readonly BlockedWindow[], at: number): BlockedWindow | null {
  for (const window of windows) {
    if (window.kind === 'dates' ? at >= window.fromMs && at < window.untilMs : weeklyContains(window, at))
      return window;
  }
  return null;
}
