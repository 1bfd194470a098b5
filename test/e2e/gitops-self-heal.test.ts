/**
 * West as a GitOps-run standby (the sandbox's "GitOps self-heal on west" switch): an HPA owns `web`'s replicas and
 * Argo CD's self-heal watches both workloads. With the operator guide's fix, a failover through a real `baton
 * worker` ends with west serving at full size, the HPA's minReplicas raised and given back after failback; without
 * it, preflight names the workload and the fix, and self-heal puts the replicas back to Git's, as it warned.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { keyPrefixes } from '../../src/config/load-config.js';
import type { Actor } from '../../src/core/model.js';
import type { RunService } from '../../src/runs/run-service.js';
import { RunStore } from '../../src/store/run-store.js';
import { databaseBreaks } from '../../lab/postgres/database-breaks.js';
import type { PostgresPair } from '../../lab/postgres/postgres-pair.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startRedis } from '../../lab/processes/processes.js';
import type { Breaks } from '../../lab/sandbox/sandbox-breaks.js';
import { sandboxBreaks } from '../../lab/sandbox/sandbox-breaks.js';
import type { Lab } from '../../lab/sandbox/start-lab.js';
import { startLab } from '../../lab/sandbox/start-lab.js';
import { gitOpsSwitch } from '../../lab/sandbox/west-gitops.js';
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
const SELF_HEAL_DELAY_MS = 300;

let redis: RedisProcess;
let lab: Lab<PostgresPair | null>;
let connection: Redis;
let store: RunStore;
let commands: RunService;
let breaks: Breaks;
let closeService: (() => Promise<void>) | undefined;
let worker: WorkerProcess | undefined;
const prefix = `e2e${randomUUID().slice(0, 6)}`;

const workload = (cluster: string, name: string) => lab.kube.workload(cluster, 'default', 'Deployment', name);
const hpa = () => lab.kube.autoscaler('west', 'default', 'web');

async function run(kind: 'failover' | 'failback') {
  const { run: proposed } = await commands.propose({ kind, reason: 'gitops drill', actor: DAVE });
  await commands.approve(proposed.id, ALICE);
  const done = await waitForState(store, proposed.id, ['succeeded', 'paused', 'failed'], 60_000);
  expect(done.state, done.stateReason).toBe('succeeded');
  return done;
}

beforeAll(async () => {
  redis = await startRedis();
  lab = await startLab({
    database: false,
    gitops: true,
    podReadyAfterMs: 200,
    insyncAfterMs: 300,
    hpaSyncPeriodMs: 300,
  });
  breaks = sandboxBreaks(
    lab,
    databaseBreaks(null),
    new Set(),
    gitOpsSwitch(lab, { delayMs: SELF_HEAL_DELAY_MS }),
  );
  connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const prefixes = keyPrefixes({ keyPrefix: prefix });
  store = new RunStore(connection, prefixes.store);
  const made = createRunService({
    redis: connection,
    store,
    bullPrefix: prefixes.bull,
    topology: lab.topology,
  });
  commands = made.service;
  closeService = made.close;
  const started = spawnWorker({ prefix, worldKey: '' }, redis.url, ['--poll-ms', '100'], {
    role: 'real-worker',
    env: lab.env,
  });
  worker = started;
  await processReady(started);
}, 180_000);

afterAll(async () => {
  await closeService?.();
  worker?.child.kill('SIGTERM');
  await worker?.exited;
  connection?.disconnect();
  await lab?.stop();
  await redis?.stop();
}, 60_000);

describe('a failover onto a GitOps-run west with an HPA', () => {
  it('without the fix, preflight names the workload self-heal would scale back, and the fix', async () => {
    await breaks.selfHeal('west', 'on-without-fix');
    const { run: proposed } = await commands.propose({ kind: 'failover', reason: 'look first', actor: DAVE });
    const measured = await waitFor(
      'the proposal’s preflight',
      async () => (await store.get(proposed.id))?.preflight,
    );
    const check = (id: string) => measured.checks.find((c) => c.id === id);
    expect(check('gitops default/worker')).toMatchObject({ status: 'warning' });
    const detail = check('gitops default/worker')?.detail ?? '';
    expect(detail).toContain('managed by Argo CD (production-west)');
    expect(detail).toContain('puts spec.replicas back');
    expect(detail).toContain('name: worker');
    expect(detail).toContain('jsonPointers: [/spec/replicas]');
    expect(detail).toContain('RespectIgnoreDifferences=true');
    // The HPA's workload needs no fix: Git has no replicas for it, and Baton raises the HPA.
    expect(check('gitops default/web')?.status).toBe('passed');
    expect(check('autoscaler default/web')?.detail).toContain('Baton raises minReplicas 1 → 5');
    await commands.cancel(proposed.id, DAVE);
  }, 30_000);

  it('with the fix, west serves at full size and holds it; the HPA is given back after failback', async () => {
    await breaks.selfHeal('west', 'on');
    const failover = await run('failover');
    expect(await lab.servedBy()).toBe('west');
    expect(workload('west', 'web')).toMatchObject({ replicas: 5, readyReplicas: 5 });
    expect(workload('west', 'worker')).toMatchObject({ replicas: 3, readyReplicas: 3 });
    expect(hpa()).toMatchObject({ minReplicas: 5, maxReplicas: 10 });
    expect(hpa().annotations['baton/held-from']).toBeDefined();

    // It holds: the HPA controller syncs at the raised floor, and self-heal's delay has passed since the scale-up.
    const scaledAt = failover.steps['scale-up-target']?.finishedAt ?? Date.now();
    await waitFor('an HPA sync at the serving count', async () => hpa().desiredReplicas === 5);
    await waitFor('self-heal’s delay to pass', async () => Date.now() > scaledAt + 2 * SELF_HEAL_DELAY_MS);
    expect(workload('west', 'web').replicas).toBe(5);
    expect(workload('west', 'worker').replicas).toBe(3);

    // What the fix prevents: with it taken away, self-heal puts worker back to Git's 1; the HPA keeps web at 5.
    await breaks.selfHeal('west', 'on-without-fix');
    await waitFor('self-heal to revert worker', async () => workload('west', 'worker').replicas === 1);
    expect(workload('west', 'web').replicas).toBe(5);
    await breaks.selfHeal('west', 'on');

    await run('failback');
    expect(await lab.servedBy()).toBe('east');
    expect(workload('east', 'web')).toMatchObject({ replicas: 5, readyReplicas: 5 });
    expect(workload('east', 'worker')).toMatchObject({ replicas: 3, readyReplicas: 3 });
    expect(workload('west', 'web').replicas).toBe(1);
    expect(workload('west', 'worker').replicas).toBe(1);
    expect(hpa()).toMatchObject({ minReplicas: 1, maxReplicas: 10 });
    expect(hpa().annotations['baton/held-from']).toBeUndefined();
  }, 90_000);
});
