/**
 * Auto-approval against a real Redis, the web and worker roles, the Slack stand-in and a real HTTP health endpoint
 * for the serving cluster: a proposal raised through the webhook is approved by the policy only after the quiet
 * period, only while its alert fires, and only when Baton's own probes, taken on every pass of every worker over
 * the whole quiet period, all failed.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { AutoApprovalOutcome } from '../../src/alerts/auto-approve.js';
import { AUTO_APPROVAL_ACTOR, autoApprovalEnabled, autoApprovalJob } from '../../src/alerts/auto-approve.js';
import type { Run } from '../../src/core/model.js';
import { systemClock } from '../../src/core/clock.js';
import { createLogger } from '../../src/logger.js';
import { RunStore } from '../../src/store/run-store.js';
import { createRunService, exampleTopology, waitFor } from '../support/integration.js';
import { IncidentStore } from '../../src/store/incidents/incident-store.js';
import { USERS } from '../support/slack-harness.js';
import type { Setup } from './auto-approve-setup.js';
import { QUIET_MS, SLACK_MS, setupAutoApproval, withAutoApproval } from './auto-approve-setup.js';
import { redisPerFile } from '../support/redis-per-file.js';

/** The policies' passes, 20 s apart on their clock (the default is 5 s; fewer passes keep the test quick). */
const STEP_MS = 20_000;

const { redis, cleanups } = redisPerFile();

async function propose(s: Setup): Promise<Run> {
  expect((await s.alert('firing')).status).toBe(200);
  const run = await waitFor('the proposal', async () => s.h.latestRun(), 10_000);
  await waitFor('the auto-approval notice', async () => (await s.replies(run.id)).length === 1, 10_000);
  return run;
}

/** Passes every STEP_MS until the policies' clock reaches `until` (ms since `from`); the outcomes, in order. */
async function passesUntil(s: Setup, run: Run, from: number, until: number, stopAt?: AutoApprovalOutcome) {
  const outcomes: { at: number; outcome: AutoApprovalOutcome | undefined }[] = [];
  while (s.now() - from < until) {
    s.advance(STEP_MS);
    const outcome = await s.pass(run.id);
    outcomes.push({ at: s.now() - from, outcome });
    if (outcome === stopAt) break;
  }
  return outcomes;
}

const withheldAudit = async (s: Setup) =>
  (await s.h.web.store.audit()).filter((e) => e.action === 'auto-approval-withheld');

describe('auto-approval', () => {
  it('is off unless a rule enables it: then no timer runs at all', async () => {
    const topology = await exampleTopology();
    expect(autoApprovalEnabled(topology)).toBe(false);
    expect(autoApprovalEnabled(withAutoApproval('http://127.0.0.1:1/health')(topology))).toBe(true);
    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    cleanups.push(async () => client.disconnect());
    const { service, close } = createRunService({
      redis: client,
      store: new RunStore(client, 'off:'),
      bullPrefix: 'off-bull',
      topology,
    });
    cleanups.push(close);
    const started = autoApprovalJob({
      incidents: new IncidentStore(client, '{off}:'),
      service,
      notifier: { postReply: async () => true },
      health: { check: async () => ({ ok: false }) },
      topology,
      clock: systemClock,
      log: createLogger({ level: 'silent' }),
    });
    expect(started).toBeNull();
  });

  it('one failed probe at the end of the quiet period is not enough: the failures must cover a whole quiet period', async () => {
    const s = await setupAutoApproval(redis.url, cleanups);
    const run = await propose(s);
    expect((await s.replies(run.id))[0]).toMatch(/^Auto-approval is on for run r\d+: it may be approved at/);
    const start = s.now();

    // East fails the first two probes, then answers for the rest of the quiet period.
    s.east.answer = 503;
    expect(await s.pass(run.id)).toBe('not-due');
    s.advance(STEP_MS);
    expect(await s.pass(run.id)).toBe('not-due');
    s.east.answer = 200;
    const quiet = await passesUntil(s, run, start, QUIET_MS + STEP_MS, 'withheld');
    expect(quiet.slice(0, -1).every((o) => o.outcome === 'not-due')).toBe(true);
    expect(quiet.at(-1)?.outcome).toBe('withheld');
    expect(quiet.at(-1)?.at).toBeGreaterThanOrEqual(QUIET_MS - STEP_MS);
    const probes = quiet.length + 2;
    await waitFor('the withheld reply', async () => (await s.replies(run.id)).length === 2, 10_000);
    expect((await s.replies(run.id))[1]).toMatch(
      new RegExp(
        `^Auto-approval withheld for run ${run.id}: 2 of ${probes} probes of east since <!date\\^\\d+\\^\\{time\\}\\|[^>]+> ` +
          'failed; the last one, at <!date\\^\\d+\\^\\{time\\}\\|[^>]+>, answered 200\\.$',
      ),
    );

    // East stops answering. Today's first failed probe, at the end of the quiet period, proves little.
    s.east.answer = 'drop';
    const failingFrom = s.now();
    s.advance(1_000);
    expect(await s.pass(run.id)).toBe('withheld');
    expect((await s.h.web.store.require(run.id)).state).toBe('proposed');
    expect((await s.incidents.runState(run.id))?.probes).toMatchObject({
      streak: 1,
      last: { ok: false, detail: 'connection reset' },
    });

    // It keeps failing: approval comes once the failures cover a whole quiet period, not before.
    const after = await passesUntil(s, run, failingFrom, QUIET_MS + STEP_MS, 'approved');
    const approvedAt = after.find((o) => o.outcome === 'approved')?.at;
    expect(after.filter((o) => o.outcome !== 'approved').every((o) => o.outcome === 'withheld')).toBe(true);
    expect(approvedAt).toBeGreaterThanOrEqual(QUIET_MS - SLACK_MS);
    expect(approvedAt).toBeLessThanOrEqual(QUIET_MS - SLACK_MS + STEP_MS);

    const approved = await s.h.web.store.require(run.id);
    expect(approved.state).not.toBe('proposed');
    expect(approved.approvals.map((a) => a.actor)).toEqual([AUTO_APPROVAL_ACTOR]);
    expect((await s.h.web.store.audit()).find((e) => e.action === 'run-approved')).toMatchObject({
      runId: run.id,
      actor: AUTO_APPROVAL_ACTOR,
    });
    // The withheld reply was said once; the approval says what the witness saw.
    const withheld = await withheldAudit(s);
    expect(withheld).toHaveLength(1);
    expect(withheld[0]?.actor).toEqual(AUTO_APPROVAL_ACTOR);
    expect(withheld[0]?.detail).toMatch(
      new RegExp(`^2 of ${probes} probes of east since \\S+Z failed; the last one, at \\S+Z, answered 200$`),
    );
    await waitFor(
      'the approved reply',
      async () => (await s.replies(run.id)).includes(`Run ${run.id} approved by the auto-approval policy.`),
      10_000,
    );
    const thread = await s.h.slack.replies('C0INCIDENTS', (await s.h.runMessage(run.id)).ts);
    const reply = JSON.stringify(thread.find((m) => m.text.includes('approved by the auto-approval policy')));
    expect(reply).toMatch(
      /\d+ probes of east in a row since .* failed, none answered \(last: connection reset\)/,
    );
    // A second worker's pass finds nothing left to do.
    expect(await s.pass(run.id)).toBeUndefined();
  });

  it('a single answer during the quiet period resets the count: the reply says why and when approval can come', async () => {
    const s = await setupAutoApproval(redis.url, cleanups);
    s.east.answer = 503;
    const run = await propose(s);
    const start = s.now();
    expect(await s.pass(run.id)).toBe('not-due');
    await passesUntil(s, run, start, 2 * 60_000);
    s.east.answer = 200;
    s.advance(STEP_MS);
    expect(await s.pass(run.id)).toBe('not-due');
    const answeredAt = s.now();
    s.east.answer = 503;
    const rest = await passesUntil(s, run, start, QUIET_MS + 1_000);
    expect(rest.at(-1)?.outcome).toBe('withheld');
    await waitFor('the withheld reply', async () => (await s.replies(run.id)).length === 2, 10_000);
    expect((await s.replies(run.id))[1]).toMatch(
      /: east's probes have failed only since <!date.*>, after it answered at <!date.*>: the failures must cover a whole quiet period \(5m\), so the earliest approval is <!date.*> if they keep failing\.$/,
    );

    const more = await passesUntil(s, run, answeredAt, QUIET_MS + STEP_MS, 'approved');
    const approvedAt = more.find((o) => o.outcome === 'approved')?.at;
    expect(approvedAt).toBeGreaterThanOrEqual(QUIET_MS - SLACK_MS);
    expect(approvedAt).toBeLessThanOrEqual(QUIET_MS - SLACK_MS + 2 * STEP_MS);
    expect(await withheldAudit(s)).toHaveLength(1);
  });

  it('every worker’s probes count, and a restarted worker forgets none of them', async () => {
    const s = await setupAutoApproval(redis.url, cleanups);
    s.east.answer = 503;
    const run = await propose(s);
    const start = s.now();
    // Two workers take turns, each passing every 40 s: alone, either one's probes are too far apart (> 30 s) to
    // count as one run of failures; together they are 20 s apart.
    let workers = [s.policy, s.startPolicy()];
    let passes = 0;
    let restarted = false;
    let outcome: AutoApprovalOutcome | undefined;
    expect(await s.pass(run.id, workers[0])).toBe('not-due');
    passes += 1;
    while (s.now() - start < QUIET_MS + STEP_MS && outcome !== 'approved') {
      s.advance(STEP_MS);
      if (!restarted && s.now() - start >= QUIET_MS / 2) {
        // The first worker restarts: its replacement has nothing in memory.
        await workers[0]?.close();
        workers = [s.startPolicy(), workers[1] ?? s.policy];
        restarted = true;
      }
      outcome = await s.pass(run.id, workers[passes % 2]);
      passes += 1;
      expect(outcome).toBe(s.now() - start < QUIET_MS ? 'not-due' : 'approved');
    }
    expect(outcome).toBe('approved');
    const state = await s.incidents.runState(run.id);
    expect(state?.probes).toMatchObject({
      since: run.createdAt,
      total: passes,
      failed: passes,
      streak: passes,
    });
    expect(state?.probes?.streakSince).toBeLessThanOrEqual(run.createdAt + SLACK_MS);
  });

  it('a gap in probing longer than the slack (every worker down) is no evidence: the count starts again', async () => {
    const s = await setupAutoApproval(redis.url, cleanups);
    s.east.answer = 503;
    const run = await propose(s);
    const start = s.now();
    expect(await s.pass(run.id)).toBe('not-due');
    s.advance(2 * 60_000);
    const resumed = s.now();
    const rest = await passesUntil(s, run, start, QUIET_MS + 1_000);
    expect(rest.at(-1)?.outcome).toBe('withheld');
    await waitFor('the withheld reply', async () => (await s.replies(run.id)).length === 2, 10_000);
    expect((await s.replies(run.id))[1]).toContain('after a gap in probing: the failures must cover');
    const more = await passesUntil(s, run, resumed, QUIET_MS, 'approved');
    expect(more.at(-1)?.outcome).toBe('approved');
    expect(more.at(-1)?.at).toBeGreaterThanOrEqual(QUIET_MS - SLACK_MS);
  });

  it('never approves once the alert has resolved, nor a person’s proposal', async () => {
    const s = await setupAutoApproval(redis.url, cleanups);
    s.east.answer = 503;
    const run = await propose(s);
    await s.alert('resolved');
    await waitFor(
      'the resolved alert',
      async () => (await s.incidents.runState(run.id))?.firing === 0,
      10_000,
    );
    const start = s.now();
    const outcomes = await passesUntil(s, run, start, QUIET_MS + 1_000);
    expect(outcomes.every((o) => o.outcome === 'resolved')).toBe(true);
    expect((await s.h.web.store.require(run.id)).state).toBe('proposed');

    await s.h.click(USERS.bob, 'reject', run.id);
    await waitFor(
      'the rejection',
      async () => (await s.h.web.store.require(run.id)).state === 'rejected',
      10_000,
    );
    await s.h.command(USERS.dave, '/failover', 'production east is down');
    const human = await waitFor(
      'the person’s proposal',
      async () => {
        const latest = await s.h.latestRun();
        return latest && latest.id !== run.id ? latest : undefined;
      },
      10_000,
    );
    await s.alert('firing');
    expect(await s.policy.tick()).toEqual([]);
    expect((await s.h.web.store.require(human.id)).state).toBe('proposed');
  });
});
