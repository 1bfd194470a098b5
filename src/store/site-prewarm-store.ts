/**
 * Each evacuation site's pre-warm record in its own key (`{baton}:evacuation-prewarm:<id>:<site>`, a hash of `data`
 * and `version`), saved compare-and-set with its audit entry in one script (lua/save-site-prewarm.lua). Never on the
 * evacuation's own record: fifty sites writing their progress there at once would lose their optimistic races.
 */
import type { Redis } from 'ioredis';
import type { SitePrewarm } from '../core/prewarm/evacuation-site-prewarm.js';
import type { AuditEvent } from '../core/runs/run-event.js';
import { BatonError } from '../errors.js';
import { auditFields } from './audit-stream.js';
import { StoreKeys } from './keys.js';
import { loadScript } from './script.js';

const SAVE = loadScript('save-site-prewarm', {
  keys: ['record', 'audit'],
  args: ['version', 'data', 'auditFields'],
});

/** Attempts of a read-modify-write before giving up (each loses only to another save of the same site). */
const ATTEMPTS = 20;

export class SitePrewarmStore {
  private readonly key: StoreKeys;

  constructor(
    private readonly redis: Redis,
    prefix?: string,
  ) {
    this.key = new StoreKeys(prefix);
  }

  async get(evacuationId: string, site: string): Promise<SitePrewarm | undefined> {
    const raw = await this.redis.hget(this.key.evacuationPrewarm(evacuationId, site), 'data');
    return raw ? (JSON.parse(raw) as SitePrewarm) : undefined;
  }

  /** The records of `sites`, by site, in one round trip (the table of a 50-site evacuation reads them all). */
  async getAll(evacuationId: string, sites: readonly string[]): Promise<Map<string, SitePrewarm>> {
    const pipeline = this.redis.pipeline();
    for (const site of sites) pipeline.hget(this.key.evacuationPrewarm(evacuationId, site), 'data');
    const replies = (await pipeline.exec()) ?? [];
    const records = new Map<string, SitePrewarm>();
    sites.forEach((site, i) => {
      const [error, raw] = replies[i] ?? [null, null];
      if (error) throw error;
      if (typeof raw === 'string') records.set(site, JSON.parse(raw) as SitePrewarm);
    });
    return records;
  }

  /**
   * Read-modify-write with optimistic retries: `change` gets the current record (undefined before the first save)
   * and returns the next, or throws to refuse. `audit`, when given, is appended with the save (subject: the site,
   * and the evacuation as its run id).
   */
  async mutate(
    evacuationId: string,
    site: string,
    change: (current: SitePrewarm | undefined) => Omit<SitePrewarm, 'version'>,
    audit?: AuditEvent & { at: number },
  ): Promise<SitePrewarm> {
    const key = this.key.evacuationPrewarm(evacuationId, site);
    for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
      const current = await this.get(evacuationId, site);
      const version = current?.version ?? 0;
      const next: SitePrewarm = { ...change(current), version: version + 1 };
      const fields = audit ? auditFields({ site, runId: evacuationId }, audit, audit.at) : null;
      const saved = (await SAVE.run(this.redis, {
        keys: { record: key, audit: this.key.audit() },
        args: { version, data: JSON.stringify(next), auditFields: fields ? JSON.stringify(fields) : '' },
      })) as number;
      if (saved === 1) return next;
    }
    throw new BatonError(
      'evacuation-conflict',
      `pre-warm of ${site} in ${evacuationId} is changing too fast`,
      {
        retriable: true,
      },
    );
  }

  /**
   * Hands the site's record to its run (the approval): marks it handed over, so pre-warm changes nothing more, and
   * returns what it holds then. Idempotent: a record already handed over is returned as it is.
   */
  async handOver(evacuationId: string, site: string, now: number): Promise<SitePrewarm> {
    const current = await this.get(evacuationId, site);
    if (current?.handedOverAt !== undefined) return current;
    return this.mutate(evacuationId, site, (record) =>
      record?.handedOverAt !== undefined ? record : { ...record, handedOverAt: now },
    );
  }
}
