/**
 * Baton as a real `baton start` process (web and worker) for the sandbox and drills, configured only through its
 * environment: started and waited for until it is ready, its output kept in a log file and a short tail, and
 * stopped with SIGTERM (SIGKILL if it hangs).
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface BatonProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  url: string;
  eventsUrl: string;
  /** Its pino log (JSON lines). */
  logFile: string;
  /** The last lines it printed. */
  tail(lines?: number): string;
}

/** Starts Baton with exactly `env` on `port`; resolves once /readyz answers and its worker is ready. */
export function startBaton(
  env: Record<string, string>,
  port: number,
  logFile: string,
): Promise<BatonProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'lab/cli.ts'),
      'start',
      '--doctor',
      '--poll-ms',
      '250',
      '--drill-every-ms',
      '1000',
    ],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const file = createWriteStream(logFile);
  let recent: string[] = [];
  const collect = (chunk: Buffer) => {
    file.write(chunk);
    recent = [...recent, ...chunk.toString().split('\n').filter(Boolean)].slice(-200);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  child.once('exit', () => file.end());
  const url = `http://127.0.0.1:${port}`;
  const baton: BatonProcess = {
    child,
    url,
    eventsUrl: `${url}/slack/events`,
    logFile,
    tail: (lines = 20) => recent.slice(-lines).join('\n'),
  };
  return (async () => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`Baton exited ${child.exitCode}:\n${baton.tail()}`);
      const ready = await fetch(`${url}/readyz`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ready && recent.some((line) => line.includes('worker ready'))) return baton;
      if (Date.now() > deadline) throw new Error(`Baton not ready after 60 s:\n${baton.tail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
}

/** SIGTERM, then SIGKILL after `timeoutMs`; resolves when the process has exited. */
export async function stopChild(child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}
