/**
 * A failover and then a failback of the DESIGN example site through Baton's real adapters: `baton worker`
 * processes (no --simulated) reach the Kubernetes and Route 53 stand-ins through the official SDKs and a real
 * PostgreSQL pair in streaming replication. Everything is asserted from outside, as an operator would check it:
 * what DNS answers, the replicas in each cluster, and which database is primary.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { keyPrefixes } from '../../src/config/load-config.js';
import type { Actor } from '../../src/core/model.js';
import { RUNS_QUEUE } from '../../src/queue/queues.js';
import type { RunJobData } from '../../src/queue/queues.js';
import type { RunService } from '../../src/runs/run-service.js';
import type { Lab } from '../../lab/sandbox/start-lab.js';
import { startLab } from '../../lab/sandbox/start-lab.js';
import { query } from '../../lab/postgres/postgres-pair.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startRedis } from '../../lab/processes/processes.js';
import { RunStore } from '../../src/store/run-store.js';
import type { WorkerProcess } from '../support/integration.js';
import {
  createRunService,
  processReady,
  spawnWorker,
  waitFor,
  waitForState,
} from '../support/integration.js';

const ALICE: Actor = { type: 'slack-user', id: 'U0ALICE', name: 'alice' };
const DAVE: Actor = { type: 'slack-user', id: 'U0DAVE', name: 'dave' };

let redis: RedisProcess;
let lab: Lab;
let connection: Redis;
let store: RunStore;
let queue: Queue<RunJobData>;
let commands: RunService;
let closeService: (() => Promise<void>) | undefined;
const workers: WorkerProcess[] = [];
const prefix = `e2e${randomUUID().slice(0, 6)}`;

async function role(db: 'east' | 'west'): Promise<{ inRecovery: boolean; readOnly: string }> {
  const url = lab.postgres.urls[db] ?? '';
  const [row] = await query<{ recovery: boolean; ro: string }>(
    url,
    "select pg_is_in_recovery() as recovery, current_setting('default_transaction_read_only') as ro",
  );
  return { inRecovery: Boolean(row?.recovery), readOnly: String(row?.ro) };
}

const replicas = (cluster: string) => lab.kube.workload(cluster, 'default', 'Deployment', 'web');

beforeAll(async () => {
  redis = await startRedis();
  lab = await startLab({ podReadyAfterMs: 400, insyncAfterMs: 600 });
  connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  // The prefixes of the workers it spawns with BATON_KEY_PREFIX=prefix.
  const prefixes = keyPrefixes({ keyPrefix: prefix });
  store = new RunStore(connection, prefixes.store);
  queue = new Queue<RunJobData>(RUNS_QUEUE, { connection, prefix: prefixes.bull });
  const made = createRunService({
    redis: connection,
    store,
    bullPrefix: prefixes.bull,
    topology: lab.topology,
  });
  commands = made.service;
  closeService = made.close;
  for (let i = 0; i < 2; i += 1) {
    const worker = spawnWorker({ prefix, worldKey: '' }, redis.url, ['--poll-ms', '200'], {
      role: 'real-worker',
      env: lab.env,
    });
    workers.push(worker);
  }
  await Promise.all(workers.map((w) => processReady(w)));
}, 180_000);

afterAll(async () => {
  await closeService?.();
  for (const worker of workers) worker.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exited));
  await queue?.close();
  connection?.disconnect();
  await lab?.stop();
  await redis?.stop();
}, 60_000);

describe('failover and failback through the real adapters', () => {
  it('moves users, replicas and the database primary to west, then home again with no lost rows', async () => {
    // At rest: east serves.
    expect(await lab.servedBy()).toBe('east');
    expect(replicas('east').replicas).toBe(5);
    expect(replicas('west').replicas).toBe(1);
    expect((await role('east')).inRecovery).toBe(false);
    expect((await role('west')).inRecovery).toBe(true);
    await query(lab.postgres.urls.east ?? '', 'create table orders (id serial primary key, note text)');
    await query(
      lab.postgres.urls.east ?? '',
      "insert into orders (note) select 'before' from generate_series(1, 100)",
    );

    // A planned failover: fence east, wait for west to replay everything, promote west, switch DNS.
    const { run } = await commands.propose({
      kind: 'failover',
      mode: 'planned',
      reason: 'drill',
      actor: DAVE,
    });
    await commands.approve(run.id, ALICE);
    const done = await waitForState(store, run.id, ['succeeded', 'paused', 'failed'], 60_000);
    expect(done.state, done.stateReason).toBe('succeeded');

    expect(await lab.servedBy()).toBe('west');
    expect(
      lab.route53
        .records('Z1234567890ABC')
        .filter((r) => r.failover === 'PRIMARY')
        .map((r) => r.setIdentifier),
    ).toEqual(['passive-cluster']);
    expect(replicas('west')).toMatchObject({ replicas: 5, readyReplicas: 5 });
    expect(replicas('east').replicas).toBe(1);
    expect(await role('west')).toEqual({ inRecovery: false, readOnly: 'off' });
    expect(await role('east')).toEqual({ inRecovery: false, readOnly: 'on' }); // fenced, still running
    const [west] = await query<{ n: string }>(
      lab.postgres.urls.west ?? '',
      'select count(*) as n from orders',
    );
    expect(Number(west?.n)).toBe(100);
    await query(
      lab.postgres.urls.west ?? '',
      "insert into orders (note) select 'on west' from generate_series(1, 50)",
    );

    // The operator rebuilds east as a standby of west; then failback brings traffic home.
    await lab.postgres.rebuildAsStandby(lab.postgres.primary, lab.postgres.standby);
    await lab.postgres.waitForStreaming(lab.postgres.primary);
    const back = await commands.propose({ kind: 'failback', reason: 'home', actor: DAVE });
    await commands.approve(back.run.id, ALICE);
    const home = await waitForState(store, back.run.id, ['succeeded', 'paused', 'failed'], 60_000);
    expect(home.state, home.stateReason).toBe('succeeded');

    expect(await lab.servedBy()).toBe('east');
    expect(replicas('east')).toMatchObject({ replicas: 5, readyReplicas: 5 });
    expect(replicas('west').replicas).toBe(1);
    expect(await role('east')).toEqual({ inRecovery: false, readOnly: 'off' });
    expect((await role('west')).readOnly).toBe('on');
    const [east] = await query<{ n: string }>(
      lab.postgres.urls.east ?? '',
      'select count(*) as n from orders',
    );
    expect(Number(east?.n)).toBe(150);
    expect((await store.site('production')).serving).toBe('east');
  }, 150_000);

  it('an emergency failover with the primary killed still promotes west and moves DNS', async () => {
    await waitFor('east serving', async () => (await lab.servedBy()) === 'east');
    await lab.postgres.rebuildAsStandby(lab.postgres.standby, lab.postgres.primary);
    await lab.postgres.waitForStreaming(lab.postgres.standby);
    await lab.postgres.primary.kill(); // east's database dies with the cluster
    await lab.health.east?.set('down');
    const { run } = await commands.propose({ kind: 'failover', reason: 'east is down', actor: DAVE });
    await commands.approve(run.id, ALICE);
    const done = await waitForState(store, run.id, ['succeeded', 'paused', 'failed'], 90_000);
    expect(done.state, done.stateReason).toBe('succeeded');
    expect(await lab.servedBy()).toBe('west');
    expect(await role('west')).toEqual({ inRecovery: false, readOnly: 'off' });
    expect(replicas('west').readyReplicas).toBe(5);
  }, 120_000);
});
