import { describe, expect, it } from 'vitest';
import type { Run } from '../../../src/core/model.js';
import { read, unreadable } from '../../../src/core/reading.js';
import { buildPlan } from '../../../src/core/plans/build-plan.js';
import { buildHistoryView, buildPlanView, buildStatusView } from '../../../src/slack/blocks/views.js';
import { exampleSite } from '../../support/core-fixtures.js';
import {
  BOB,
  abortedRun,
  at,
  move,
  pausedAfterPromotion,
  proposal,
  step,
  succeededRun,
} from './run-fixtures.js';

/** Every block as JSON, one per line (newlines inside texts stay escaped as \\n). */
const texts = (message: { blocks: { type: string }[] }): string =>
  message.blocks.map((b) => JSON.stringify(b)).join('\n');

describe('buildStatusView', () => {
  it('shows when Route 53 could send users by itself to a side whose database takes no writes', () => {
    const exposure =
      "if west's health check hc-west fails, Route 53 sends users to east on its own (its database is a fenced primary)";
    const message = buildStatusView({
      sites: [
        {
          site: 'production',
          servingPerBaton: 'west',
          truth: { route53: read('west'), databasePrimary: read('west'), unreadable: [], exposure },
        },
      ],
    });
    expect(texts(message)).toContain(`⚠️ ${exposure}`);
  });

  it('shows Baton, Route 53 and PostgreSQL side by side, a disagreement and the open run', () => {
    const message = buildStatusView({
      sites: [
        {
          site: 'production',
          servingPerBaton: 'east',
          truth: {
            route53: read('west'),
            databasePrimary: read('west'),
            unreadable: [],
            disagreement: 'Baton says east serves, Route 53 points at west — check before acting',
          },
          openRun: pausedAfterPromotion(),
        },
        {
          site: 'payments',
          servingPerBaton: 'east',
          truth: {
            route53: read('east'),
            databasePrimary: unreadable('east could not be read'),
            unreadable: ['east database: connection refused'],
          },
        },
        { site: 'billing', servingPerBaton: 'east' },
      ],
    });
    expect(message).toMatchSnapshot();
    const body = texts(message);
    expect(body).toContain(
      '*production* — serving: *east* per Baton · *west* per Route 53 · database primary: *west*',
    );
    expect(body).toContain('⚠️ Baton says east serves, Route 53 points at west — check before acting');
    expect(body).toContain(
      'Open run `r1`: EMERGENCY failover east → west, *paused* at Switch app.example.com to west',
    );
    expect(body).toContain(
      '*payments* — serving: *east* per Baton · *east* per Route 53 · database primary: _unreadable_',
    );
    expect(body).toContain('❓ Could not read east database: connection refused');
    expect(body).toContain('*billing* — serving: *east* per Baton · Route 53 and PostgreSQL: _reading…_');
    expect(body).not.toContain('unknown');
    expect(body).toContain('No open run.');
    expect(message.text).toBe(
      'production: west serves (disagreement!), run r1 paused; payments: east serves (could not read east database); billing: east serves',
    );
  });

  it('says how long an open run has been paused', () => {
    const run = pausedAfterPromotion(); // paused at +150 s
    const pausedAt = run.updatedAt;
    const message = buildStatusView({
      sites: [{ site: 'production', servingPerBaton: 'east', openRun: run }],
      now: pausedAt + 45 * 60_000 + 20_000,
    });
    expect(texts(message)).toContain(
      'Open run `r1`: EMERGENCY failover east → west, *paused* for 45 min at Switch app.example.com to west',
    );
    expect(message.text).toBe('production: east serves, run r1 paused for 45 min');
    const later = buildStatusView({
      sites: [{ site: 'production', servingPerBaton: 'east', openRun: run }],
      now: pausedAt + 2 * 3600_000 + 5 * 60_000,
    });
    expect(later.text).toBe('production: east serves, run r1 paused for 2 h 5 min');
  });

  it('no sites', () => {
    expect(buildStatusView({ sites: [] }).text).toBe('Baton status: no sites');
  });
});

describe('buildHistoryView', () => {
  const runAt = (run: Run, id: string, minutes: number): Run => ({
    ...run,
    id,
    createdAt: run.createdAt + minutes * 60_000,
  });

  it('one line per run, newest first: id, kind, state, who, when, duration', () => {
    const alerted: Run = {
      ...succeededRun(),
      trigger: { source: 'alert', alertname: 'ProductionDown', firedAt: at(-300) },
    };
    const runs = [
      runAt(alerted, 'r1', 0),
      runAt(abortedRun(), 'r2', 60),
      runAt(move(proposal(), 'rejected', 30, BOB, 'rejected'), 'r3', 120),
      runAt(pausedAfterPromotion(), 'r4', 180),
    ];
    const message = buildHistoryView({ site: 'production', runs });
    expect(message).toMatchSnapshot();
    const lines = texts(message).split('\\n');
    expect(lines[0]).toContain('`r4` EMERGENCY failover east → west · ⏸️ paused · <@U0CAROL>');
    expect(lines[0]).toContain('· open');
    expect(lines.find((l) => l.includes('`r1`'))).toContain('✅ succeeded · <@U0CAROL> · <!date^1700000000^');
    // Approved at +60 s, verified at +140 s; the alert fired at −300 s; the promotion proved no loss.
    expect(lines.find((l) => l.includes('`r1`'))).toContain(
      'took 1 m 20 s · RTO 1 m 20 s (alert 7 m 20 s) · RPO 0 B (proved)',
    );
    // Paused after the promotion: its RPO, no RTO yet. Aborted before it: neither.
    expect(lines[0]).toMatch(/· open · RPO 0 B \(proved\)"?$/);
    expect(lines.find((l) => l.includes('`r2`'))).toMatch(/took 11 m 13 s"?$/);
    expect(texts(message)).toContain('RTO: last approval → verified (alert → verified)');
    expect(lines.find((l) => l.includes('`r3`'))).toContain('did not run');
    expect(message.text).toBe('History of production: 4 runs, newest r4 paused.');
  });

  it('a succeeded run whose verify was skipped proved no RTO; a loss is flagged', () => {
    const lost = { kind: 'lost', bytes: 2048, transactions: 3, detail: '3 transactions committed on east' };
    let run = step(succeededRun(), 'verify', { status: 'skipped', skippedBy: BOB, output: { rpo: lost } });
    run = { ...run, id: 'r7' };
    const message = buildHistoryView({ site: 'production', runs: [run] });
    expect(texts(message)).toContain('took 1 m 20 s · RTO unproved (verify skipped) · RPO 🚨 LOST 2 KiB');
  });

  it('keeps the newest 10 and says how many are older', () => {
    const runs = Array.from({ length: 25 }, (_, i) => runAt(succeededRun(), `r${i + 1}`, i));
    const body = texts(buildHistoryView({ site: 'production', runs }));
    expect(body).toContain('`r25`');
    expect(body).toContain('`r16`');
    expect(body).not.toContain('`r15`');
    expect(body).toContain('… (15 older)');
  });

  it('an empty history says so', () => {
    const message = buildHistoryView({ site: 'production', runs: [] });
    expect(texts(message)).toContain('No runs yet for production.');
    expect(message.text).toBe('History of production: no runs yet.');
  });
});

describe('buildPlanView', () => {
  it('the steps with their actions, warnings, and how to propose', () => {
    const site = exampleSite();
    const plan = buildPlan({ kind: 'failover', mode: 'planned' }, site, { serving: 'east' });
    const message = buildPlanView({ plan });
    expect(message).toMatchSnapshot();
    const body = texts(message);
    expect(body).toContain('*3. Scale up west* ⇉');
    expect(body).toContain('scale default/web on west to 5 and wait until Ready');
    expect(body).toContain('*4. Wait for west');
    expect(body).toContain('/failover production --planned &lt;reason&gt;');
    expect(message.text).toBe('Plan: planned failover of production, east → west, 8 steps. Nothing runs.');
  });

  it('shows the plan warnings', () => {
    const plan = buildPlan({ kind: 'failover', force: true }, exampleSite(), { serving: 'east' });
    const body = texts(buildPlanView({ plan }));
    expect(body).toContain('⚠️ --force: failing gates will not stop this run (break-glass approvals needed)');
    expect(body).toContain(
      '⚠️ Emergency failover: if east cannot be fenced, writes not yet replicated to west are lost (the preflight measures how far behind west is)',
    );
  });
});
