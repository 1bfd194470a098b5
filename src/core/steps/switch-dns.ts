import type { ClusterId } from '../../config/topology.js';
import type { StepContext, StepDefinition } from './step.js';
import { pollUntil } from './step.js';

async function waitInSync(ctx: StepContext, changeId: string): Promise<number> {
  const started = ctx.clock.now();
  await pollUntil(ctx, ctx.settings.dnsPollIntervalMs, async () =>
    (await ctx.ports.dns.changeStatus(changeId)) === 'INSYNC' ? true : undefined,
  );
  return ctx.clock.now() - started;
}

/** Submits the change only if Route 53 does not already serve `cluster`, then waits for INSYNC. */
async function pointAt(
  ctx: StepContext,
  cluster: ClusterId,
  progressKey: string,
): Promise<Record<string, unknown>> {
  let changeId = ctx.progress[progressKey];
  if (typeof changeId !== 'string') {
    if ((await ctx.ports.dns.currentTarget(ctx.site)) === cluster) return { alreadyPointing: cluster };
    changeId = (await ctx.ports.dns.switchTo(ctx.site, cluster)).changeId;
    await ctx.checkpoint({ ...ctx.progress, [progressKey]: changeId });
  }
  const id = changeId as string;
  return { changeId: id, inSyncAfterMs: await waitInSync(ctx, id) };
}

export const switchDns: StepDefinition = {
  id: 'switch-dns',
  reversible: true,
  pointOfNoReturn: false,
  defaults: { timeoutMs: 180_000, retries: 2 },
  async isDone(ctx) {
    if ((await ctx.ports.dns.currentTarget(ctx.site)) !== ctx.run.to) return false;
    const changeId = ctx.progress.changeId;
    return typeof changeId !== 'string' || (await ctx.ports.dns.changeStatus(changeId)) === 'INSYNC';
  },
  apply: (ctx) => pointAt(ctx, ctx.run.to, 'changeId'),
  isUndone: async (ctx) => (await ctx.ports.dns.currentTarget(ctx.site)) === ctx.run.from,
  async undo(ctx) {
    await pointAt(ctx, ctx.run.from, 'undoChangeId');
  },
};
