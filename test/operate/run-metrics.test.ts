/**
 * Run and step metrics through a run's whole life, with the roles in this process on a real Redis: a step that
 * fails pauses the run (the gauge the BatonRunPaused alert reads), two approvers skip it, the run succeeds; a
 * proposal is rejected. Each outcome is counted once, by whichever part of Baton made the change.
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyPrefixes } from '../../src/config/load-config.js';
import type { Topology } from '../../src/config/topology.js';
import { systemClock } from '../../src/core/clock.js';
import { allSteps } from '../../src/core/model.js';
import { measureRun } from '../../src/core/runs/measure-run.js';
import { BatonError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import type { BatonMetrics } from '../../src/metrics.js';
import { createMetrics, registerStateGauges } from '../../src/metrics.js';
import { MeteredRunStore } from '../../src/observability/metered-run-store.js';
import type { StateReader } from '../../src/observability/read-baton-state.js';
import { createStateReader } from '../../src/observability/read-baton-state.js';
import type { RunJobData } from '../../src/queue/queues.js';
import { RUNS_QUEUE } from '../../src/queue/queues.js';
import type { RunService } from '../../src/runs/run-service.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startRedis } from '../../lab/processes/processes.js';
import { SimulatedWorld } from '../../lab/simulated-world/simulated-world.js';
import type { WorkerRole } from '../../src/roles/worker-role.js';
import { startWorkerRole } from '../../src/roles/worker-role.js';
import { ALICE, BOB, createRunService, exampleTopology, waitForState } from '../support/integration.js';
import { sample } from './operate-support.js';

let redis: RedisProcess;
let connection: Redis;
let producer: Redis;
let storePrefix = '';
let topology: Topology;
let metrics: BatonMetrics;
let worker: WorkerRole;
let world: SimulatedWorld;
let commands: RunService;
let closeService: (() => Promise<void>) | undefined;
let queue: Queue<RunJobData>;
let reader: StateReader;

beforeAll(async () => {
  redis = await startRedis();
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const prefixes = keyPrefixes({ keyPrefix: prefix });
  storePrefix = prefixes.store;
  connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  producer = new Redis(redis.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  topology = await exampleTopology();
  const site = topology.sites[0]!;
  const log = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  // One registry for both sides, as in `baton start`.
  metrics = createMetrics(new Registry());
  reader = createStateReader({ connection: producer, prefixes, topology });
  registerStateGauges(metrics.registry, () => reader.read(), log);
  world = SimulatedWorld.inMemory(site, systemClock, {});
  worker = await startWorkerRole({
    topology,
    connection,
    prefixes,
    ports: world.ports,
    slack: null,
    clock: systemClock,
    log,
    settings: { pollIntervalMs: 20, dnsPollIntervalMs: 20 },
    backoff: { baseMs: 10, maxMs: 20 },
    metrics,
  });
  // The commands side (the web role's, or the break-glass CLI's), counting into the same registry.
  queue = new Queue<RunJobData>(RUNS_QUEUE, { connection, prefix: prefixes.bull });
  const made = createRunService({
    redis: producer,
    store: new MeteredRunStore(producer, prefixes.store, metrics),
    bullPrefix: prefixes.bull,
    topology,
  });
  commands = made.service;
  closeService = made.close;
});

afterAll(async () => {
  await worker?.close();
  await reader?.close();
  await queue?.close();
  await closeService?.();
  connection?.disconnect();
  producer?.disconnect();
  await redis?.stop();
});

const scrape = () => metrics.registry.metrics();

describe('run and step metrics', () => {
  it('count a failed step, the pause, the skip and the success, each once', async () => {
    world.fail(
      'dns.resolveTarget',
      1,
      () => new BatonError('dns-resolve-failed', 'the resolver refused', { retriable: false }),
    );
    const { run } = await commands.propose({ kind: 'failover', reason: 'run metrics', actor: BOB });
    let text = await scrape();
    expect(sample(text, 'baton_approvals_pending')).toBe(1);
    expect(sample(text, 'baton_runs_in_state', { state: 'proposed' })).toBe(1);

    await commands.approve(run.id, ALICE);
    const paused = await waitForState(worker.store, run.id, ['paused', 'succeeded', 'failed']);
    expect(paused.state).toBe('paused');
    text = await scrape();
    expect(sample(text, 'baton_runs_in_state', { state: 'paused' })).toBe(1);
    expect(sample(text, 'baton_runs_in_state', { state: 'proposed' })).toBe(0);
    expect(sample(text, 'baton_approvals_pending')).toBe(0);
    expect(sample(text, 'baton_step_duration_seconds_count', { step: 'verify', outcome: 'failed' })).toBe(1);

    // Skipping is break-glass: it takes effect with the second approver.
    await commands.skip(run.id, ALICE);
    text = await scrape();
    expect(sample(text, 'baton_step_duration_seconds_count', { step: 'verify', outcome: 'skipped' })).toBe(
      undefined,
    );
    await commands.skip(run.id, BOB);
    const done = await waitForState(worker.store, run.id, ['succeeded', 'paused', 'failed']);
    expect(done.state, done.stateReason).toBe('succeeded');

    text = await scrape();
    expect(sample(text, 'baton_step_duration_seconds_count', { step: 'verify', outcome: 'skipped' })).toBe(1);
    expect(sample(text, 'baton_step_duration_seconds_count', { step: 'verify', outcome: 'failed' })).toBe(1);
    expect(sample(text, 'baton_step_duration_seconds_count', { step: 'verify', outcome: 'succeeded' })).toBe(
      undefined,
    );
    for (const step of allSteps(done.plan).filter((s) => s.id !== 'verify'))
      expect(
        sample(text, 'baton_step_duration_seconds_count', { step: step.id, outcome: 'succeeded' }),
        step.id,
      ).toBe(1);
    expect(sample(text, 'baton_runs_total', { kind: 'failover', outcome: 'succeeded' })).toBe(1);
    expect(sample(text, 'baton_runs_in_state', { state: 'paused' })).toBe(0);
    expect(sample(text, 'baton_runs_in_state', { state: 'running' })).toBe(0);
    // Verify was skipped: nothing proved users reach west, so no recovery time is observed.
    for (const from of ['approval', 'alert'])
      expect(
        sample(text, 'baton_run_recovery_seconds_count', {
          site: 'production',
          kind: 'failover',
          mode: done.mode,
          from,
        }),
        from,
      ).toBe(undefined);

    // What was counted is what the audit recorded: typed events, read back with their payloads.
    const events = (await worker.store.audit(10_000)).filter((e) => e.runId === run.id).map((e) => e.event);
    expect(events).toContainEqual({ type: 'run-approved', count: 1, required: 1 });
    expect(events).toContainEqual(expect.objectContaining({ type: 'step-failed', step: 'verify' }));
    expect(events).toContainEqual({ type: 'run-skip', count: 2, required: 2 });
    expect(events.at(-1)).toMatchObject({
      type: 'run-succeeded',
      summary: expect.stringMatching(/^Finished in/),
    });
  });

  it('count a rejected proposal once, even when the rejection is clicked twice', async () => {
    const { run } = await commands.propose({ kind: 'failback', reason: 'to reject', actor: BOB });
    await commands.reject(run.id, ALICE);
    await expect(commands.reject(run.id, ALICE)).rejects.toThrow();
    const text = await scrape();
    expect(sample(text, 'baton_runs_total', { kind: 'failback', outcome: 'rejected' })).toBe(1);
    expect(sample(text, 'baton_runs_total', { kind: 'failover', outcome: 'rejected' })).toBe(0);
    expect(sample(text, 'baton_approvals_pending')).toBe(0);
  });

  it('observe the recovery time of a succeeded alert run once, from the approval and from the alert', async () => {
    // Back to east: its database, the old primary since the first test's failover, rebuilt as west's standby.
    await world.rebuildAsStandby('east');
    const firedAt = Date.now() - 120_000;
    const { run } = await commands.propose({
      kind: 'failback',
      reason: 'recovery metrics',
      actor: BOB,
      trigger: { source: 'alert', alertname: 'WestDown', firedAt },
    });
    await commands.approve(run.id, ALICE);
    const done = await waitForState(worker.store, run.id, ['succeeded', 'paused', 'failed']);
    expect(done.state, done.stateReason).toBe('succeeded');
    const timings = measureRun(done);
    expect(timings.alertFiredAt).toBe(firedAt);

    const text = await scrape();
    const labels = { site: 'production', kind: 'failback', mode: done.mode };
    const expected = { approval: timings.approvalToVerifiedMs, alert: timings.alertToVerifiedMs };
    for (const [from, ms] of Object.entries(expected)) {
      expect(ms, from).not.toBeNull();
      expect(sample(text, 'baton_run_recovery_seconds_count', { ...labels, from }), from).toBe(1);
      expect(sample(text, 'baton_run_recovery_seconds_sum', { ...labels, from }), from).toBeCloseTo(
        (ms ?? 0) / 1000,
        3,
      );
    }
    // The alert fired two minutes before the proposal: its recovery time includes them.
    expect(
      sample(text, 'baton_run_recovery_seconds_sum', { ...labels, from: 'alert' }),
    ).toBeGreaterThanOrEqual(120);
  });

  it('show an open fence debt per site until it is paid', async () => {
    const store = new MeteredRunStore(producer, storePrefix, metrics);
    // East's database does not answer, so the worker's reconciler cannot pay the debt behind the test's back.
    await world.change((s) => {
      if (s.clusters.east) s.clusters.east.db.reachable = false;
    });
    expect(sample(await scrape(), 'baton_fence_debt', { site: 'production' })).toBe(0);
    await store.debts.open({
      site: 'production',
      cluster: 'east',
      runId: 'r99',
      since: Date.now(),
      database: true,
      workloads: false,
      reason: 'east unreachable',
    });
    expect(sample(await scrape(), 'baton_fence_debt', { site: 'production' })).toBe(1);
    await store.debts.update('production', () => null);
    expect(sample(await scrape(), 'baton_fence_debt', { site: 'production' })).toBe(0);
    await world.change((s) => {
      if (s.clusters.east) s.clusters.east.db.reachable = true;
    });
  });
});
