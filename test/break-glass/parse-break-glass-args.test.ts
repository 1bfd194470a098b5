import { describe, expect, it } from 'vitest';
import type { BreakGlassCommand } from '../../src/break-glass/parse-break-glass-args.js';
import { UsageError, parseBreakGlassArgs } from '../../src/break-glass/parse-break-glass-args.js';

const usageError = (command: BreakGlassCommand, args: string[]): string => {
  try {
    parseBreakGlassArgs(command, args);
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  throw new Error(`baton ${command} ${args.join(' ')} parsed without a usage error`);
};

describe('break-glass arguments', () => {
  it('status: an optional site, --json and how many recent runs', () => {
    expect(parseBreakGlassArgs('status', [])).toEqual({ command: 'status', json: false, runs: 5 });
    expect(parseBreakGlassArgs('status', ['production', '--json', '--runs', '2'])).toEqual({
      command: 'status',
      site: 'production',
      json: true,
      runs: 2,
    });
    expect(usageError('status', ['a', 'b'])).toMatch(/at most one site/);
    expect(usageError('status', ['--runs', 'many'])).toMatch(/--runs takes 0 to 100/);
  });

  it('plan: the kind is optional and comes first; failback is always planned and never forced', () => {
    expect(parseBreakGlassArgs('plan', ['production'])).toMatchObject({
      kind: 'failover',
      site: 'production',
      planned: false,
      waitMs: 15_000,
    });
    expect(parseBreakGlassArgs('plan', ['failback', '--wait', '0'])).toMatchObject({
      kind: 'failback',
      planned: true,
      waitMs: 0,
    });
    expect(parseBreakGlassArgs('plan', ['failover', 'production', '--planned', '--force'])).toMatchObject({
      planned: true,
      force: true,
    });
    expect(usageError('plan', ['failback', '--force'])).toMatch(/does not apply to failback/);
    expect(usageError('plan', ['production', 'failover'])).toMatch(/the kind comes first/);
    expect(usageError('plan', ['--wait', 'soon'])).toMatch(/--wait takes seconds from 0 to 600/);
  });

  it('propose: needs the kind and --as; --planned and --force exclude each other', () => {
    expect(
      parseBreakGlassArgs('propose', [
        'failover',
        'production',
        '--as',
        'u0alice',
        '--reason',
        ' ActiveClusterDown ',
      ]),
    ).toEqual({
      command: 'propose',
      kind: 'failover',
      site: 'production',
      as: 'U0ALICE',
      planned: false,
      force: false,
      reason: 'ActiveClusterDown',
      waitMs: 10_000,
    });
    expect(parseBreakGlassArgs('propose', ['failover', '--as', 'U0BOB'])).toMatchObject({
      reason: 'proposed from the break-glass CLI',
    });
    expect(usageError('propose', ['production', '--as', 'U0ALICE'])).toMatch(
      /failover or failback, got "production"/,
    );
    expect(usageError('propose', ['failover'])).toMatch(/needs --as USER/);
    expect(usageError('propose', ['failover', '--as', 'U0ALICE', '--planned', '--force'])).toMatch(
      /exclude each other/,
    );
    expect(usageError('propose', ['failover', '--as', 'alice smith'])).toMatch(/Slack user id/);
  });

  it('run actions: one run id and --as; reject alone takes a reason', () => {
    expect(parseBreakGlassArgs('approve', ['r12', '--as', 'U0BOB'])).toEqual({
      command: 'approve',
      runId: 'r12',
      as: 'U0BOB',
    });
    expect(parseBreakGlassArgs('reject', ['r12', '--as', 'U0BOB', '--reason', 'wrong site'])).toEqual({
      command: 'reject',
      runId: 'r12',
      as: 'U0BOB',
      reason: 'wrong site',
    });
    expect(usageError('approve', ['--as', 'U0BOB'])).toMatch(/one run id/);
    expect(usageError('approve', ['r1', 'r2', '--as', 'U0BOB'])).toMatch(/one run id \(e\.g\. r12\), got 2/);
    expect(usageError('approve', ['r1', '--as', 'U0BOB', '--force'])).toBe('approve does not take --force');
    expect(usageError('retry', ['r1', '--as', 'U0BOB', '--reason', 'x'])).toBe(
      'retry does not take --reason',
    );
    expect(usageError('abort', ['r1', '--frobnicate'])).toMatch(/frobnicate/);
  });

  it('republish: any number of run ids', () => {
    expect(parseBreakGlassArgs('republish', [])).toEqual({ command: 'republish', runIds: [] });
    expect(parseBreakGlassArgs('republish', ['r1', 'r2'])).toEqual({
      command: 'republish',
      runIds: ['r1', 'r2'],
    });
  });
});
