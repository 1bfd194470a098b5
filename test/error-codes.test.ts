import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../src/error-codes.js';
import { ERROR_CODES, errorHint, messageSaysWhatToDo } from '../src/error-codes.js';
import { BatonError, describeErrorWithHint, hintFor } from '../src/errors.js';
import { buildErrorMessage } from '../src/slack/blocks/ephemeral.js';

const CODES = Object.keys(ERROR_CODES) as ErrorCode[];
const SRC = fileURLToPath(new URL('../src', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/**
 * The string literals in the code argument of every `new BatonError(` / `new SlackApiError(`, and of `super(` in a
 * file with a BatonError subclass (of a ternary, its branches only), with where they are. A cross-check only: the
 * compiler is what refuses an undeclared code.
 */
function thrownCodes(): { code: string; at: string }[] {
  const found: { code: string; at: string }[] = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const call = text.includes('extends BatonError')
      ? /(?:new (?:BatonError|SlackApiError)|super)\(\s*([^,]+),/g
      : /new (?:BatonError|SlackApiError)\(\s*([^,]+),/g;
    for (const match of text.matchAll(call)) {
      const line = text.slice(0, match.index).split('\n').length;
      const argument = match[1] ?? '';
      const branches = argument.includes('?') ? argument.slice(argument.indexOf('?')) : argument;
      for (const literal of branches.matchAll(/'([^']*)'/g))
        found.push({ code: literal[1] ?? '', at: `${file}:${line}` });
    }
  }
  return found;
}

describe('ERROR_CODES', () => {
  it('gives every code a hint: one sentence ending with a period', () => {
    expect(CODES.length).toBeGreaterThan(100);
    for (const code of CODES) {
      const hint = errorHint(code);
      expect(hint.trim(), code).not.toBe('');
      expect(hint, code).toMatch(/^[A-Z`].*\.$/);
      expect(hint, code).not.toContain('\n');
    }
  });

  it('declares every code src throws as a literal', () => {
    const thrown = thrownCodes();
    expect(thrown.length).toBeGreaterThan(100);
    const undeclared = thrown.filter(({ code }) => !Object.hasOwn(ERROR_CODES, code));
    expect(undeclared).toEqual([]);
  });
});

describe('hints shown to a person', () => {
  it('Slack: an error whose message does not say what to do carries its hint', () => {
    const error = new BatonError(
      'illegal-transition',
      'Run r1 is succeeded; it cannot become paused (it is finished)',
    );
    expect(messageSaysWhatToDo('illegal-transition')).toBe(false);
    const message = buildErrorMessage({ action: 'retry run r1', error });
    expect(message.text).toBe(
      '⚠️ Baton could not retry run r1: Run r1 is succeeded; it cannot become paused (it is finished). ' +
        'The run moved on: act on its newest message (`/failover status`).',
    );
  });

  it('Slack: a message that already says what to do is not followed by the hint', () => {
    const error = new BatonError('run-conflict', 'run r1 was changed by someone else; try again', {
      retriable: true,
    });
    const message = buildErrorMessage({ action: 'approve run r1', error });
    expect(message.text).not.toContain(errorHint('run-conflict'));
    expect(message.text).toContain('Try again in a moment.');
  });

  it('CLI: the message, then the hint as a sentence of its own', () => {
    const error = new BatonError('redis-timeout', 'Redis did not answer within 2000 ms', { retriable: true });
    expect(describeErrorWithHint(error)).toBe(
      "Redis did not answer within 2000 ms. Check Redis's health (latency, memory, a failover under way), then try again.",
    );
    expect(hintFor(new BatonError('site-required', 'Name a site: production, staging'))).toBeUndefined();
    expect(describeErrorWithHint(new Error('boom'))).toBe('boom');
  });
});
