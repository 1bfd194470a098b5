/**
 * Shared set-up for integration tests: a real Redis of the test file's own, a unique key prefix per test,
 * the example topology, RunCommands and a simulated world in Redis, and worker processes that can be killed.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis } from '../../src/adapters/redis.js';
import { keyPrefixes } from '../../src/config/load-config.js';
import { loadTopologyFile } from '../../src/config/topology.js';
import type { Topology } from '../../src/config/topology.js';
import { systemClock } from '../../src/core/clock.js';
import type { Clock } from '../../src/core/ports.js';
import type { Actor, Run, RunState, StepId, StepStatus } from '../../src/core/model.js';
import type { StepTuning } from '../../src/core/plans/build-plan.js';
import { RUNS_QUEUE } from '../../src/queue/queues.js';
import type { RunJobData } from '../../src/queue/queues.js';
import type { CheckJobData } from '../../src/queue/check-jobs.js';
import { CHECKS_QUEUE } from '../../src/queue/check-jobs.js';
import { Notifier } from '../../src/queue/notify/index.js';
import type { Directory } from '../../src/runs/authorizer.js';
import { createAuthorizer } from '../../src/runs/authorizer.js';
import { RunService } from '../../src/runs/run-service.js';
import { RunPublisher } from '../../src/slack/publish-run.js';
import { EXAMPLE_TOPOLOGY } from '../../lab/sandbox/start-lab.js';
import { SimulatedWorld } from '../../lab/simulated-world/simulated-world.js';
import type { WorldTiming } from '../../lab/simulated-world/simulated-world.js';
import { FenceDebtStore } from '../../src/store/fence-debts.js';
import { StoreKeys } from '../../src/store/keys.js';
import { RunStore } from '../../src/store/run-store.js';
import { createLogger } from '../../src/logger.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DB_ENV = {
  EAST_DATABASE_URL: 'postgresql://baton@127.0.0.1/east',
  WEST_DATABASE_URL: 'postgresql://baton@127.0.0.1/west',
};
export const BOB: Actor = { type: 'slack-user', id: 'U0BOB', name: 'bob' };
export const ALICE: Actor = { type: 'slack-user', id: 'U0ALICE', name: 'alice' };

/** The topology in `file` (the example's by default), as a `baton` process given DB_ENV loads it. */
export async function exampleTopology(file: string = EXAMPLE_TOPOLOGY): Promise<Topology> {
  const loaded = await loadTopologyFile(file, DB_ENV);
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  return loaded.topology;
}

export interface Harness {
  prefix: string;
  storePrefix: string;
  bullPrefix: string;
  worldKey: string;
  redis: Redis;
  store: RunStore;
  debts: FenceDebtStore;
  queue: Queue<RunJobData>;
  /** The run service, authorizing Slack users through {@link TEST_DIRECTORY}. */
  service: RunService;
  topology: Topology;
  world: SimulatedWorld;
  close(): Promise<void>;
}

/**
 * Slack user-group membership for tests without Slack: the example topology's requesters (S0ONCALL) and approvers'
 * group (S0SRE), with the people these tests play.
 */
export const TEST_DIRECTORY: Directory = {
  async includes(principals, userId) {
    const groups: Record<string, string[]> = {
      S0ONCALL: ['U0ALICE', 'U0BOB', 'U0DAVE'],
      S0SRE: ['U0CAROL'],
    };
    return (
      principals.users.includes(userId) || principals.userGroups.some((g) => groups[g]?.includes(userId))
    );
  },
};

/**
 * The run service as the roles build it, on `redis` under `bullPrefix`, with its store: Slack users authorized
 * through {@link TEST_DIRECTORY}, messages left waiting in Redis (no notify worker). `close()` closes its queues.
 */
export function createRunService(input: {
  redis: Redis;
  store: RunStore;
  bullPrefix: string;
  topology: Topology;
  clock?: Clock;
  tuning?: StepTuning;
}): { service: RunService; close(): Promise<void> } {
  const { redis, store, bullPrefix, topology } = input;
  const clock = input.clock ?? systemClock;
  const runs = new Queue<RunJobData>(RUNS_QUEUE, { connection: redis, prefix: bullPrefix });
  const checks = new Queue<CheckJobData>(CHECKS_QUEUE, { connection: redis, prefix: bullPrefix });
  const log = createLogger({ level: 'silent' });
  const notifier = new Notifier({ connection: redis, prefix: bullPrefix, log, clock });
  const service = new RunService({
    store,
    queues: { runs, checks },
    reporter: new RunPublisher({ notifier, topology, clock, log }),
    authorizer: createAuthorizer(topology.approvals, TEST_DIRECTORY),
    topology,
    clock,
    log,
    ...(input.tuning && { tuning: input.tuning }),
  });
  return {
    service,
    async close() {
      await Promise.all([runs.close(), checks.close(), notifier.close()]);
    },
  };
}

/** One isolated Baton namespace in `redisUrl`: its own key prefix, queue and simulated world. */
export async function createHarness(
  redisUrl: string,
  options: { tuning?: StepTuning; timing?: Partial<WorldTiming>; topology?: Topology } = {},
): Promise<Harness> {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  // The prefixes a `baton` process given BATON_KEY_PREFIX=prefix uses (see spawnWorker).
  const { store: storePrefix, bull: bullPrefix } = keyPrefixes({ keyPrefix: prefix });
  const worldKey = new StoreKeys(storePrefix).world();
  // Any REDIS_URL the roles take (a server, Sentinel or a Redis Cluster), connected as a worker connects.
  const redis = createRedis(redisUrl, 'worker');
  const topology = options.topology ?? (await exampleTopology());
  const site = topology.sites[0];
  if (!site) throw new Error('no site');
  await SimulatedWorld.resetInRedis(redis, worldKey, site);
  const store = new RunStore(redis, storePrefix);
  const debts = new FenceDebtStore(redis, storePrefix);
  const queue = new Queue<RunJobData>(RUNS_QUEUE, { connection: redis, prefix: bullPrefix });
  const { service, close: closeService } = createRunService({
    redis,
    store,
    bullPrefix,
    topology,
    ...(options.tuning && { tuning: options.tuning }),
  });
  const world = SimulatedWorld.inRedis(redis, worldKey, site, systemClock, options.timing);
  return {
    prefix,
    storePrefix,
    debts,
    bullPrefix,
    worldKey,
    redis,
    store,
    queue,
    service,
    topology,
    world,
    async close() {
      await queue.close();
      await closeService();
      redis.disconnect();
    },
  };
}

/** A simulated world slow enough to kill a worker inside a step: 25 ms per call, pods and DNS ready in 300 ms. */
export const SIM_WORKER_FLAGS = [
  '--latency-ms',
  '25',
  '--pods-ready-ms',
  '300',
  '--dns-insync-ms',
  '300',
  '--poll-ms',
  '50',
] as const;

export interface WorkerProcess {
  child: ChildProcess;
  name: string;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * Starts `baton worker --simulated` (or `baton web`) through the lab entry point (lab/cli.ts: the same
 * runRole as `baton`, with test knobs) as a real process (node --import tsx, so a kill reaches the
 * process itself).
 */
export function spawnWorker(
  harness: Pick<Harness, 'prefix' | 'worldKey'>,
  redisUrl: string,
  flags: string[] = [],
  options: { role?: 'worker' | 'real-worker' | 'web'; env?: Record<string, string> } = {},
): WorkerProcess {
  const role = options.role ?? 'worker';
  const args =
    role === 'worker'
      ? ['worker', '--simulated', '--world-key', harness.worldKey]
      : role === 'web'
        ? ['web']
        : ['worker'];
  const child = spawn(process.execPath, ['--import', 'tsx', 'lab/cli.ts', ...args, ...flags], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      REDIS_URL: redisUrl,
      BATON_CONFIG: EXAMPLE_TOPOLOGY,
      BATON_KEY_PREFIX: harness.prefix,
      LOG_LEVEL: 'info',
      ...DB_ENV,
      ...options.env,
      // Workers serve /healthz, /readyz and /metrics on PORT: several on one machine (and a web role) must not clash.
      ...(role !== 'web' && { PORT: '0' }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, name: `${hostname()}-${child.pid}`, output: () => output, exited };
}

/**
 * Waits until a spawned `baton` process logs `what`, failing at once, with its output, if it exits first. Generous:
 * several processes starting at once on two busy cores (each importing the sources through tsx) take a while; a
 * healthy start is far quicker.
 */
export async function processReady(
  process: WorkerProcess,
  what: RegExp = /"msg":"worker ready"/,
  timeoutMs = 150_000,
): Promise<void> {
  try {
    await waitFor(
      `${process.name} to log ${what}`,
      async () => {
        if (process.child.exitCode !== null) throw new Error(`exited early:\n${process.output()}`);
        return what.test(process.output());
      },
      timeoutMs,
      50,
    );
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${process.output()}`);
  }
}

export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function waitForState(
  store: RunStore,
  runId: string,
  states: RunState[],
  timeoutMs = 30_000,
): Promise<Run> {
  return waitFor(
    `run ${runId} to be ${states.join(' or ')}`,
    async () => {
      const run = await store.require(runId);
      return states.includes(run.state) ? run : undefined;
    },
    timeoutMs,
  );
}

/** Waits until step `step` of the run has status `status` (e.g. scale-up-target running). */
export function waitForStep(
  store: RunStore,
  runId: string,
  step: StepId,
  status: StepStatus = 'running',
): Promise<Run> {
  return waitFor(`${step} of ${runId} to be ${status}`, async () => {
    const run = await store.require(runId);
    return run.steps[step]?.status === status ? run : undefined;
  });
}

/** The world as the operator would rebuild it before a failback: the old primary becomes a standby again. */
export async function rebuildAsStandby(world: SimulatedWorld, cluster: string): Promise<void> {
  await world.rebuildAsStandby(cluster);
}
