/**
 * How a lab pair's nodes come to be and to follow one another: initdb and the lab settings for the first primary,
 * a base backup (with a replication slot) that makes a standby, an old primary pointed at a new one without a
 * rebuild, and the wait until a standby streams.
 */
import { appendFile, chown, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { run } from './postgres-programs.js';
import type { Runner } from './postgres-programs.js';
import { query } from './postgres-query.js';
import type { PostgresNode } from './postgres-server.js';
import { SUPERUSER } from './postgres-server.js';

/** The pair's passwords, made up for each pair. */
export interface PairSecrets {
  superuser: string;
  replication: string;
}

const REPLICATION_USER = 'replicator';

const CONFIG = [
  '',
  '# Baton lab settings (tests only: fsync off).',
  "listen_addresses = '127.0.0.1'",
  'fsync = off',
  'wal_level = replica',
  'max_wal_senders = 8',
  'max_replication_slots = 8',
  'hot_standby = on',
  'wal_receiver_status_interval = 1s',
  'wal_retrieve_retry_interval = 500ms',
  'shared_buffers = 32MB',
  'max_connections = 50',
  // Prepared transactions survive a fence (COMMIT PREPARED runs even in a read-only session): the lab allows them so
  // tests can show Baton counting one. A standby needs at least the primary's value.
  'max_prepared_transactions = 5',
  "log_line_prefix = '%m [%p] %q%a '",
  // Shows who connected with which application_name, for tests and for reading a drill afterwards.
  'log_connections = on',
  '',
].join('\n');

/**
 * initdb in `primary`'s data directory (password auth on 127.0.0.1, trust on the socket inside it), the lab
 * settings, then starts it and creates the replication role.
 */
export async function initPrimary(
  runner: Runner,
  base: string,
  primary: PostgresNode,
  secrets: PairSecrets,
): Promise<void> {
  const { owner } = runner;
  const pwfile = join(base, 'superuser-password');
  await writeFile(pwfile, `${secrets.superuser}\n`, { mode: 0o600 });
  if (owner) await chown(pwfile, owner.uid, owner.gid);
  await run(runner, 'initdb', [
    ...['-D', primary.dataDir, '-U', SUPERUSER, `--pwfile=${pwfile}`],
    ...['--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync', '-E', 'UTF8', '--locale=C'],
  ]);
  await rm(pwfile);
  await appendFile(join(primary.dataDir, 'postgresql.conf'), CONFIG);
  await primary.start();
  await query(
    primary.url,
    `CREATE ROLE ${REPLICATION_USER} WITH REPLICATION LOGIN PASSWORD '${secrets.replication}'`,
  );
}

/** Replaces `node`'s data directory with a base backup of `from` that starts as its standby, on a slot of its own. */
export async function baseBackup(
  runner: Runner,
  node: PostgresNode,
  from: PostgresNode,
  secrets: PairSecrets,
): Promise<void> {
  const slot = slotName(node.name);
  // A slot left by an earlier rebuild of the same node would make -C fail; an active one is a real conflict.
  await query(
    from.url,
    'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active',
    [slot],
  );
  await rm(node.dataDir, { recursive: true, force: true });
  await run(
    runner,
    'pg_basebackup',
    [
      ...['-h', '127.0.0.1', '-p', String(from.port), '-U', REPLICATION_USER, '-D', node.dataDir],
      ...['-R', '-X', 'stream', '-c', 'fast', '-C', '-S', slot, '--no-sync'],
    ],
    { PGPASSWORD: secrets.replication },
  );
  // The copy carries the source's socket lock file (the socket itself is skipped); it is not ours.
  for (const entry of await readdir(node.dataDir)) {
    if (entry.startsWith('.s.PGSQL.')) await rm(join(node.dataDir, entry), { force: true });
  }
}

/**
 * Restarts `target` as a standby of `source` with what it has: its primary_conninfo now names `source`, and
 * standby.signal is written. Nothing is rewound or copied.
 */
export async function restartAsStandbyOf(
  runner: Runner,
  target: PostgresNode,
  source: PostgresNode,
  secrets: PairSecrets,
): Promise<void> {
  const { owner } = runner;
  if (target.isRunning()) await target.stopFast();
  const auto = join(target.dataDir, 'postgresql.auto.conf');
  const kept = (await readFile(auto, 'utf8').catch(() => ''))
    .split('\n')
    .filter((line) => !/^\s*primary_(conninfo|slot_name)\s*=/.test(line));
  const conninfo =
    `host=127.0.0.1 port=${source.port} user=${REPLICATION_USER} password=${secrets.replication} ` +
    `application_name=${target.name}`;
  await writeFile(auto, [...kept, `primary_conninfo = '${conninfo}'`, ''].join('\n'));
  const signal = join(target.dataDir, 'standby.signal');
  await writeFile(signal, '');
  if (owner) await chown(signal, owner.uid, owner.gid);
  await target.start();
}

/** Waits until `node`'s WAL receiver is streaming from its primary. */
export async function waitForStreaming(node: PostgresNode, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await query<{ status: string }>(node.url, 'SELECT status FROM pg_stat_wal_receiver').catch(
      () => [],
    );
    if (rows[0]?.status === 'streaming') return;
    if (Date.now() > deadline) {
      throw new Error(
        `${node.name} is not streaming from its primary after ${timeoutMs} ms (see ${node.logFile})`,
      );
    }
    await delay(25);
  }
}

const slotName = (node: string): string => `baton_${node.replace(/[^a-z0-9_]/g, '_')}`;
