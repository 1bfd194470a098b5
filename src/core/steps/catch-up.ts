import { BatonError } from '../../errors.js';
import type { StepContext, StepDefinition } from './step.js';
import { compareLsn, pollUntil } from './step.js';

async function replayed(ctx: StepContext, lsn: string): Promise<boolean> {
  const status = await ctx.ports.database.status(ctx.site, ctx.run.to);
  return status.lsn !== null && compareLsn(status.lsn, lsn) >= 0;
}

/** Planned runs: the standby must have replayed the fenced primary's final WAL position (zero data loss). */
export const catchUp: StepDefinition = {
  id: 'catch-up',
  reversible: false,
  pointOfNoReturn: false,
  defaults: { timeoutMs: 120_000, retries: 0 },
  async isDone(ctx) {
    const lsn = ctx.progress.lsn;
    return typeof lsn === 'string' && (await replayed(ctx, lsn));
  },
  async apply(ctx) {
    const { site, run, ports, clock } = ctx;
    let lsn = ctx.progress.lsn;
    if (typeof lsn !== 'string') {
      const source = await ports.database.status(site, run.from);
      if (!source.readOnly) {
        throw new BatonError(
          'source-not-fenced',
          `${run.from}'s database still accepts writes, so its final WAL position is not final — Retry fence-source`,
        );
      }
      if (!source.lsn)
        throw new BatonError('lsn-unknown', `${run.from}'s database did not report its WAL position`);
      lsn = source.lsn;
      await ctx.checkpoint({ lsn });
    }
    const started = clock.now();
    const target = lsn as string;
    await pollUntil(ctx, ctx.settings.pollIntervalMs, async () =>
      (await replayed(ctx, target)) ? true : undefined,
    );
    return { lsn: target, waitedMs: clock.now() - started };
  },
};
