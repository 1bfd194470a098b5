/**
 * A real PostgreSQL primary and hot standby (lab/postgres/postgres-pair.ts) behind the real adapter, connected as a
 * role with only the documented minimal grants, and the run engine wired to it: the database is real, Kubernetes,
 * DNS and health come from the simulated world. Safety tests of the database path run through here, so what they
 * prove is what a worker does.
 */
import { Client } from 'pg';
import type { PostgresDatabasesOptions } from '../../src/adapters/postgres.js';
import { minimalGrants, PostgresDatabases } from '../../src/adapters/postgres.js';
import type { SiteConfig } from '../../src/config/topology.js';
import { systemClock } from '../../src/core/clock.js';
import type { Run } from '../../src/core/model.js';
import type { Ports } from '../../src/core/ports.js';
import type { ExecuteOutcome, ExecuteRunOptions } from '../../src/core/runs/execute-run.js';
import { executeRun } from '../../src/core/runs/execute-run.js';
import { STEPS } from '../../src/core/steps/index.js';
import { BatonError } from '../../src/errors.js';
import type { PostgresNode, PostgresPair } from '../../lab/postgres/postgres-pair.js';
import { query, startPostgresPair } from '../../lab/postgres/postgres-pair.js';
import { SimulatedWorld } from '../../lab/simulated-world/simulated-world.js';
import { exampleSite, FAST_BACKOFF, recordingLog } from './core-fixtures.js';
import { MemoryPersistence } from './memory-persistence.js';

export const PASSWORDS = { baton: 'baton-pw-5f0c1e', app: 'app-pw-9d2a7b' };

export interface RealDatabase {
  pair: PostgresPair;
  east: PostgresNode;
  west: PostgresNode;
  site: SiteConfig;
  /** The adapter as Baton's role sees the databases. */
  db: PostgresDatabases;
  world: SimulatedWorld;
  ports: Ports;
  log: ReturnType<typeof recordingLog>;
  /** Where each cluster's URL comes from (EAST_DATABASE_URL, WEST_DATABASE_URL); tests may change it. */
  env: Record<string, string>;
  roleUrl(node: PostgresNode, role: keyof typeof PASSWORDS): string;
  /** Another adapter over the same databases, e.g. with a CloudNativePG operator. */
  adapter(options?: Partial<PostgresDatabasesOptions>): PostgresDatabases;
  /** One worker segment of `run` through the real engine. */
  execute(
    run: Run,
    options?: Partial<Omit<ExecuteRunOptions, 'run' | 'persistence'>> & { persistence?: MemoryPersistence },
  ): Promise<{ outcome: ExecuteOutcome; run: Run; persistence: MemoryPersistence }>;
  /** Waits until west (or `node`) has replayed everything its primary has written. */
  settle(standby?: PostgresNode, primary?: PostgresNode): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the pair with a `baton` role (minimal grants), an `app` role, and a `ledger` table. */
export async function startRealDatabase(): Promise<RealDatabase> {
  const pair = await startPostgresPair({ names: { primary: 'east', standby: 'west' } });
  const east = pair.nodes.east as PostgresNode;
  const west = pair.nodes.west as PostgresNode;
  const superuser = pair.urls.east as string;
  await query(superuser, `CREATE ROLE baton LOGIN PASSWORD '${PASSWORDS.baton}'`);
  for (const statement of minimalGrants('baton')) await query(superuser, statement);
  await query(superuser, `CREATE ROLE app LOGIN PASSWORD '${PASSWORDS.app}'`);
  await query(superuser, 'CREATE TABLE ledger (id bigint PRIMARY KEY, writer int NOT NULL)');
  await query(superuser, 'GRANT SELECT, INSERT ON ledger TO app');
  const roleUrl = (node: PostgresNode, role: keyof typeof PASSWORDS) =>
    `postgres://${role}:${PASSWORDS[role]}@127.0.0.1:${node.port}/postgres`;
  const env: Record<string, string> = {
    EAST_DATABASE_URL: roleUrl(east, 'baton'),
    WEST_DATABASE_URL: roleUrl(west, 'baton'),
  };
  const site = exampleSite();
  const log = recordingLog();
  const adapter = (options: Partial<PostgresDatabasesOptions> = {}) =>
    new PostgresDatabases({
      urlFor: (target, cluster) => {
        const name = target.database?.members[cluster]?.urlEnv ?? '';
        const url = env[name];
        if (!url) throw new BatonError('config-invalid', `${name} is not set`);
        return url;
      },
      log,
      connectTimeoutMs: 2_000,
      settleTimeoutMs: 3_000,
      ...options,
    });
  const db = adapter();
  const world = SimulatedWorld.inMemory(site, systemClock);
  const ports: Ports = { ...world.ports, database: db };
  const settle = async (standby: PostgresNode = west, primary: PostgresNode = east) => {
    const [row] = await query<{ lsn: string }>(primary.url, 'SELECT pg_current_wal_lsn()::text AS lsn');
    const target = standby === west ? 'west' : 'east';
    await db.waitForReplay(site, target, row?.lsn as string, { timeoutMs: 10_000 });
  };
  await settle();
  return {
    pair,
    east,
    west,
    site,
    db,
    world,
    ports,
    log,
    env,
    roleUrl,
    adapter,
    settle,
    async execute(run, options = {}) {
      const { persistence: given, ...rest } = options;
      const persistence = given ?? new MemoryPersistence(run);
      const result = await executeRun({
        run,
        site,
        ports,
        steps: STEPS,
        clock: systemClock,
        log,
        settings: { pollIntervalMs: 20, dnsPollIntervalMs: 20 },
        backoff: FAST_BACKOFF,
        shouldStop: () => false,
        ...rest,
        persistence,
      });
      return { ...result, persistence };
    },
    async stop() {
      await db.close();
      await pair.stop();
    },
  };
}

/** A client connection that survives being terminated (the next query reports it). */
export async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

export async function ledgerIds(node: PostgresNode): Promise<number[]> {
  const rows = await query<{ id: string }>(node.url, 'SELECT id FROM ledger ORDER BY id');
  return rows.map((row) => Number(row.id));
}
