/**
 * The PostgreSQL adapter against a real primary and hot standby (lab/postgres/postgres-pair.ts), connected as a
 * role that has only the documented minimal grants. The tests run in order and share the pair: switchover,
 * rebuild, failback, rebuild, then an emergency.
 */
import { readFile } from 'node:fs/promises';
import { Client, DatabaseError } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minimalGrants, PostgresDatabases } from '../../src/adapters/postgres.js';
import type { SiteConfig } from '../../src/config/topology.js';
import { systemClock } from '../../src/core/clock.js';
import type { RunMode } from '../../src/core/model.js';
import { compareLsn } from '../../src/core/lsn.js';
import { runPreflightChecks } from '../../src/core/steps/preflight.js';
import { BatonError } from '../../src/errors.js';
import type { PostgresNode, PostgresPair } from '../../lab/postgres/postgres-pair.js';
import { query, startPostgresPair } from '../../lab/postgres/postgres-pair.js';
import { SimulatedWorld } from '../../lab/simulated-world/simulated-world.js';
import { exampleSite, recordingLog } from '../support/core-fixtures.js';

const PASSWORDS = { baton: 'baton-pw-5f0c1e', app: 'app-pw-9d2a7b' };
const MiB = 1024 * 1024;

let pair: PostgresPair;
let east: PostgresNode;
let west: PostgresNode;
let site: SiteConfig;
let db: PostgresDatabases;
const log = recordingLog();
const env: Record<string, string> = {};

const roleUrl = (node: PostgresNode, role: keyof typeof PASSWORDS) =>
  `postgres://${role}:${PASSWORDS[role]}@127.0.0.1:${node.port}/postgres`;

function adapter(options: Partial<ConstructorParameters<typeof PostgresDatabases>[0]> = {}) {
  return new PostgresDatabases({
    urlFor: (target, cluster) => {
      const name = target.database?.members[cluster]?.urlEnv ?? '';
      const url = env[name];
      if (!url) throw new BatonError('config-invalid', `${name} is not set`);
      return url;
    },
    log,
    connectTimeoutMs: 2_000,
    ...options,
  });
}

/** What preflight reads: the database is the real adapter, the rest of the world is simulated. */
function preflightContext(mode: RunMode, from: string, to: string) {
  const world = SimulatedWorld.inMemory(site, systemClock);
  return {
    site,
    run: { id: 'r1', kind: 'failover' as const, mode, from, to, force: false, segment: 1 },
    ports: { ...world.ports, database: db },
  };
}

/** Promotion as the promote step does it: requested, then proved writable. */
async function promote(adapter: PostgresDatabases, target: SiteConfig, cluster: string): Promise<void> {
  await adapter.requestPromotion(target, cluster);
  await adapter.waitUntilWritable(target, cluster, { timeoutMs: 30_000, clearFence: true });
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  client.on('error', () => undefined); // a terminated session is observed through its next query
  await client.connect();
  return client;
}

async function ids(node: PostgresNode): Promise<number[]> {
  const rows = await query<{ id: string }>(node.url, 'SELECT id FROM ledger ORDER BY id');
  return rows.map((row) => Number(row.id));
}

/** Rejection of `promise` as a BatonError. */
async function batonError(promise: Promise<unknown>): Promise<BatonError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BatonError) return error;
    throw error;
  }
  throw new Error('expected a BatonError');
}

interface WriterLoad {
  /** Ids whose INSERT was acknowledged: committed, by the protocol's word. */
  acked: Set<number>;
  /** Ids whose session died during the INSERT: the outcome is unknown to the client. */
  ambiguous: Set<number>;
  /** INSERTs refused because the database is read-only: certainly not written. */
  refused: number;
  stop(): Promise<void>;
}

/** `count` clients inserting one row per autocommit transaction in a loop, reconnecting when ended. */
function startWriters(url: string, count: number, firstId: number): WriterLoad {
  let nextId = firstId;
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  const load: WriterLoad = {
    acked: new Set(),
    ambiguous: new Set(),
    refused: 0,
    async stop() {
      stopped = true;
      await running;
    },
  };
  const writer = async (writerId: number) => {
    let client: Client | null = null;
    while (!stopped) {
      if (!client) {
        try {
          client = await connect(url);
        } catch {
          client = null;
          await delay(10);
          continue;
        }
      }
      const id = nextId++;
      try {
        await client.query('INSERT INTO ledger (id, writer) VALUES ($1, $2)', [id, writerId]);
        load.acked.add(id);
      } catch (error) {
        if (error instanceof DatabaseError && error.code === '25006') {
          load.refused += 1;
        } else {
          load.ambiguous.add(id);
          await client.end().catch(() => undefined);
          client = null;
        }
        await delay(5);
      }
    }
    await client?.end().catch(() => undefined);
  };
  running = Promise.all(Array.from({ length: count }, (_, i) => writer(i + 1)));
  return load;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await delay(20);
  }
}

beforeAll(async () => {
  pair = await startPostgresPair({ names: { primary: 'east', standby: 'west' } });
  east = pair.nodes.east as PostgresNode;
  west = pair.nodes.west as PostgresNode;
  const superuser = pair.urls.east as string;
  await query(superuser, `CREATE ROLE baton LOGIN PASSWORD '${PASSWORDS.baton}'`);
  for (const statement of minimalGrants('baton')) await query(superuser, statement);
  await query(superuser, `CREATE ROLE app LOGIN PASSWORD '${PASSWORDS.app}'`);
  await query(superuser, 'CREATE TABLE ledger (id bigint PRIMARY KEY, writer int NOT NULL)');
  await query(superuser, 'CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)');
  await query(superuser, 'CREATE TABLE filler (id int, body text)');
  await query(superuser, 'GRANT SELECT, INSERT ON ledger, notes, filler TO app');
  await query(superuser, 'GRANT USAGE ON SEQUENCE notes_id_seq TO app');
  env.EAST_DATABASE_URL = roleUrl(east, 'baton');
  env.WEST_DATABASE_URL = roleUrl(west, 'baton');
  site = exampleSite(); // database east/west from EAST_/WEST_DATABASE_URL, promotion sql, maxLagBytes 1 MiB
  db = adapter();
  const { lsn } = await db.status(site, 'east');
  await db.waitForReplay(site, 'west', lsn as string, { timeoutMs: 10_000 });
});

afterAll(async () => {
  await db?.close();
  await pair?.stop();
});

describe('PostgresDatabases', () => {
  it('reports role, fence flag, WAL position and lag of the primary and the standby', async () => {
    await query(roleUrl(east, 'app'), "INSERT INTO notes (body) VALUES ('hello')");
    const primary = await db.status(site, 'east');
    expect(primary).toMatchObject({ inRecovery: false, readOnly: false, lagBytes: null, lagSeconds: null });
    expect(primary.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);

    const replayed = await db.waitForReplay(site, 'west', primary.lsn as string, { timeoutMs: 10_000 });
    expect(compareLsn(replayed.lsn, primary.lsn as string)).toBeGreaterThanOrEqual(0);
    const standby = await db.status(site, 'west');
    expect(standby).toMatchObject({ inRecovery: true, readOnly: false, lagBytes: 0, lagSeconds: 0 });
    expect(compareLsn(standby.lsn as string, primary.lsn as string)).toBeGreaterThanOrEqual(0);

    // Every Baton session says who it is.
    const logText = await readFile(east.logFile, 'utf8');
    expect(logText).toMatch(/connection authorized: user=baton database=postgres application_name=baton/);
  });

  it('measures a standby against its primary: one cut off from it has replayed all it has, and is still behind', async () => {
    const [{ primary_conninfo: conninfo } = { primary_conninfo: '' }] = await query<{
      primary_conninfo: string;
    }>(west.url, 'SHOW primary_conninfo');
    expect(conninfo).toContain('port=');
    await query(west.url, "ALTER SYSTEM SET primary_conninfo = ''");
    await query(west.url, 'SELECT pg_reload_conf()');
    try {
      await waitUntil(async () => (await query(west.url, 'SELECT 1 FROM pg_stat_wal_receiver')).length === 0);
      await query(roleUrl(east, 'app'), "INSERT INTO notes (body) VALUES ('the standby does not get this')");
      const standby = await db.status(site, 'west');
      expect(standby.lagBytes).toBeGreaterThan(0);
      const own = await query<{ behind: string }>(
        west.url,
        'SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text AS behind',
      );
      expect(own[0]?.behind).toBe('0'); // what the standby alone would claim
    } finally {
      await query(west.url, `ALTER SYSTEM SET primary_conninfo = '${conninfo.replace(/'/g, "''")}'`);
      await query(west.url, 'SELECT pg_reload_conf()');
    }
    await pair.waitForStreaming(west);
    const { lsn } = await db.status(site, 'east');
    await db.waitForReplay(site, 'west', lsn as string, { timeoutMs: 10_000 });
    expect((await db.status(site, 'west')).lagBytes).toBe(0);
  });

  it('measures real lag, and preflight and promote-target-db refuse a standby too far behind', async () => {
    await pair.pauseReplay(west);
    try {
      await query(
        roleUrl(east, 'app'),
        "INSERT INTO filler SELECT g, repeat('x', 1000) FROM generate_series(1, 2500) g",
      );
      await delay(20);
      const standby = await db.status(site, 'west');
      expect(standby.inRecovery).toBe(true);
      expect(standby.lagBytes).toBeGreaterThan(MiB);
      expect(standby.lagSeconds).toBeGreaterThan(0);

      const checks = await runPreflightChecks(preflightContext('planned', 'east', 'west'));
      expect(checks.find((check) => check.id === 'target-database')).toMatchObject({
        status: 'failed',
        detail: expect.stringMatching(
          /^west: standby streaming from east, \d+(\.\d)? MiB behind \(limit 1 MiB\)$/,
        ),
      });
      expect((await db.status(site, 'west')).inRecovery).toBe(true);

      // Waiting on a paused standby fails with the reason and the cure.
      const { lsn } = await db.status(site, 'east');
      const stuck = await batonError(
        db.waitForReplay(site, 'west', lsn as string, { timeoutMs: 200, pollMs: 50 }),
      );
      expect(stuck).toMatchObject({ code: 'replay-timeout', retriable: true });
      expect(stuck.message).toMatch(
        /bytes behind .* replay is paused on it: run SELECT pg_wal_replay_resume\(\)/,
      );
    } finally {
      await pair.resumeReplay(west);
    }
    const { lsn } = await db.status(site, 'east');
    await db.waitForReplay(site, 'west', lsn as string, { timeoutMs: 10_000 });
    const caughtUp = await db.status(site, 'west');
    expect(caughtUp.lagBytes).toBeLessThan(MiB);
    const checks = await runPreflightChecks(preflightContext('planned', 'east', 'west'));
    expect(checks.find((check) => check.id === 'target-database')?.status).toBe('passed');
  });

  it('fence ends open sessions, makes new ones read-only, is idempotent, and unfence restores writes', async () => {
    const app = roleUrl(east, 'app');
    const inFlight = await connect(app);
    await inFlight.query('BEGIN');
    await inFlight.query("INSERT INTO notes (body) VALUES ('in flight before the fence')");
    const idle = await connect(app);
    const superuserIdle = await connect(east.url);

    const first = await db.fence(site, 'east');
    // The transaction that began before the fence never commits: its session was ended.
    await expect(inFlight.query('COMMIT')).rejects.toThrow();
    await expect(idle.query('SELECT 1')).rejects.toThrow();
    const notes = await query<{ n: number }>(
      east.url,
      "SELECT count(*)::int AS n FROM notes WHERE body = 'in flight before the fence'",
    );
    expect(notes[0]?.n).toBe(0);
    // A superuser's idle session cannot be ended by Baton's role; it is left, and is read-only from now on.
    const [setting] = (await superuserIdle.query('SHOW default_transaction_read_only')).rows as {
      default_transaction_read_only: string;
    }[];
    expect(setting?.default_transaction_read_only).toBe('on');
    expect(log.entries.some((entry) => entry.msg?.startsWith('sessions could not be ended'))).toBe(true);
    await superuserIdle.end();

    // Clients that reconnect can read, not write.
    const reconnected = await connect(app);
    expect((await reconnected.query('SELECT count(*) FROM notes')).rows).toHaveLength(1);
    const writeError = await reconnected.query("INSERT INTO notes (body) VALUES ('after')").catch((e) => e);
    expect(writeError).toBeInstanceOf(DatabaseError);
    expect((writeError as DatabaseError).code).toBe('25006'); // read_only_sql_transaction
    await reconnected.end();

    const second = await db.fence(site, 'east');
    expect(compareLsn(second.lsn, first.lsn)).toBeGreaterThanOrEqual(0);
    expect(await db.status(site, 'east')).toMatchObject({ inRecovery: false, readOnly: true });

    await db.unfence(site, 'east');
    await db.unfence(site, 'east');
    expect((await db.status(site, 'east')).readOnly).toBe(false);
    await query(app, "INSERT INTO notes (body) VALUES ('writable again')");

    // A superuser's transaction that is open when fencing begins could still commit: fencing must say so.
    const superuserWriter = await connect(east.url);
    await superuserWriter.query('BEGIN');
    await superuserWriter.query("INSERT INTO notes (body) VALUES ('superuser in flight')");
    const incomplete = await batonError(db.fence(site, 'east'));
    expect(incomplete).toMatchObject({ code: 'fence-incomplete', retriable: true });
    expect(incomplete.message).toMatch(/\(postgres\) could not be ended .* pg_terminate_backend/);
    await superuserWriter.query('ROLLBACK');
    await superuserWriter.end();
    await db.fence(site, 'east');
    await db.unfence(site, 'east');
    expect((await db.status(site, 'east')).readOnly).toBe(false);
  });

  it('planned switchover under a steady write load: the new primary holds every committed row', async () => {
    const load = startWriters(roleUrl(east, 'app'), 3, 1);
    try {
      await waitUntil(async () => load.acked.size >= 60);

      const mark = await db.fence(site, 'east');
      const replayed = await db.waitForReplay(site, 'west', mark.lsn, { timeoutMs: 10_000, pollMs: 20 });
      expect(compareLsn(replayed.lsn, mark.lsn)).toBeGreaterThanOrEqual(0);
      await promote(db, site, 'west');
      // Nothing committed on the fenced primary after its final position.
      expect(await db.writesSince(site, 'east', mark)).toMatchObject({ committed: 0 });
      await waitUntil(async () => load.refused >= 3); // the writers kept trying against the fenced primary
    } finally {
      await load.stop();
    }

    const onNewPrimary = await ids(west);
    const onOldPrimary = await ids(east);
    expect(onNewPrimary).toEqual(onOldPrimary); // nothing committed on the old primary is missing
    const present = new Set(onNewPrimary);
    for (const id of load.acked) expect(present.has(id)).toBe(true);
    // Rows beyond the acknowledged ones can only be INSERTs whose session died before the answer arrived.
    const extra = onNewPrimary.filter((id) => !load.acked.has(id));
    for (const id of extra) expect(load.ambiguous.has(id)).toBe(true);
    expect(onNewPrimary.length).toBe(load.acked.size + extra.length);
    expect(load.acked.size).toBeGreaterThanOrEqual(60);

    expect(await db.status(site, 'west')).toMatchObject({
      inRecovery: false,
      readOnly: false,
      lagBytes: null,
    });
    expect(await db.status(site, 'east')).toMatchObject({ inRecovery: false, readOnly: true }); // fenced, not writable
    await query(roleUrl(west, 'app'), 'INSERT INTO ledger (id, writer) VALUES (1000000, 0)');

    // Promote again: nothing to request, and the proof holds.
    await promote(db, site, 'west');
    expect((await db.status(site, 'west')).inRecovery).toBe(false);
    // And the fenced old primary is never "proved" writable behind the operator's back.
    const fenced = await batonError(db.proveWritable(site, 'east'));
    expect(fenced.code).toBe('database-read-only');
  });

  it('rebuilds the old primary as a streaming standby of the new one, so failback works (CloudNativePG path)', async () => {
    await pair.rebuildAsStandby(east, west);
    await query(roleUrl(west, 'app'), 'INSERT INTO ledger (id, writer) VALUES (1000001, 0)');
    const { lsn: westLsn } = await db.status(site, 'west');
    await db.waitForReplay(site, 'east', westLsn as string, { timeoutMs: 10_000 });
    expect(await db.status(site, 'east')).toMatchObject({ inRecovery: true, lagBytes: 0, lagSeconds: 0 });

    const cnpgSite: SiteConfig = {
      ...site,
      database: { ...(site.database as NonNullable<SiteConfig['database']>), promotion: 'cloudnative-pg' },
    };
    const missing = await batonError(adapter().requestPromotion(cnpgSite, 'east'));
    expect(missing.code).toBe('cnpg-promoter-missing');

    // The operator promotes asynchronously (as CloudNativePG does); the adapter waits for it and proves writes.
    const promoted: string[] = [];
    const withOperator = adapter({
      cnpg: {
        demote: () => Promise.reject(new Error('not a switchover')),
        promote: async (_site, cluster) => {
          promoted.push(cluster);
          await query(pair.urls[cluster] as string, 'SELECT pg_promote(false)');
        },
      },
    });
    const { lsn } = await withOperator.fence(cnpgSite, 'west');
    await withOperator.waitForReplay(cnpgSite, 'east', lsn, { timeoutMs: 10_000 });
    await promote(withOperator, cnpgSite, 'east');
    expect(promoted).toEqual(['east']);
    expect(await withOperator.status(cnpgSite, 'east')).toMatchObject({ inRecovery: false, readOnly: false });
    expect(await ids(east)).toEqual(await ids(west));
    await withOperator.close();

    // Back to the starting shape: east primary, west its standby.
    await pair.rebuildAsStandby(west, east);
    expect(await db.status(site, 'west')).toMatchObject({ inRecovery: true, readOnly: false });
  });

  it('emergency: a killed primary is unreachable without leaking its URL; the standby is promoted and writable', async () => {
    await query(roleUrl(east, 'app'), 'INSERT INTO ledger (id, writer) VALUES (2000000, 0)');
    const { lsn } = await db.status(site, 'east');
    await db.waitForReplay(site, 'west', lsn as string, { timeoutMs: 10_000 });

    await east.kill();
    expect(east.isRunning()).toBe(false);

    const unreachable = await batonError(db.status(site, 'east'));
    expect(unreachable).toMatchObject({ code: 'database-unreachable', retriable: true });
    expect(unreachable.message).toContain('east');
    expect(unreachable.message).toContain('EAST_DATABASE_URL');
    expect(unreachable.message).toMatch(/connection refused/);

    // The primary being gone, the lag is unknown — never the standby's own "0 B" — and what it received is said.
    const standby = await db.status(site, 'west');
    expect(standby).toMatchObject({ inRecovery: true, lagBytes: null, lagUnknown: 'east unreachable' });
    expect(compareLsn(standby.receiveLsn as string, lsn as string)).toBeGreaterThanOrEqual(0);

    await promote(db, site, 'west');
    expect(await db.status(site, 'west')).toMatchObject({ inRecovery: false, readOnly: false });
    await query(roleUrl(west, 'app'), 'INSERT INTO ledger (id, writer) VALUES (2000001, 0)');
    expect(await ids(west)).toContain(2000000);

    const everything = [
      JSON.stringify(log.entries),
      unreachable.message,
      String(unreachable.cause ?? ''),
    ].join('\n');
    for (const secret of [...Object.values(PASSWORDS), env.EAST_DATABASE_URL as string, east.url]) {
      expect(everything).not.toContain(secret);
    }

    // The dead primary comes back only as a standby of the new one.
    await pair.rebuildAsStandby(east, west);
    const { lsn: westLsn } = await db.status(site, 'west');
    await db.waitForReplay(site, 'east', westLsn as string, { timeoutMs: 10_000 });
    expect(await db.status(site, 'east')).toMatchObject({ inRecovery: true, lagBytes: 0 });
    expect(await ids(east)).toContain(2000001);
  });

  it('names the variable, never the URL, when the URL is bad or missing', async () => {
    const secret = 's3cr3t-in-url';
    const bad = new PostgresDatabases({ urlFor: () => `postgres://baton:${secret}@[::1`, log });
    const invalid = await batonError(bad.status(site, 'east'));
    expect(invalid.code).toBe('config-invalid');
    expect(invalid.message).toContain('EAST_DATABASE_URL');
    expect(invalid.message).not.toContain(secret);

    const wrongPassword = new PostgresDatabases({
      urlFor: () => `postgres://baton:${secret}@127.0.0.1:${west.port}/postgres`,
      log,
    });
    const refused = await batonError(wrongPassword.status(site, 'west'));
    expect(refused.code).toBe('database-auth-failed');
    expect(refused.message).toMatch(/WEST_DATABASE_URL/);
    expect(refused.message).not.toContain(secret);
  });
});
