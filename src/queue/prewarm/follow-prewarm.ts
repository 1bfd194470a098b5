/**
 * Follows one pre-warmed proposal until it ends (DESIGN §6), whatever keeps its record: a single proposal's run
 * (run-prewarm-source.ts) or one site of an evacuation (evacuation-prewarm-source.ts). While the proposal is open it
 * warms the target and records its Ready count; when it ends without a run that took the record, it gives back what
 * pre-warm changed; an approval leaves everything to the run (whose scale-up-target then finds the pods Ready).
 *
 * At least once, safely: every change is checkpointed in the record before it is made (steps/scale-workloads.ts), a
 * source refuses a write (`not-proposed`) once the record belongs to a run, each action checks the world before it
 * acts, and a Redis lock per proposal keeps two workers (a stalled job run twice, a duplicate) from acting at once;
 * the one that finds it taken retries later. A failure to pre-warm never touches the proposal: it is a line in it.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { SiteConfig, Topology } from '../../config/topology.js';
import type { Clock, Log, Ports } from '../../core/ports.js';
import type { PrewarmPhase, PrewarmTarget } from '../../core/prewarm/prewarm-phase.js';
import { prewarmTouched } from '../../core/prewarm/prewarm-phase.js';
import type { Prewarm, PrewarmRelease } from '../../core/prewarm/prewarm-record.js';
import {
  allWarm,
  coolTarget,
  readWarmth,
  warmTarget,
  whyNotPrewarm,
} from '../../core/prewarm/warm-target.js';
import type { RunEvent } from '../../core/runs/run-event.js';
import { DEFAULT_STEP_SETTINGS } from '../../core/steps/step.js';
import type { StepContext } from '../../core/steps/step.js';
import { BatonError, describeError } from '../../errors.js';
import { StoreKeys } from '../../store/keys.js';
import { loadScript } from '../../store/script.js';
import { warmthText } from '../../slack/blocks/prewarm-lines.js';

/** The proposal as one read sees it. */
export interface PrewarmSnapshot {
  phase: PrewarmPhase;
  target: PrewarmTarget;
  prewarm: Prewarm | undefined;
  /** Give-back only: why nothing may be scaled back (the line recorded instead), when that is so. */
  leaveAlone?: string;
}

/** Where a proposal's pre-warm is kept: read it, and change it (refused with `not-proposed` once a run has it). */
export interface PrewarmSource {
  /** The proposal, for its lock and the logs: a run's id, or `<evacuation>:<site>`. */
  readonly id: string;
  read(): Promise<PrewarmSnapshot | null>;
  record(change: (prewarm: Prewarm | undefined) => Prewarm, event: RunEvent): Promise<void>;
}

export interface FollowOptions {
  /** A connection with maxRetriesPerRequest: null. */
  connection: Redis;
  storePrefix?: string;
  topology: Topology;
  ports: Ports;
  clock: Clock;
  log: Log;
  /** How often the open proposal's Ready count is read (default 500 ms, as step polling). */
  pollMs?: number;
}

export type PrewarmOutcome = 'gone' | 'off' | 'not-warming' | 'left-for-run' | 'given-back' | 'stopping';

/** Releases a lock only for its holder (a holder that overran it must not free another's). */
const RELEASE_LOCK = loadScript('release-lock', { keys: ['lock'], args: ['holder'] });
/** A lock holder that stops renewing (a dead worker) frees it after this long: longer than one warm or give-back. */
const LOCK_MS = 90_000;
/** A read of the target's Ready counts gives up after this long; a warm or a give-back after three times that. */
const CALL_TIMEOUT_MS = 20_000;

const notProposed = (error: unknown): boolean => error instanceof BatonError && error.code === 'not-proposed';

/**
 * Follows `source` until its proposal ends. Throws `run-conflict` (the job retries) when another worker holds its
 * lock, and whatever Redis or the target throws while giving back (retried by the job too).
 */
export async function followSource(
  options: FollowOptions,
  source: PrewarmSource,
  shouldStop: () => boolean = () => false,
): Promise<PrewarmOutcome> {
  const { connection, clock } = options;
  const lockKey = new StoreKeys(options.storePrefix).prewarmLock(source.id);
  const holder = randomUUID();
  if ((await connection.set(lockKey, holder, 'PX', LOCK_MS, 'NX')) !== 'OK') {
    throw new BatonError('run-conflict', `another worker is acting on ${source.id}'s pre-warm`, {
      retriable: true,
    });
  }
  const renew = async () => {
    // Only our own lock: a holder that overran it must not take another's.
    if ((await connection.get(lockKey)) !== holder) {
      throw new BatonError('run-conflict', `lost ${source.id}'s pre-warm lock`, { retriable: true });
    }
    await connection.pexpire(lockKey, LOCK_MS);
  };
  try {
    for (;;) {
      await renew();
      const snapshot = await source.read();
      if (!snapshot) return 'gone';
      const { phase, target, prewarm } = snapshot;
      const site = options.topology.sites.find((s) => s.name === target.site);
      if (!site) return 'gone';
      if (phase.phase === 'give-back') {
        if (prewarm && !prewarm.released && prewarmTouched(prewarm)) {
          await giveBack(options, source, snapshot, site, phase.because);
        }
        return 'given-back';
      }
      if (phase.phase === 'left-for-run' || phase.phase === 'off') return phase.phase;
      if (shouldStop()) return 'stopping';
      if (phase.phase === 'open') {
        // Not started, or cut off after a checkpoint (a dead worker): warm, from what was recorded.
        if (!prewarm || (prewarm.scaledAt === undefined && prewarm.failed === undefined)) {
          const why = prewarm ? null : whyNotPrewarm(target, site);
          if (why === 'off') return 'off';
          if (why !== null) {
            await source.record((p) => p ?? fresh(target, clock.now(), why), {
              type: 'prewarm-failed',
              cluster: target.to,
              reason: why,
            });
            return 'not-warming';
          }
          await warm(options, source, target, site, prewarm);
          continue;
        }
        if (prewarm.failed && !prewarmTouched(prewarm)) return 'not-warming';
        if (prewarm.scaledAt !== undefined && prewarm.readyAt === undefined) {
          await showWarmth(options, source, target, site, prewarm);
        }
      }
      // Open and warm, or decided and on its way to its run: look again.
      await clock.sleep(options.pollMs ?? DEFAULT_STEP_SETTINGS.pollIntervalMs);
    }
  } finally {
    await RELEASE_LOCK.run(connection, { keys: { lock: lockKey }, args: { holder } }).catch(() => undefined);
  }
}

const fresh = (target: PrewarmTarget, now: number, failed?: string): Prewarm => ({
  cluster: target.to,
  startedAt: now,
  workloads: {},
  autoscalers: [],
  progress: {},
  ...(failed !== undefined && { failed }),
});

/** A step context for the scaling helpers, whose checkpoint is the record's `progress`. */
function contextFor(
  options: FollowOptions,
  source: PrewarmSource,
  target: PrewarmTarget,
  site: SiteConfig,
  prewarm: Prewarm,
): StepContext {
  const ctx: StepContext = {
    site,
    run: target,
    ports: options.ports,
    clock: options.clock,
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS * 3),
    log: options.log,
    settings: DEFAULT_STEP_SETTINGS,
    progress: { ...prewarm.progress },
    checkpoint: async (next) => {
      await source.record((p) => ({ ...(p ?? fresh(target, options.clock.now())), progress: next }), {
        type: 'prewarm-progress',
        cluster: target.to,
      });
      ctx.progress = next;
    },
    outputOf: () => undefined,
    passPointOfNoReturn: () => Promise.reject(new Error('pre-warm never passes the point of no return')),
    openFenceDebt: () => Promise.reject(new Error('pre-warm opens no fence debt')),
    announce: async () => undefined,
  };
  return ctx;
}

async function warm(
  options: FollowOptions,
  source: PrewarmSource,
  target: PrewarmTarget,
  site: SiteConfig,
  prewarm: Prewarm | undefined,
): Promise<void> {
  const { clock } = options;
  const log = options.log.child({ proposal: source.id, cluster: target.to });
  const ctx = contextFor(options, source, target, site, prewarm ?? fresh(target, clock.now()));
  try {
    const { workloads, autoscalers } = await warmTarget(ctx);
    const scaled = Object.entries(workloads)
      .filter(([, w]) => w.from !== w.to)
      .map(([label, w]) => `${label} ${w.from} → ${w.to}`);
    await source.record(
      (p) => ({
        ...(p ?? fresh(target, clock.now())),
        progress: ctx.progress as Record<string, unknown>,
        workloads,
        autoscalers,
        scaledAt: clock.now(),
        ...(allWarm(workloads) && { readyAt: clock.now() }),
      }),
      { type: 'prewarm-started', cluster: target.to, scaled, autoscalers },
    );
    log.info({ scaled, autoscalers }, 'pre-warm started');
  } catch (error) {
    if (notProposed(error)) return; // approved meanwhile: the run's now
    const reason = describeError(error);
    log.warn({ err: reason }, 'pre-warm failed; the proposal is unaffected');
    await source
      .record(
        (p) => ({
          ...(p ?? fresh(target, clock.now())),
          progress: ctx.progress as Record<string, unknown>,
          failed: reason,
        }),
        { type: 'prewarm-failed', cluster: target.to, reason },
      )
      .catch((saveError: unknown) => {
        if (!notProposed(saveError)) throw saveError;
      });
  }
}

/** Reads the Ready counts and records them when they changed (the message shows them live). */
async function showWarmth(
  options: FollowOptions,
  source: PrewarmSource,
  target: PrewarmTarget,
  site: SiteConfig,
  prewarm: Prewarm,
): Promise<void> {
  let workloads: Prewarm['workloads'];
  try {
    workloads = await readWarmth(
      { site, run: target, ports: options.ports, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) },
      prewarm,
    );
  } catch (error) {
    // A passing read failure: the count shown stays the last one seen.
    options.log.debug(
      { proposal: source.id, err: describeError(error) },
      'pre-warm could not read Ready counts',
    );
    return;
  }
  const same = Object.entries(workloads).every(([label, w]) => prewarm.workloads[label]?.ready === w.ready);
  if (same) return;
  const warmNow = allWarm(workloads);
  const next: Prewarm = { ...prewarm, workloads, ...(warmNow && { readyAt: options.clock.now() }) };
  try {
    await source.record(
      (p) => {
        if (p?.released || p?.startedAt !== prewarm.startedAt) return p ?? next;
        return { ...p, workloads, ...(warmNow && { readyAt: options.clock.now() }) };
      },
      { type: 'prewarm-ready', cluster: prewarm.cluster, ready: warmthText(next) },
    );
  } catch (error) {
    // Decided meanwhile: the next pass sees it.
    if (!notProposed(error)) throw error;
  }
}

/**
 * Scales back what pre-warm changed (retried by the job until the target answers), and records it; or, when the
 * source says nothing may be scaled back, records why instead.
 */
async function giveBack(
  options: FollowOptions,
  source: PrewarmSource,
  snapshot: PrewarmSnapshot,
  site: SiteConfig,
  because: PrewarmRelease['because'],
): Promise<void> {
  const { prewarm, target, leaveAlone } = snapshot;
  if (!prewarm) return;
  const { restored, leftAlone } = leaveAlone
    ? { restored: [], leftAlone: [leaveAlone] }
    : await coolTarget(contextFor(options, source, target, site, prewarm), prewarm);
  const released: PrewarmRelease = { at: options.clock.now(), because, restored, leftAlone };
  await source.record((p) => ({ ...(p ?? fresh(target, released.at)), released }), {
    type: 'prewarm-released',
    cluster: prewarm.cluster,
    restored,
    leftAlone,
  });
  options.log.info({ proposal: source.id, restored, leftAlone }, 'pre-warm given back');
}
