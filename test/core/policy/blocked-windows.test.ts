import { describe, expect, it } from 'vitest';
import { blockedWindowAt, parseBlockedWindow } from '../../../src/core/policy/blocked-windows.js';

const at = (iso: string) => Date.parse(iso);
const windows = (...texts: string[]) => texts.map(parseBlockedWindow);

describe('blocked windows', () => {
  it('blocks a whole Friday, UTC, and nothing either side of it', () => {
    const fridays = windows('Fri 00:00-24:00');
    expect(blockedWindowAt(fridays, at('2026-12-04T00:00:00Z'))?.text).toBe('Fri 00:00-24:00');
    expect(blockedWindowAt(fridays, at('2026-12-04T23:59:59Z'))).not.toBeNull();
    expect(blockedWindowAt(fridays, at('2026-12-03T23:59:59Z'))).toBeNull();
    expect(blockedWindowAt(fridays, at('2026-12-05T00:00:00Z'))).toBeNull();
  });

  it('runs a window whose end is before its start past midnight', () => {
    const nights = windows('Mon-Thu 22:00-06:00');
    expect(blockedWindowAt(nights, at('2026-12-03T23:00:00Z'))).not.toBeNull(); // Thursday night
    expect(blockedWindowAt(nights, at('2026-12-04T05:59:00Z'))).not.toBeNull(); // Friday morning, after Thursday
    expect(blockedWindowAt(nights, at('2026-12-04T22:30:00Z'))).toBeNull(); // Friday night is not listed
    expect(blockedWindowAt(nights, at('2026-12-07T05:00:00Z'))).toBeNull(); // Monday morning, after Sunday
  });

  it('reads day lists, daily, and date ranges (a freeze, inclusive)', () => {
    expect(blockedWindowAt(windows('Sat,Sun 00:00-24:00'), at('2026-12-06T12:00:00Z'))).not.toBeNull();
    expect(blockedWindowAt(windows('daily 12:00-13:00'), at('2026-12-03T12:30:00Z'))).not.toBeNull();
    const freeze = windows('2026-12-21..2027-01-04');
    expect(blockedWindowAt(freeze, at('2026-12-20T23:59:59Z'))).toBeNull();
    expect(blockedWindowAt(freeze, at('2027-01-04T23:59:59Z'))).not.toBeNull();
    expect(blockedWindowAt(freeze, at('2027-01-05T00:00:00Z'))).toBeNull();
    expect(blockedWindowAt(windows('2026-12-25'), at('2026-12-25T08:00:00Z'))).not.toBeNull();
  });

  it('refuses what it cannot read, saying how to write it', () => {
    expect(() => parseBlockedWindow('Fry 00:00-24:00')).toThrow(
      /"Fry" is not a day.*write "Fri 00:00-24:00"/,
    );
    expect(() => parseBlockedWindow('Fri 25:00-26:00')).toThrow(/25:00 is not a time of day/);
    expect(() => parseBlockedWindow('2027-01-04..2026-12-21')).toThrow(/ends before it starts/);
    expect(() => parseBlockedWindow('2026-02-30')).toThrow(/is not a date/);
    expect(() => parseBlockedWindow('Fridays')).toThrow(/not a window/);
  });
});
