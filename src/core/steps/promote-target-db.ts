import { BatonError } from '../../errors.js';
import type { RpoEvidence } from '../rpo.js';
import type { StepDefinition } from './step.js';
import { formatBytes } from './step.js';
import { fenceMarkOf } from './fence-source.js';
import { measureDataLoss, rpoEvidenceOf } from './measure-data-loss.js';
import { guardSource } from './split-brain-guard.js';

const PAST = 'pointOfNoReturnAt';

/**
 * The point of no return, from the moment promotion is requested: the request is checkpointed before it is made, so
 * Abort never undoes the fence while a promotion may still land. Before it, the lag gate and the split-brain guard;
 * after it, the new primary must prove it takes writes, and the old primary is read again to measure the RPO.
 */
export const promoteTargetDb: StepDefinition = {
  id: 'promote-target-db',
  reversible: false,
  pointOfNoReturn: true,
  // The timeout covers the whole promotion, the operator's included: the adapters have no deadlines of their own.
  defaults: { timeoutMs: 180_000, retries: 1 },
  async isDone(ctx) {
    const { site, run, ports, signal } = ctx;
    if (!site.database) return true;
    if (ctx.progress[PAST] === undefined) return false; // never requested by this run: the guard must run
    if ((await ports.database.status(site, run.to, { signal })).inRecovery) return false;
    try {
      await ports.database.proveWritable(site, run.to, { signal });
      return true;
    } catch {
      return false; // apply says why, and a Retry never moves DNS to a database that refuses writes
    }
  },
  async apply(ctx) {
    const { site, run, ports, signal } = ctx;
    const database = site.database;
    if (!database) return { skipped: 'no database configured' };
    if (ctx.progress[PAST] === undefined) {
      const target = await ports.database.status(site, run.to, { signal });
      if (
        target.inRecovery &&
        target.lagBytes !== null &&
        target.lagBytes > database.maxLagBytes &&
        !run.force
      ) {
        throw new BatonError(
          'lag-too-high',
          `${run.to}'s standby is ${formatBytes(target.lagBytes)} behind (limit ${formatBytes(database.maxLagBytes)}); ` +
            'promoting now would lose those writes. Retry when it has caught up, or Skip with break-glass approvals.',
        );
      }
      const source = await guardSource(ctx, target);
      if (source.state === 'unreachable' || source.state === 'risk-accepted') {
        await ctx.openFenceDebt({
          database: true,
          workloads: false,
          reason: `${run.from}'s database could not be fenced: ${source.reason}`,
        });
      }
      if (source.state === 'risk-accepted') {
        await ctx.announce({
          kind: 'split-brain-risk-taken',
          text: `${site.name}: promoting ${run.to} while ${run.from}'s database may still take writes (${source.reason}); the split-brain risk was accepted`,
        });
      }
      // Where the target stands just before the request: the RPO is measured against it.
      const before = await ports.database.status(site, run.to, { signal });
      const mark = 'mark' in source ? source.mark : undefined;
      const evidence: RpoEvidence = {
        from: run.from,
        to: run.to,
        ...(mark && { fence: mark }),
        ...((source.state === 'unreachable' || source.state === 'risk-accepted') && {
          sourceUnread: source.reason,
        }),
        targetReplayLsn: before.inRecovery ? before.lsn : null,
        targetReceiveLsn: before.receiveLsn ?? null,
      };
      await ctx.passPointOfNoReturn(
        {
          evidence,
          source: source.state,
          ...(source.state === 'fenced' &&
            source.committedAfterFirstFence > 0 && {
              committedAfterFirstFence: source.committedAfterFirstFence,
            }),
        },
        `promotion of ${run.to}'s database requested`,
      );
    }
    const evidence = rpoEvidenceOf(ctx.progress);
    const promotionToken = fenceMarkOf(ctx.outputOf('fence-source'))?.promotionToken;
    await ports.database.requestPromotion(site, run.to, {
      signal,
      ...(promotionToken && { promotionToken }),
    });
    await ports.database.waitUntilWritable(site, run.to, {
      signal,
      clearFence: true,
      pollMs: ctx.settings.pollIntervalMs,
    });
    const rpo = evidence ? await measureDataLoss(ctx, evidence, null) : null;
    return {
      source: ctx.progress.source,
      ...(evidence && { evidence }),
      ...(rpo && { rpo }),
      ...(ctx.progress.committedAfterFirstFence !== undefined && {
        committedAfterFirstFence: ctx.progress.committedAfterFirstFence,
      }),
    };
  },
};
