/**
 * A real PostgreSQL primary and hot standby in streaming replication on free loopback ports, for tests, benchmarks,
 * the sandbox and drills (shared recipe: initdb → primary → pg_basebackup -R → standby). Everything lives in one
 * temporary directory that `stop()` removes; a process exit removes it too, and kills what is still running.
 *
 * `initdb` refuses to run as root, so as root the server programs run as the `postgres` user (`runuser`), and
 * the directories belong to it. Test settings only: `fsync = off` (commits stay synchronous, so an acknowledged
 * commit is in the WAL the standby streams), password auth on 127.0.0.1, trust on the Unix socket inside the data
 * directory (only its owner can reach it).
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
} from 'node:fs';
import { appendFile, chown, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { Client } from 'pg';
import { freePort } from '../processes/processes.js';

/** One PostgreSQL server of the pair. */
export interface PostgresNode {
  /** The cluster id it stands for, e.g. `east`. */
  readonly name: string;
  readonly port: number;
  /** Superuser URL with its password (`postgres://postgres:…@127.0.0.1:port/postgres`); for the lab only. */
  readonly url: string;
  readonly dataDir: string;
  /** The server's stderr, for diagnosing a failed start. */
  readonly logFile: string;
  /** Starts the server (same port and data directory) and waits until it accepts connections. */
  start(): Promise<void>;
  /** Fast shutdown (SIGINT): sessions are ended, a shutdown checkpoint is written. */
  stopFast(): Promise<void>;
  /** An emergency: SIGKILL the postmaster and its children at once, as if the machine died. */
  kill(): Promise<void>;
  isRunning(): boolean;
}

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

const BINARIES = ['postgres', 'initdb', 'pg_basebackup'] as const;
type Binary = (typeof BINARIES)[number];
const OS_USER = 'postgres';
const SUPERUSER = 'postgres';
const REPLICATION_USER = 'replicator';
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

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
 * Runs `sql` once on a fresh connection and returns the rows; for the lab (no psql needed). The connection is
 * always closed.
 */
export async function query<R extends Record<string, unknown> = Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined); // a server that dies mid-query is reported by the query itself
  try {
    await client.connect();
    const result = await client.query<R>(sql, params);
    return result.rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Why a pair cannot start here (the PostgreSQL server programs are missing), or null when it can. */
export async function postgresUnavailable(): Promise<string | null> {
  try {
    await findBinaries();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Starts a primary and a streaming hot standby of it (with a replication slot); ≈1–2 s. */
export async function startPostgresPair(options: StartPostgresPairOptions = {}): Promise<PostgresPair> {
  const names = options.names ?? { primary: 'east', standby: 'west' };
  for (const name of [names.primary, names.standby]) {
    if (!/^[a-z][a-z0-9_-]{0,30}$/.test(name))
      throw new Error(`node name ${JSON.stringify(name)}: use [a-z0-9_-]`);
  }
  if (names.primary === names.standby) throw new Error('the two nodes need different names');

  const bins = await findBinaries();
  const owner = process.getuid?.() === 0 ? await postgresOwner() : null;
  const base = await mkdtemp(join(tmpdir(), 'baton-pg-'));
  if (owner) await chown(base, owner.uid, owner.gid);
  const secrets = { superuser: randomHex(), replication: randomHex() };

  const runner: Runner = { bins, owner };
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

  const baseBackup = async (node: LabNode, from: LabNode) => {
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
  };

  const waitForStreaming = async (node: PostgresNode, timeoutMs = 10_000) => {
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
  };

  try {
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
    await baseBackup(standby, primary);
    await standby.start();
    await waitForStreaming(standby);
  } catch (error) {
    await stop();
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
      await baseBackup(target, lab(from));
      await target.start();
      await waitForStreaming(target);
    },
    async restartAsStandbyOf(node, from) {
      const target = lab(node);
      const source = lab(from);
      if (target === source) throw new Error('a node cannot follow itself');
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

// ---------------------------------------------------------------------------------------------------------------

interface Runner {
  bins: Record<Binary, string>;
  /** Set when we are root: run the server programs as this user. */
  owner: { uid: number; gid: number } | null;
}

class LabNode implements PostgresNode {
  readonly dataDir: string;
  readonly logFile: string;
  readonly url: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private pid: number | undefined;

  constructor(
    private readonly runner: Runner,
    readonly name: string,
    base: string,
    readonly port: number,
    password: string,
  ) {
    this.dataDir = join(base, name);
    this.logFile = join(base, `${name}.log`);
    this.url = `postgres://${SUPERUSER}:${password}@127.0.0.1:${port}/postgres`;
  }

  isRunning(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.isRunning()) return;
    const socketPath = join(this.dataDir, `.s.PGSQL.${this.port}`);
    if (Buffer.byteLength(socketPath) > 100) {
      throw new Error(
        `socket path ${socketPath} is too long for a Unix socket; set TMPDIR to a shorter directory`,
      );
    }
    const log = openSync(this.logFile, 'a');
    const [command, args] = commandFor(this.runner, 'postgres', [
      ...['-D', this.dataDir, '-c', `port=${this.port}`],
      ...['-c', `unix_socket_directories=${this.dataDir}`, '-c', `cluster_name=${this.name}`],
    ]);
    // Its own process group, so a Ctrl-C meant for the test runner does not reach it before stop() does.
    const child = spawn(command, args, { stdio: ['ignore', log, log], detached: true });
    closeSync(log);
    this.child = child;
    this.pid = undefined;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('error', () => undefined); // reported through 'exit' and the ready check below
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (!this.isRunning()) {
        throw new Error(`PostgreSQL ${this.name} exited while starting:\n${await this.logTail()}`);
      }
      try {
        await query(this.url, 'SELECT 1');
        break;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(
            `PostgreSQL ${this.name} did not accept connections within ${READY_TIMEOUT_MS} ms`,
            {
              cause: error,
            },
          );
        }
        await delay(25);
      }
    }
    this.pid = await this.postmasterPid();
  }

  async stopFast(): Promise<void> {
    await this.stopWith('SIGINT');
  }

  async stopImmediate(): Promise<void> {
    // Immediate shutdown: the postmaster ends its children and reaps them itself, so nothing is orphaned.
    await this.stopWith('SIGQUIT');
  }

  async kill(): Promise<void> {
    if (!this.isRunning()) return;
    const pid = this.pid ?? (await this.postmasterPid());
    const children = childPids(pid);
    signal(pid, 'SIGKILL');
    for (const child of children) signal(child, 'SIGKILL');
    await this.exited;
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (children.some(isAlive) && Date.now() < deadline) await delay(10);
  }

  /** For the process exit hook: synchronous, no waiting. */
  killSync(): void {
    if (!this.isRunning() || this.pid === undefined) return;
    const children = childPids(this.pid);
    signal(this.pid, 'SIGKILL');
    for (const child of children) signal(child, 'SIGKILL');
  }

  private async stopWith(name: 'SIGINT' | 'SIGQUIT'): Promise<void> {
    if (!this.isRunning()) return;
    const pid = this.pid ?? (await this.postmasterPid());
    signal(pid, name);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    if (timedOut) await this.kill();
  }

  private async postmasterPid(): Promise<number> {
    // As root our child is runuser; the postmaster writes its own pid on the first line of postmaster.pid.
    const text = await readFile(join(this.dataDir, 'postmaster.pid'), 'utf8');
    const pid = Number(text.split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`${this.name}: unreadable postmaster.pid`);
    return pid;
  }

  private async logTail(): Promise<string> {
    const text = await readFile(this.logFile, 'utf8').catch(() => '');
    return text.split('\n').slice(-15).join('\n');
  }
}

function commandFor(runner: Runner, binary: Binary, args: string[]): [string, string[]] {
  const path = runner.bins[binary];
  return runner.owner ? ['runuser', ['-u', OS_USER, '--', path, ...args]] : [path, args];
}

async function run(
  runner: Runner,
  binary: Binary,
  args: string[],
  env: Record<string, string> = {},
): Promise<void> {
  const [command, argv] = commandFor(runner, binary, args);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, argv, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (error) => reject(new Error(`${binary} could not start: ${error.message}`)));
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${binary} exited with ${code}:\n${stderr.trim()}`)),
    );
  });
}

/**
 * Each program from PATH, then `pg_config --bindir`, then Debian's /usr/lib/postgresql/<version>/bin (newest
 * first). The helpers are taken next to the `postgres` found, so that all of them are one version.
 */
async function findBinaries(): Promise<Record<Binary, string>> {
  const pgConfigDir = await new Promise<string | null>((resolve) =>
    execFile('pg_config', ['--bindir'], (error, stdout) => resolve(error ? null : stdout.trim() || null)),
  );
  const debianDirs = (() => {
    try {
      return readdirSync('/usr/lib/postgresql')
        .filter((version) => /^\d+$/.test(version))
        .sort((a, b) => Number(b) - Number(a))
        .map((version) => join('/usr/lib/postgresql', version, 'bin'));
    } catch {
      return [];
    }
  })();
  const searchPath = [
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean),
    ...(pgConfigDir ? [pgConfigDir] : []),
    ...debianDirs,
  ];
  const find = (binary: string, dirs: string[]): string | undefined =>
    dirs.map((dir) => join(dir, binary)).find(isExecutable);

  const postgres = find('postgres', searchPath);
  if (!postgres) {
    throw new Error(
      'PostgreSQL server programs (postgres, initdb, pg_basebackup) not found on PATH, in pg_config --bindir ' +
        'or under /usr/lib/postgresql: install them, e.g. apt-get install -y postgresql',
    );
  }
  const home = dirname(realpathSync(postgres));
  const found = { postgres } as Record<Binary, string>;
  for (const binary of BINARIES) {
    const path = find(binary, [home, ...searchPath]);
    if (!path) throw new Error(`${binary} not found next to ${postgres} nor on PATH`);
    found[binary] = path;
  }
  return found;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function postgresOwner(): Promise<{ uid: number; gid: number }> {
  const id = (flag: string) =>
    new Promise<number>((resolve, reject) =>
      execFile('id', [flag, OS_USER], (error, stdout) =>
        error
          ? reject(
              new Error(
                `running as root needs a "${OS_USER}" user to run PostgreSQL (initdb refuses root): create it ` +
                  'or run the tests as another user',
              ),
            )
          : resolve(Number(stdout.trim())),
      ),
    );
  return { uid: await id('-u'), gid: await id('-g') };
}

/** Direct children of `pid`, from /proc (empty where there is no /proc). */
function childPids(pid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat?.ppid === pid) children.push(Number(entry));
  }
  return children;
}

function procStat(pid: number): { state: string; ppid: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …"; comm may hold spaces and parentheses, so split after the last ")".
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return state === undefined || ppid === undefined ? null : { state, ppid: Number(ppid) };
  } catch {
    return null;
  }
}

/** Alive and not a zombie (an orphan's zombie may wait long for a reaper; it holds nothing). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return procStat(pid)?.state !== 'Z';
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

const slotName = (node: string): string => `baton_${node.replace(/[^a-z0-9_]/g, '_')}`;
const randomHex = (): string => randomBytes(16).toString('hex');
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
