import type { ClusterId } from '../../config/topology.js';
import type { StepContext, StepDefinition } from './step.js';

/** Submits the change only if Route 53 does not already serve `cluster`, then waits for INSYNC. */
async function pointAt(
  ctx: StepContext,
  cluster: ClusterId,
  progressKey: string,
): Promise<Record<string, unknown>> {
  const { signal } = ctx;
  let changeId = ctx.progress[progressKey];
  if (typeof changeId !== 'string') {
    if ((await ctx.ports.dns.currentTarget(ctx.site, { signal })) === cluster)
      return { alreadyPointing: cluster };
    changeId = (await ctx.ports.dns.switchTo(ctx.site, cluster, { signal })).changeId;
    await ctx.checkpoint({ ...ctx.progress, [progressKey]: changeId });
  }
  const id = changeId as string;
  const { waitedMs } = await ctx.ports.dns.waitForInsync(id, {
    signal,
    pollMs: ctx.settings.dnsPollIntervalMs,
  });
  return { changeId: id, inSyncAfterMs: waitedMs };
}

export const switchDns: StepDefinition = {
  id: 'switch-dns',
  reversible: true,
  pointOfNoReturn: false,
  defaults: { timeoutMs: 180_000, retries: 2 },
  async isDone(ctx) {
    const { signal } = ctx;
    if ((await ctx.ports.dns.currentTarget(ctx.site, { signal })) !== ctx.run.to) return false;
    const changeId = ctx.progress.changeId;
    return (
      typeof changeId !== 'string' || (await ctx.ports.dns.changeStatus(changeId, { signal })) === 'INSYNC'
    );
  },
  apply: (ctx) => pointAt(ctx, ctx.run.to, 'changeId'),
  isUndone: async (ctx) =>
    (await ctx.ports.dns.currentTarget(ctx.site, { signal: ctx.signal })) === ctx.run.from,
  async undo(ctx) {
    await pointAt(ctx, ctx.run.from, 'undoChangeId');
  },
};
