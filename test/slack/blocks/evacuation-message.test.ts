import { describe, expect, it } from 'vitest';
import type { Evacuation } from '../../../src/core/evacuation/evacuation.js';
import type { Prewarm } from '../../../src/core/prewarm/prewarm-record.js';
import { evacuationRows } from '../../../src/core/evacuation/evacuation-table.js';
import {
  buildEvacuationMessage,
  buildEvacuationSiteView,
} from '../../../src/slack/blocks/evacuation-message.js';

const at = Date.UTC(2026, 10, 21, 5, 33);
const evacuation: Evacuation = {
  id: 'e4',
  kind: 'failover',
  cluster: 'east',
  reason: 'ClusterDown: east API server unreachable',
  requestedBy: { type: 'alert', id: 'ClusterDown' },
  createdAt: at,
  updatedAt: at,
  expiresAt: at + 15 * 60_000,
  state: 'proposed',
  sites: [
    {
      site: 'production',
      from: 'east',
      to: 'west',
      mode: 'emergency',
      plan: ['preflight', 'fence-source ∥ scale-up-target', 'promote-target-db', 'switch-dns', 'verify'],
      preflight: { at, lagBytes: 0, checks: [{ id: 'target-nodes', status: 'passed', detail: '3 Ready' }] },
    },
    {
      site: 'shop',
      from: 'east',
      to: 'west',
      mode: 'emergency',
      plan: ['preflight', 'fence-source ∥ scale-up-target', 'promote-target-db', 'switch-dns', 'verify'],
      preflight: { at, lagBytes: 0, checks: [{ id: 'target-nodes', status: 'failed', detail: '0 Ready' }] },
    },
    {
      site: 'blog',
      from: 'east',
      to: 'west',
      mode: 'emergency',
      plan: ['preflight', 'fence-source ∥ scale-up-target', 'promote-target-db', 'switch-dns', 'verify'],
      openRun: 'r2',
    },
  ],
  approvals: [],
  trigger: { source: 'alert', alertname: 'ClusterDown', summary: 'east API server unreachable' },
  version: 3,
};

/** West scaled up for production, 3 of 5 pods Ready. */
const warming: Prewarm = {
  cluster: 'west',
  startedAt: at,
  scaledAt: at,
  workloads: { 'default/web': { from: 1, to: 5, ready: 3 } },
  autoscalers: [],
  progress: {},
};

describe('buildEvacuationMessage', () => {
  it('proposes every site in one message: plan, verdicts, decision buttons, a detail button per site', () => {
    const message = buildEvacuationMessage({
      evacuation,
      rows: evacuationRows(evacuation, new Map()),
      approvalsRequired: 1,
      now: at,
    });
    expect(message.text).toContain('production ready, shop not ready, blog open run r2');
    expect(JSON.stringify(message.blocks)).toContain('failed: target-nodes');
    expect(message).toMatchSnapshot();
  });

  it('shows each site’s pre-warm in its row while proposed', () => {
    const message = buildEvacuationMessage({
      evacuation,
      rows: evacuationRows(
        evacuation,
        new Map(),
        new Map([['production', { prewarm: warming, version: 2 }]]),
      ),
      approvalsRequired: 1,
      now: at,
    });
    expect(JSON.stringify(message.blocks)).toMatch(/production [^\\]*ready · warming web 3\/5 Ready/);
    expect(JSON.stringify(message.blocks)).not.toMatch(/shop [^\\]*warm/);
  });

  it('a site’s detail lists its plan and gates', () => {
    const [production] = evacuation.sites;
    if (!production) throw new Error('no site');
    const view = buildEvacuationSiteView({ evacuation, site: production });
    expect(view.type).toBe('modal');
    expect(JSON.stringify(view)).toContain('target-nodes');
    expect(view).toMatchSnapshot();
  });

  it('a site’s detail shows its pre-warm while proposed, and only a give-back once decided', () => {
    const [production] = evacuation.sites;
    if (!production) throw new Error('no site');
    const open = JSON.stringify(buildEvacuationSiteView({ evacuation, site: production, prewarm: warming }));
    expect(open).toContain('Warming west:* web 3/5 Ready');
    const approved = { ...evacuation, state: 'approved' as const };
    expect(
      JSON.stringify(buildEvacuationSiteView({ evacuation: approved, site: production, prewarm: warming })),
    ).not.toMatch(/Warming|Warm on/);
    const given = {
      ...warming,
      released: { at, because: 'rejected' as const, restored: ['default/web 5 → 1'], leftAlone: [] },
    };
    const rejected = { ...evacuation, state: 'rejected' as const };
    expect(
      JSON.stringify(buildEvacuationSiteView({ evacuation: rejected, site: production, prewarm: given })),
    ).toContain('Pre-warm given back on west* (rejected): default/web 5 → 1');
  });
});
