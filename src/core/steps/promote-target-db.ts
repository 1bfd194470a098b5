import { BatonError, describeError } from '../../errors.js';
import type { StepDefinition } from './step.js';
import { formatBytes } from './step.js';

/** The point of no return: after this the old primary can only come back as a rebuilt standby. */
export const promoteTargetDb: StepDefinition = {
  id: 'promote-target-db',
  reversible: false,
  pointOfNoReturn: true,
  defaults: { timeoutMs: 60_000, retries: 1 },
  async isDone(ctx) {
    if (!ctx.site.database) return true;
    return !(await ctx.ports.database.status(ctx.site, ctx.run.to)).inRecovery;
  },
  async apply(ctx) {
    const { site, run, ports } = ctx;
    const database = site.database;
    if (!database) return { skipped: 'no database configured' };
    const target = await ports.database.status(site, run.to);
    if (target.lagBytes !== null && target.lagBytes > database.maxLagBytes && !run.force) {
      throw new BatonError(
        'lag-too-high',
        `${run.to}'s standby is ${formatBytes(target.lagBytes)} behind (limit ${formatBytes(database.maxLagBytes)}); ` +
          'promoting now would lose those writes. Retry when it has caught up, or Skip with break-glass approvals.',
      );
    }
    // Split-brain guard: never promote while the old primary is still writable and reachable.
    let source: Awaited<ReturnType<typeof ports.database.status>> | null = null;
    try {
      source = await ports.database.status(site, run.from);
    } catch (error) {
      ctx.log.warn({ err: describeError(error) }, 'source database unreachable before promotion');
    }
    if (source && !source.inRecovery && !source.readOnly && !run.force) {
      throw new BatonError(
        'source-still-writable',
        `${run.from}'s database is reachable and still accepts writes — two primaries would split the data. ` +
          'Retry fence-source first, or Abort.',
      );
    }
    await ports.database.promote(site, run.to);
    return { lagBytes: target.lagBytes, sourceDatabase: source ? 'fenced' : 'unreachable' };
  },
};
