import { rpoIn } from '../rpo.js';
import { waitUntil } from '../wait.js';
import type { StepDefinition } from './step.js';
import { measureDataLoss, rpoEvidenceOf } from './measure-data-loss.js';

/**
 * Users reach the target: the record resolves to it and its health URL answers 2xx. Read-only. Then the old primary
 * is read once more, so writes that slipped past its fence after the promotion are counted in the RPO.
 */
export const verify: StepDefinition = {
  id: 'verify',
  reversible: false,
  pointOfNoReturn: false,
  defaults: { timeoutMs: 180_000, retries: 1 },
  isDone: async () => false,
  async apply(ctx) {
    const { site, run, ports, clock, signal } = ctx;
    const started = clock.now();
    const url = site.clusters[run.to]?.healthUrl ?? '';
    const result = await waitUntil(clock, { signal, pollMs: ctx.settings.dnsPollIntervalMs }, async () => {
      const resolved = await ports.dns.resolveTarget(site, { signal });
      if (resolved.cluster !== run.to) {
        ctx.log.debug({ answers: resolved.answers }, 'DNS not on target yet');
        return {
          done: false,
          seen: `${site.dns.recordName} resolves to ${resolved.answers.join(', ') || 'nothing'}`,
        };
      }
      const health = await ports.health.check(url, { signal });
      if (!health.ok) return { done: false, seen: `${url} answered ${health.status ?? health.error}` };
      return { done: true, value: { answers: resolved.answers, healthStatus: health.status } };
    });
    const promoted = ctx.outputOf('promote-target-db');
    const evidence = rpoEvidenceOf(promoted);
    const rpo = evidence ? await measureDataLoss(ctx, evidence, rpoIn(promoted)) : null;
    return { ...result, verifiedAfterMs: clock.now() - started, ...(rpo && { rpo }) };
  },
};
