/**
 * The production CLI carries no test knobs: the simulated world, latency and timing flags belong to the lab's entry
 * point (lab/cli.ts), so an operator cannot start a worker that fails over a world held in Redis.
 */
import { describe, expect, it } from 'vitest';
import { cliEnv, runCli } from '../break-glass/cli-process.js';

describe('baton (the production CLI)', () => {
  it('refuses the lab’s knobs on a role, saying configuration comes from the environment', async () => {
    for (const args of [
      ['worker', '--simulated'],
      ['start', '--latency-ms', '5'],
      ['web', '--pods-ready-ms', '300'],
    ]) {
      const result = await runCli(args, cliEnv('redis://127.0.0.1:1', 'unused'));
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(`baton ${args[0]}: takes no arguments`);
    }
  });

  it('offers neither the sandbox nor the drill: they are the lab’s', async () => {
    const help = await runCli(['help'], cliEnv('redis://127.0.0.1:1', 'unused'));
    expect(help.code).toBe(0);
    expect(help.stdout).not.toMatch(/sandbox|drill|simulated/);
    const sandbox = await runCli(['sandbox'], cliEnv('redis://127.0.0.1:1', 'unused'));
    expect(sandbox.code).toBe(2);
    expect(sandbox.stderr).toContain('unknown command "sandbox"');
  });
});
