import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/slack/parse-command.js';

const SITES = ['production'];
const TWO = ['production', 'staging'];

describe('/failover drill', () => {
  it('reads a proposal with its flags in any order, and the reason', () => {
    expect(
      parseCommand('/failover', 'drill production --at 14:00 --every 7d --hold 45m quarterly', SITES),
    ).toEqual({
      kind: 'drill',
      drill: {
        action: 'propose',
        site: 'production',
        at: '14:00',
        everyMs: 7 * 86_400_000,
        holdMs: 45 * 60_000,
        reason: 'quarterly',
      },
    });
    expect(parseCommand('/failover', 'drill --hold=1h30m --at 2026-12-08T14:00Z', SITES)).toMatchObject({
      drill: { action: 'propose', site: 'production', at: '2026-12-08T14:00Z', holdMs: 90 * 60_000 },
    });
    // Smart punctuation: an em dash before the flag.
    expect(parseCommand('/failover', 'drill \u2014every 1w', SITES)).toMatchObject({
      drill: { everyMs: 7 * 86_400_000 },
    });
  });

  it('reads list and cancel', () => {
    expect(parseCommand('/failover', 'drill list', SITES)).toEqual({
      kind: 'drill',
      drill: { action: 'list' },
    });
    expect(parseCommand('/failover', 'drill cancel D7', SITES)).toEqual({
      kind: 'drill',
      drill: { action: 'cancel', drillId: 'd7' },
    });
  });

  it.each([
    ['drill --every 2h', /--every must be between 1d and 90d; write e.g. --every 7d/],
    ['drill --every 100d', /--every must be between 1d and 90d/],
    ['drill --hold 30s', /--hold must be between 1m and 1d; write e.g. --hold 30m/],
    ['drill --hold soon', /"soon" is not a duration; write e.g. --hold 30m/],
    [
      'drill --at noon',
      /"noon" is not a time; write --at 14:00 \(UTC, next occurrence\) or --at 2026-12-08T14:00Z/,
    ],
    ['drill --at', /--at needs a value, e.g. --at 14:00/],
    ['drill --force', /Unknown flag "--force"; a drill takes --at, --every and --hold/],
    ['drill cancel', /drill cancel needs one drill id, e.g. \/failover drill cancel d3/],
    ['drill cancel r12', /drill cancel needs one drill id/],
    ['drill list now', /drill list takes nothing more/],
  ])('refuses %j and says what to write', (text, error) => {
    const parsed = parseCommand('/failover', text, SITES);
    expect(parsed.kind).toBe('invalid');
    expect(parsed.kind === 'invalid' && parsed.error).toMatch(error);
  });

  it('needs the site when there are several, and belongs to /failover', () => {
    expect(parseCommand('/failover', 'drill --at 14:00', TWO)).toEqual({
      kind: 'invalid',
      error: 'Name the site: /failover drill <site> [--at 14:00]. Sites: production, staging',
    });
    expect(parseCommand('/failover', 'drill staging', TWO)).toMatchObject({ drill: { site: 'staging' } });
    expect(parseCommand('/failback', 'drill production', SITES)).toMatchObject({ kind: 'invalid' });
  });

  it('leaves a proposal whose reason merely mentions a drill alone', () => {
    expect(parseCommand('/failover', 'production drill went wrong', SITES)).toMatchObject({
      kind: 'propose',
      reason: 'drill went wrong',
    });
  });
});
