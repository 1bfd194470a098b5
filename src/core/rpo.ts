/**
 * The measured RPO of a promotion: what Baton can prove about the writes the old primary had that the new one does
 * not. Never "0 B" unless the old primary was read after the promotion and took nothing after its fence.
 */
import type { ClusterId } from '../config/topology.js';
import { lsnDiff } from './lsn.js';
import type { Run } from './model.js';
import type { FenceMark } from './ports.js';
import { formatBytes } from './steps/step.js';

export type Rpo =
  | { kind: 'proved'; detail: string }
  | { kind: 'lost'; bytes: number; transactions: number | null; detail: string }
  | { kind: 'bound'; bytes: number; detail: string }
  | { kind: 'unknown'; detail: string };

/** The old primary read after the promotion: where its WAL is, and (with a fence mark) what committed since. */
export type SourceAfter = { lsn: string; committed?: number; capped?: boolean } | { unreachable: string };

export interface RpoEvidence {
  from: ClusterId;
  to: ClusterId;
  /** The old primary's fence just before the promotion; absent when it could not be fenced. */
  fence?: FenceMark;
  /** Why the old primary could not be fenced or read before the promotion. */
  sourceUnread?: string;
  /** The new primary's replay and receive positions just before its promotion. */
  targetReplayLsn: string | null;
  targetReceiveLsn: string | null;
  after?: SourceAfter;
}

export function measureRpo(e: RpoEvidence): Rpo {
  const { from, to } = e;
  const replay = e.targetReplayLsn;
  const after = e.after && 'lsn' in e.after ? e.after : undefined;
  const afterUnread = e.after && 'unreachable' in e.after ? e.after.unreachable : undefined;
  if (!e.fence || replay === null) {
    if (after && replay !== null) {
      const bytes = Math.max(0, lsnDiff(after.lsn, replay));
      return {
        kind: 'bound',
        bytes,
        detail:
          `${from} was not fenced before the promotion; it answered later at ${after.lsn}, ${formatBytes(bytes)} ` +
          `past what ${to} had replayed (${replay}); its restart writes some of that`,
      };
    }
    const received = e.targetReceiveLsn ?? replay;
    return {
      kind: 'unknown',
      detail:
        `${from} ${e.sourceUnread ? `could not be read (${e.sourceUnread})` : 'was not read'}; ` +
        `${to} had received up to ${received ?? 'an unknown position'}`,
    };
  }
  const short = Math.max(0, lsnDiff(e.fence.lsn, replay));
  if (!after) {
    if (short > 0) {
      return {
        kind: 'lost',
        bytes: short,
        transactions: null,
        detail: `${to} was promoted at ${replay}, ${formatBytes(short)} short of ${from}'s final position ${e.fence.lsn}`,
      };
    }
    return {
      kind: 'bound',
      bytes: 0,
      detail:
        `${to} had replayed ${from}'s final position ${e.fence.lsn}; ${from} was not read again after the ` +
        `promotion (${afterUnread ?? 'not tried'}), so writes after its fence, if any, are not counted`,
    };
  }
  const committed = after.committed ?? null;
  if (committed === 0 && short === 0) {
    return {
      kind: 'proved',
      detail: `${from} committed nothing after its fence at ${e.fence.lsn}, and ${to} had replayed that position`,
    };
  }
  const bytes = Math.max(short, lsnDiff(after.lsn, replay));
  const txns =
    committed === null
      ? 'an unknown number of transactions'
      : `${after.capped ? 'at least ' : ''}${committed} transaction${committed === 1 ? '' : 's'}`;
  return {
    kind: 'lost',
    bytes,
    transactions: committed,
    detail:
      `${txns} committed on ${from} after its fence at ${e.fence.lsn}` +
      (short > 0 ? `, and ${to} was promoted ${formatBytes(short)} short of it` : '') +
      `: ${from} is at ${after.lsn}, ${to} had replayed ${replay}`,
  };
}

/** "0 B (proved)", "LOST 1.2 KiB", "≤ 12 KiB", "unknown". */
export function formatRpo(rpo: Rpo): string {
  switch (rpo.kind) {
    case 'proved':
      return '0 B (proved)';
    case 'lost':
      return `LOST ${rpo.bytes > 0 ? formatBytes(rpo.bytes) : 'writes'}`;
    case 'bound':
      return `≤ ${formatBytes(rpo.bytes)}`;
    case 'unknown':
      return 'unknown';
  }
}

const RPO_KINDS = new Set(['proved', 'lost', 'bound', 'unknown']);

function isRpo(value: unknown): value is Rpo {
  const v = value as { kind?: unknown; detail?: unknown } | null;
  return (
    typeof v === 'object' && v !== null && RPO_KINDS.has(v.kind as string) && typeof v.detail === 'string'
  );
}

/** The RPO a step output (or progress) carries, if any. */
export function rpoIn(output: Readonly<Record<string, unknown>> | undefined): Rpo | null {
  return isRpo(output?.rpo) ? output.rpo : null;
}

/** The run's measured RPO: the latest measurement (verify re-reads the old primary), or null before promotion. */
export function rpoOf(run: Pick<Run, 'steps'>): Rpo | null {
  for (const id of ['verify', 'promote-target-db'] as const) {
    const record = run.steps[id];
    const rpo = rpoIn(record?.output) ?? rpoIn(record?.progress);
    if (rpo) return rpo;
  }
  return null;
}
