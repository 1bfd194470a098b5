/**
 * A real PostgreSQL primary and hot standby in streaming replication on free loopback ports, for tests, benchmarks,
 * the sandbox and drills (shared recipe: initdb → primary → pg_basebackup -R → standby). Everything lives in one
 * temporary directory that `stop()` removes; a process exit removes it too, and kills what is still running.
 *
 * `initdb` refuses to run as root, so as root the server programs run as the `postgres` user (`runuser`), and
 * the directories belong to it. Test settings only: `fsync = off` (commits stay synchronous, so an acknowledged
 * commit is in the WAL the standby streams), password auth on 127.0.0.1, trust on the Unix socket inside the data
 * directory (only its owner can reach it).
 *
 * This file assembles the pair and tears it down; one server, the programs, replication and queries live in files
 * of their own, and the ones callers use are exported from here.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../processes/processes.js';
import { findRunner } from './postgres-programs.js';
import { query } from './postgres-query.js';
import type { PostgresNode } from './postgres-server.js';
import { LabNode } from './postgres-server.js';
import { baseBackup, initPrimary, restartAsStandbyOf, waitForStreaming } from './replication-setup.js';

export type { PostgresNode } from './postgres-server.js';
export { query } from './postgres-query.js';
export { postgresUnavailable } from './postgres-programs.js';

export interface PostgresPair {
  /** The node started as the primary (roles move; names do not). */
  primary: PostgresNode;
  /** The node started as its hot standby. */
  standby: PostgresNode;
  nodes: Record<string, PostgresNode>;
  /** Superuser URL per node name. */
  urls: Record<string, string>;
  /** Wipes `node`, takes a base backup of `from` (with a replication slot) and starts it as `from`'s standby. */
  rebuildAsStandby(node: PostgresNode, from: PostgresNode): Promise<void>;
  /**
   * Restarts `node` as a standby of `from` as it is — no pg_rewind, no base backup — the way an old primary comes back
   * when someone just adds standby.signal. If it has WAL that `from` never had, it cannot follow: it has diverged.
   */
  restartAsStandbyOf(node: PostgresNode, from: PostgresNode): Promise<void>;
  /** `pg_wal_replay_pause()` on a standby: it keeps receiving WAL but stops applying it, so lag grows. */
  pauseReplay(node: PostgresNode): Promise<void>;
  resumeReplay(node: PostgresNode): Promise<void>;
  /** Waits until the standby's WAL receiver is streaming from its primary. */
  waitForStreaming(node: PostgresNode, timeoutMs?: number): Promise<void>;
  /** Stops both servers and removes every file. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartPostgresPairOptions {
  /** Node names (default `east` primary, `west` standby). */
  names?: { primary: string; standby: string };
}

/** Starts a primary and a streaming hot standby of it (with a replication slot); ≈1–2 s. */
export async function startPostgresPair(options: StartPostgresPairOptions = {}): Promise<PostgresPair> {
  const names = options.names ?? { primary: 'east', standby: 'west' };
  for (const name of [names.primary, names.standby]) {
    if (!/^[a-z][a-z0-9_-]{0,30}$/.test(name))
      throw new Error(`node name ${JSON.stringify(name)}: use [a-z0-9_-]`);
  }
  if (names.primary === names.standby) throw new Error('the two nodes need different names');

  const runner = await findRunner();
  const { owner } = runner;
  const base = await mkdtemp(join(tmpdir(), 'baton-pg-'));
  if (owner) await chown(base, owner.uid, owner.gid);
  const secrets = { superuser: randomHex(), replication: randomHex() };

  const primary = new LabNode(runner, names.primary, base, await freePort(), secrets.superuser);
  const standby = new LabNode(runner, names.standby, base, await freePort(), secrets.superuser);
  const nodes = [primary, standby];

  // The exit hook is the last resort for a test that never reaches stop(): no server or directory outlives us.
  const onExit = () => {
    for (const node of nodes) node.killSync();
    rmSync(base, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(nodes.map((node) => node.stopImmediate()));
    await rm(base, { recursive: true, force: true });
    process.removeListener('exit', onExit);
  };

  try {
    await initPrimary(runner, base, primary, secrets);
    await baseBackup(runner, standby, primary, secrets);
    await standby.start();
    await waitForStreaming(standby);
  } catch (error) {
    // The reason it did not start is what the caller needs; a failure to clean up must not hide it.
    await stop().catch(() => undefined);
    throw error;
  }

  const lab = (node: PostgresNode): LabNode => {
    const found = nodes.find((candidate) => candidate === node);
    if (!found) throw new Error(`${node.name} is not a node of this pair`);
    return found;
  };

  return {
    primary,
    standby,
    nodes: { [primary.name]: primary, [standby.name]: standby },
    urls: { [primary.name]: primary.url, [standby.name]: standby.url },
    async rebuildAsStandby(node, from) {
      const target = lab(node);
      if (target === lab(from)) throw new Error('a node cannot be rebuilt from itself');
      if (target.isRunning()) await target.stopFast();
      await baseBackup(runner, target, lab(from), secrets);
      await target.start();
      await waitForStreaming(target);
    },
    async restartAsStandbyOf(node, from) {
      const target = lab(node);
      const source = lab(from);
      if (target === source) throw new Error('a node cannot follow itself');
      await restartAsStandbyOf(runner, target, source, secrets);
    },
    async pauseReplay(node) {
      await query(lab(node).url, 'SELECT pg_wal_replay_pause()');
    },
    async resumeReplay(node) {
      await query(lab(node).url, 'SELECT pg_wal_replay_resume()');
    },
    waitForStreaming,
    stop,
  };
}

const randomHex = (): string => randomBytes(16).toString('hex');
