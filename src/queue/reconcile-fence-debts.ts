/**
 * Pays fence debts: the old side of a run that could not be fenced is fenced the moment it answers again — its
 * database made read-only, its workloads scaled to `standbyReplicas` — and the incident channel hears "east is back
 * and writable" within a pass of it answering, then "east fenced". While the old side does not answer, attempts back
 * off (1 s doubling to 5 s): an old primary that restarts as a primary after a partition heals is caught within
 * seconds. A per-site lock keeps overlapping passes (or several workers) from working one debt twice.
 */
import type { Redis } from 'ioredis';
import type { Topology } from '../config/topology.js';
import { SYSTEM_ACTOR } from '../core/model.js';
import { lsnDiff } from '../core/lsn.js';
import type { Clock, Log, Ports } from '../core/ports.js';
import { rpoEvidenceOf } from '../core/steps/measure-data-loss.js';
import { formatBytes, workloadLabel } from '../core/steps/step.js';
import { lowerAutoscalers } from '../core/steps/hold-autoscalers.js';
import { BatonError, describeError } from '../errors.js';
import type { FenceDebtMoment } from '../slack/blocks/fence-debt-message.js';
import { buildFenceDebtMessage } from '../slack/blocks/fence-debt-message.js';
import type { FenceDebtStore, OpenFenceDebt } from '../store/fence-debts.js';
import { StoreKeys } from '../store/keys.js';
import type { RunStore } from '../store/run-store.js';
import type { Notifier } from './notify/index.js';

export const FENCE_DEBT_PASS_EVERY_MS = 1_000;
const BACKOFF_START_MS = 1_000;
const BACKOFF_MAX_MS = 5_000;
/** Each call to the old side in a pass gives up after this long: a dead side must not stall the pass. */
const CALL_TIMEOUT_MS = 10_000;

export interface FenceDebtReconcilerOptions {
  connection: Redis;
  storePrefix: string;
  debts: FenceDebtStore;
  store: RunStore;
  ports: Ports;
  notifier: Pick<Notifier, 'postStatus'>;
  topology: Topology;
  clock: Clock;
  log: Log;
}

/**
 * Each moment of a debt is a message of its own in the channel: a status message's content is coalesced to the
 * newest, and "east is back and writable" must be seen even when "east fenced" follows a second later.
 */
export const fenceDebtMessageKey = (
  debt: Pick<OpenFenceDebt, 'site' | 'runId'>,
  moment: FenceDebtMoment['kind'],
) => `fence-debt:${debt.site}:${debt.runId}:${moment}`;

/** One pass over every open debt whose next attempt is due. Returns the sites whose debt it paid. */
export async function reconcileFenceDebts(options: FenceDebtReconcilerOptions): Promise<string[]> {
  const paid: string[] = [];
  for (const debt of await options.debts.list()) {
    if (debt.nextAttemptAt > options.clock.now()) continue;
    const lock = new StoreKeys(options.storePrefix).fenceDebtLock(debt.site);
    const token = `${process.pid}-${Math.random()}`;
    if ((await options.connection.set(lock, token, 'PX', CALL_TIMEOUT_MS * 3, 'NX')) !== 'OK') continue;
    try {
      if (await settle(options, debt)) paid.push(debt.site);
    } catch (error) {
      options.log.warn({ site: debt.site, err: describeError(error) }, 'fence debt attempt failed');
    } finally {
      // Only our own lock: a pass that overran it must not free another's.
      if ((await options.connection.get(lock)) === token) await options.connection.del(lock);
    }
  }
  return paid;
}

async function settle(options: FenceDebtReconcilerOptions, debt: OpenFenceDebt): Promise<boolean> {
  const { ports, topology, clock, log } = options;
  const site = topology.sites.find((s) => s.name === debt.site);
  if (!site) {
    log.warn(
      { site: debt.site },
      'fence debt of a site the topology no longer has; left for a person to clear',
    );
    return false;
  }
  const signal = AbortSignal.timeout(CALL_TIMEOUT_MS);
  const cluster = debt.cluster;
  let database = debt.database;
  let workloads = debt.workloads;
  const done: string[] = [];
  const moments: FenceDebtMoment[] = [];
  const problems: string[] = [];
  let beyondPromotion: string | undefined;
  let answered = false;

  if (database && site.database) {
    try {
      const status = await ports.database.status(site, cluster, { signal });
      answered = true;
      if (!status.inRecovery && !status.readOnly && debt.announcedWritableAt === undefined) {
        moments.push({ kind: 'back-writable' });
      }
      if (status.inRecovery) {
        done.push(`${cluster}'s database is a standby now`);
      } else {
        const mark = await ports.database.fence(site, cluster, { signal });
        done.push(`database read-only at ${mark.lsn}`);
        beyondPromotion = await measureBeyondPromotion(options, debt, mark.lsn);
      }
      database = false;
    } catch (error) {
      const code = error instanceof BatonError ? error.code : '';
      if (code !== 'database-unreachable') {
        answered = true;
        if (debt.announcedRefusedAt === undefined)
          moments.push({ kind: 'refused', reason: describeError(error) });
      }
      problems.push(describeError(error));
    }
  } else {
    database = false;
  }

  if (workloads) {
    try {
      await ports.cluster.readyNodeCount(site, cluster, { signal });
      answered = true;
      // The HPAs first, as the fence does: a minimum above the standby count would scale the side back up.
      const lowered = await lowerAutoscalers(
        { site, ports, signal, progress: {}, checkpoint: async () => undefined },
        cluster,
        (workload) => workload.standbyReplicas,
      );
      done.push(...lowered.map((change) => `HPA ${change}`));
      for (const workload of site.workloads) {
        const now = await ports.cluster.getWorkload(site, cluster, workload, { signal });
        // Down only: a standby count above what it runs now is not Baton's to add.
        if (now && now.replicas > workload.standbyReplicas) {
          await ports.cluster.scaleWorkload(site, cluster, workload, workload.standbyReplicas, { signal });
          done.push(`${workloadLabel(workload)} scaled ${now.replicas} → ${workload.standbyReplicas}`);
        }
      }
      workloads = false;
    } catch (error) {
      problems.push(describeError(error));
    }
  }

  const now = clock.now();
  const channel = topology.slack.incidentChannel;
  for (const moment of moments) {
    const key = fenceDebtMessageKey(debt, moment.kind);
    await options.notifier.postStatus({ channel, key, message: buildFenceDebtMessage({ debt, moment }) });
    log.warn({ site: debt.site, cluster, moment: moment.kind }, 'fence debt: the old side answered');
  }

  // Narrow the debt by what this pass paid, against the debt as it is now: a run may have widened it meanwhile (a
  // later step that could not reach the side either), and that part is still owed.
  const paidDatabase = debt.database && !database;
  const paidWorkloads = debt.workloads && !workloads;
  const owed = (current: OpenFenceDebt) => ({
    database: current.database && !paidDatabase,
    workloads: current.workloads && !paidWorkloads,
  });

  if (!database && !workloads) {
    const moment: FenceDebtMoment = {
      kind: 'paid',
      done: done.length ? done : ['nothing left to change'],
      ...(beyondPromotion && { beyondPromotion }),
    };
    const result = await options.debts.update(
      debt.site,
      (current) => {
        const left = owed(current);
        return left.database || left.workloads ? { ...current, ...left } : null;
      },
      {
        record: {
          event: {
            type: 'fence-debt-paid',
            cluster,
            done: `${moment.done.join('; ')}${beyondPromotion ? ` — ${beyondPromotion}` : ''}`,
          },
          actor: SYSTEM_ACTOR,
        },
        at: now,
      },
    );
    if (result?.after) {
      log.info(
        { site: debt.site, cluster },
        'fence debt widened while it was being paid; the rest is still owed',
      );
      return false;
    }
    await options.notifier.postStatus({
      channel,
      key: fenceDebtMessageKey(debt, 'paid'),
      message: buildFenceDebtMessage({ debt, moment }),
    });
    log.info({ site: debt.site, cluster, done }, 'fence debt paid');
    return true;
  }

  const attempts = debt.attempts + 1;
  // While it does not answer, back off; once it answers (but something still fails), keep the pace up.
  const delay = answered
    ? BACKOFF_START_MS
    : Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** (attempts - 1));
  await options.debts.update(debt.site, (current) => ({
    ...current,
    ...owed(current),
    attempts,
    nextAttemptAt: now + delay,
    ...(problems.length && { lastError: problems.join('; ') }),
    ...(moments.some((m) => m.kind === 'back-writable') && { announcedWritableAt: now }),
    ...(moments.some((m) => m.kind === 'refused') && { announcedRefusedAt: now }),
  }));
  return false;
}

/** How far the old primary's WAL went past the point where the new one was promoted: writes only it has. */
async function measureBeyondPromotion(
  options: FenceDebtReconcilerOptions,
  debt: OpenFenceDebt,
  lsn: string,
): Promise<string | undefined> {
  const run = await options.store.get(debt.runId);
  const promoted = run?.steps['promote-target-db'];
  const evidence = rpoEvidenceOf(promoted && { ...promoted.progress, ...promoted.output });
  if (!evidence?.targetReplayLsn) return undefined;
  const bytes = lsnDiff(lsn, evidence.targetReplayLsn);
  if (bytes <= 0) return `${debt.cluster} holds nothing beyond where ${evidence.to} was promoted.`;
  return (
    `${debt.cluster}'s WAL ends at ${lsn}, ${formatBytes(bytes)} past where ${evidence.to} was promoted ` +
    `(${evidence.targetReplayLsn}): up to that much was written only on ${debt.cluster} (its restart writes some) — ` +
    `look before rebuilding it.`
  );
}
