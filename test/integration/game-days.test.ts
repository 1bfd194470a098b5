/**
 * Game days end to end (`/failover drill`, DESIGN §2): Baton's web and worker roles in this process against a real
 * Redis, the Slack stand-in and the simulated world. The drill passes are driven here on a FakeClock (the worker's
 * own pass is pushed out of the way), so a 30-minute hold takes no time; the runs themselves execute for real.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startRedis } from '../../lab/processes/processes.js';
import { blockAction, postToApp, sign } from '../../lab/slack/slack-signer.js';
import { alertmanagerRoute } from '../../src/alerts/alertmanager-route.js';
import type { Topology } from '../../src/config/topology.js';
import type { Drill } from '../../src/core/drills/drill.js';
import type { Run } from '../../src/core/model.js';
import { createDrillScheduler, createDrillService } from '../../src/roles/drill-parts.js';
import type { DrillScheduler } from '../../src/runs/drill-scheduler.js';
import type { DrillService } from '../../src/runs/drill-service.js';
import { DRILL_ACTION_IDS, drillMessageKey } from '../../src/slack/blocks/drill-message.js';
import { DrillStore } from '../../src/store/drill-store.js';
import { IncidentStore } from '../../src/store/incidents/incident-store.js';
import { createLogger } from '../../src/logger.js';
import { waitForStep } from '../support/integration.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor, waitForState } from '../support/integration.js';
import type { SlackHarness } from '../support/slack-harness.js';
import {
  CHANNEL,
  SIGNING_SECRET,
  USERS,
  findButtonValue,
  startSlackHarness,
} from '../support/slack-harness.js';

const TOKEN = 'game-day-test-token';
const HOUR = 3_600_000;

let redis: RedisProcess;
let h: SlackHarness | null = null;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await h?.close();
  h = null;
});

interface Setup {
  h: SlackHarness;
  clock: FakeClock;
  drills: DrillService;
  scheduler: DrillScheduler;
  store: DrillStore;
  /** A scheduler of its own, on its own connection, as a second worker's. */
  secondScheduler(): { scheduler: DrillScheduler; close(): Promise<unknown> };
}

async function setup(
  drillsConfig: NonNullable<Topology['drills']> = {
    blockedWindows: [],
    abortOn: [{ alertname: 'HighErrorRate' }],
  },
  timing: Parameters<typeof startSlackHarness>[1] = {},
): Promise<Setup> {
  const harness = await startSlackHarness(redis.url, {
    drillEveryMs: 24 * HOUR,
    topology: (t) => ({ ...t, drills: drillsConfig }),
    routes: (parts, context) => [
      alertmanagerRoute(parts, {
        token: TOKEN,
        topology: context.topology,
        incidents: new IncidentStore(context.connection, context.prefixes.store),
        clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
        log: context.log,
      }),
    ],
    ...timing,
  });
  h = harness;
  const clock = new FakeClock(Date.now());
  const world = harness.world;
  if (!world) throw new Error('no world');
  const parts = {
    connection: harness.redis,
    prefixes: harness.prefixes,
    notifier: harness.web.notifier,
    runs: harness.web.service,
    store: harness.web.store,
    ports: world.ports,
    topology: harness.topology,
    clock,
    log: createLogger({ level: 'silent' }),
  };
  const drills = createDrillService(parts);
  return {
    h: harness,
    clock,
    drills,
    scheduler: createDrillScheduler({ ...parts, service: drills }),
    store: new DrillStore(harness.redis, harness.prefixes.store),
    secondScheduler: () => {
      const connection = harness.redis.duplicate();
      const service = createDrillService({ ...parts, connection });
      return {
        scheduler: createDrillScheduler({ ...parts, connection, service }),
        // quit, not disconnect: a command still in flight gets its answer instead of "Connection is closed".
        close: () => connection.quit().catch(() => undefined),
      };
    },
  };
}

/** Clicks a button on the drill's message as `user`, signed as Slack signs it. */
async function clickDrill(harness: SlackHarness, user: string, actionId: string, drillId: string) {
  const message = await waitFor('the drill message', async () => {
    const state = await harness.web.notifier.statusMessage(drillMessageKey({ id: drillId }));
    return state?.ts ? harness.slack.message(CHANNEL, state.ts) : undefined;
  });
  const value = findButtonValue(message, actionId);
  if (!value) throw new Error(`drill ${drillId}'s message has no ${actionId} button: ${message.text}`);
  const { url } = harness.slack.createResponseUrl({ channel: CHANNEL, user, messageTs: message.ts });
  const body = blockAction({
    actionId,
    value,
    userId: user,
    userName: user.toLowerCase(),
    channelId: CHANNEL,
    messageTs: message.ts,
    responseUrl: url,
    triggerId: harness.slack.mintTriggerId({ userId: user }),
    message: { ts: message.ts, text: message.text, blocks: message.blocks },
  });
  return postToApp(harness.eventsUrl, body, sign(SIGNING_SECRET, body, Date.now() / 1000));
}

async function fireAlert(
  harness: SlackHarness,
  alertname: string,
  status: 'firing' | 'resolved' = 'firing',
): Promise<Response> {
  const payload = {
    receiver: 'baton',
    status,
    alerts: [
      {
        status,
        labels: { alertname, severity: 'critical' },
        annotations: { summary: `${alertname} on production` },
        startsAt: new Date().toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus.local/graph',
        fingerprint: `fp${alertname}`,
      },
    ],
    groupLabels: { alertname },
    commonLabels: { alertname },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.local:9093',
    version: '4',
    groupKey: `{}:{alertname="${alertname}"}`,
    truncatedAlerts: 0,
  };
  return fetch(`${harness.webUrl}/alertmanager`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
}

/** Everything said in the incident channel: messages, their edits and their thread replies. */
const channelText = (harness: SlackHarness): string =>
  harness.slack
    .messages(CHANNEL)
    .flatMap((m) => [
      m.text,
      ...m.edits.map((e) => e.text),
      ...harness.slack.replies(CHANNEL, m.ts).map((r) => r.text),
    ])
    .join('\n');

/** A drill proposed by dave and approved by alice, through Slack. */
async function proposeAndApprove(s: Setup, text: string): Promise<Drill> {
  const answer = await s.h.command(USERS.dave, '/failover', text);
  const proposed = await waitFor('the drill proposal answer', async () =>
    s.h.answers(answer.responseUrlId).find((t) => /game day d\d+/.test(t)),
  );
  const id = /game day (d\d+)/.exec(proposed)?.[1] ?? '';
  await clickDrill(s.h, USERS.alice, DRILL_ACTION_IDS.approve, id);
  return waitFor('the drill to be scheduled', async () => {
    const drill = await s.store.get(id);
    return drill?.state === 'scheduled' ? drill : undefined;
  });
}

const drillRuns = async (s: Setup, drillId: string): Promise<Run[]> =>
  (await s.h.web.store.history('production', 50)).filter((r) => r.drill?.id === drillId);

/** Ticks until the drill satisfies `check` (runs execute in real time between ticks). */
async function tickUntil(s: Setup, what: string, check: (d: Drill) => boolean): Promise<Drill> {
  return waitFor(
    what,
    async () => {
      await s.scheduler.tick();
      const drill = (await s.store.open())[0] ?? null;
      const all = drill ? [drill] : [];
      return all.find(check) ?? (await lastDrill(s, check));
    },
    60_000,
    50,
  );
}

async function lastDrill(s: Setup, check: (d: Drill) => boolean): Promise<Drill | undefined> {
  const drill = await s.store.get(`d${await s.h.redis.get(`${s.h.prefixes.store}drill-seq`)}`);
  return drill && check(drill) ? drill : undefined;
}

describe('game days', () => {
  it('a scheduled drill runs, holds and fails back on its own, with the drill approvals', async () => {
    const s = await setup();
    const at = new Date(s.clock.now() + 2 * HOUR).toISOString().slice(11, 16);
    const drill = await proposeAndApprove(s, `drill production --at ${at} --hold 30m quarterly practice`);
    expect(drill.approvals.map((a) => a.actor.id)).toEqual([USERS.alice]);

    // Not due yet: nothing starts.
    await s.scheduler.tick();
    expect(await drillRuns(s, drill.id)).toEqual([]);

    await s.clock.advance(2 * HOUR);
    const started = await tickUntil(s, 'the failover to start', (d) => d.current?.phase === 'failover');
    const failoverId = started.current?.failoverRunId ?? '';
    const failover = await waitForState(s.h.web.store, failoverId, ['succeeded', 'paused', 'failed'], 60_000);
    expect(failover.state, failover.stateReason).toBe('succeeded');
    expect(failover).toMatchObject({
      kind: 'failover',
      mode: 'planned',
      drill: { id: drill.id, occurrence: 1 },
    });
    // Started already approved, each approval still attributed to its person.
    expect(failover.approvals.map((a) => a.actor.id)).toEqual([USERS.alice]);
    expect(failover.requestedBy.id).toBe(USERS.dave);

    const holding = await tickUntil(s, 'the hold', (d) => d.current?.phase === 'holding');
    expect(holding.current?.holdUntil).toBe(s.clock.now() + 30 * 60_000);
    expect((await s.h.world?.state())?.dns.serving).toBe('west');

    // The old primary must follow the new one before a failback: until it does, the failback waits and says why.
    await s.clock.advance(30 * 60_000);
    const waiting = await tickUntil(
      s,
      'the failback to wait',
      (d) => d.current?.phase === 'failback-waiting',
    );
    expect(waiting.current?.waiting).toMatch(/not ready to fail back/);
    await s.h.world?.rebuildAsStandby('east');
    await s.clock.advance(60_000);
    const failingBack = await tickUntil(s, 'the failback to start', (d) => d.current?.phase === 'failback');
    const failback = await waitForState(
      s.h.web.store,
      failingBack.current?.failbackRunId ?? '',
      ['succeeded', 'paused', 'failed'],
      60_000,
    );
    expect(failback.state, failback.stateReason).toBe('succeeded');
    expect(failback).toMatchObject({ kind: 'failback', drill: { id: drill.id, occurrence: 1 } });
    expect(failback.approvals.map((a) => a.actor.id)).toEqual([USERS.alice]);

    const done = await tickUntil(s, 'the drill to finish', (d) => d.state === 'finished');
    expect(done.outcomes.at(-1)).toMatchObject({
      n: 1,
      result: 'completed',
      runIds: [failover.id, failback.id],
    });
    expect((await s.h.world?.state())?.dns.serving).toBe('east');
    expect(await drillRuns(s, drill.id)).toHaveLength(2);
    await waitFor('the run messages to say Game day', async () =>
      /Game day d\d+: planned failover/.test(channelText(s.h)),
    );
  });

  it('an abortOn alert before promotion aborts the drill and leaves everything as it was', async () => {
    const s = await setup(undefined, { timing: { podsReadyAfterMs: 2_000 } });
    const before = await s.h.world?.state();
    const drill = await proposeAndApprove(s, 'drill production');
    await s.clock.advance(60_000);
    const started = await tickUntil(s, 'the failover to start', (d) => d.current?.phase === 'failover');
    const runId = started.current?.failoverRunId ?? '';
    await waitForStep(s.h.web.store, runId, 'scale-up-target', 'running');

    const response = await fireAlert(s.h, 'HighErrorRate');
    expect(response.status).toBe(200);
    const aborted = await waitForState(s.h.web.store, runId, ['aborted', 'failed', 'succeeded'], 60_000);
    expect(aborted.state, aborted.stateReason).toBe('aborted');
    expect(aborted.timeline.find((e) => e.event === 'aborting')).toMatchObject({
      actor: { type: 'policy', id: 'game-day' },
      detail: 'HighErrorRate fired',
    });

    // Everything as it was: served by home, the standby still a standby, DNS unchanged, replicas restored.
    const after = await s.h.world?.state();
    expect(after?.dns.serving).toBe('east');
    expect(after?.clusters.west?.db.role).toBe('standby');
    expect(after?.clusters.east?.db).toMatchObject({ role: 'primary', readOnly: false });
    expect(after?.clusters.east?.workloads).toEqual(before?.clusters.east?.workloads);
    expect(Object.values(after?.clusters.west?.workloads ?? {}).map((w) => w.replicas)).toEqual(
      Object.values(before?.clusters.west?.workloads ?? {}).map((w) => w.replicas),
    );

    const ended = await tickUntil(s, 'the drill to end', (d) => d.state === 'finished');
    expect(ended.outcomes.at(-1)).toMatchObject({ result: 'aborted' });
    expect(ended.outcomes.at(-1)?.detail).toMatch(/HighErrorRate fired/);
    expect(await drillRuns(s, drill.id)).toHaveLength(1);
    await waitFor('the abort note', async () =>
      /ABORTED before the point of no return: HighErrorRate fired/.test(channelText(s.h)),
    );
  });

  it('an abortOn alert after promotion lets the failover finish, and the failback waits for people', async () => {
    const s = await setup(undefined, { timing: { dnsInSyncAfterMs: 2_000 } });
    const drill = await proposeAndApprove(s, 'drill production --hold 30m');
    await s.clock.advance(60_000);
    const started = await tickUntil(s, 'the failover to start', (d) => d.current?.phase === 'failover');
    const runId = started.current?.failoverRunId ?? '';
    await waitForStep(s.h.web.store, runId, 'switch-dns', 'running');

    expect((await fireAlert(s.h, 'HighErrorRate')).status).toBe(200);
    const done = await waitForState(
      s.h.web.store,
      runId,
      ['succeeded', 'paused', 'failed', 'aborted'],
      60_000,
    );
    expect(done.state, done.stateReason).toBe('succeeded');

    const waiting = await tickUntil(
      s,
      'the failback to wait',
      (d) => d.current?.phase === 'failback-waiting',
    );
    expect(waiting.current).toMatchObject({ waitingOn: 'alert' });
    expect(waiting.current?.waiting).toMatch(/HighErrorRate fired.*\/failback production/);
    // The hold passes: no automatic failback.
    await s.clock.advance(2 * HOUR);
    await s.scheduler.tick();
    await s.scheduler.tick();
    expect((await drillRuns(s, drill.id)).map((r) => r.kind)).toEqual(['failover']);
    expect((await s.h.world?.state())?.dns.serving).toBe('west');
    await waitFor('the held note', async () => /automatic failback is held/.test(channelText(s.h)));
  });

  it('a failover that pauses ends the drill without a failback, and says what to do', async () => {
    const s = await setup();
    const drill = await proposeAndApprove(s, 'drill production --hold 1m');
    s.h.world?.fail('dns.switchTo', 1000);
    await s.clock.advance(60_000);
    const started = await tickUntil(s, 'the failover to start', (d) => d.current?.phase === 'failover');
    const runId = started.current?.failoverRunId ?? '';
    expect((await waitForState(s.h.web.store, runId, ['paused', 'succeeded'], 60_000)).state).toBe('paused');
    const ended = await tickUntil(s, 'the drill to end', (d) => d.state === 'finished');
    expect(ended.outcomes.at(-1)).toMatchObject({ result: 'ended', runIds: [runId] });
    expect(ended.outcomes.at(-1)?.detail).toMatch(
      /PAUSED .*without a failback — decide on the run \(Retry \/ Abort\)/,
    );
    await s.clock.advance(HOUR);
    await s.scheduler.tick();
    expect((await drillRuns(s, drill.id)).map((r) => r.kind)).toEqual(['failover']);
  });

  it('skips an occurrence inside a blocked window, says which, and schedules the next', async () => {
    const probe = new FakeClock(Date.now());
    const dueDay = new Date(probe.now() + 2 * HOUR).toISOString().slice(0, 10);
    const s = await setup({ blockedWindows: [dueDay], abortOn: [] });
    const at = new Date(s.clock.now() + 2 * HOUR).toISOString().slice(11, 16);
    const drill = await proposeAndApprove(s, `drill --at ${at} --every 1d`);
    const dueAt = drill.nextAt ?? 0;
    await s.clock.advance(2 * HOUR);
    const skipped = await tickUntil(s, 'the skip', (d) => d.outcomes.length > 0);
    expect(skipped.state).toBe('scheduled');
    expect(skipped.outcomes[0]).toMatchObject({ n: 1, result: 'skipped' });
    expect(skipped.outcomes[0]?.detail).toContain(`inside blocked window ${dueDay}`);
    expect(skipped.nextAt).toBe(dueAt + 24 * HOUR);
    expect(await drillRuns(s, drill.id)).toEqual([]);
    await waitFor('the skip note', async () =>
      /#1 SKIPPED — inside blocked window .*next game day/.test(channelText(s.h)),
    );
  });

  it('does not start while an abortOn alert fires, and starts once it has resolved', async () => {
    const s = await setup();
    expect((await fireAlert(s.h, 'HighErrorRate')).status).toBe(200);
    const drill = await proposeAndApprove(s, 'drill production --every 1d');
    await s.clock.advance(60_000);
    const skipped = await tickUntil(s, 'the skip', (d) => d.outcomes.length > 0);
    expect(skipped.outcomes[0]?.detail).toMatch(/^skipped: HighErrorRate is firing \(drills\.abortOn\)/);
    expect(await drillRuns(s, drill.id)).toEqual([]);

    expect((await fireAlert(s.h, 'HighErrorRate', 'resolved')).status).toBe(200);
    await s.clock.advance(24 * HOUR);
    const started = await tickUntil(s, 'the next occurrence', (d) => d.state === 'active');
    expect(started.current?.failoverRunId).toBeTruthy();
  });

  it('skips when the site is not ready, saying why', async () => {
    const s = await setup();
    const drill = await proposeAndApprove(s, 'drill production');
    await s.h.world?.change((state) => {
      state.lagBytes = 5 * 1024 * 1024;
    });
    await s.clock.advance(60_000);
    const skipped = await tickUntil(s, 'the skip', (d) => d.outcomes.length > 0);
    expect(skipped).toMatchObject({ state: 'finished' });
    expect(skipped.outcomes[0]?.detail).toMatch(/^skipped: not ready: .*lag/);
    expect(await drillRuns(s, drill.id)).toEqual([]);
  });

  it('two workers ticking at once start one run per occurrence', async () => {
    const s = await setup();
    const drill = await proposeAndApprove(s, 'drill production --hold 1m');
    const { scheduler: second, close } = s.secondScheduler();
    cleanups.push(close);
    await s.clock.advance(60_000);
    for (let round = 0; round < 5; round += 1) {
      await Promise.all([s.scheduler.tick(), second.tick(), s.scheduler.tick(), second.tick()]);
    }
    const runs = await drillRuns(s, drill.id);
    expect(runs.map((r) => `${r.kind}#${r.drill?.occurrence}`)).toEqual(['failover#1']);
    const current = await s.store.require(drill.id);
    expect(current.current?.failoverRunId).toBe(runs[0]?.id);
  });

  it('lists and cancels drills: only the requester or an approver may cancel', async () => {
    const s = await setup();
    const drill = await proposeAndApprove(s, 'drill production --at 03:00 --every 7d --hold 45m');
    const list = await s.h.command(USERS.mallory, '/failover', 'drill list');
    const listed = await waitFor('the list', async () => s.h.answers(list.responseUrlId)[0]);
    expect(listed).toContain(`${drill.id}* production`);
    expect(listed).toContain('every 7d, hold 45m');
    expect(listed).toContain(`approved by <@${USERS.alice}>`);

    const refused = await s.h.command(USERS.mallory, '/failover', `drill cancel ${drill.id}`);
    expect(await waitFor('the refusal', async () => s.h.answers(refused.responseUrlId)[0])).toMatch(
      /Only the requester .* or an approver can cancel game day d\d+/,
    );
    const cancel = await s.h.command(USERS.dave, '/failover', `drill cancel ${drill.id}`);
    expect(await waitFor('the cancel', async () => s.h.answers(cancel.responseUrlId)[0])).toMatch(
      /is cancelled/,
    );
    expect((await s.store.require(drill.id)).state).toBe('cancelled');
    const empty = await s.h.command(USERS.dave, '/failover', 'drill list');
    expect(await waitFor('the empty list', async () => s.h.answers(empty.responseUrlId)[0])).toMatch(
      /No game days/,
    );
  });

  it('refuses a bad drill command and says what to write', async () => {
    const s = await setup();
    const bad = await s.h.command(USERS.dave, '/failover', 'drill production --every 2h');
    expect(bad.text ?? JSON.stringify(bad)).toMatch(
      /--every must be between 1d and 90d; write e.g. --every 7d/,
    );
  });
});
