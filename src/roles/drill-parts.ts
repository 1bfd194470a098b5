/**
 * The game day parts a role composes: the drill service (web and worker: Slack, the alert route) and, in the
 * workers, the scheduler that starts occurrences, with readiness read through the worker's ports.
 */
import type { Redis } from 'ioredis';
import type { ClusterId, Topology } from '../config/topology.js';
import type { Clock, Log, Ports } from '../core/ports.js';
import { evaluateReadiness } from '../core/readiness/evaluate-readiness.js';
import type { Notifier } from '../queue/notify/index.js';
import { DrillScheduler } from '../runs/drill-scheduler.js';
import { DrillService } from '../runs/drill-service.js';
import type { RunService } from '../runs/run-service.js';
import { DrillPublisher } from '../slack/publish-drill.js';
import { DrillStore } from '../store/drill-store.js';
import type { RunStore } from '../store/run-store.js';

export interface DrillPartsInput {
  connection: Redis;
  prefixes: { store: string };
  notifier: Pick<Notifier, 'postStatus' | 'postReply'>;
  runs: RunService;
  topology: Topology;
  clock: Clock;
  log: Log;
}

export function createDrillService(input: DrillPartsInput): DrillService {
  return new DrillService({
    drills: new DrillStore(input.connection, input.prefixes.store),
    runs: input.runs,
    reporter: new DrillPublisher(input),
    topology: input.topology,
    clock: input.clock,
    log: input.log.child({ component: 'game-days' }),
  });
}

/** How long one readiness evaluation before a game day may take. */
const READINESS_DEADLINE_MS = 60_000;

export function createDrillScheduler(
  input: DrillPartsInput & { store: RunStore; ports: Ports; service?: DrillService },
): DrillScheduler {
  const service = input.service ?? createDrillService(input);
  const { ports, clock, store } = input;
  return new DrillScheduler({
    service,
    runs: input.runs,
    store,
    reporter: new DrillPublisher(input),
    readiness: async (site, from: ClusterId, to: ClusterId) =>
      evaluateReadiness({
        site,
        ports,
        from,
        to,
        now: () => clock.now(),
        signal: AbortSignal.timeout(READINESS_DEADLINE_MS),
        fenceDebt: await store.debts.get(site.name),
      }),
    topology: input.topology,
    clock,
    log: input.log.child({ component: 'game-days' }),
  });
}
