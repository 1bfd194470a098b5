import { describe, expect, it } from 'vitest';
import type { ParsedCommand } from '../../src/slack/parse-command.js';
import { MAX_REASON_LENGTH, decodeSlackText, parseCommand } from '../../src/slack/parse-command.js';

const ONE = ['production'];
const TWO = ['production', 'payments'];
const NO_FLAGS = { dryRun: false, planned: false, force: false };

/** The error of an invalid parse; fails the test for anything else. */
function errorOf(result: ParsedCommand): string {
  if (result.kind !== 'invalid') throw new Error(`expected invalid, got ${JSON.stringify(result)}`);
  return result.error;
}

describe('parseCommand: proposals', () => {
  it('proposes a failover of the only site with the words as the reason', () => {
    expect(parseCommand('/failover', 'active cluster down since 02:50', ONE)).toEqual({
      kind: 'propose',
      runKind: 'failover',
      site: 'production',
      reason: 'active cluster down since 02:50',
      flags: NO_FLAGS,
    });
  });

  it('takes the site from the first word when it names one', () => {
    expect(parseCommand('/failover', 'production east is down', ONE)).toMatchObject({
      site: 'production',
      reason: 'east is down',
    });
    expect(parseCommand('/failover', 'payments   east\n is down ', TWO)).toMatchObject({
      site: 'payments',
      reason: 'east is down',
    });
  });

  it('matches the site and sub-commands case-insensitively', () => {
    expect(parseCommand('/failover', 'Payments db down', TWO)).toMatchObject({
      kind: 'propose',
      site: 'payments',
    });
    expect(parseCommand('/failover', 'STATUS', TWO)).toEqual({ kind: 'status' });
  });

  it('accepts an empty reason (DESIGN §2: the reason is optional)', () => {
    expect(parseCommand('/failover', '   ', ONE)).toMatchObject({
      kind: 'propose',
      site: 'production',
      reason: '',
    });
  });

  it('needs a site when there are several, and lists them', () => {
    expect(errorOf(parseCommand('/failover', '', TWO))).toBe(
      'Name the site first: /failover <site> <reason>. Sites: production, payments',
    );
    expect(errorOf(parseCommand('/failover', 'db is down', TWO))).toBe(
      'Unknown site "db"; start with one of: production, payments',
    );
    expect(errorOf(parseCommand('/failback', '--planned', TWO))).toContain('Sites: production, payments');
  });

  it('reads flags anywhere and combines them', () => {
    expect(parseCommand('/failover', '--dry-run production --planned rehearsal --force now', ONE)).toEqual({
      kind: 'propose',
      runKind: 'failover',
      site: 'production',
      reason: 'rehearsal now',
      flags: { dryRun: true, planned: true, force: true },
    });
    expect(parseCommand('/failover', 'payments --FORCE it is on fire', TWO)).toMatchObject({
      site: 'payments',
      reason: 'it is on fire',
      flags: { force: true },
    });
  });

  it('takes the dashes that smart punctuation makes of --', () => {
    expect(parseCommand('/failover', '\u2014force \u2013dry-run east down', ONE)).toMatchObject({
      reason: 'east down',
      flags: { force: true, dryRun: true },
    });
  });

  it('stops reading flags after a bare --', () => {
    expect(parseCommand('/failover', '--planned -- testing --force handling', ONE)).toMatchObject({
      reason: 'testing --force handling',
      flags: { planned: true, force: false },
    });
  });

  it('refuses unknown flags, short flags stay part of the reason', () => {
    expect(errorOf(parseCommand('/failover', 'db down --fast', ONE))).toBe(
      'Unknown flag "--fast"; the flags are --dry-run, --planned and --force',
    );
    expect(errorOf(parseCommand('/failover', '--dry_run', ONE))).toContain('Unknown flag "--dry_run"');
    expect(parseCommand('/failover', 'lag -5 s', ONE)).toMatchObject({ kind: 'propose', reason: 'lag -5 s' });
  });

  it('refuses --force with /failback, and takes --planned there as redundant', () => {
    expect(errorOf(parseCommand('/failback', '--force east is back', ONE))).toBe(
      '--force does not apply to /failback: failback is always the planned, zero-data-loss path',
    );
    const plain = parseCommand('/failback', 'east is back', ONE);
    expect(plain).toEqual({
      kind: 'propose',
      runKind: 'failback',
      site: 'production',
      reason: 'east is back',
      flags: { dryRun: false, planned: true, force: false },
    });
    expect(parseCommand('/failback', '--planned east is back', ONE)).toEqual(plain);
    expect(parseCommand('/failback', 'production --dry-run', ONE)).toMatchObject({
      flags: { dryRun: true, planned: true, force: false },
    });
  });

  it(`caps the reason at ${MAX_REASON_LENGTH} characters with …`, () => {
    const result = parseCommand('/failover', 'x'.repeat(10_000), ONE);
    if (result.kind !== 'propose') throw new Error(result.kind);
    expect(result.reason).toHaveLength(MAX_REASON_LENGTH);
    expect(result.reason.endsWith('…')).toBe(true);
    const exact = parseCommand('/failover', 'y'.repeat(MAX_REASON_LENGTH), ONE);
    expect(exact).toMatchObject({ reason: 'y'.repeat(MAX_REASON_LENGTH) });
  });

  it('never cuts an emoji in half when capping the reason', () => {
    const result = parseCommand('/failover', `${'a'.repeat(498)}🔥🔥`, ONE);
    if (result.kind !== 'propose') throw new Error(result.kind);
    expect(result.reason).toBe(`${'a'.repeat(498)}…`);
  });

  it("decodes Slack's escaping in the reason", () => {
    expect(
      parseCommand(
        '/failover',
        'production <@U0ALICE|alice> saw 5xx &amp; timeouts in <#C0INC|incidents>, p99 &gt; 2s &lt;see <https://grafana.example.com/d/x?a=1&amp;b=2|dashboard>&gt;',
        ONE,
      ),
    ).toMatchObject({
      reason:
        '@alice saw 5xx & timeouts in #incidents, p99 > 2s <see dashboard (https://grafana.example.com/d/x?a=1&b=2)>',
    });
  });
});

describe('parseCommand: read-only sub-commands', () => {
  it('status: every site, or one', () => {
    expect(parseCommand('/failover', 'status', TWO)).toEqual({ kind: 'status' });
    expect(parseCommand('/failover', 'status payments', TWO)).toEqual({ kind: 'status', site: 'payments' });
    expect(parseCommand('/failback', 'status', ONE)).toEqual({ kind: 'status' });
    expect(errorOf(parseCommand('/failover', 'status staging', TWO))).toBe(
      'Unknown site "staging"; sites: production, payments',
    );
    expect(errorOf(parseCommand('/failover', 'status production extra', TWO))).toBe(
      'status takes at most a site name, e.g. status production',
    );
  });

  it('readiness: every site, or one', () => {
    expect(parseCommand('/failover', 'readiness', TWO)).toEqual({ kind: 'readiness' });
    expect(parseCommand('/failover', 'Readiness payments', TWO)).toEqual({
      kind: 'readiness',
      site: 'payments',
    });
    expect(errorOf(parseCommand('/failover', 'readiness staging', TWO))).toBe(
      'Unknown site "staging"; sites: production, payments',
    );
    expect(errorOf(parseCommand('/failover', 'readiness --force', TWO))).toBe(
      '--force does not apply to readiness; flags belong to a proposal',
    );
  });

  it('history: the only site by default; with several it must be named', () => {
    expect(parseCommand('/failover', 'history', ONE)).toEqual({ kind: 'history', site: 'production' });
    expect(parseCommand('/failback', 'history payments', TWO)).toEqual({ kind: 'history', site: 'payments' });
    expect(errorOf(parseCommand('/failover', 'history', TWO))).toBe(
      'history needs a site: history <site>. Sites: production, payments',
    );
  });

  it('plan: of the command that asked, --planned previews the switchover', () => {
    expect(parseCommand('/failover', 'plan', ONE)).toEqual({
      kind: 'plan',
      site: 'production',
      runKind: 'failover',
      planned: false,
    });
    expect(parseCommand('/failover', 'plan --planned payments', TWO)).toEqual({
      kind: 'plan',
      site: 'payments',
      runKind: 'failover',
      planned: true,
    });
    expect(parseCommand('/failback', 'plan', ONE)).toEqual({
      kind: 'plan',
      site: 'production',
      runKind: 'failback',
      planned: true,
    });
    expect(errorOf(parseCommand('/failover', 'plan --force', ONE))).toBe(
      '--force does not apply to plan (plan takes only --planned)',
    );
  });

  it('refuses proposal flags on status, history and cancel', () => {
    expect(errorOf(parseCommand('/failover', 'status --dry-run', ONE))).toBe(
      '--dry-run does not apply to status; flags belong to a proposal',
    );
    expect(errorOf(parseCommand('/failover', '--force history', ONE))).toContain('does not apply to history');
    expect(errorOf(parseCommand('/failover', 'cancel r1 --planned', ONE))).toContain(
      'does not apply to cancel',
    );
  });

  it('cancel: run ids with or without the r, normalized to the store form', () => {
    expect(parseCommand('/failover', 'cancel r12', ONE)).toEqual({ kind: 'cancel', runId: 'r12' });
    expect(parseCommand('/failover', 'cancel 12', ONE)).toEqual({ kind: 'cancel', runId: 'r12' });
    expect(parseCommand('/failback', 'cancel R012', ONE)).toEqual({ kind: 'cancel', runId: 'r12' });
    expect(errorOf(parseCommand('/failover', 'cancel', ONE))).toBe(
      'cancel needs one run id, e.g. cancel r12 (see history)',
    );
    expect(errorOf(parseCommand('/failover', 'cancel r12 r13', ONE))).toContain('cancel needs one run id');
    for (const bad of ['r0', 'run12', 'r-1', 'r1.5', 'r12345678901234567']) {
      expect(errorOf(parseCommand('/failover', `cancel ${bad}`, ONE))).toBe(
        `"${bad}" is not a run id; run ids look like r12 (see history)`,
      );
    }
  });

  it('help: the word, the flag, with either command', () => {
    expect(parseCommand('/failover', 'help', ONE)).toEqual({ kind: 'help' });
    expect(parseCommand('/failback', 'help me', TWO)).toEqual({ kind: 'help' });
    expect(parseCommand('/failover', 'production --help', ONE)).toEqual({ kind: 'help' });
  });

  it('a sub-command word later in the text is part of a reason', () => {
    expect(parseCommand('/failover', 'production status page is red', ONE)).toMatchObject({
      kind: 'propose',
      reason: 'status page is red',
    });
  });

  it('refuses when no sites are configured and for an unknown command', () => {
    expect(errorOf(parseCommand('/failover', 'status', []))).toContain('No sites are configured');
    expect(errorOf(parseCommand('/deploy' as '/failover', 'x', ONE))).toBe(
      'Baton does not know the command "/deploy"; use /failover or /failback',
    );
  });

  it('keeps quoted user words short in errors', () => {
    const error = errorOf(parseCommand('/failover', `status ${'s'.repeat(300)}`, TWO));
    expect(error.length).toBeLessThan(100);
  });
});

describe('decodeSlackText', () => {
  it.each([
    ['<@U123>', '@U123'],
    ['<@U123|alice>', '@alice'],
    ['<#C1>', '#C1'],
    ['<#C1|incidents>', '#incidents'],
    ['<!here>', '@here'],
    ['<!channel|@channel>', '@channel'],
    ['<!subteam^S0SRE|@sre>', '@sre'],
    ['<!subteam^S0SRE>', '@S0SRE'],
    ['<https://example.com>', 'https://example.com'],
    ['<https://example.com|https://example.com>', 'https://example.com'],
    ['<mailto:a@example.com|a@example.com>', 'a@example.com (mailto:a@example.com)'],
    ['&amp;lt; stays literal', '&lt; stays literal'],
    ['a &lt;b&gt; &amp; c', 'a <b> & c'],
  ])('%s → %s', (raw, decoded) => {
    expect(decodeSlackText(raw)).toBe(decoded);
  });
});
