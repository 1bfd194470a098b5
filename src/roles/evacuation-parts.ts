/**
 * The parts of evacuations a role composes: the store, the queue of their preflight, the publisher of their message,
 * and the service once the run service exists (the run service's reporter must already refresh the table of the
 * evacuation a run belongs to, so the publisher comes first and reads through the service when it is attached).
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Topology } from '../config/topology.js';
import type { Clock, Log, Ports } from '../core/ports.js';
import type { KeyPrefixes } from '../store/keys.js';
import type { EvacuationJobData } from '../queue/evacuation-jobs.js';
import { EVACUATIONS_QUEUE, startEvacuationWorker } from '../queue/evacuation-jobs.js';
import type { Notifier } from '../queue/notify/index.js';
import type { PeriodicJob } from '../queue/periodic.js';
import { EvacuationService } from '../runs/evacuation-service.js';
import type { RunService } from '../runs/run-service.js';
import { EvacuationStore } from '../store/evacuation-store.js';
import { SitePrewarmStore } from '../store/site-prewarm-store.js';
import { EvacuationPublisher, withEvacuationTable } from '../slack/publish-evacuation.js';

export interface EvacuationParts {
  table: EvacuationPublisher;
  /** `reporter`, also refreshing the table of the evacuation a published run belongs to. */
  reporting<R extends Parameters<typeof withEvacuationTable>[0]>(
    reporter: R,
  ): ReturnType<typeof withEvacuationTable>;
  /** The service, acting through `runs`. */
  attach(runs: RunService): EvacuationService;
  /** Worker role: measures evacuations' preflight, then starts each site's pre-warm (after `attach`). */
  startWorker(input: {
    ports: Ports;
    name?: string;
    afterPreflight?: (evacuationId: string, site: string) => Promise<void>;
  }): void;
  /** Worker role: the periodic pass that starts the sites an interrupted approval left (after `attach`). */
  resumeStartsJob(everyMs?: number): PeriodicJob;
  close(): Promise<void>;
}

export function createEvacuationParts(input: {
  connection: Redis;
  prefixes: KeyPrefixes;
  notifier: Pick<Notifier, 'postStatus' | 'statusMessage'>;
  topology: Topology;
  clock: Clock;
  log: Log;
}): EvacuationParts {
  const { connection, prefixes, topology, clock } = input;
  const log = input.log.child({ component: 'evacuations' });
  const store = new EvacuationStore(connection, prefixes.store);
  const queue = new Queue<EvacuationJobData>(EVACUATIONS_QUEUE, { connection, prefix: prefixes.bull });
  let service: EvacuationService | null = null;
  let worker: { close(): Promise<void> } | null = null;
  const table = new EvacuationPublisher({
    notifier: input.notifier,
    read: (id) => (service ? service.view(id) : Promise.resolve(null)),
    topology,
    clock,
    log,
  });
  return {
    table,
    reporting: (reporter) => withEvacuationTable(reporter, table),
    attach(runs) {
      service = new EvacuationService({
        store,
        prewarms: new SitePrewarmStore(connection, prefixes.store),
        runs,
        queue,
        publish: (id) => table.publish(id),
        topology,
        clock,
        log,
      });
      return service;
    },
    resumeStartsJob(everyMs = 5_000) {
      return {
        id: 'evacuation-starts',
        everyMs,
        run: () => (service ? service.resumeStarts() : Promise.resolve([])),
      };
    },
    startWorker({ ports, afterPreflight }) {
      if (!service) throw new Error('attach the run service before starting the evacuation worker');
      worker = startEvacuationWorker({
        connection,
        bullPrefix: prefixes.bull,
        target: service,
        topology,
        ports,
        clock,
        log,
        ...(afterPreflight && { afterPreflight }),
      });
    },
    async close() {
      await worker?.close();
      await queue.close();
    },
  };
}
