/**
 * One PostgreSQL server of a lab pair: its port, data directory, log and superuser URL, and its process — started
 * in a process group of its own and waited for, shut down fast or immediately, or killed as if the machine died.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { childPids, isAlive, signal } from './process-tree.js';
import { commandFor } from './postgres-programs.js';
import type { Runner } from './postgres-programs.js';
import { query } from './postgres-query.js';

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

/** The superuser initdb creates and every node's URL names. */
export const SUPERUSER = 'postgres';
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

export class LabNode implements PostgresNode {
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
    // As root our child is runuser; the postmaster writes its own pid on the first line of postmaster.pid, early in
    // its start-up: a server stopped while starting may not have written it yet.
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    for (;;) {
      const text = await readFile(join(this.dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
      const pid = Number(text.split('\n')[0]);
      if (Number.isInteger(pid) && pid > 0) return pid;
      if (Date.now() > deadline) throw new Error(`${this.name}: unreadable postmaster.pid`);
      await delay(20);
    }
  }

  private async logTail(): Promise<string> {
    const text = await readFile(this.logFile, 'utf8').catch(() => '');
    return text.split('\n').slice(-15).join('\n');
  }
}
