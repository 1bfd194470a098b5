/**
 * The split-brain guard: what the old primary is, read just before the point of no return. Promotion goes ahead only
 * when the old primary is unreachable (a connection-level failure), a standby, or fenced again right now with nothing
 * committed since; anything else pauses the run unless break-glass approvers accepted the risk.
 */
import { BatonError, describeError } from '../../errors.js';
import type { DatabaseStatus, FenceMark } from '../ports.js';
import type { StepContext } from './step.js';
import { fenceMarkOf } from './fence-source.js';

export type SourceVerdict =
  | { state: 'unreachable'; reason: string }
  | { state: 'standby'; mark?: FenceMark }
  | { state: 'fenced'; mark: FenceMark; committedAfterFirstFence: number }
  /** Up and not (provably) fenced, and the risk was accepted: promotion goes ahead, the debt stays open. */
  | { state: 'risk-accepted'; reason: string };

/** Reads of a server that is starting up or shutting down are tried again for this long before judging it. */
const SETTLE_TRIES = 4;
const SETTLE_MS = 750;

const riskAccepted = (ctx: StepContext): boolean =>
  (ctx.run.acceptedRisks ?? []).some((risk) => risk.risk === 'split-brain');

export async function guardSource(ctx: StepContext, target: DatabaseStatus): Promise<SourceVerdict> {
  const { site, run, ports, signal } = ctx;
  const { from, to } = run;
  const accepted = riskAccepted(ctx);
  const breakGlass = 'or accept the split-brain risk (Accept split-brain risk, break-glass approvals)';

  const read = await readSource(ctx);
  if (read.kind === 'unreachable') return { state: 'unreachable', reason: read.reason };
  if (read.kind === 'refused') {
    if (accepted) return { state: 'risk-accepted', reason: read.reason };
    throw new BatonError(
      'source-refuses-baton',
      `${from}'s database answers but refuses Baton (${read.reason}), so it is up and not fenced: promoting ${to} ` +
        `could leave two writable primaries. Fence ${from} by hand (stop it, or ALTER SYSTEM SET ` +
        `default_transaction_read_only = on; SELECT pg_reload_conf(); and end its sessions) or fix Baton's access, ` +
        `then Retry; ${breakGlass}.`,
    );
  }
  const earlier = fenceMarkOf(ctx.outputOf('fence-source'));
  if (read.status.inRecovery) return { state: 'standby', ...(earlier && { mark: earlier }) };

  // A primary: fence it again now (idempotent; ends any session that reconnected), so the final position is as late
  // as it can be, then let the target replay it and check that nothing committed in between.
  let mark: FenceMark;
  try {
    mark = await ports.database.fence(site, from, { signal });
  } catch (error) {
    if (error instanceof BatonError && error.code === 'database-unreachable') {
      return { state: 'unreachable', reason: error.message };
    }
    if (signal.aborted) throw error;
    if (accepted) return { state: 'risk-accepted', reason: describeError(error) };
    throw new BatonError(
      'source-still-writable',
      `${from}'s database is reachable and could not be fenced (${describeError(error)}): two primaries would ` +
        `split the data. Fix what the fence reports, then Retry; ${breakGlass}.`,
    );
  }
  // Unless catch-up was skipped (break-glass accepted the lag), the target replays the new final position first.
  if (target.inRecovery && ctx.outputOf('catch-up') !== undefined) {
    await ports.database.waitForReplay(site, to, mark.lsn, { signal, pollMs: ctx.settings.pollIntervalMs });
  }
  const since = await ports.database.writesSince(site, from, mark, { signal });
  if (since.committed > 0 && !accepted) {
    throw new BatonError(
      'fence-breached',
      `${since.committed} transaction${since.committed === 1 ? '' : 's'} committed on ${from} after its fence: a ` +
        `session overrides read-only (${since.writers.join(', ') || 'it has disconnected'}). Stop that client ` +
        `(its writes after the promotion would be lost), then Retry; ${breakGlass}.`,
    );
  }
  const committedAfterFirstFence = earlier
    ? (await ports.database.writesSince(site, from, earlier, { signal })).committed
    : 0;
  return { state: 'fenced', mark, committedAfterFirstFence };
}

type SourceRead =
  | { kind: 'status'; status: DatabaseStatus }
  | { kind: 'unreachable'; reason: string }
  | { kind: 'refused'; reason: string };

/**
 * The old primary's status. Only a connection-level failure is "unreachable"; a server that answers at all (a
 * refused login, too many clients, a permission error) is up. One that is starting or shutting down is read again.
 */
async function readSource(ctx: StepContext): Promise<SourceRead> {
  const { site, run, ports, signal, clock } = ctx;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return { kind: 'status', status: await ports.database.status(site, run.from, { signal }) };
    } catch (error) {
      if (signal.aborted) throw error;
      const code = error instanceof BatonError ? error.code : '';
      if (code === 'database-unreachable') return { kind: 'unreachable', reason: describeError(error) };
      if (code !== 'database-unavailable' || attempt >= SETTLE_TRIES) {
        return { kind: 'refused', reason: describeError(error) };
      }
      await clock.sleep(SETTLE_MS, signal);
    }
  }
}
