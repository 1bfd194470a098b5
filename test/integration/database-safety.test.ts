/**
 * The safety issue's database properties, made to happen on real PostgreSQL streaming replication through the real
 * engine (Kubernetes, DNS and health simulated): hostile writers that override the fence, prepared transactions
 * committed after it, role overrides, a source that answers but refuses Baton, catch-up in an emergency, a new primary
 * whose commits are blocked, and a diverged old primary that must not be failed back onto.
 */
import type { Client } from 'pg';
import { DatabaseError } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { Run } from '../../src/core/model.js';
import type { DatabasePort } from '../../src/core/ports.js';
import { rpoOf } from '../../src/core/rpo.js';
import { transitionRun } from '../../src/core/runs/transition-run.js';
import { query } from '../../lab/postgres/postgres-pair.js';
import { systemClock } from '../../src/core/clock.js';
import { measurePreflight } from '../../src/queue/check-jobs.js';
import { buildProposalMessage } from '../../src/slack/blocks/proposal-message.js';
import { ALICE, BOB, approvedRun, exampleTopology, proposedRun, tuning } from '../support/core-fixtures.js';
import type { RealDatabase } from '../support/real-database.js';
import { connect, ledgerIds, startRealDatabase } from '../support/real-database.js';

const SLOW = tuning({
  preflight: { timeoutMs: 20_000 },
  'fence-source': { timeoutMs: 20_000 },
  'catch-up': { timeoutMs: 20_000 },
  'scale-up-target': { timeoutMs: 20_000 },
  'promote-target-db': { timeoutMs: 30_000 },
  'switch-dns': { timeoutMs: 20_000 },
  verify: { timeoutMs: 20_000 },
  'scale-down-source': { timeoutMs: 20_000 },
});
const PLANNED = { kind: 'failover', mode: 'planned' } as const;

let rd: RealDatabase | undefined;
afterEach(async () => {
  await rd?.stop();
  rd = undefined;
});

async function start(): Promise<RealDatabase> {
  rd = await startRealDatabase();
  return rd;
}

const retried = (run: Run): Run => {
  const steps = { ...run.steps };
  for (const record of Object.values(steps)) {
    if (record.status === 'failed') steps[record.id] = { ...record, status: 'pending', error: undefined };
  }
  return {
    ...transitionRun(run, 'running', { at: Date.now(), actor: ALICE }),
    steps,
    segment: run.segment + 1,
  };
};

/** The adapter with a hostile act timed at one of its calls: the act is real SQL, the adapter runs unmodified. */
function withHostileAct(
  db: DatabasePort,
  method: keyof DatabasePort,
  cluster: string,
  act: () => Promise<void>,
): DatabasePort & { fired: number } {
  const hooked = Object.create(db) as DatabasePort & { fired: number };
  hooked.fired = 0;
  const original = db[method] as (...args: unknown[]) => Promise<unknown>;
  (hooked as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
    const result = await original.apply(db, args);
    if (args[1] === cluster && hooked.fired === 0) {
      hooked.fired += 1;
      await act();
    }
    return result;
  };
  return hooked;
}

/** One INSERT on east from a session that turns the fence off for itself, as a careless or hostile client would. */
async function writeAnyway(r: RealDatabase, id: number): Promise<void> {
  const client = await connect(r.roleUrl(r.east, 'app'));
  try {
    await client.query('SET default_transaction_read_only = off');
    await client.query('INSERT INTO ledger (id, writer) VALUES ($1, 0)', [id]);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function status(r: RealDatabase, cluster: 'east' | 'west') {
  return r.db.status(r.site, cluster);
}

describe('the fence holds against a hostile writer, or the loss is measured', () => {
  it('a write that overrides the fence before the guard is fenced again and replicated: nothing lost, and said', async () => {
    const r = await start();
    await query(r.roleUrl(r.east, 'app'), 'INSERT INTO ledger VALUES (1, 0)');
    // Right after the guard's own fence (while west replays its final position), a client writes anyway.
    const hooked = withHostileAct(r.db, 'waitForReplay', 'west', () => writeAnyway(r, 2));
    const first = await r.execute(approvedRun(r.site, { request: PLANNED, tuning: SLOW }), {
      ports: { ...r.ports, database: hooked },
    });
    // The catch-up step's wait fired the act first; the guard saw it as a write after fence-source's fence…
    expect(hooked.fired).toBe(1);
    // …and the guard's own re-fence ended it before its final position: west replays it, nothing is lost.
    expect(first.outcome).toBe('succeeded');
    expect(first.run.steps['promote-target-db']?.output).toMatchObject({ committedAfterFirstFence: 1 });
    expect(rpoOf(first.run)).toMatchObject({ kind: 'proved' });
    expect(await ledgerIds(r.west)).toEqual([1, 2]);
  });

  it('a write inside the guard itself (after its final position) is caught before promotion', async () => {
    const r = await start();
    let guardWaits = 0;
    // The second replay wait on west is the guard's: the write lands after its final position was taken.
    const db = Object.create(r.db) as DatabasePort;
    db.waitForReplay = async (...args) => {
      const result = await r.db.waitForReplay(...args);
      guardWaits += 1;
      if (guardWaits === 2) await writeAnyway(r, 7);
      return result;
    };
    const first = await r.execute(approvedRun(r.site, { request: PLANNED, tuning: SLOW }), {
      ports: { ...r.ports, database: db },
    });
    expect(first.outcome).toBe('paused');
    expect(first.run.steps['promote-target-db']).toMatchObject({
      status: 'failed',
      errorCode: 'fence-breached',
    });
    expect(first.run.steps['promote-target-db']?.error).toMatch(
      /^1 transaction committed on east after its fence: a session overrides read-only/,
    );
    expect(await status(r, 'west')).toMatchObject({ inRecovery: true });
    expect(r.world.ports).toBeDefined();

    // The client stops; Retry fences again, waits for west, and promotes with nothing lost.
    const second = await r.execute(retried(first.run));
    expect(second.outcome).toBe('succeeded');
    expect(rpoOf(second.run)).toMatchObject({ kind: 'proved' });
    expect(await ledgerIds(r.west)).toEqual([7]);
  });

  it('a write after the promotion was requested is not on west, and the run says so: LOST, counted, announced', async () => {
    const r = await start();
    await query(r.roleUrl(r.east, 'app'), 'INSERT INTO ledger VALUES (1, 0)');
    const hooked = withHostileAct(r.db, 'requestPromotion', 'west', () => writeAnyway(r, 99));
    const { outcome, run } = await r.execute(approvedRun(r.site, { request: PLANNED, tuning: SLOW }), {
      ports: { ...r.ports, database: hooked },
    });
    expect(outcome).toBe('succeeded'); // past the point of no return, the run finishes; the loss is reported
    const rpo = rpoOf(run);
    expect(rpo).toMatchObject({ kind: 'lost', transactions: 1 });
    expect(rpo?.kind === 'lost' && rpo.bytes).toBeGreaterThan(0);
    expect(run.timeline.find((e) => e.event === 'data-loss-detected')?.detail).toMatch(
      /^production: data loss LOST \d+ B — 1 transaction committed on east after its fence/,
    );
    expect(await ledgerIds(r.east)).toContain(99);
    expect(await ledgerIds(r.west)).not.toContain(99);
  });

  it('a prepared transaction survives the fence; committed after the promotion, it is counted as lost', async () => {
    const r = await start();
    const app: Client = await connect(r.roleUrl(r.east, 'app'));
    await app.query('BEGIN');
    await app.query('INSERT INTO ledger VALUES (5, 0)');
    await app.query("PREPARE TRANSACTION 'hostile-1'");
    await app.end();
    // COMMIT PREPARED runs even in a read-only session: nothing in the fence can stop it.
    const commit = () => query(r.east.url, "COMMIT PREPARED 'hostile-1'").then(() => undefined);
    const hooked = withHostileAct(r.db, 'requestPromotion', 'west', commit);
    const { outcome, run } = await r.execute(approvedRun(r.site, { request: PLANNED, tuning: SLOW }), {
      ports: { ...r.ports, database: hooked },
    });
    expect(outcome).toBe('succeeded');
    expect(run.steps['fence-source']?.output).toMatchObject({
      fence: { prepared: [{ gid: 'hostile-1', owner: 'app', database: 'postgres' }] },
    });
    expect(rpoOf(run)).toMatchObject({ kind: 'lost', transactions: 1 });
    expect(await ledgerIds(r.east)).toEqual([5]);
    expect(await ledgerIds(r.west)).toEqual([]);
  });

  it('refuses to count a fence that a role setting overrides, and names the statement that fixes it', async () => {
    const r = await start();
    await query(r.east.url, 'ALTER ROLE app SET default_transaction_read_only = off');
    const first = await r.execute(approvedRun(r.site, { request: PLANNED, tuning: SLOW }));
    expect(first.outcome).toBe('paused');
    expect(first.run.steps['fence-source']).toMatchObject({
      status: 'failed',
      errorCode: 'fence-overridden',
    });
    const error = first.run.steps['fence-source']?.error ?? '';
    expect(error).toContain(
      'BEGIN READ WRITE; ALTER ROLE "app" RESET default_transaction_read_only; COMMIT;',
    );
    expect(await status(r, 'west')).toMatchObject({ inRecovery: true });

    // The statement Baton named, exactly as an operator would paste it.
    const fix = /run (BEGIN READ WRITE; .*; COMMIT;)/.exec(error)?.[1] ?? '';
    const admin = await connect(r.east.url);
    await admin.query(fix);
    await admin.end();
    const second = await r.execute(retried(first.run));
    expect(second.outcome).toBe('succeeded');
    expect(rpoOf(second.run)).toMatchObject({ kind: 'proved' });
  });

  it('a steady crowd of hostile writers: paused before promotion, or every missing row counted as lost', async () => {
    const r = await start();
    const committed = new Set<number>();
    let stop = false;
    let next = 1;
    const writer = async () => {
      while (!stop) {
        let client: Client | null = null;
        try {
          client = await connect(r.roleUrl(r.east, 'app'));
          await client.query('SET default_transaction_read_only = off');
          while (!stop) {
            const id = next++;
            await client.query('INSERT INTO ledger (id, writer) VALUES ($1, 1)', [id]);
            committed.add(id);
          }
        } catch (error) {
          if (!(error instanceof DatabaseError) && !(error instanceof Error)) throw error;
        } finally {
          await client?.end().catch(() => undefined);
        }
      }
    };
    const writers = [writer(), writer(), writer()];
    const { outcome, run } = await r.execute(approvedRun(r.site, { request: PLANNED, tuning: SLOW }));
    stop = true;
    await Promise.all(writers);
    const onWest = new Set(await ledgerIds(r.west));
    const missing = [...committed].filter((id) => !onWest.has(id));
    if (outcome === 'paused') {
      expect(run.steps['promote-target-db']?.errorCode).toBe('fence-breached');
      expect(await status(r, 'west')).toMatchObject({ inRecovery: true });
    } else {
      expect(outcome).toBe('succeeded');
      const rpo = rpoOf(run);
      if (missing.length > 0) {
        expect(rpo?.kind).toBe('lost');
        expect(rpo?.kind === 'lost' && (rpo.transactions ?? 0)).toBeGreaterThanOrEqual(missing.length);
      }
    }
    expect(committed.size).toBeGreaterThan(0);
  });
});

describe('unreachable means unreachable', () => {
  const refusals: [string, (r: RealDatabase) => Promise<() => Promise<void>>, RegExp][] = [
    [
      'too many clients',
      async (r) => {
        // Fill east's connection slots (its superuser reserve aside) with idle application sessions.
        const [limits] = await query<{ max: number; reserved: number; used: number }>(
          r.east.url,
          `SELECT current_setting('max_connections')::int AS max,
                  current_setting('superuser_reserved_connections')::int AS reserved,
                  (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS used`,
        );
        const clients: Client[] = [];
        for (let i = 0; i < (limits?.max ?? 0) - (limits?.reserved ?? 0); i += 1) {
          try {
            clients.push(await connect(r.roleUrl(r.east, 'app')));
          } catch {
            break; // full
          }
        }
        return async () => {
          await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
        };
      },
      /too many clients|remaining connection slots/,
    ],
    [
      'a rotated password',
      async (r) => {
        const good = r.env.EAST_DATABASE_URL as string;
        r.env.EAST_DATABASE_URL = good.replace(/:[^:@]+@/, ':rotated-elsewhere@');
        return async () => {
          r.env.EAST_DATABASE_URL = good;
        };
      },
      /password authentication failed/,
    ],
    [
      'a pg_hba reject',
      async (r) => {
        const { readFile, writeFile } = await import('node:fs/promises');
        const { join } = await import('node:path');
        const file = join(r.east.dataDir, 'pg_hba.conf');
        const before = await readFile(file, 'utf8');
        await writeFile(file, `host all baton 127.0.0.1/32 reject\n${before}`);
        await query(r.east.url, 'SELECT pg_reload_conf()');
        return async () => {
          await writeFile(file, before);
          await query(r.east.url, 'SELECT pg_reload_conf()');
        };
      },
      /pg_hba\.conf rejects connection/,
    ],
  ];

  for (const [name, refuse, cause] of refusals) {
    it(`a source that answers with ${name} is up and unfenced: the emergency run pauses before promotion`, async () => {
      const r = await start();
      const restore = await refuse(r);
      try {
        const { outcome, run } = await r.execute(approvedRun(r.site, { tuning: SLOW }));
        expect(outcome).toBe('paused');
        const promote = run.steps['promote-target-db'];
        expect(promote).toMatchObject({ status: 'failed', errorCode: 'source-refuses-baton' });
        expect(promote?.error).toMatch(cause);
        expect(promote?.error).toContain('Fence east by hand');
        expect(run.steps['fence-source']?.output?.unfenced).toBeDefined();
      } finally {
        await restore();
      }
      expect(await status(r, 'west')).toMatchObject({ inRecovery: true });
      expect(await status(r, 'east')).toMatchObject({ inRecovery: false, readOnly: false });
    });
  }

  it('accepting the split-brain risk promotes anyway, opens a fence debt and says so', async () => {
    const r = await start();
    const good = r.env.EAST_DATABASE_URL as string;
    r.env.EAST_DATABASE_URL = good.replace(/:[^:@]+@/, ':rotated-elsewhere@');
    const first = await r.execute(approvedRun(r.site, { tuning: SLOW }));
    expect(first.run.steps['promote-target-db']?.errorCode).toBe('source-refuses-baton');
    const accepted: Run = {
      ...retried(first.run),
      acceptedRisks: [
        {
          risk: 'split-brain',
          by: [ALICE, BOB],
          at: Date.now(),
          segment: first.run.segment + 1,
          detail: 'test',
        },
      ],
    };
    const second = await r.execute(accepted);
    expect(second.outcome).toBe('succeeded');
    expect(second.persistence.fenceDebts).toMatchObject([{ cluster: 'east', database: true }]);
    expect(second.run.timeline.map((e) => e.event)).toEqual(
      expect.arrayContaining(['split-brain-risk-taken', 'fence-debt-opened']),
    );
    expect(rpoOf(second.run)).toMatchObject({ kind: 'unknown' });
    expect(await status(r, 'west')).toMatchObject({ inRecovery: false, readOnly: false });
  });

  it('a killed source is unreachable: promotion goes ahead, the RPO is unknown with what west had received', async () => {
    const r = await start();
    await query(r.roleUrl(r.east, 'app'), 'INSERT INTO ledger VALUES (1, 0)');
    await r.settle();
    await r.east.kill();
    const { outcome, run, persistence } = await r.execute(approvedRun(r.site, { tuning: SLOW }));
    expect(outcome).toBe('succeeded');
    const rpo = rpoOf(run);
    expect(rpo).toMatchObject({ kind: 'unknown' });
    expect(rpo?.detail).toMatch(
      /^east could not be read \(.*connection refused.*\); west had received up to \d+\/[0-9A-F]+$/,
    );
    expect(persistence.fenceDebts).toMatchObject([{ cluster: 'east', database: true }]);
    expect(await ledgerIds(r.west)).toEqual([1]);
  });
});

describe('a proposal never says "0 B" for a lag nobody measured', () => {
  it('with the source down, the proposal says the lag is unknown and what the standby had received', async () => {
    const r = await start();
    await query(r.roleUrl(r.east, 'app'), 'INSERT INTO ledger VALUES (1, 0)');
    await r.settle();
    await r.east.kill();
    const run = proposedRun(r.site);
    const preflight = await measurePreflight({
      run,
      topology: { ...exampleTopology(), sites: [r.site] },
      ports: r.ports,
      clock: systemClock,
      timeoutMs: 20_000,
    });
    expect(preflight.lagBytes).toBeNull();
    expect(preflight.lagUnknown).toMatch(/^east unreachable; west had received up to \d+\/[0-9A-F]+$/);
    const message = buildProposalMessage({
      run: { ...run, preflight },
      preflight: preflight.checks,
      lagBytes: preflight.lagBytes,
      ...(preflight.lagUnknown && { lagUnknown: preflight.lagUnknown }),
      approvalsRequired: 1,
      breakGlassRequired: false,
      now: Date.now(),
    });
    const text = JSON.stringify(message.blocks);
    expect(text).toMatch(/Expected data loss:\* \*unknown\* — east unreachable; west had received up to/);
    expect(text).not.toMatch(/lag 0 B|0 B behind/);
  });
});

describe('emergency runs wait for a reachable source', () => {
  it('wait for west to replay the fenced primary, shown live; a paused replay pauses the run instead of losing writes', async () => {
    const r = await start();
    await r.pair.pauseReplay(r.west);
    await query(r.roleUrl(r.east, 'app'), 'INSERT INTO ledger SELECT g, 2 FROM generate_series(1, 500) g');
    const first = await r.execute(
      approvedRun(r.site, { tuning: tuning({ ...SLOW, 'catch-up': { timeoutMs: 3_000, retries: 0 } }) }),
    );
    expect(first.outcome).toBe('paused');
    const catchUp = first.run.steps['catch-up'];
    expect(catchUp).toMatchObject({ status: 'failed', errorCode: 'step-timeout' });
    expect(catchUp?.error).toMatch(/last seen: west's standby replayed up to .* replay is paused on it/);
    expect(catchUp?.progress?.waiting).toMatch(/bytes behind/);
    expect(await status(r, 'west')).toMatchObject({ inRecovery: true });

    await r.pair.resumeReplay(r.west);
    const second = await r.execute(retried(first.run));
    expect(second.outcome).toBe('succeeded');
    expect(rpoOf(second.run)).toMatchObject({ kind: 'proved' });
    expect((await ledgerIds(r.west)).length).toBe(500);
  });
});

describe('a promotion is done only when the new primary takes writes', () => {
  it('commits blocked by synchronous_standby_names pause the run at promotion, and a Retry does not move DNS', async () => {
    const r = await start();
    // West, once promoted, would wait for a synchronous standby that does not exist.
    await query(r.west.url, "ALTER SYSTEM SET synchronous_standby_names = 'nobody'");
    await query(r.west.url, 'SELECT pg_reload_conf()');
    const first = await r.execute(approvedRun(r.site, { request: PLANNED, tuning: SLOW }));
    expect(first.outcome).toBe('paused');
    expect(first.run.steps['promote-target-db']).toMatchObject({ errorCode: 'database-commits-blocked' });
    const again = await r.execute(retried(first.run));
    expect(again.outcome).toBe('paused');
    expect(again.run.steps['promote-target-db']).toMatchObject({ errorCode: 'database-commits-blocked' });
    expect((await r.world.state()).dns.serving).toBe('east');

    await query(r.west.url, 'ALTER SYSTEM RESET synchronous_standby_names');
    await query(r.west.url, 'SELECT pg_reload_conf()');
    const done = await r.execute(retried(again.run));
    expect(done.outcome).toBe('succeeded');
    expect((await r.world.state()).dns.serving).toBe('west');
  });
});

describe('failback only onto a standby that follows the current primary', () => {
  it('refuses an old primary that came back as a standby with writes west never had, and says how to repair it', async () => {
    const r = await start();
    const failover = await r.execute(approvedRun(r.site, { request: PLANNED, tuning: SLOW }));
    expect(failover.outcome).toBe('succeeded');
    // Someone writes on the fenced old primary anyway, then it is restarted as a standby of west without a rewind.
    await writeAnyway(r, 1234);
    await r.pair.restartAsStandbyOf(r.east, r.west);
    await r.world.change((s) => {
      s.dns.serving = 'west';
      s.dns.resolved = 'west';
    });

    const failback = approvedRun(r.site, {
      request: { kind: 'failback' },
      observed: { serving: 'west' },
      tuning: SLOW,
    });
    const { outcome, run } = await r.execute(failback);
    expect(outcome).toBe('paused');
    const preflight = run.steps.preflight;
    expect(preflight?.errorCode).toBe('preflight-failed');
    expect(preflight?.error).toMatch(/east's database (has diverged|is not streaming from west)/);
    expect(preflight?.error).toContain('pg_rewind');
    expect(await status(r, 'west')).toMatchObject({ inRecovery: false });

    // Rebuilt properly, it follows west and the failback goes through.
    await r.pair.rebuildAsStandby(r.east, r.west);
    const rebuilt = await r.execute(
      approvedRun(r.site, { request: { kind: 'failback' }, observed: { serving: 'west' }, tuning: SLOW }),
    );
    expect(rebuilt.outcome).toBe('succeeded');
    expect(rpoOf(rebuilt.run)).toMatchObject({ kind: 'proved' });
  });
});
