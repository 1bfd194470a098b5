/**
 * Baton's own state in Redis: runs (JSON with a version for optimistic concurrency), per-site state (serving
 * cluster, open run), run history, and the audit stream. Every multi-key change is one Lua script, so a crash
 * between two writes cannot leave them disagreeing.
 */
import type { Redis } from 'ioredis';
import { LeaseLostError } from '../core/runs/execute-run.js';
import type { AuditEvent } from '../core/runs/run-event.js';
import type { Run, RunKind, RunState } from '../core/model.js';
import { TERMINAL_STATES } from '../core/model.js';
import { buildRunReport, isReportable } from '../core/runs/run-report.js';
import { BatonError } from '../errors.js';
import type { AuditRecord } from './audit-stream.js';
import { AUDIT_MAXLEN, auditFields, parseAuditEntry } from './audit-stream.js';
import { FenceDebtStore } from './fence-debts.js';
import { StoreKeys } from './keys.js';
import { loadScript } from './script.js';

const TERMINAL_LIST = [...TERMINAL_STATES].join(',');

const CREATE_RUN = loadScript('create-run', {
  keys: ['site', 'run', 'siteRuns', 'runs', 'audit', 'openRun?'],
  args: ['runId', 'data', 'state', 'createdAt', 'terminalStates', 'auditFields', 'openRun'],
});

const SAVE_RUN = loadScript('save-run', {
  keys: ['run', 'site', 'audit', 'report', 'lock?'],
  args: [
    'version',
    'data',
    'token',
    'state',
    'terminal',
    'runId',
    'serving',
    'servingSince',
    'servingKind',
    'auditFields',
    'reportData',
  ],
});

export interface SiteRecord {
  serving?: string;
  servingSince?: number;
  servingRun?: string;
  servingKind?: RunKind;
  openRun?: string;
}

/** Creating a run gives up after this many changes of its site's open-run marker under it. */
const CREATE_ATTEMPTS = 20;

export type { AuditRecord } from './audit-stream.js';

/** A worker's claim on a run: the BullMQ lock key of its job and the token that must still be in it. */
export interface Lease {
  lockKey: string;
  token: string;
}

export class RunStore {
  /** The sites' fence debts, beside their runs. */
  readonly debts: FenceDebtStore;

  private readonly key: StoreKeys;

  constructor(
    private readonly redis: Redis,
    /** Key prefix, e.g. `{baton}:` (see keys.ts); tests use one per test. */
    prefix?: string,
  ) {
    this.key = new StoreKeys(prefix);
    this.debts = new FenceDebtStore(redis, prefix);
  }

  async nextRunId(): Promise<string> {
    return `r${await this.redis.incr(this.key.seq())}`;
  }

  /** Creates `run` unless its site already has an open run; then returns that one instead. */
  async create(run: Run, audit: AuditEvent): Promise<{ created: boolean; run: Run }> {
    for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt += 1) {
      // The script checks the marker again; read here only to name the open run's key (see create-run.lua).
      const open = (await this.redis.hget(this.key.site(run.site), 'openRun')) ?? '';
      const [created, id] = (await CREATE_RUN.run(this.redis, {
        keys: {
          site: this.key.site(run.site),
          run: this.key.run(run.id),
          siteRuns: this.key.siteRuns(run.site),
          runs: this.key.runs(),
          audit: this.key.audit(),
          ...(open ? { openRun: this.key.run(open) } : {}),
        },
        args: {
          runId: run.id,
          data: JSON.stringify({ ...run, version: 1 }),
          state: run.state,
          createdAt: run.createdAt,
          terminalStates: TERMINAL_LIST,
          auditFields: JSON.stringify(auditFields(subject(run), audit, run.createdAt)),
          openRun: open,
        },
      })) as [number, string];
      if (created === -1) continue;
      const stored = await this.get(id);
      if (!stored) throw new BatonError('run-missing', `run ${id} vanished while being created`);
      return { created: created === 1, run: stored };
    }
    throw new BatonError('run-conflict', `site ${run.site}'s open run is changing too fast; try again`, {
      retriable: true,
    });
  }

  async get(id: string): Promise<Run | null> {
    const raw = await this.redis.hget(this.key.run(id), 'data');
    return raw ? (JSON.parse(raw) as Run) : null;
  }

  async require(id: string): Promise<Run> {
    const run = await this.get(id);
    if (!run) throw new BatonError('run-not-found', `No run ${id} — see /failover history`);
    return run;
  }

  /**
   * Saves `run` over version `run.version`. With a lease, only while the worker still holds the job lock.
   * Returns the saved run (version + 1).
   */
  async save(run: Run, audit: AuditEvent, lease?: Lease): Promise<Run> {
    const at = run.updatedAt;
    const next: Run = { ...run, version: run.version + 1 };
    // The save that finishes an approved run also writes its report, in the same script (see report-store.ts).
    const report = isReportable(next) ? JSON.stringify(buildRunReport(next)) : '';
    const result = (await SAVE_RUN.run(this.redis, {
      keys: {
        run: this.key.run(run.id),
        site: this.key.site(run.site),
        audit: this.key.audit(),
        report: this.key.report(run.id),
        ...(lease?.lockKey ? { lock: lease.lockKey } : {}),
      },
      args: {
        version: run.version,
        data: JSON.stringify(next),
        token: lease?.token ?? '',
        state: run.state,
        terminal: TERMINAL_STATES.has(run.state) ? '1' : '0',
        runId: run.id,
        serving: run.state === 'succeeded' ? run.to : '',
        servingSince: at,
        servingKind: run.kind,
        auditFields: JSON.stringify(auditFields(subject(run), audit, at)),
        reportData: report,
      },
    })) as number;
    if (result === -2) throw new LeaseLostError(run.id);
    if (result === -3) throw new BatonError('run-not-found', `run ${run.id} does not exist`);
    if (result === -1) {
      throw new BatonError('run-conflict', `run ${run.id} was changed by someone else; try again`, {
        retriable: true,
      });
    }
    return next;
  }

  /** Read-modify-write with optimistic retries, for commands (approve, retry, abort…). */
  async mutate(id: string, change: (run: Run) => Run, audit: (run: Run) => AuditEvent): Promise<Run> {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const current = await this.require(id);
      const next = change(current);
      try {
        return await this.save(next, audit(next));
      } catch (error) {
        if (error instanceof BatonError && error.code === 'run-conflict') continue;
        throw error;
      }
    }
    throw new BatonError('run-conflict', `run ${id} is changing too fast; try again`, { retriable: true });
  }

  /**
   * The site's record: the cluster serving it per Baton since when, and the succeeded run that put it there (absent
   * on records written before Baton kept it), and its open run.
   */
  async site(site: string): Promise<SiteRecord> {
    const raw = await this.redis.hgetall(this.key.site(site));
    return {
      ...(raw.serving && { serving: raw.serving }),
      ...(raw.servingSince && { servingSince: Number(raw.servingSince) }),
      ...(raw.servingRun && { servingRun: raw.servingRun }),
      ...((raw.servingKind === 'failover' || raw.servingKind === 'failback') && {
        servingKind: raw.servingKind,
      }),
      ...(raw.openRun && { openRun: raw.openRun }),
    };
  }

  /** The site's open run, if its marker points at a run that is not finished. */
  async openRun(site: string): Promise<Run | null> {
    const { openRun } = await this.site(site);
    if (!openRun) return null;
    const run = await this.get(openRun);
    return run && !TERMINAL_STATES.has(run.state) ? run : null;
  }

  async history(site: string, limit = 10): Promise<Run[]> {
    const ids = await this.redis.zrevrange(this.key.siteRuns(site), 0, limit - 1);
    const runs = await Promise.all(ids.map((id) => this.get(id)));
    return runs.filter((r): r is Run => r !== null);
  }

  /** Runs in the given states (for the reconciler); scans the newest `limit` runs. */
  async runsInState(states: readonly RunState[], limit = 500): Promise<Run[]> {
    const ids = await this.redis.zrevrange(this.key.runs(), 0, limit - 1);
    const runs = await Promise.all(ids.map((id) => this.get(id)));
    return runs.filter((r): r is Run => r !== null && states.includes(r.state));
  }

  /** An audit entry that changes no run: a refused click, an unauthorized request, an alert that was ignored. */
  async recordAudit(run: Pick<Run, 'id' | 'site' | 'state'>, audit: AuditEvent, at: number): Promise<void> {
    await this.redis.xadd(
      this.key.audit(),
      'MAXLEN',
      '~',
      AUDIT_MAXLEN,
      '*',
      ...auditFields(subject(run), audit, at),
    );
  }

  async audit(count = 1000): Promise<AuditRecord[]> {
    const entries = await this.redis.xrange(this.key.audit(), '-', '+', 'COUNT', count);
    return entries.map(parseAuditEntry);
  }
}

const subject = (run: Pick<Run, 'id' | 'site' | 'state'>) => ({
  site: run.site,
  runId: run.id,
  state: run.state,
});
