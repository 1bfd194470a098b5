import type { StepDefinition } from './step.js';
import { pollUntil } from './step.js';

/** Users reach the target: the record resolves to it and its health URL answers 2xx. Read-only. */
export const verify: StepDefinition = {
  id: 'verify',
  reversible: false,
  pointOfNoReturn: false,
  defaults: { timeoutMs: 180_000, retries: 1 },
  isDone: async () => false,
  async apply(ctx) {
    const { site, run, ports, clock } = ctx;
    const started = clock.now();
    let last = '';
    const url = site.clusters[run.to]?.healthUrl ?? '';
    const result = await pollUntil(
      ctx,
      ctx.settings.dnsPollIntervalMs,
      async () => {
        const resolved = await ports.dns.resolveTarget(site);
        if (resolved.cluster !== run.to) {
          last = `${site.dns.recordName} resolves to ${resolved.answers.join(', ') || 'nothing'}`;
          ctx.log.debug({ answers: resolved.answers }, 'DNS not on target yet');
          return undefined;
        }
        const health = await ports.health.check(url);
        if (!health.ok) {
          last = `${url} answered ${health.status ?? health.error}`;
          return undefined;
        }
        return { answers: resolved.answers, healthStatus: health.status };
      },
      () => last,
    );
    return { ...result, verifiedAfterMs: clock.now() - started };
  },
};
