/**
 * The readiness notices and `/failover readiness` view: short, exact lines for an incident commander.
 */
import { describe, expect, it } from 'vitest';
import type { ReadinessEvaluation } from '../../../src/core/readiness/readiness-types.js';
import { buildReadinessNotice, buildReadinessView } from '../../../src/slack/blocks/readiness-view.js';

const HOUR = 3600_000;
const AT = Date.UTC(2026, 0, 5, 3, 0, 0);

function evaluation(overrides: Partial<ReadinessEvaluation> = {}): ReadinessEvaluation {
  return {
    site: 'production',
    at: AT,
    durationMs: 850,
    from: 'east',
    to: 'west',
    ready: false,
    checks: [
      { id: 'target-nodes', status: 'passed', detail: 'west: 3 nodes Ready (need 3)' },
      {
        id: 'target-database',
        status: 'failed',
        detail: 'west: standby streaming from east, 3.2 MiB behind (limit 1 MiB)',
      },
      { id: 'source-health', status: 'warning', detail: 'east health URL down (HTTP 503)' },
    ],
    problems: ['west lag 3.2 MiB > 1 MiB'],
    ...overrides,
  };
}

describe('buildReadinessNotice', () => {
  it('says what is wrong and what to do when a site turns red', () => {
    const message = buildReadinessNotice({ kind: 'unready', evaluation: evaluation(), homeCluster: 'east' });
    expect(message.text).toBe(
      '🔴 production is not ready to fail over: west lag 3.2 MiB &gt; 1 MiB\n' +
        'Fix it before it is needed; `/failover readiness production` shows every check.',
    );
  });

  it('names the failback when the site is served away from home', () => {
    const message = buildReadinessNotice({
      kind: 'unready',
      evaluation: evaluation({ from: 'west', to: 'east', problems: ['east: 0 nodes Ready, need 3'] }),
      homeCluster: 'east',
    });
    expect(message.text).toMatch(
      /^🔴 production is not ready to fail back to east: east: 0 nodes Ready, need 3\n/,
    );
  });

  it('reminds with how long it has been red', () => {
    const message = buildReadinessNotice({
      kind: 'reminder',
      evaluation: evaluation(),
      homeCluster: 'east',
      redSince: AT - 24 * HOUR,
    });
    expect(message.text).toMatch(
      /^🔴 production is still not ready to fail over for 24 h 0 m \(since <!date\^\d+\^\{date_short_pretty\} \{time\}\|2026-01-04T03:00:00Z>\): west lag/,
    );
  });

  it('keeps the channel line short: three problems, then how many more', () => {
    const problems = ['a', 'b', 'c', 'd', 'e'];
    const message = buildReadinessNotice({
      kind: 'unready',
      evaluation: evaluation({ problems }),
      homeCluster: 'east',
    });
    expect(message.text.split('\n')[0]).toBe('🔴 production is not ready to fail over: a; b; c; and 2 more');
  });

  it('says once when the site is ready again, and after how long', () => {
    const ready = evaluation({
      ready: true,
      problems: [],
      checks: [{ id: 'dns', status: 'passed', detail: 'ok' }],
    });
    const message = buildReadinessNotice({
      kind: 'recovered',
      evaluation: ready,
      homeCluster: 'east',
      redSince: AT - 2 * HOUR - 5 * 60_000,
    });
    expect(message.text).toBe(
      '🟢 production is ready to fail over again (after 2 h 5 m not ready; its one check passes)',
    );
  });
});

describe('buildReadinessView', () => {
  it('lists failed checks first, then warnings, and counts the passed ones', () => {
    const message = buildReadinessView({
      now: AT + 90_000,
      sites: [
        {
          site: 'production',
          homeCluster: 'east',
          evaluation: evaluation(),
          intervalMs: 600_000,
          nextDueAt: AT + 600_000,
        },
      ],
    });
    const lines = message.text.split('\n');
    expect(lines.slice(1)).toEqual([
      '✗ target-database: west: standby streaming from east, 3.2 MiB behind (limit 1 MiB)',
      '⚠ source-health: east health URL down (HTTP 503)',
      '1 of 3 checks passed.',
    ]);
    expect(lines[0]).toContain('evaluated 1 m 30 s ago');
  });

  it('says an evaluation is overdue when no worker has evaluated the site for an interval', () => {
    const message = buildReadinessView({
      now: AT + 3 * 600_000,
      sites: [
        {
          site: 'production',
          homeCluster: 'east',
          evaluation: evaluation(),
          intervalMs: 600_000,
          nextDueAt: AT + 600_000,
        },
      ],
    });
    expect(message.text).toContain('overdue — is a Baton worker running?');
  });
});
