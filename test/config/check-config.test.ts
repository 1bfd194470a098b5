import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCheckConfig } from '../../src/config/check-config.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/topology/${name}`, import.meta.url));
const env = {
  EAST_DATABASE_URL: 'postgres://baton@east-db/app',
  WEST_DATABASE_URL: 'postgres://baton@west-db/app',
};

async function run(args: string[], environment: Record<string, string | undefined> = env) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runCheckConfig(args, environment, {
    log: (line) => stdout.push(line),
    error: (line) => stderr.push(line),
  });
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}

describe('runCheckConfig', () => {
  it('prints a summary of a valid file and returns 0', async () => {
    const { code, stdout, stderr } = await run([fixture('example.yaml')]);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain(`${fixture('example.yaml')}: OK, 1 site`);
    expect(stdout).toContain('site production');
    expect(stdout).toContain('cluster east (home): context active-cluster');
    expect(stdout).toContain('cluster west: context passive-cluster');
    expect(stdout).toContain('workload default/Deployment/web: 5 serving, 1 standby');
    expect(stdout).toContain('dns: route53 A app.example.com in Z1234567890ABC, failover-records');
    expect(stdout).toContain('database: postgresql, promotion sql, max lag 1 MiB');
    expect(stdout).toContain('approvals: 1 of users U0ALICE, U0BOB and groups S0SRE');
    expect(stdout.split('\n').length).toBeLessThan(25);
  });

  it('lists every problem of an invalid file and returns 1', async () => {
    const file = fixture('bad/several-problems.yaml');
    const { code, stdout, stderr } = await run([file]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.split('\n');
    expect(lines[0]).toBe(`${file}: 4 problems`);
    expect(
      lines
        .slice(1)
        .map((line) => line.trim())
        .sort(),
    ).toEqual(
      [
        'slack.incidentChannel: must be a Slack channel id (C… or G…), not a #name',
        'approvals.expiresAfter: "15 minutes" is not a duration: use a number and a unit (ms, s, m, h), e.g. 90s, 15m or 1h30m',
        'sites[0].dns.hostedZoneId: required',
        `sites[0].homeCluster: "north" is not one of the site's clusters (east, west)`,
      ].sort(),
    );
  });

  it('defaults to BATON_CONFIG, then ./baton.yaml', async () => {
    const fromEnv = await run([], { ...env, BATON_CONFIG: fixture('example.yaml') });
    expect(fromEnv.code).toBe(0);
    const missing = await run([], {});
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      './baton.yaml: 1 problem\n  ./baton.yaml: file not found (pass the path, or set BATON_CONFIG)',
    );
  });

  it('--json prints { ok, file, problems }', async () => {
    const good = await run(['--json', fixture('example.yaml')]);
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout)).toEqual({ ok: true, file: fixture('example.yaml'), problems: [] });
    const bad = await run([fixture('example.yaml'), '--json'], {});
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toEqual({
      ok: false,
      file: fixture('example.yaml'),
      problems: [
        'sites[0].database.east.urlEnv: environment variable EAST_DATABASE_URL is not set',
        'sites[0].database.west.urlEnv: environment variable WEST_DATABASE_URL is not set',
      ],
    });
  });

  it('--skip-env lints a file without the database variables', async () => {
    expect((await run([fixture('example.yaml'), '--skip-env'], {})).code).toBe(0);
  });

  it('returns 2 on a usage error', async () => {
    expect((await run(['--frobnicate'])).code).toBe(2);
    expect((await run(['a.yaml', 'b.yaml'])).code).toBe(2);
  });
});

describe('baton check-config (a real process)', () => {
  const execFileAsync = promisify(execFile);
  const baton = (args: string[]) =>
    execFileAsync(process.execPath, ['bin/baton.js', 'check-config', ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env, BATON_CONFIG: '' },
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({
        code: error.code,
        stdout: error.stdout ?? '',
        stderr: error.stderr ?? '',
      }),
    );

  it('exits 0 with a summary for the example', async () => {
    const result = await baton([fixture('example.yaml')]);
    expect(result.stderr).not.toContain('Error');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('site production');
    expect(result.stdout).toContain('cluster east (home)');
  });

  it('exits 1 listing every problem for a bad file', async () => {
    const result = await baton([fixture('bad/several-problems.yaml')]);
    expect(result.code).toBe(1);
    const output = result.stdout + result.stderr;
    expect(output).toContain('4 problems');
    expect(output).toContain('sites[0].dns.hostedZoneId: required');
    expect(output).toContain(`sites[0].homeCluster: "north" is not one of the site's clusters (east, west)`);
  });
});
