/**
 * `baton sandbox` (for now): a whole failover and failback of the DESIGN example site on this machine, with a real
 * Redis and BullMQ worker, against a simulated world (clusters, Route 53, PostgreSQL held in memory). The stand-ins
 * that speak the real wire protocols, the Slack page and the drill replace the simulated world in later issues.
 */
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { createRedis } from '../adapters/redis.js';
import { loadTopologyFile } from '../config/topology.js';
import type { Topology } from '../config/topology.js';
import { systemClock } from '../core/clock.js';
import type { Run } from '../core/model.js';
import { renderPlan } from '../core/plans/build-plan.js';
import type { Logger } from '../logger.js';
import { RUNS_QUEUE } from '../queue/queues.js';
import type { RunJobData } from '../queue/queues.js';
import { RunCommands } from '../queue/run-commands.js';
import { startRunWorker } from '../queue/run-worker.js';
import { RunStore } from '../store/run-store.js';
import { startRedis } from './processes.js';
import type { RedisProcess } from './processes.js';
import { SimulatedWorld } from './simulated-world.js';

export const EXAMPLE_TOPOLOGY = fileURLToPath(new URL('../../examples/baton.yaml', import.meta.url));

const SIMULATED_DB_ENV = {
  EAST_DATABASE_URL: 'postgresql://simulated@127.0.0.1/east',
  WEST_DATABASE_URL: 'postgresql://simulated@127.0.0.1/west',
};

export interface SandboxOptions {
  log: Logger;
  print: (line: string) => void;
  /** Use this Redis instead of starting one. */
  redisUrl?: string;
}

export async function runSandbox(options: SandboxOptions): Promise<number> {
  const { print, log } = options;
  const loaded = await loadTopologyFile(EXAMPLE_TOPOLOGY, SIMULATED_DB_ENV);
  if (!loaded.ok) throw new Error(`example topology is invalid: ${loaded.problems.join('; ')}`);
  const topology: Topology = loaded.topology;
  const site = topology.sites[0];
  if (!site) throw new Error('example topology has no site');

  let redisProcess: RedisProcess | undefined;
  const cleanup: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
    await redisProcess?.stop();
  };
  const onSignal = () => {
    print('\nStopping the sandbox…');
    void stop().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Output piped into something that exits early (`| head`): clean up as for Ctrl-C.
  const onOutputGone = () => void stop().then(() => process.exit(0));
  process.stdout.once('error', onOutputGone);

  try {
    let redisUrl = options.redisUrl;
    if (!redisUrl) {
      redisProcess = await startRedis();
      redisUrl = redisProcess.url;
    }
    print(`Redis            ${redisUrl}${redisProcess ? ' (started for the sandbox, AOF on)' : ''}`);
    print(`Topology         ${EXAMPLE_TOPOLOGY} (site ${site.name}: home ${site.homeCluster})`);
    print(
      'World            simulated clusters, Route 53 and PostgreSQL (pods Ready after 1.5 s, DNS INSYNC after 3 s)',
    );
    print('');

    const prefix = `baton-sandbox-${process.pid}`;
    const connection = createRedis(redisUrl, 'worker');
    cleanup.push(async () => connection.quit());
    const store = new RunStore(connection, `${prefix}:`);
    const world = SimulatedWorld.inMemory(site, systemClock, {
      podsReadyAfterMs: 1500,
      dnsInSyncAfterMs: 3000,
      latencyMs: 20,
    });
    const seen = new Map<string, string>();
    const worker = startRunWorker({
      connection,
      bullPrefix: prefix,
      store,
      topology,
      ports: world.ports,
      clock: systemClock,
      log,
      settings: { pollIntervalMs: 250, dnsPollIntervalMs: 500 },
      onChange: (run) => printProgress(run, seen, print),
    });
    cleanup.push(() => worker.close());
    const queue = new Queue<RunJobData>(RUNS_QUEUE, { connection, prefix });
    cleanup.push(() => queue.close());
    const commands = new RunCommands({ store, queue, topology, clock: systemClock });

    const requester = { type: 'slack-user' as const, id: 'U0BOB', name: 'bob' };
    const approver = { type: 'slack-user' as const, id: 'U0ALICE', name: 'alice' };
    for (const kind of ['failover', 'failback'] as const) {
      const { run } = await commands.propose({ kind, reason: `sandbox ${kind}`, actor: requester });
      print(
        `▶ ${kind} of ${run.site}: ${run.from} → ${run.to} (${run.mode}), run ${run.id}, requested by bob`,
      );
      for (const line of renderPlan(run.plan)) print(`  ${line}`);
      for (const warning of run.plan.warnings) print(`  ⚠ ${warning}`);
      const approval = await commands.approve(run.id, approver);
      print(`✔ approved by alice (${approval.count} of ${approval.required})`);
      const done = await waitForEnd(store, run.id);
      print(`■ ${kind} ${done.state}: ${done.stateReason ?? ''}`);
      if (done.state !== 'succeeded') return 1;
      const state = await world.state();
      // The old primary keeps running after a promotion (fenced), so name each side's role.
      const databases = Object.entries(state.clusters).map(
        ([id, c]) =>
          `${id} ${c.db.role === 'standby' ? 'standby' : c.db.readOnly ? 'fenced old primary' : 'primary'}`,
      );
      print(`  DNS serves ${state.dns.serving}; databases: ${databases.join(', ')}`);
      if (kind === 'failover') {
        // What an operator does before failing back: rebuild the old primary as a standby of the new one.
        await world.change((s) => {
          const old = s.clusters[run.from];
          if (old) old.db = { ...old.db, role: 'standby', readOnly: false };
        });
        print(
          `  (sandbox: ${run.from}'s database rebuilt as a standby of ${run.to}, as you would before failing back)`,
        );
      }
      print('');
    }
    print('Audit trail:');
    for (const entry of (await store.audit()).filter(
      (e) => !e.action.startsWith('step-attempt') && e.action !== 'step-progress',
    )) {
      print(
        `  ${new Date(entry.at).toISOString()}  ${entry.runId}  ${entry.action.padEnd(16)} ${entry.actor.id}${entry.detail ? `  ${entry.detail}` : ''}`,
      );
    }
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.stdout.off('error', onOutputGone);
    await stop();
  }
}

function printProgress(run: Run, seen: Map<string, string>, print: (line: string) => void): void {
  for (const step of Object.values(run.steps)) {
    const key = `${run.id}:${step.id}`;
    if (seen.get(key) === step.status || step.status === 'pending') continue;
    seen.set(key, step.status);
    const took =
      step.finishedAt && step.startedAt
        ? ` (${((step.finishedAt - step.startedAt) / 1000).toFixed(1)} s)`
        : '';
    print(
      `  · ${step.id.padEnd(18)} ${step.status}${took}${step.error && step.status === 'failed' ? ` — ${step.error}` : ''}`,
    );
  }
}

async function waitForEnd(store: RunStore, runId: string): Promise<Run> {
  for (;;) {
    const run = await store.require(runId);
    if (['succeeded', 'paused', 'failed', 'aborted'].includes(run.state)) return run;
    await new Promise((r) => setTimeout(r, 100));
  }
}
