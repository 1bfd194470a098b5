import { describe, expect, it } from 'vitest';
import type { Run } from '../../../src/core/model.js';
import { checkCooldown, DEFAULT_COOLDOWN_MS, lastFailover } from '../../../src/core/policy/cooldown.js';

const MIN = 60_000;
const finishedAt = Date.UTC(2025, 0, 1, 12, 0);
const last = { runId: 'r12', to: 'west', finishedAt };
const base = {
  site: 'production',
  lastFailover: last,
  cooldownMs: DEFAULT_COOLDOWN_MS,
  force: false,
  breakGlassRequired: 2,
};

describe('checkCooldown', () => {
  it('refuses a new failover 3 min after the last one, saying why, for how long and how to override', () => {
    const decision = checkCooldown({ ...base, now: finishedAt + 3 * MIN });
    expect(decision).toEqual({
      ok: false,
      lastFailover: last,
      until: finishedAt + 10 * MIN,
      reason:
        'production failed over to west 3 min ago (run r12); a new failover is refused for 7 more min ' +
        '(cooldown 10 min), so that a flapping alert cannot bounce it between clusters. Failback is not ' +
        'affected: `/failback production`. An approver can override it with break-glass (2 approvals): ' +
        '`/failover production <reason> --force`',
    });
  });

  it('rounds the time left up and the time since down, and says "less than a minute" at first', () => {
    const early = checkCooldown({ ...base, now: finishedAt + 20_000 });
    expect(early.ok ? '' : early.reason).toContain(
      'failed over to west less than a minute ago (run r12); a new failover is refused for 10 more min',
    );
    const late = checkCooldown({ ...base, now: finishedAt + 9 * MIN + 59_000 });
    expect(late.ok ? '' : late.reason).toContain(
      '9 min ago (run r12); a new failover is refused for 1 more min',
    );
  });

  it('allows it once the cooldown has passed, and right at its end', () => {
    expect(checkCooldown({ ...base, now: finishedAt + 10 * MIN })).toEqual({ ok: true });
    expect(checkCooldown({ ...base, now: finishedAt + 60 * MIN })).toEqual({ ok: true });
  });

  it('allows it with --force (break-glass), and when the site never failed over', () => {
    expect(checkCooldown({ ...base, force: true, now: finishedAt + MIN })).toEqual({ ok: true });
    const { lastFailover: _none, ...never } = base;
    expect(checkCooldown({ ...never, now: finishedAt })).toEqual({ ok: true });
  });

  it('shows a cooldown that is not whole minutes as a duration', () => {
    const decision = checkCooldown({ ...base, cooldownMs: 90_000, now: finishedAt + 30_000 });
    expect(decision.ok ? '' : decision.reason).toContain('refused for 1 more min (cooldown 1m30s)');
  });
});

describe('lastFailover', () => {
  const run = (id: string, kind: Run['kind'], state: Run['state'], succeededAt: number): Run =>
    ({
      id,
      kind,
      state,
      to: kind === 'failover' ? 'west' : 'east',
      updatedAt: succeededAt + 5_000,
      timeline: [
        { at: succeededAt - MIN, event: 'running' },
        { at: succeededAt, event: state },
      ],
    }) as unknown as Run; // only the fields lastFailover reads

  it('is the newest succeeded run when it is a failover, finished when it succeeded (not its last save)', () => {
    const history = [
      run('r5', 'failover', 'rejected', finishedAt + 3 * MIN),
      run('r4', 'failover', 'failed', finishedAt + 2 * MIN),
      run('r3', 'failover', 'succeeded', finishedAt),
      run('r2', 'failover', 'succeeded', finishedAt - 30 * MIN),
    ];
    expect(lastFailover(history)).toEqual({ runId: 'r3', to: 'west', finishedAt });
  });

  it('is undefined once a failback has succeeded since: people brought the site home', () => {
    const history = [
      run('r4', 'failback', 'succeeded', finishedAt + 2 * MIN),
      run('r3', 'failover', 'succeeded', finishedAt),
    ];
    expect(lastFailover(history)).toBeUndefined();
  });

  it('is undefined without one', () => {
    expect(lastFailover([run('r1', 'failover', 'failed', finishedAt)])).toBeUndefined();
    expect(lastFailover([])).toBeUndefined();
  });
});
