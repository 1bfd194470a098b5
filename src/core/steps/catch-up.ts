import { BatonError } from '../../errors.js';
import { judgeFollower } from '../follower.js';
import type { StepDefinition } from './step.js';
import { fenceMarkOf } from './fence-source.js';

/**
 * The standby replays the fenced primary's final WAL position before anything is promoted: zero data loss in planned
 * runs, and in emergency runs whose source could be fenced (losing writes only because nobody waited is not
 * acceptable). The wait is bounded by the step timeout and shown live; a standby that does not follow the source
 * is refused at once.
 */
export const catchUp: StepDefinition = {
  id: 'catch-up',
  reversible: false,
  pointOfNoReturn: false,
  defaults: { timeoutMs: 120_000, retries: 0 },
  // Read-only, and the wait returns at once when the position is replayed: always look again.
  isDone: async () => false,
  async apply(ctx) {
    const { site, run, ports, clock, signal } = ctx;
    const fenceOutput = ctx.outputOf('fence-source');
    const fence = fenceMarkOf(fenceOutput);
    if (!fence) {
      if (run.mode === 'planned') {
        throw new BatonError(
          'source-not-fenced',
          `${run.from}'s database has no recorded fence, so there is no final position to wait for — Retry fence-source`,
        );
      }
      const why = (fenceOutput?.unfenced as string[] | undefined)?.join('; ') ?? 'not fenced';
      return { skipped: `${run.from} could not be fenced (${why}): there is no final position to wait for` };
    }
    if (fence.standby) return { skipped: `${run.from}'s database is a standby; it has nothing to replicate` };

    // A CloudNativePG demotion already made the source a replica: the operator checks the target against the token.
    if (!fence.promotionToken) {
      const state = await ports.database.replication(site, run.to, run.from, { signal });
      const verdict = judgeFollower(state, {
        standby: run.to,
        primary: run.from,
        cnpg: site.database?.promotion === 'cloudnative-pg',
      });
      if (verdict.kind === 'broken') throw new BatonError(verdict.code, `${verdict.detail} — ${verdict.fix}`);
    }

    const started = clock.now();
    const replayed = await ports.database.waitForReplay(site, run.to, fence.lsn, {
      signal,
      pollMs: ctx.settings.pollIntervalMs,
      onProgress: (seen) => {
        ctx.checkpoint({ waiting: seen }).catch(() => undefined);
      },
    });
    return { lsn: fence.lsn, replayed: replayed.lsn, waitedMs: clock.now() - started };
  },
};
