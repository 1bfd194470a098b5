/** CloudNativePG demotion (= promotion) tokens: decoding and checking one before Baton relies on it. */
import { formatLsn, parseLsn } from '../../core/lsn.js';
import { BatonError } from '../../errors.js';

/** The fields of a demotion token (CloudNativePG's PgControldataTokenContent, from pg_controldata). */
export interface CnpgDemotionToken {
  /** Latest checkpoint's TimeLineID. */
  timeline: number;
  /** Latest checkpoint's REDO location, as PostgreSQL writes an LSN (`0/3000060`). */
  redoLsn: string;
  /** Latest checkpoint's REDO WAL file. */
  redoWalFile: string;
  /** Database system identifier. */
  systemIdentifier: string;
  /** Time of latest checkpoint, as pg_controldata printed it. */
  checkpointTime: string;
  /** The operator version that made the token. */
  operatorVersion: string;
}

/**
 * Decodes a demotion (= promotion) token the way the operator does (pkg/utils/parser.go ParsePgControldataToken and
 * IsValid: standard padded base64 of a JSON object whose six fields are all set), and checks what Baton relies on:
 * the timeline is a number and the REDO location an LSN. Throws `cnpg-token-invalid` on anything else.
 */
export function parseCnpgDemotionToken(token: string): CnpgDemotionToken {
  const invalid = (why: string, cause?: unknown) =>
    new BatonError(
      'cnpg-token-invalid',
      `Not a CloudNativePG demotion token: ${why} — copy it again from the demoted Cluster ` +
        `(kubectl get cluster -n <namespace> <name> -o jsonpath='{.status.demotionToken}', or the "Demotion token" ` +
        'of kubectl cnpg status)',
      cause === undefined ? {} : { cause },
    );
  // Go's base64.StdEncoding: standard alphabet, padded; it skips line breaks.
  const text = token.replace(/[\r\n]/g, '');
  if (text === '' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw invalid('it is not base64');
  }
  let content: unknown;
  try {
    content = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
  } catch (error) {
    throw invalid('it does not hold JSON', error);
  }
  if (typeof content !== 'object' || content === null || Array.isArray(content)) {
    throw invalid('it does not hold a JSON object');
  }
  const fields = content as Record<string, unknown>;
  const field = (key: string): string => {
    const value = fields[key];
    if (typeof value !== 'string' || value === '') throw invalid(`${key} is missing`);
    return value;
  };
  const timelineText = field('latestCheckpointTimelineID');
  const redoWalFile = field('redoWalFile');
  const systemIdentifier = field('databaseSystemIdentifier');
  const redoText = field('latestCheckpointREDOLocation');
  const checkpointTime = field('timeOfLatestCheckpoint');
  const operatorVersion = field('operatorVersion');
  const timeline = Number(timelineText);
  if (!/^\d+$/.test(timelineText) || !Number.isSafeInteger(timeline) || timeline < 1) {
    throw invalid(`latestCheckpointTimelineID ${JSON.stringify(timelineText)} is not a timeline`);
  }
  let redoLsn: string;
  try {
    redoLsn = formatLsn(parseLsn(redoText));
  } catch (error) {
    throw invalid(`latestCheckpointREDOLocation ${JSON.stringify(redoText)} is not a WAL position`, error);
  }
  if (!/^[0-9A-Fa-f]{24}$/.test(redoWalFile)) {
    throw invalid(`redoWalFile ${JSON.stringify(redoWalFile)} is not a WAL file name`);
  }
  if (!/^\d+$/.test(systemIdentifier)) {
    throw invalid(`databaseSystemIdentifier ${JSON.stringify(systemIdentifier)} is not a system identifier`);
  }
  return { timeline, redoLsn, redoWalFile, systemIdentifier, checkpointTime, operatorVersion };
}
