import { BatonError } from '../../src/errors.js';
/**
 * Shared fixtures for the pure-core unit tests: the DESIGN example topology, runs built the way RunCommands
 * builds them, short step timings, a log that records warnings, and an executeRun wired to a SimulatedWorld.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SiteConfig, Topology } from '../../src/config/topology.js';
import { parseTopology } from '../../src/config/topology.js';
import { systemClock } from '../../src/core/clock.js';
import type { EvacuationSite } from '../../src/core/evacuation/evacuation.js';
import type { Actor, Run, StepId } from '../../src/core/model.js';
import { STEP_IDS } from '../../src/core/model.js';
import type { ObservedState, RunRequest, StepTuning } from '../../src/core/plans/build-plan.js';
import { newRun } from '../../src/core/runs/new-run.js';
import { buildPlan } from '../../src/core/plans/build-plan.js';
import type { Clock, Log } from '../../src/core/ports.js';
import type { ExecuteOutcome, ExecuteRunOptions } from '../../src/core/runs/execute-run.js';
import { executeRun } from '../../src/core/runs/execute-run.js';
import { STEPS } from '../../src/core/steps/index.js';
import type { StepSettings } from '../../src/core/steps/step.js';
import type { WorldTiming } from '../../lab/simulated-world/simulated-world.js';
import { SimulatedWorld } from '../../lab/simulated-world/simulated-world.js';
import type { MemoryPersistenceOptions } from './memory-persistence.js';
import { MemoryPersistence } from './memory-persistence.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/baton.yaml', import.meta.url));
const EXAMPLE_ENV = {
  EAST_DATABASE_URL: 'postgresql://x@127.0.0.1/east',
  WEST_DATABASE_URL: 'postgresql://x@127.0.0.1/west',
};

/** The DESIGN §3 example (examples/baton.yaml), parsed fresh each call so tests may change it freely. */
export function exampleTopology(): Topology {
  const result = parseTopology(readFileSync(EXAMPLE, 'utf8'), EXAMPLE_ENV);
  if (!result.ok) throw new Error(`examples/baton.yaml is invalid:\n${result.problems.join('\n')}`);
  return result.topology;
}

/** Site `production`: home east, standby west, one Deployment default/web (5 serving, 1 standby), PostgreSQL. */
export function exampleSite(): SiteConfig {
  const site = exampleTopology().sites[0];
  if (!site) throw new Error('examples/baton.yaml has no site');
  return site;
}

/** The example site without a database: no catch-up, no promotion. */
export function siteWithoutDatabase(): SiteConfig {
  const { database: _database, ...site } = exampleSite();
  return site;
}

export const ALICE: Actor = { type: 'slack-user', id: 'U0ALICE', name: 'alice' };
export const BOB: Actor = { type: 'slack-user', id: 'U0BOB', name: 'bob' };
export const CAROL: Actor = { type: 'slack-user', id: 'U0CAROL', name: 'carol' };

/** Timeouts and retries short enough for unit tests; every step gets one retry. */
export const FAST_TUNING: StepTuning = Object.fromEntries(
  STEP_IDS.map((id) => [id, { timeoutMs: 2_000, retries: 1 }]),
) as StepTuning;

export const FAST_SETTINGS: StepSettings = { pollIntervalMs: 1, dnsPollIntervalMs: 1 };
export const FAST_BACKOFF = { baseMs: 1, maxMs: 5 };

/** FAST_TUNING with some steps changed. */
export function tuning(overrides: StepTuning = {}): StepTuning {
  const merged: StepTuning = { ...FAST_TUNING };
  for (const [id, value] of Object.entries(overrides) as [StepId, StepTuning[StepId]][]) {
    merged[id] = { ...FAST_TUNING[id], ...value };
  }
  return merged;
}

export interface RunOptions {
  request?: RunRequest;
  tuning?: StepTuning;
  observed?: ObservedState;
  now?: number;
}

/** A proposal, exactly as RunCommands.propose creates it (state proposed, all steps pending, segment 0). */
export function proposedRun(site: SiteConfig, options: RunOptions = {}): Run {
  const request = options.request ?? { kind: 'failover' };
  const plan = buildPlan(
    request,
    site,
    options.observed ?? { serving: site.homeCluster },
    options.tuning ?? FAST_TUNING,
  );
  return newRun({
    id: 'r1',
    plan,
    force: request.force ?? false,
    reason: 'active cluster down',
    requestedBy: CAROL,
    now: options.now ?? 1_700_000_000_000,
    expiresAfterMs: 15 * 60_000,
  });
}

/** The proposal after its one approval: state approved, segment 1, ready for the worker. */
export function approvedRun(site: SiteConfig, options: RunOptions = {}): Run {
  const run = proposedRun(site, options);
  const at = run.createdAt + 1_000;
  return {
    ...run,
    state: 'approved',
    updatedAt: at,
    approvals: [{ actor: ALICE, at, breakGlass: run.force }],
    segment: 1,
    timeline: [
      ...run.timeline,
      { at, event: 'approval', actor: ALICE },
      { at, event: 'approved', actor: ALICE },
    ],
  };
}

/** Site `name` of an evacuation east → west in emergency mode, planned as preflight then switch-dns. */
export const evacuationSite = (name: string, extra: Partial<EvacuationSite> = {}): EvacuationSite => ({
  site: name,
  from: 'east',
  to: 'west',
  mode: 'emergency',
  plan: ['preflight', 'switch-dns'],
  ...extra,
});

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg?: string;
}

/** A Log that keeps what it was told, children included, so tests can look for warnings. */
export function recordingLog(entries: LogEntry[] = []): Log & { entries: LogEntry[] } {
  const at =
    (level: LogEntry['level']) =>
    (obj: object, msg?: string): void => {
      entries.push({ level, obj, ...(msg !== undefined && { msg }) });
    };
  return {
    entries,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => recordingLog(entries),
  };
}

export interface Harness {
  site: SiteConfig;
  world: SimulatedWorld;
  clock: Clock;
  log: ReturnType<typeof recordingLog>;
  /** One worker segment over `run` with a fresh MemoryPersistence (or the one given). */
  execute(
    run: Run,
    options?: Partial<Omit<ExecuteRunOptions, 'run' | 'persistence'>> & {
      persistence?: MemoryPersistence;
      lease?: MemoryPersistenceOptions;
    },
  ): Promise<{ outcome: ExecuteOutcome; run: Run; persistence: MemoryPersistence }>;
  /** The mutating calls the world has seen, in order (e.g. `scale west default/Deployment/web 5`). */
  actions(): Promise<string[]>;
}

/** A simulated world for `site` (home east serving, west standby in sync) and a way to run runs against it. */
export function harness(site: SiteConfig = exampleSite(), timing: Partial<WorldTiming> = {}): Harness {
  const clock = systemClock;
  const world = SimulatedWorld.inMemory(site, clock, timing);
  const log = recordingLog();
  return {
    site,
    world,
    clock,
    log,
    async execute(run, options = {}) {
      const { persistence: given, lease, ...rest } = options;
      const persistence = given ?? new MemoryPersistence(run, lease);
      const result = await executeRun({
        run,
        site,
        ports: world.ports,
        steps: STEPS,
        clock,
        log,
        settings: FAST_SETTINGS,
        backoff: FAST_BACKOFF,
        shouldStop: () => false,
        ...rest,
        persistence,
      });
      return { ...result, persistence };
    },
    actions: async () => [...(await world.state()).actions],
  };
}

/** The BatonError `fn` throws; fails the test when it throws nothing or something else. */
export function refusal(fn: () => unknown): BatonError {
  try {
    fn();
  } catch (error) {
    if (error instanceof BatonError) return error;
    throw error;
  }
  throw new Error('expected a BatonError');
}
