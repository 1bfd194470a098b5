/**
 * Resume after SIGKILL: how long a run stands still when the worker process running it dies, with the production
 * BullMQ lock settings (RUN_WORKER_SETTINGS). Two worker processes share a simulated world in Redis; at a random
 * step we kill the one that owns the run's job, start a replacement, and time kill → the run's next `step-*`
 * audit entry, written by whichever worker picked the stalled job up.
 */
import { allSteps, runJobId } from '../src/core/model.js';
import { RUNS_QUEUE, RUN_WORKER_SETTINGS } from '../src/queue/queues.js';
import { startRedis } from '../lab/processes/processes.js';
import type { WorkerProcess } from '../test/support/integration.js';
import {
  SIM_WORKER_FLAGS,
  ALICE,
  BOB,
  createHarness,
  rebuildAsStandby,
  spawnWorker,
  waitFor,
  waitForState,
} from '../test/support/integration.js';
import type { Row } from './support.js';
import { ms, percentile, renderTable, runIfMain, sleep } from './support.js';

/** No --lock-duration-ms / --stalled-interval-ms: the workers use RUN_WORKER_SETTINGS. */
const WORKER_FLAGS = [...SIM_WORKER_FLAGS];
/** Kills whose run was still going (a kill after the last step finished measures nothing). */
const KILLS = 20;
const MAX_ATTEMPTS = 30;

export async function resumeAfterKill(): Promise<string> {
  const redis = await startRedis();
  const workers: WorkerProcess[] = [];
  const alive = () => workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
  const harness = await createHarness(redis.url);
  const start = async (): Promise<WorkerProcess> => {
    const worker = spawnWorker(harness, redis.url, WORKER_FLAGS);
    workers.push(worker);
    await waitFor(
      `worker ${worker.name} to be ready`,
      async () => worker.output().includes('worker ready'),
      30_000,
    );
    return worker;
  };
  try {
    const site = harness.topology.sites[0];
    if (!site) throw new Error('the example topology has no site');
    await Promise.all([start(), start()]);

    const resumeMs: number[] = [];
    const finishMs: number[] = [];
    const killedIn = new Map<string, number>();
    let runs = 0;
    let succeeded = 0;
    let tooLate = 0;
    for (let attempt = 0; resumeMs.length < KILLS && attempt < MAX_ATTEMPTS; attempt += 1) {
      const serving = await harness.service.serving(site);
      const kind = serving === site.homeCluster ? 'failover' : 'failback';
      const { run } = await harness.service.propose({
        kind,
        mode: 'planned',
        reason: `resume bench ${attempt}`,
        actor: BOB,
      });
      await harness.service.approve(run.id, ALICE);
      runs += 1;
      const steps = allSteps(run.plan).map((s) => s.id);
      const victimStep = steps[Math.floor(Math.random() * steps.length)] as string;

      // Wait until the chosen step is under way (or past), then kill the worker that owns the job.
      const jobKey = `${harness.bullPrefix}:${RUNS_QUEUE}:${runJobId({ ...run, segment: 1 })}`;
      const owner = await waitFor(
        `step ${victimStep} of ${run.id} to start`,
        async () => {
          const current = await harness.store.require(run.id);
          if (['paused', 'failed'].includes(current.state)) {
            throw new Error(`run ${run.id} ${current.state} before ${victimStep}: ${current.stateReason}`);
          }
          if (current.steps[victimStep]?.status === 'pending') return undefined;
          return harness.redis.hget(jobKey, 'pb');
        },
        20_000,
        5,
      );
      const victim = alive().find((w) => w.name === owner);
      if (!victim) throw new Error(`the worker that owns ${run.id} (${owner}) is not one of ours`);
      victim.child.kill('SIGKILL');
      const killedAt = Date.now();
      await victim.exited;
      const replacement = start();

      const done = await waitForState(harness.store, run.id, ['succeeded', 'paused', 'failed'], 60_000);
      await replacement;
      if (done.state === 'succeeded') succeeded += 1;
      const finishedAt = done.timeline.find((e) => e.event === done.state)?.at ?? done.updatedAt;
      if (finishedAt <= killedAt) {
        tooLate += 1; // the run was already over when the kill landed
      } else {
        const after = (await harness.store.audit(100_000)).filter(
          (e) => e.runId === run.id && e.at > killedAt,
        );
        // Killed between the last step's record and the run's: the resumed worker only records the success.
        const resumed = after.find((e) => e.action.startsWith('step-')) ?? after[0];
        if (!resumed) throw new Error(`run ${run.id} finished after the kill but recorded nothing after it`);
        resumeMs.push(resumed.at - killedAt);
        finishMs.push(finishedAt - killedAt);
        killedIn.set(victimStep, (killedIn.get(victimStep) ?? 0) + 1);
      }
      await rebuildAsStandby(harness.world, done.from);
    }

    const q = (samples: number[], p: number) => ms(percentile(samples, p), 0);
    const rows: Row[] = [
      {
        metric: 'kill → first `step-*` audit entry of the run',
        values: [
          `${resumeMs.length}`,
          ms(Math.min(...resumeMs), 0),
          q(resumeMs, 50),
          q(resumeMs, 90),
          q(resumeMs, 99),
          ms(Math.max(...resumeMs), 0),
        ],
        budget: 'p99 < 15 s',
        pass: resumeMs.length >= KILLS && percentile(resumeMs, 99) < 15_000,
      },
      {
        metric: 'kill → run succeeded',
        values: [
          `${finishMs.length}`,
          ms(Math.min(...finishMs), 0),
          q(finishMs, 50),
          q(finishMs, 90),
          q(finishMs, 99),
          ms(Math.max(...finishMs), 0),
        ],
        budget: '—',
      },
      {
        metric: `runs succeeded (${tooLate} kill(s) landed after the run had finished and were repeated)`,
        values: [`${succeeded} of ${runs}`, '', '', '', '', ''],
        budget: 'all',
        pass: succeeded === runs,
      },
    ];
    const spread = steps(killedIn);
    return renderTable({
      title: 'Resume after SIGKILL (production lock settings)',
      setup:
        `Two \`baton worker --simulated\` processes (${WORKER_FLAGS.join(' ')}), BullMQ lockDuration ` +
        `${RUN_WORKER_SETTINGS.lockDuration} ms, stalledInterval ${RUN_WORKER_SETTINGS.stalledInterval} ms; ` +
        `planned failover/failback runs, the job owner SIGKILLed at a random step (${spread}), a replacement ` +
        'started at once. Times from the audit stream (`Date.now()` of the workers).',
      columns: ['n', 'min', 'p50', 'p90', 'p99', 'max'],
      rows,
    });
  } finally {
    await stopWorkers(alive());
    await harness.close();
    await redis.stop();
  }
}

function steps(counts: Map<string, number>): string {
  return [...counts.entries()].map(([step, n]) => `${step} ×${n}`).join(', ');
}

/** SIGTERM (the current step finishes), SIGKILL after 10 s. */
async function stopWorkers(workers: WorkerProcess[]): Promise<void> {
  await Promise.all(
    workers.map(async (w) => {
      w.child.kill('SIGTERM');
      const stopped = await Promise.race([w.exited.then(() => true), sleep(10_000).then(() => false)]);
      if (!stopped) {
        w.child.kill('SIGKILL');
        await w.exited;
      }
    }),
  );
}

runIfMain(import.meta.url, resumeAfterKill);
