/**
 * Open fence debts, one per site: the old side a run could not fence, kept until the reconciler has fenced it (or an
 * approver clears it by hand). A debt is opened by the worker that holds the run's lock, in one script with its
 * audit entry; the reconciler's bookkeeping (attempts, backoff, what it announced) lives in the same record.
 */
import type { Redis } from 'ioredis';
import type { FenceDebt } from '../core/model.js';
import { SYSTEM_ACTOR } from '../core/model.js';
import type { AuditEvent } from '../core/runs/run-event.js';
import { AUDIT_MAXLEN, auditFields } from './audit-stream.js';
import { StoreKeys } from './keys.js';
import type { Lease } from './run-store.js';
import { loadScript } from './script.js';

export interface OpenFenceDebt extends FenceDebt {
  attempts: number;
  /** When the reconciler tries next (backoff while the old side does not answer). */
  nextAttemptAt: number;
  /** When Baton told the channel the old side is back and writable. */
  announcedWritableAt?: number;
  /** When Baton told the channel the old side answers but refuses it. */
  announcedRefusedAt?: number;
  lastError?: string;
}

/** Opens or widens the site's debt, only while the lease holds (see open-fence-debt.lua). */
const OPEN_DEBT = loadScript('open-fence-debt', {
  keys: ['site', 'debts', 'audit', 'lock?'],
  args: ['siteName', 'debt', 'token', 'auditFields'],
});

export class FenceDebtStore {
  private readonly key: StoreKeys;

  constructor(
    private readonly redis: Redis,
    /** Key prefix, e.g. `{baton}:` (see keys.ts). */
    prefix?: string,
  ) {
    this.key = new StoreKeys(prefix);
  }

  /** Opens (or widens) `debt`; with a lease only while the worker still holds the run's job lock. */
  async open(debt: FenceDebt, lease?: Lease): Promise<boolean> {
    const record: OpenFenceDebt = { ...debt, attempts: 0, nextAttemptAt: debt.since };
    const result = (await OPEN_DEBT.run(this.redis, {
      keys: {
        site: this.key.site(debt.site),
        debts: this.key.fenceDebts(),
        audit: this.key.audit(),
        ...(lease?.lockKey ? { lock: lease.lockKey } : {}),
      },
      args: {
        siteName: debt.site,
        debt: JSON.stringify(record),
        token: lease?.token ?? '',
        auditFields: JSON.stringify(
          auditFields(
            { site: debt.site, runId: debt.runId },
            { event: { type: 'fence-debt-opened', text: describeDebt(debt) }, actor: SYSTEM_ACTOR },
            debt.since,
          ),
        ),
      },
    })) as number;
    return result === 1;
  }

  async get(site: string): Promise<OpenFenceDebt | null> {
    const raw = await this.redis.hget(this.key.site(site), 'fenceDebt');
    return raw ? (JSON.parse(raw) as OpenFenceDebt) : null;
  }

  async list(): Promise<OpenFenceDebt[]> {
    const sites = await this.redis.smembers(this.key.fenceDebts());
    const debts = await Promise.all(sites.map((site) => this.get(site)));
    return debts.filter((d): d is OpenFenceDebt => d !== null).sort((a, b) => a.site.localeCompare(b.site));
  }

  /**
   * Read-modify-write of the site's debt (optimistic, WATCH). `change` returns the new record, or null when the debt
   * is paid (the record goes, with `audit`'s entry, written only then). Returns the result, or null when there was no
   * debt.
   */
  async update(
    site: string,
    change: (debt: OpenFenceDebt) => OpenFenceDebt | null,
    audit?: { record: AuditEvent; at: number },
  ): Promise<{ before: OpenFenceDebt; after: OpenFenceDebt | null } | null> {
    const key = this.key.site(site);
    for (let attempt = 0; attempt < 20; attempt += 1) {
      await this.redis.watch(key);
      const before = await this.get(site);
      if (!before) {
        await this.redis.unwatch();
        return null;
      }
      const after = change(before);
      const multi = this.redis.multi();
      if (after) multi.hset(key, 'fenceDebt', JSON.stringify(after));
      else multi.hdel(key, 'fenceDebt').srem(this.key.fenceDebts(), site);
      // The audit entry is the payment's: written only when the record goes.
      if (audit && !after) {
        multi.xadd(
          this.key.audit(),
          'MAXLEN',
          '~',
          AUDIT_MAXLEN,
          '*',
          ...auditFields({ site: before.site, runId: before.runId }, audit.record, audit.at),
        );
      }
      if (await multi.exec()) return { before, after };
    }
    throw new Error(`fence debt of ${site} is changing too fast`);
  }
}

export function describeDebt(
  debt: Pick<FenceDebt, 'cluster' | 'database' | 'workloads' | 'reason' | 'runId'>,
): string {
  const parts = [debt.database && 'database read-only', debt.workloads && 'workloads at standbyReplicas']
    .filter(Boolean)
    .join(', ');
  return `${debt.cluster} owes: ${parts} (run ${debt.runId}: ${debt.reason})`;
}
