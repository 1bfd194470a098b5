/**
 * Issue 16: Baton on a real Redis Cluster of three masters and three replicas, as `redis-cli --cluster create` builds
 * it. Web and worker processes take REDIS_URL=redis+cluster://…; a failover is proposed in Slack on one web process,
 * approved on the other, and runs to the end on the workers, every step once. Every key of the deployment, Baton's
 * and BullMQ's, lives in the one slot of its `{prefix}` hash tag, on one master; another deployment's prefix may
 * live on another master.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/adapters/redis.js';
import { connectRedis } from '../../src/break-glass/open-break-glass.js';
import { keyPrefixes } from '../../src/config/load-config.js';
import { allSteps } from '../../src/core/model.js';
import { RunStore } from '../../src/store/run-store.js';
import type { RedisClusterProcess } from '../../lab/processes/redis-cluster.js';
import { startRedisCluster } from '../../lab/processes/redis-cluster.js';
import { cliEnv, runCli } from '../break-glass/cli-process.js';
import { sample } from '../operate/operate-support.js';
import { CAROL, proposedRun } from '../support/core-fixtures.js';
import { waitForState } from '../support/integration.js';
import type { Fleet } from '../support/multi-process.js';
import { FLEET_USERS, startFleet } from '../support/multi-process.js';
import { missingPrograms } from '../support/programs.js';
import { skipWhenMissing } from '../support/skip-when-missing.js';

const skip = skipWhenMissing(
  'the Redis Cluster tests',
  await missingPrograms(['redis-server', 'redis-cli']),
  'apt-get install -y redis-server',
);

/** A step's start, its retries, and its end (progress and checkpoints are left out). */
const LIFECYCLE: string[] = ['step-started', 'step-attempt', 'step-retry', 'step-failed', 'step-succeeded'];

let cluster: RedisClusterProcess;
let fleet: Fleet;

beforeAll(async () => {
  if (skip) return;
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  fleet = await startFleet(cluster.url, { webs: 2, workers: 3 });
}, 200_000);
afterAll(async () => {
  await fleet?.close();
  await cluster?.stop();
});

/** The master (`host:port`) holding each key that contains `{tag}`, read from every master directly. */
async function keysByMaster(tag: string): Promise<Map<string, string[]>> {
  const first = cluster.nodes[0]!;
  const admin = new Redis(first.port, first.host);
  try {
    const ranges = (await admin.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    const masters = [...new Set(ranges.map(([, , [host, port]]) => `${host}:${port}`))];
    const found = new Map<string, string[]>();
    for (const master of masters) {
      const [host, port] = master.split(':');
      const node = new Redis(Number(port), host!);
      try {
        const keys = await node.keys(`*{${tag}}*`);
        if (keys.length) found.set(master, keys.sort());
      } finally {
        node.disconnect();
      }
    }
    return found;
  } finally {
    admin.disconnect();
  }
}

async function slotOf(key: string): Promise<number> {
  const first = cluster.nodes[0]!;
  const admin = new Redis(first.port, first.host);
  try {
    return Number(await admin.call('CLUSTER', 'KEYSLOT', key));
  } finally {
    admin.disconnect();
  }
}

describe.skipIf(skip)('Baton on a Redis Cluster of three masters', () => {
  it('runs a failover through web and worker processes, every step once, its keys in one slot', async () => {
    const { harness } = fleet;
    const run = await fleet.propose(0, FLEET_USERS.requester, 'production cluster test');
    await fleet.approve(1, FLEET_USERS.approver, run.id);
    const done = await waitForState(harness.store, run.id, ['succeeded', 'paused', 'failed'], 60_000);
    expect(done.state, `${done.stateReason}\n${fleet.output()}`).toBe('succeeded');

    const steps = allSteps(done.plan).map((s) => s.id);
    const audit = (await harness.store.audit(10_000)).filter((e) => e.runId === run.id);
    for (const step of steps) {
      const events = audit
        .filter((e) => 'step' in e.event && e.event.step === step && LIFECYCLE.includes(e.action))
        .map((e) => e.action);
      expect(events, step).toEqual(['step-started', 'step-succeeded']);
    }
    const actions = (await harness.world.state()).actions.filter((a) => !a.startsWith('fence '));
    const web = 'default/Deployment/web';
    expect(actions.sort()).toEqual(
      [`dns ${run.to}`, `promote ${run.to}`, `scale ${run.from} ${web} 1`, `scale ${run.to} ${web} 5`].sort(),
    );

    // Every key of this deployment is on one master, in the slot of its hash tag: the store's and BullMQ's.
    const byMaster = await keysByMaster(harness.prefix);
    expect([...byMaster.keys()]).toHaveLength(1);
    const [master, keys] = [...byMaster.entries()][0]!;
    expect(keys).toContain(`${harness.storePrefix}run:${run.id}`);
    expect(keys.some((k) => k.startsWith(`${harness.bullPrefix}:runs:`))).toBe(true);
    expect(keys.some((k) => k.startsWith(`${harness.bullPrefix}:notify:`))).toBe(true);
    const slot = await slotOf(`{${harness.prefix}}`);
    expect(new Set(await Promise.all(keys.map(slotOf)))).toEqual(new Set([slot]));
    expect(master).toBe(await cluster.masterOf(slot));

    // The break-glass CLI reads the same cluster: `baton status` shows the site serving where the run moved it.
    const status = await runCli(['status'], cliEnv(cluster.url, harness.prefix));
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(run.to);
    // BullMQ finds the workers on whichever node their connections are: all three.
    expect(status.stdout).toContain('workers: 3 on runs');
    const metrics = await (await fetch(`http://127.0.0.1:${fleet.webs[0]!.port}/metrics`)).text();
    expect(sample(metrics, 'baton_queue_workers', { queue: 'runs' })).toBe(3);
    expect(sample(metrics, 'baton_runs_in_state', { state: 'running' })).toBe(0);
  }, 120_000);

  it('gives the break-glass CLI a connection that settles every time, on a cluster as it is', async () => {
    // One connect in four or five used to hang for the whole time box: ioredis's ready check, refused by a disabled
    // offline queue, disconnected with no listener left to reject connect() (open-break-glass.ts says more).
    for (let i = 0; i < 25; i += 1) {
      const redis = await connectRedis(cluster.url, 5_000);
      try {
        expect(await redis.ping()).toBe('PONG');
      } finally {
        redis.disconnect();
      }
    }
  });

  it('places another deployment’s key prefix on another master', async () => {
    const ours = await cluster.masterOf(await slotOf(`{${fleet.harness.prefix}}`));
    // A prefix whose slot another master serves: about two in three random prefixes are.
    let other = '';
    for (let i = 0; i < 50 && !other; i += 1) {
      const candidate = `o${randomUUID().slice(0, 8)}`;
      if ((await cluster.masterOf(await slotOf(`{${candidate}}`))) !== ours) other = candidate;
    }
    expect(other).not.toBe('');
    const connection = createRedis(cluster.url, 'worker');
    try {
      const store = new RunStore(connection, keyPrefixes({ keyPrefix: other }).store);
      const site = fleet.harness.topology.sites[0]!;
      const run = { ...proposedRun(site, { now: Date.now() }), id: await store.nextRunId() };
      await store.create(run, { event: { type: 'run-proposed', reason: 'other deployment' }, actor: CAROL });
      const byMaster = await keysByMaster(other);
      expect([...byMaster.keys()]).toEqual([await cluster.masterOf(await slotOf(`{${other}}`))]);
      expect([...byMaster.keys()]).not.toContain(ours);
    } finally {
      connection.disconnect();
    }
  });
});
