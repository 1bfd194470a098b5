/**
 * scripts/system-packages.sh, which `npm run sandbox` and `npm run check` run first: it names exactly the Debian
 * packages whose programs are missing, per profile, and refuses an unknown profile. BATON_PACKAGES_DRY_RUN stops it
 * before apt-get, so the test installs nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = new URL('../../scripts/system-packages.sh', import.meta.url).pathname;
const empty = mkdtempSync(join(tmpdir(), 'baton-path-'));
// Only what the script itself runs: the programs it looks for are absent from this PATH.
for (const tool of ['id']) symlinkSync(`/usr/bin/${tool}`, join(empty, tool));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

function run(profile: string, path = empty) {
  const result = spawnSync('/bin/bash', [SCRIPT, profile], {
    env: { PATH: path, BATON_PACKAGES_DRY_RUN: '1' },
    encoding: 'utf8',
  });
  return { code: result.status, stderr: result.stderr };
}

describe('system-packages.sh', () => {
  it('names what the sandbox needs, and the tests need more', () => {
    const sandbox = run('sandbox');
    expect(sandbox.code).toBe(0);
    const named = (text: string) => /would install (.*)/.exec(text)?.[1]?.split(' ') ?? [];
    const postgres = named(sandbox.stderr).includes('postgresql') ? ['postgresql'] : [];
    expect(named(sandbox.stderr)).toEqual([
      'redis-server',
      ...postgres,
      'prometheus',
      'prometheus-alertmanager',
    ]);
    const test = run('test');
    expect(named(test.stderr)).toEqual([
      ...named(sandbox.stderr),
      'redis-tools',
      'chromium',
      'bind9-dnsutils',
    ]);
  });

  // In CI, `npm run check` has installed them all before the tests start.
  it.runIf(process.env.CI)('says nothing when everything is there', () => {
    const full = run('test', process.env.PATH ?? '');
    expect(full).toEqual({ code: 0, stderr: '' });
  });

  it('refuses an unknown profile', () => {
    const wrong = run('everything');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('usage:');
  });
});
