/**
 * The demotion and promotion token of a CloudNativePG replica-cluster switchover, read from the pg_controldata of
 * the Cluster's PostgreSQL model: LSNs and WAL file names, the token's shape, its parsing and the instance manager's
 * check of it against a replica.
 */
import { createHash } from 'node:crypto';
import type { Database } from './cnpg-record.js';

const OPERATOR_VERSION = '1.27.0';
const WAL_SEGMENT = 16n * 1024n * 1024n;

export function parseLsn(text: string): bigint | null {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  return match ? (BigInt(`0x${match[1]}`) << 32n) + BigInt(`0x${match[2]}`) : null;
}

const formatLsn = (lsn: bigint): string =>
  `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;

/** PostgreSQL's XLogFileName with 16 MiB segments. */
function walFileName(timeline: number, lsn: bigint): string {
  const segment = lsn / WAL_SEGMENT;
  const perId = 0x100000000n / WAL_SEGMENT;
  return [BigInt(timeline), segment / perId, segment % perId]
    .map((n) => n.toString(16).toUpperCase().padStart(8, '0'))
    .join('');
}

/** pg_controldata's "Time of latest checkpoint" (strftime %c in the C locale). */
function controldataTime(ms: number): string {
  const date = new Date(ms);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${days[date.getUTCDay()]} ${months[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, ' ')} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} ${date.getUTCFullYear()}`
  );
}

/** PgControldataTokenContent, fields in the order Go marshals them. */
export interface TokenContent {
  latestCheckpointTimelineID: string;
  redoWalFile: string;
  databaseSystemIdentifier: string;
  latestCheckpointREDOLocation: string;
  timeOfLatestCheckpoint: string;
  operatorVersion: string;
}

/** PgControlData.CreatePromotionToken: base64 (standard, padded) of the JSON. */
export function demotionToken(db: Database, now: number): string {
  const content: TokenContent = {
    latestCheckpointTimelineID: String(db.timeline),
    redoWalFile: walFileName(db.timeline, db.redo),
    databaseSystemIdentifier: db.systemId,
    latestCheckpointREDOLocation: formatLsn(db.redo),
    timeOfLatestCheckpoint: controldataTime(now),
    operatorVersion: OPERATOR_VERSION,
  };
  return Buffer.from(JSON.stringify(content)).toString('base64');
}

/** ParsePgControldataToken and IsValid; the error text is the operator's. */
export function parseToken(token: string): TokenContent | string {
  // Go's base64.StdEncoding: padded, standard alphabet; it skips CR and LF.
  const text = token.replace(/[\r\n]/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    return 'invalid promotion token (Base64 decoding failed): illegal base64 data at input byte 0';
  }
  let content: unknown;
  try {
    content = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
  } catch (error) {
    return `invalid promotion token (JSON decoding failed): ${(error as Error).message}`;
  }
  if (typeof content !== 'object' || content === null || Array.isArray(content)) {
    return 'invalid promotion token (JSON decoding failed): json: cannot unmarshal into Go value of type utils.PgControldataTokenContent';
  }
  const fields = content as Record<string, unknown>;
  const read = (key: keyof TokenContent): string => (typeof fields[key] === 'string' ? fields[key] : '');
  const checks: [keyof TokenContent, string][] = [
    ['latestCheckpointTimelineID', 'LatestCheckpointTimelineID'],
    ['redoWalFile', 'REDOWALFile'],
    ['databaseSystemIdentifier', 'DatabaseSystemIdentifier'],
    ['latestCheckpointREDOLocation', 'LatestCheckpointREDOLocation'],
    ['timeOfLatestCheckpoint', 'TimeOfLatestCheckpoint'],
    ['operatorVersion', 'OperatorVersion'],
  ];
  for (const [key, goName] of checks) {
    const value = fields[key];
    if (value !== undefined && value !== null && typeof value !== 'string') {
      return `invalid promotion token (JSON decoding failed): json: cannot unmarshal ${typeof value} into Go struct field PgControldataTokenContent.${key} of type string`;
    }
    if (!read(key)) return `invalid promotion token (${goName} is empty)`;
  }
  return {
    latestCheckpointTimelineID: read('latestCheckpointTimelineID'),
    redoWalFile: read('redoWalFile'),
    databaseSystemIdentifier: read('databaseSystemIdentifier'),
    latestCheckpointREDOLocation: read('latestCheckpointREDOLocation'),
    timeOfLatestCheckpoint: read('timeOfLatestCheckpoint'),
    operatorVersion: read('operatorVersion'),
  };
}

/**
 * promotiontoken.ValidateAgainstInstanceStatus, in its order: `ok`, `wait` (retryable: WAL still to replay, or the
 * timeline not reached yet) or `never` (another system identifier, an older timeline, or replay went past the token).
 */
export function verifyToken(token: TokenContent, db: Database): 'ok' | 'wait' | 'never' {
  if (token.databaseSystemIdentifier !== db.systemId) return 'never';
  // strconv.Atoi
  if (!/^[+-]?\d+$/.test(token.latestCheckpointTimelineID)) return 'never';
  const timeline = Number(token.latestCheckpointTimelineID);
  if (timeline > db.timeline) return 'wait';
  if (timeline < db.timeline) return 'never';
  const wanted = parseLsn(token.latestCheckpointREDOLocation);
  if (wanted === null) return 'never';
  // The instance manager runs CHECKPOINT on the replica first: its restartpoint's REDO is the last checkpoint it
  // replayed, which must be exactly the demoted primary's shutdown checkpoint.
  if (wanted < db.redo) return 'never';
  return wanted > db.redo ? 'wait' : 'ok';
}

export function defaultSystemId(seed: string): string {
  // PostgreSQL's system identifier: initdb's seconds in the high 32 bits, then microseconds and pid bits.
  const low = BigInt(`0x${createHash('sha256').update(seed).digest('hex').slice(0, 8)}`);
  return String((1_723_650_000n << 32n) | low);
}
