/**
 * What Baton remembers about alerts, in Redis beside the runs: which alerts (by fingerprint) belong to which
 * incident, whether each is firing or resolved, and the incident's totals. An incident is either a run (every alert
 * that proposed it, or that arrived while it was open) or a site's `notify` notice.
 *
 * Every webhook is applied by one Lua script, so duplicates from Alertmanager replicas, retries and out-of-order
 * deliveries converge on the same state: an alert's newest episode wins (a later `startsAt`), and within one
 * episode "resolved" beats "firing". The script reports transitions (firing → all resolved and back) and leaves a
 * `pending` marker that the caller clears once it has acted on them (Slack updates), so a crash or a Redis error
 * between the two makes the next delivery of the same alerts finish the job.
 */
import type { Redis } from 'ioredis';
import { StoreKeys } from '../keys.js';
import type { WebhookAlert } from '../../alerts/alertmanager-payload.js';
import type { IncidentState, ProbeRecord, RecordOptions, RecordResult } from './incident-record.js';
import { parseState } from './incident-record.js';
import { CLAIM_FLAG, CLEAR_PENDING, RECORD_PROBE, lastRunOf, recordAlerts } from './incident-scripts.js';

export class IncidentStore {
  private readonly key: StoreKeys;

  constructor(
    private readonly redis: Redis,
    /** The store's key prefix (e.g. `{baton}:`); alert state lives under `<prefix>alerts:` (see keys.ts). */
    prefix?: string,
  ) {
    this.key = new StoreKeys(prefix);
  }

  /**
   * Records alerts against run `runId` of `site`. With `onlyIfKnown`, alerts for a run that has no alert record
   * yet are dropped (resolved alerts Baton never saw firing). Returns null when nothing was recorded.
   */
  recordRun(
    site: string,
    runId: string,
    alerts: readonly WebhookAlert[],
    options: RecordOptions & { onlyIfKnown: boolean },
  ): Promise<RecordResult | null> {
    return recordAlerts(this.redis, this.key, { mode: 'run', site, runId }, alerts, options);
  }

  /** Records `notify` alerts of `site` against its open notice, opening one when an alert fires. */
  recordNotice(
    site: string,
    alerts: readonly WebhookAlert[],
    options: RecordOptions,
  ): Promise<RecordResult | null> {
    return recordAlerts(this.redis, this.key, { mode: 'notify', site }, alerts, {
      ...options,
      onlyIfKnown: false,
    });
  }

  /**
   * The run that last received alerts for `site`, and whether any firing alert of `alerts` (one notification's) is
   * new to it (not recorded there, or firing again since). Alerts that are not new belong to an incident Baton
   * already handled.
   */
  lastRun(
    site: string,
    alerts: readonly WebhookAlert[],
    group: Pick<RecordOptions, 'groupKey' | 'truncatedFiring'>,
  ): Promise<{ runId?: string; hasNew: boolean }> {
    return lastRunOf(this.redis, this.key, site, alerts, group);
  }

  async runState(runId: string): Promise<IncidentState | null> {
    const flat = await this.redis.hgetall(this.key.alertRun(runId));
    return Object.keys(flat).length ? parseState(runId, Object.entries(flat).flat()) : null;
  }

  async noticeState(site: string, id: string): Promise<IncidentState | null> {
    const flat = await this.redis.hgetall(this.key.alertNotice(site, id));
    return Object.keys(flat).length ? parseState(id, Object.entries(flat).flat()) : null;
  }

  /** Forgets the pending marker once Slack has been told about `version` (a newer change keeps it). */
  async clearRunPending(runId: string, version: number): Promise<void> {
    await CLEAR_PENDING.run(this.redis, { keys: { incident: this.key.alertRun(runId) }, args: { version } });
  }

  async clearNoticePending(site: string, id: string, version: number): Promise<void> {
    await CLEAR_PENDING.run(this.redis, {
      keys: { incident: this.key.alertNotice(site, id) },
      args: { version },
    });
  }

  /** Sets a once-only flag on a run's alert record; true for the one caller that set it (false if it was set). */
  async claim(runId: string, flag: string, value = '1'): Promise<boolean> {
    const set = await CLAIM_FLAG.run(this.redis, {
      keys: { incident: this.key.alertRun(runId) },
      args: { flag, value },
    });
    return set === 1;
  }

  /**
   * Counts one auto-approval witness probe of the serving cluster against run `runId`'s current quiet period, for
   * every worker's later passes to see (see `ProbeTally`). Returns the record as it is now, or null when the run
   * has no alert record.
   */
  async recordProbe(runId: string, probe: ProbeRecord): Promise<IncidentState | null> {
    const flat = (await RECORD_PROBE.run(this.redis, {
      keys: { incident: this.key.alertRun(runId) },
      args: {
        createdAt: probe.createdAt,
        at: Math.round(probe.at),
        ok: probe.ok ? '1' : '0',
        detail: probe.detail.slice(0, 300),
        maxGap: probe.maxGapMs,
      },
    })) as string[];
    return flat.length ? parseState(runId, flat) : null;
  }
}
