/**
 * Tests that need a program a developer's machine may lack. Locally they are skipped, with a warning, when it is
 * missing; in CI (`CI` set, as .ci/run does), which installs everything they need, a missing program is a failure,
 * so a skip can never pass for a green run.
 */
import { it } from 'vitest';

/**
 * Whether the tests of `what` are to be skipped because `missing` (program names; empty when all are there) are not
 * installed: pass it to `describe.skipIf` / `it.skipIf`. In CI it also registers, where it is called, a test that
 * fails naming what is missing. `hint` says how to install them.
 */
export function skipWhenMissing(
  what: string,
  missing: readonly string[],
  hint = '',
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (missing.length === 0) return false;
  const list = missing.join(', ');
  const message = `${what} cannot run: ${list} ${missing.length > 1 ? 'are' : 'is'} not installed${hint && `; ${hint}`}`;
  if (env.CI && env.CI !== 'false') {
    it(`${what}: ${list} installed (required in CI)`, () => {
      throw new Error(`${message}. CI must run these tests, not skip them.`);
    });
  } else {
    console.warn(`Skipping: ${message}`);
  }
  return true;
}
