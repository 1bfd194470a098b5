import { BatonError } from '../errors.js';

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;
const UNIT_ORDER: readonly Unit[] = ['h', 'm', 's', 'ms'];

// One "<number><unit>" part; `ms` is listed before `m` so that "500ms" is not read as 500 minutes.
const PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;

/**
 * Parses a Go-style duration (`500ms`, `90s`, `15m`, `2h`, `1h30m`, `1.5h`) into whole milliseconds.
 * Units must appear at most once and from largest to smallest, so typos like `30m1h` are caught rather than guessed.
 * Throws a `config-invalid` BatonError on anything else (empty text, a bare number, spaces, a sign, an unknown unit).
 */
export function parseDuration(text: string): number {
  const fail = (): never => {
    throw new BatonError(
      'config-invalid',
      `invalid duration ${JSON.stringify(text)}: use a number and a unit (ms, s, m, h), e.g. 90s, 15m or 1h30m`,
    );
  };
  if (typeof text !== 'string' || text.length === 0) return fail();
  PART.lastIndex = 0;
  let total = 0;
  let lastUnitIndex = -1;
  while (PART.lastIndex < text.length) {
    const match = PART.exec(text);
    if (match === null) return fail();
    const unit = match[2] as Unit;
    const unitIndex = UNIT_ORDER.indexOf(unit);
    if (unitIndex <= lastUnitIndex) return fail();
    lastUnitIndex = unitIndex;
    total += Number(match[1]) * UNIT_MS[unit];
  }
  if (!Number.isFinite(total)) return fail();
  return Math.round(total);
}

/** The inverse of {@link parseDuration} for display: 900000 → `15m`, 5400000 → `1h30m`, 1500 → `1s500ms`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const unit of UNIT_ORDER) {
    const size = UNIT_MS[unit];
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return out;
}
