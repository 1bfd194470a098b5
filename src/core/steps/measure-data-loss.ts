/**
 * Reads the old primary after a promotion and measures what it has that the new primary does not (the RPO). The
 * promote step measures right after promoting; verify measures again, so a write that slipped past the fence in
 * between is still caught. A newly detected loss is announced in the channel and the audit.
 */
import { BatonError, describeError } from '../../errors.js';
import type { Rpo, RpoEvidence, SourceAfter } from '../rpo.js';
import { formatRpo, measureRpo } from '../rpo.js';
import type { StepContext } from './step.js';

export function rpoEvidenceOf(
  output: Readonly<Record<string, unknown>> | undefined,
): RpoEvidence | undefined {
  const evidence = output?.evidence as Partial<RpoEvidence> | undefined;
  return evidence && typeof evidence.from === 'string' && typeof evidence.to === 'string'
    ? (evidence as RpoEvidence)
    : undefined;
}

export async function measureDataLoss(
  ctx: StepContext,
  evidence: RpoEvidence,
  previous: Rpo | null,
): Promise<Rpo> {
  const { site, ports, signal } = ctx;
  let after: SourceAfter;
  try {
    if (evidence.fence) {
      const since = await ports.database.writesSince(site, evidence.from, evidence.fence, { signal });
      after = { lsn: since.lsn, committed: since.committed, ...(since.capped && { capped: true }) };
    } else {
      const status = await ports.database.status(site, evidence.from, { signal });
      after = status.lsn && !status.inRecovery ? { lsn: status.lsn } : { unreachable: 'not a primary' };
    }
  } catch (error) {
    if (signal.aborted || (error instanceof BatonError && error.code === 'lease-lost')) throw error;
    after = { unreachable: describeError(error) };
  }
  const rpo = measureRpo({ ...evidence, after });
  if (rpo.kind === 'lost' && previous?.kind !== 'lost') {
    await ctx.announce({
      kind: 'data-loss-detected',
      text: `${site.name}: data loss ${formatRpo(rpo)} — ${rpo.detail}`,
    });
  }
  return rpo;
}
