/**
 * Pre-warm's effect on recovery time (issue 15): approval → verified of an emergency failover, with and without
 * pre-warm, in the lab with pods that take 20 s to become Ready. The approval comes after the pods had time to start,
 * as a person reading the proposal would give it. Goal: with pre-warm, approval → verified ≤ the run's own DNS
 * INSYNC time (switch-dns: change submitted → INSYNC seen) + 2 s.
 *
 * Each sample is a fresh lab (the Kubernetes and Route 53 stand-ins through the official SDKs, a real PostgreSQL
 * primary and hot standby) and a worker role in this process with the real adapters, on a real Redis.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createPorts } from '../src/adapters/create-ports.js';
import type { Topology } from '../src/config/topology.js';
import { keyPrefixes, loadEnvOnly } from '../src/config/load-config.js';
import { systemClock } from '../src/core/clock.js';
import type { Actor, Run } from '../src/core/model.js';
import { createLogger } from '../src/logger.js';
import { startWorkerRole } from '../src/roles/worker-role.js';
import { DEFAULT_STEP_SETTINGS } from '../src/core/steps/step.js';
import { startRedis } from '../lab/processes/processes.js';
import type { RedisProcess } from '../lab/processes/processes.js';
import { startLab } from '../lab/sandbox/start-lab.js';
import type { Row } from './support.js';
import { ms, percentile, renderTable, runIfMain, sleep } from './support.js';

const PODS_READY_MS = 20_000;
/** How long the proposal is read before the approval: long enough for the pods to start. */
const READING_MS = 25_000;
const SAMPLES = Number(process.env.PREWARM_SAMPLES ?? 3);
const BOB: Actor = { type: 'slack-user', id: 'U0BOB', name: 'bob' };
const ALICE: Actor = { type: 'slack-user', id: 'U0ALICE', name: 'alice' };

interface Sample {
  /** The approval's save → the verify step's end. */
  approvalToVerified: number;
  /** The same, less the switch-dns step: Baton's own time and the other steps'. */
  besidesDns: number;
  /** switch-dns: the change submitted → INSYNC seen (its step's duration). */
  insync: number;
  /** scale-up-target's duration (near 0 when it found the pods Ready). */
  scaleUp: number;
}

async function waitForRun(
  get: () => Promise<Run | null>,
  done: (run: Run) => boolean,
  timeoutMs: number,
): Promise<Run> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await get();
    if (run && done(run)) return run;
    if (Date.now() > deadline) throw new Error(`run not done within ${timeoutMs} ms (${run?.state})`);
    await sleep(100);
  }
}

interface Config {
  label: string;
  prewarm: boolean;
  /** The steps' poll interval (Kubernetes readiness, PostgreSQL replay and promotion); default 500 ms. */
  pollMs?: number;
}

const CONFIGS: Config[] = [
  { label: 'with pre-warm', prewarm: true },
  { label: 'with pre-warm, steps polling every 100 ms', prewarm: true, pollMs: 100 },
  { label: 'without pre-warm', prewarm: false },
];

async function sample(redis: RedisProcess, config: Config): Promise<Sample> {
  const { prewarm } = config;
  const log = createLogger({ level: 'silent' });
  const lab = await startLab({ podReadyAfterMs: PODS_READY_MS });
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  // The real adapters as the worker role builds them (the SDK's credential chain reads the lab's AWS keys).
  const rawEnv = { ...lab.env, REDIS_URL: redis.url };
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: lab.env.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: lab.env.AWS_SECRET_ACCESS_KEY,
    AWS_REGION: lab.env.AWS_REGION,
  });
  const real = createPorts({ env: loadEnvOnly(rawEnv), rawEnv, topology: lab.topology, log });
  const ports = real.ports;
  const topology: Topology = {
    ...lab.topology,
    sites: lab.topology.sites.map((site) => ({ ...site, prewarm })),
  };
  const prefixes = keyPrefixes({ keyPrefix: `b${randomUUID().slice(0, 8)}` });
  const role = await startWorkerRole({
    topology,
    connection,
    prefixes,
    ports,
    slack: null,
    clock: systemClock,
    log,
    name: 'bench',
    ...(config.pollMs !== undefined && {
      settings: { ...DEFAULT_STEP_SETTINGS, pollIntervalMs: config.pollMs },
    }),
  });
  try {
    const { run } = await role.service.propose({
      kind: 'failover',
      reason: 'bench: east is down',
      actor: BOB,
    });
    await sleep(READING_MS);
    const proposal = await role.store.require(run.id);
    if (prewarm && proposal.prewarm?.readyAt === undefined) {
      throw new Error(`pre-warm was not Ready after ${READING_MS} ms: ${JSON.stringify(proposal.prewarm)}`);
    }
    await role.service.approve(run.id, ALICE);
    const done = await waitForRun(
      () => role.store.get(run.id),
      (r) => r.state === 'succeeded' || r.state === 'paused' || r.state === 'failed',
      180_000,
    );
    if (done.state !== 'succeeded') throw new Error(`run ${done.state}: ${done.stateReason}`);
    const approvedAt = done.timeline.find((e) => e.event === 'approved')?.at ?? Number.NaN;
    if (process.env.PREWARM_DEBUG) {
      const steps = Object.values(done.steps).map(
        (st) => `${st.id} +${(st.startedAt ?? 0) - approvedAt}..+${(st.finishedAt ?? 0) - approvedAt}`,
      );
      console.error(prewarm ? 'with' : 'without', steps.join(' | '));
    }
    const duration = (id: string) => {
      const step = done.steps[id];
      return (step?.finishedAt ?? Number.NaN) - (step?.startedAt ?? Number.NaN);
    };
    return {
      approvalToVerified: (done.steps.verify?.finishedAt ?? Number.NaN) - approvedAt,
      insync: duration('switch-dns'),
      besidesDns: (done.steps.verify?.finishedAt ?? Number.NaN) - approvedAt - duration('switch-dns'),
      scaleUp: duration('scale-up-target'),
    };
  } finally {
    await role.close();
    connection.disconnect();
    await real.close();
    await lab.stop();
  }
}

export async function prewarmRto(): Promise<string> {
  const redis = await startRedis();
  // PREWARM_CONFIGS=0,2 runs only those configurations (for a quick look).
  const only = process.env.PREWARM_CONFIGS?.split(',').map(Number);
  const configs = CONFIGS.filter((_, i) => !only || only.includes(i));
  const runs = new Map<Config, Sample[]>(configs.map((c) => [c, []]));
  try {
    for (let i = 0; i < SAMPLES; i += 1) {
      for (const config of configs) runs.get(config)?.push(await sample(redis, config));
    }
  } finally {
    await redis.stop();
  }
  const col = (samples: Sample[], pick: (s: Sample) => number) => {
    const values = samples.map(pick);
    return [ms(percentile(values, 50), 0), ms(Math.max(...values), 0)];
  };
  const rows: Row[] = [];
  for (const config of configs) {
    const samples = runs.get(config) ?? [];
    // The goal holds per run: each run's approval → verified against its own INSYNC time + 2 s.
    rows.push(
      {
        metric: `approval → verified, ${config.label} (${samples.length} runs)`,
        values: col(samples, (s) => s.approvalToVerified),
        budget: config.prewarm ? '≤ INSYNC + 2 s (each run)' : '—',
        ...(config.prewarm && {
          pass: samples.every((s) => s.approvalToVerified <= s.insync + 2000),
        }),
      },
      {
        metric: '· its DNS INSYNC time (switch-dns: submitted → INSYNC seen)',
        values: col(samples, (s) => s.insync),
        budget: '—',
      },
      {
        metric: '· everything else (approval → verified less switch-dns)',
        values: col(samples, (s) => s.besidesDns),
        budget: config.prewarm ? '≤ 2 s' : '—',
        ...(config.prewarm && { pass: samples.every((s) => s.besidesDns <= 2000) }),
      },
      {
        metric: `· scale-up-target (${config.prewarm ? 'finds the pods Ready' : 'waits for the pods'})`,
        values: col(samples, (s) => s.scaleUp),
        budget: '—',
      },
    );
  }
  const median = (config: Config | undefined) =>
    percentile(
      (config ? (runs.get(config) ?? []) : []).map((s) => s.approvalToVerified),
      50,
    );
  const saved = median(CONFIGS.find((c) => !c.prewarm)) - median(CONFIGS[0]);
  rows.push({
    metric: 'time saved by pre-warm (median without − median with, same polling)',
    values: [ms(saved, 0), ''],
    budget: `≈ the pods' start (${PODS_READY_MS / 1000} s)`,
  });
  return renderTable({
    title: 'Pre-warm on proposal: approval → verified (issue 15)',
    setup:
      `Emergency failover east → west in the lab (Kubernetes and Route 53 stand-ins through the official SDKs, real ` +
      `PostgreSQL pair, a fresh lab per run), the worker role in-process with the real adapters, pods Ready ` +
      `${PODS_READY_MS / 1000} s after a scale-up, Route 53 INSYNC 0.5 s after a change (Baton polls GetChange every ` +
      `2 s), west's HPA on web. Approved ${READING_MS / 1000} s after the proposal. Columns: p50, max.`,
    columns: ['p50', 'max'],
    rows,
  });
}

runIfMain(import.meta.url, prewarmRto);
