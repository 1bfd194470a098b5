/**
 * `npm run sandbox`: the whole of Baton on this machine (see stack.ts) and a web page to drive it as Slack would.
 * Prints what runs where and what to do; Ctrl-C stops everything it started.
 */
import type { Logger } from '../../src/logger.js';
import type { ConsoleServer } from './console/console-server.js';
import { startConsoleServer } from './console/console-server.js';
import type { Sandbox } from './stack.js';
import { startSandbox } from './stack.js';

export interface SandboxOptions {
  log: Logger;
  print: (line: string) => void;
  /** Use this Redis instead of starting one. */
  redisUrl?: string;
  /** The page's port (default 3210, or any free one when that is taken). */
  port?: number;
  /** Sites in the topology (`--sites N`, default 1). */
  sites?: number;
}

const DEFAULT_PORT = 3210;

async function listenConsole(sandbox: Sandbox, log: Logger, port?: number): Promise<ConsoleServer> {
  if (port !== undefined) return startConsoleServer(sandbox, { port, log });
  try {
    return await startConsoleServer(sandbox, { port: DEFAULT_PORT, log });
  } catch {
    return startConsoleServer(sandbox, { port: 0, log });
  }
}

export async function runSandbox(options: SandboxOptions): Promise<number> {
  const { print, log } = options;
  let sandbox: Sandbox | null = null;
  let page: ConsoleServer | null = null;
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      await page?.close();
      await sandbox?.stop();
    })());

  const signalled = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  // Output piped into something that exits early (`| head`): clean up as for Ctrl-C.
  const outputGone = new Promise<string>((resolve) => process.stdout.once('error', () => resolve('EPIPE')));

  print('Starting the Baton sandbox (about 10 s)…');
  try {
    const starting = startSandbox({
      ...(options.redisUrl && { redisUrl: options.redisUrl }),
      ...(options.sites !== undefined && { sites: options.sites }),
      progress: (line) => print(`  ${line}`),
    }).then((s) => (sandbox = s));
    const first = await Promise.race([starting, signalled, outputGone]);
    if (typeof first === 'string') {
      await starting.catch(() => undefined);
      await stop();
      return 130;
    }
    const started = first;
    page = await listenConsole(started, log, options.port);
    const users = started.users.map((u) => `${u.name} (${u.role})`).join(', ');
    print('');
    for (const note of started.notes) print(`⚠ ${note}`);
    print(`Open ${page.url} — the #${started.channel.name} channel as Slack shows it.`);
    print('');
    print('Try this:');
    print('  1. As dave (on call), type /failover --dry-run: the plan and the preflight, nothing changes.');
    if (started.monitoring) {
      print(
        `  2. Click "Stop east's health endpoint". Prometheus sees it, Alertmanager calls Baton, and a proposal`,
      );
      print('     appears in the channel within about 10 s.');
    } else {
      print(`  2. Click "Stop east's health endpoint", then as dave type /failover east is down.`);
    }
    print(
      '  3. Switch to alice (an approver) and click Approve. Watch each step, DNS and the replicas move.',
    );
    print(
      `  4. Click "Start east's health endpoint" and "Rebuild east's database as a standby", then as dave`,
    );
    print('     type /failback and approve it as bob: traffic comes home with no data lost.');
    if (started.lab.postgres) {
      print(
        `  5. Then the database: "Kill east's database", "Write on east anyway", "Rejoin east as a standby`,
      );
      print('     (no rewind)": fence debt, a measured data loss, a refused failback (see docs/sandbox.md).');
    }
    if (started.lab.topology.sites.length > 1)
      print(
        `  ${started.lab.postgres ? 6 : 5}. ${started.lab.topology.sites.length} sites: as dave, click "Propose /failover --cluster east"` +
          ' (or type it): one message, a live table of every site.',
      );
    print(`  Users: ${users}. mallory's clicks are refused.`);
    print('');
    print(`Baton's log: ${started.baton.logFile}. Stop with Ctrl-C: everything above is removed.`);

    // Baton dying is worth knowing at once; the rest of the sandbox keeps running so the page shows why.
    const batonExited = new Promise<string>((resolve) =>
      started.baton.child.once('exit', (code, signal) => resolve(`baton exited (${code ?? signal})`)),
    );
    const reason = await Promise.race([signalled, outputGone, batonExited]);
    if (reason.startsWith('baton exited')) {
      print(`\n${reason}; its last lines:\n${started.baton.tail(30)}`);
      await stop();
      return 1;
    }
    if (reason !== 'EPIPE') print('\nStopping the sandbox…');
    await stop();
    if (reason !== 'EPIPE') print('Stopped; nothing left running.');
    return reason === 'EPIPE' ? 0 : 130;
  } catch (error) {
    await stop();
    throw error;
  }
}
