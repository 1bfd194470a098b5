/**
 * Runs the real `baton` CLI as a child process (node --import tsx src/cli.ts …), as an operator would type it, with
 * only the environment given here: no Slack token and no database URLs.
 */
import { spawn } from 'node:child_process';
import { EXAMPLE_TOPOLOGY } from '../../lab/sandbox/start-lab.js';
import { ROOT } from '../support/integration.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit. */
  ms: number;
}

/** The environment of the roles, minus everything the CLI does not need. */
export function cliEnv(redisUrl: string, prefix: string, extra: Record<string, string> = {}) {
  return {
    PATH: process.env.PATH ?? '',
    REDIS_URL: redisUrl,
    BATON_CONFIG: EXAMPLE_TOPOLOGY,
    BATON_KEY_PREFIX: prefix,
    ...extra,
  };
}

export function runCli(args: string[], env: Record<string, string>, timeoutMs = 40_000): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`baton ${args.join(' ')} did not exit within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}
