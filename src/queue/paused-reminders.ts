/**
 * A paused run holds its site until someone decides (Retry, Skip, Accept the split-brain risk or Abort), so it must
 * not hold it silently: every `everyMs` (default 15 min) the run's thread gets a reminder saying how long, where, why
 * and who can act.
 *
 * Periodic work runs once per deployment (STYLE): a BullMQ job scheduler on the periodic queue (src/queue/periodic.ts;
 * upserted by every worker role at boot, one scheduler id, so one schedule however many workers) starts a pass every
 * `checkEveryMs`, and any one worker runs it. A pass finds paused runs and claims each due reminder with one Lua
 * script on a per-run key holding the last reminder time, so passes racing in several workers, overlapping passes
 * and restarts post at most one reminder per run per interval.
 */
import type { Redis } from 'ioredis';
import type { Topology } from '../config/topology.js';
import type { Run } from '../core/model.js';
import type { Clock, Log } from '../core/ports.js';
import { buildPausedReminder } from '../slack/blocks/paused-reminder.js';
import { runMessageKey } from '../slack/publish-run.js';
import { StoreKeys } from '../store/keys.js';
import type { RunStore } from '../store/run-store.js';
import { loadScript } from '../store/script.js';
import type { Notifier } from './notify/index.js';
import type { PeriodicJob } from './periodic.js';

/** The one job scheduler of the deployment's paused-run reminders (on the periodic queue). */
export const PAUSED_REMINDER_SCHEDULER = 'paused-run-reminders';
/** How often a paused run reminds its thread (default). */
export const PAUSED_REMINDER_EVERY_MS = 15 * 60_000;
/** How often a pass looks for due reminders, at most (a reminder is at most this late). */
const MAX_CHECK_EVERY_MS = 60_000;

/** Claims a run's reminder when it is due: 1 (post it) or 0 (see claim-reminder.lua). */
const CLAIM_REMINDER = loadScript('claim-reminder', {
  keys: ['reminder'],
  args: ['now', 'pausedAt', 'everyMs', 'ttlMs'],
});

export interface PausedRemindersOptions {
  /** A worker connection (maxRetriesPerRequest: null). */
  connection: Redis;
  prefixes: { store: string; bull: string };
  store: RunStore;
  notifier: Pick<Notifier, 'postReply'>;
  topology: Topology;
  clock: Clock;
  log: Log;
  /** How often a paused run reminds its thread (default 15 min). */
  everyMs?: number;
  /** How often the scheduler starts a pass (default: a quarter of `everyMs`, at most a minute). */
  checkEveryMs?: number;
}

/** When the run paused: its newest `paused` transition. */
export function pausedSince(run: Pick<Run, 'timeline' | 'updatedAt'>): number {
  for (let i = run.timeline.length - 1; i >= 0; i -= 1) {
    const entry = run.timeline[i];
    if (entry?.event === 'paused') return entry.at;
  }
  return run.updatedAt;
}

/** One pass: posts each paused run's due reminder; returns the runs it reminded. Safe in every worker at once. */
export async function remindPausedRuns(options: PausedRemindersOptions): Promise<string[]> {
  const { connection, prefixes, store, notifier, topology, clock, log } = options;
  const everyMs = options.everyMs ?? PAUSED_REMINDER_EVERY_MS;
  const keys = new StoreKeys(prefixes.store);
  const reminded: string[] = [];
  for (const run of await store.runsInState(['paused'])) {
    const pausedAt = pausedSince(run);
    const now = clock.now();
    if (now - pausedAt < everyMs) continue;
    const claimed = await CLAIM_REMINDER.run(connection, {
      keys: { reminder: keys.pausedReminder(run.id) },
      args: {
        now,
        pausedAt,
        everyMs,
        // Long enough to outlive the interval; a run paused for days keeps renewing it.
        ttlMs: everyMs * 4 + 24 * 3600_000,
      },
    });
    if (claimed !== 1) continue;
    const queued = await notifier.postReply({
      channel: topology.slack.incidentChannel,
      threadKey: runMessageKey(run),
      dedupeId: `paused-reminder-${now}`,
      message: buildPausedReminder({ run, pausedAt, now, approvers: topology.approvals.approvers }),
    });
    log.info({ runId: run.id, site: run.site, pausedForMs: now - pausedAt, queued }, 'reminded: run paused');
    reminded.push(run.id);
  }
  return reminded;
}

/**
 * The deployment's reminder pass as periodic work (src/queue/periodic.ts): one job scheduler, whose passes run in
 * any one worker every `checkEveryMs` (default: a quarter of `everyMs`, at most a minute).
 */
export function pausedRemindersJob(options: PausedRemindersOptions): PeriodicJob {
  const everyMs = options.everyMs ?? PAUSED_REMINDER_EVERY_MS;
  const log = options.log.child({ component: 'paused-reminders' });
  return {
    id: PAUSED_REMINDER_SCHEDULER,
    everyMs: options.checkEveryMs ?? Math.min(MAX_CHECK_EVERY_MS, Math.max(1000, everyMs / 4)),
    run: () => remindPausedRuns({ ...options, log, everyMs }),
  };
}
