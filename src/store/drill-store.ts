/**
 * Game days in Redis (`/failover drill`): one hash per drill (`data` JSON and `version`), the sorted set of open
 * drills (what `drill list` and the scheduler read), and an audit entry with every change, all in one script
 * (lua/save-drill.lua). Saves are compare-and-set on the version, so several workers ticking the same drill cannot
 * both start its occurrence: the loser re-reads and finds it already moved.
 */
import type { Redis } from 'ioredis';
import type { Drill } from '../core/drills/drill.js';
import { DRILL_OPEN_STATES } from '../core/drills/drill.js';
import type { Actor } from '../core/model.js';
import { BatonError } from '../errors.js';
import { StoreKeys } from './keys.js';
import { loadScript } from './script.js';

const SAVE_DRILL = loadScript('save-drill', {
  keys: ['drill', 'drills', 'audit'],
  args: ['version', 'data', 'id', 'open', 'createdAt', 'auditFields'],
});

/** What a drill change records in the audit stream: `drill-<action>` by `actor`, with a line for people. */
export interface DrillAudit {
  action: string;
  actor: Actor;
  detail: string;
}

export class DrillStore {
  private readonly key: StoreKeys;

  constructor(
    private readonly redis: Redis,
    prefix?: string,
  ) {
    this.key = new StoreKeys(prefix);
  }

  /** Records an `abortOn` alert firing (until it resolves, or `until` at the latest) or resolved. */
  async noteAbortAlert(fingerprint: string, firing: { name: string; until: number } | null): Promise<void> {
    if (firing) await this.redis.hset(this.key.drillAlerts(), fingerprint, JSON.stringify(firing));
    else await this.redis.hdel(this.key.drillAlerts(), fingerprint);
  }

  /** The name of an `abortOn` alert firing at `now`, if any. */
  async firingAbortAlert(now: number): Promise<string | null> {
    const all = await this.redis.hgetall(this.key.drillAlerts());
    for (const raw of Object.values(all)) {
      const alert = JSON.parse(raw) as { name: string; until: number };
      if (alert.until > now) return alert.name;
    }
    return null;
  }

  async nextId(): Promise<string> {
    return `d${await this.redis.incr(this.key.drillSeq())}`;
  }

  async get(id: string): Promise<Drill | null> {
    const raw = await this.redis.hget(this.key.drill(id), 'data');
    return raw ? (JSON.parse(raw) as Drill) : null;
  }

  async require(id: string): Promise<Drill> {
    const drill = await this.get(id);
    if (!drill) throw new BatonError('drill-not-found', `No drill ${id} — see /failover drill list`);
    return drill;
  }

  /** The open drills (proposed, scheduled, active), oldest first. */
  async open(): Promise<Drill[]> {
    const ids = await this.redis.zrange(this.key.drills(), 0, -1);
    const drills = await Promise.all(ids.map((id) => this.get(id)));
    return drills.filter((d): d is Drill => d !== null);
  }

  /** Creates `drill` (version 1). */
  async create(drill: Drill, audit: DrillAudit): Promise<Drill> {
    const saved = await this.write({ ...drill, version: 0 }, audit);
    if (!saved) throw new BatonError('run-conflict', `drill ${drill.id} exists already`, { retriable: true });
    return saved;
  }

  /** Saves `drill` over its version; null when someone else moved it first (re-read and decide again). */
  async save(drill: Drill, audit: DrillAudit): Promise<Drill | null> {
    return this.write(drill, audit);
  }

  private async write(drill: Drill, audit: DrillAudit): Promise<Drill | null> {
    const next: Drill = { ...drill, version: drill.version + 1 };
    const at = drill.updatedAt;
    const fields = [
      'at',
      String(at),
      'action',
      `drill-${audit.action}`,
      'actor',
      JSON.stringify(audit.actor),
      'site',
      drill.site,
      'runId',
      drill.id,
      'state',
      drill.state,
      'detail',
      audit.detail,
      'event',
      JSON.stringify({ type: `drill-${audit.action}`, drill: drill.id }),
    ];
    const result = (await SAVE_DRILL.run(this.redis, {
      keys: { drill: this.key.drill(drill.id), drills: this.key.drills(), audit: this.key.audit() },
      args: {
        version: drill.version,
        data: JSON.stringify(next),
        id: drill.id,
        open: DRILL_OPEN_STATES.has(drill.state) ? '1' : '0',
        createdAt: drill.createdAt,
        auditFields: JSON.stringify(fields),
      },
    })) as number;
    return result === 1 ? next : null;
  }
}
