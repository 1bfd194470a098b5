/** PostgreSQL WAL positions (`16/B374D848`) as byte positions, and the signed distance between two. */
import { BatonError } from '../errors.js';

export function parseLsn(lsn: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn);
  if (!match) throw new BatonError('lsn-invalid', `not a PostgreSQL WAL position: ${JSON.stringify(lsn)}`);
  return (BigInt(`0x${match[1]}`) << 32n) + BigInt(`0x${match[2]}`);
}

export function formatLsn(position: bigint): string {
  return `${(position >> 32n).toString(16).toUpperCase()}/${(position & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** -1, 0 or 1 as `a` is before, at or after `b`. */
export function compareLsn(a: string, b: string): number {
  const diff = parseLsn(a) - parseLsn(b);
  return diff === 0n ? 0 : diff > 0n ? 1 : -1;
}

/** Bytes from `b` to `a`: negative when `a` is before `b`. Never clamped: a standby ahead of its primary is news. */
export function lsnDiff(a: string, b: string): number {
  return Number(parseLsn(a) - parseLsn(b));
}
