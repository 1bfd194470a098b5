import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/config/duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['90s', 90_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['1h30m', 5_400_000],
    ['1m30s250ms', 90_250],
    ['1.5h', 5_400_000],
    ['0s', 0],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '15', 'm', '15 m', ' 15m', '-5m', '+5m', '15x', '30m1h', '1h1h', '1d', '15M', '.5s'])(
    'rejects %j',
    (text) => {
      expect(() => parseDuration(text)).toThrow(/invalid duration/);
    },
  );
});

describe('formatDuration', () => {
  it.each([
    [900_000, '15m'],
    [5_400_000, '1h30m'],
    [1_500, '1s500ms'],
    [0, '0s'],
  ])('%d → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });
});
