/**
 * The worker role: executes runs, runs read-only checks (proposal preflight, dry runs, status), and posts to Slack
 * through the rate-limited notify queue. Ports are passed in: the real adapters, or the simulated world.
 */
import type { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { autoApprovalJob } from '../alerts/auto-approve.js';
import type { Topology } from '../config/topology.js';
import type { Clock, Log, Ports } from '../core/ports.js';
import type { StepSettings } from '../core/steps/step.js';
import { requiredApprovals } from '../core/policy/approvals.js';
import type { BatonMetrics } from '../metrics.js';
import { MeteredRunStore } from '../observability/metered-run-store.js';
import type { CheckJobData } from '../queue/check-jobs.js';
import { CHECKS_QUEUE, startCheckWorker } from '../queue/check-jobs.js';
import type { NotifyRetryPolicy, NotifySlack } from '../queue/notify/index.js';
import { Notifier, startNotifyWorker } from '../queue/notify/index.js';
import { runReportFiles } from '../queue/notify/run-report-file.js';
import { drillJob } from '../queue/drill-job.js';
import { pausedRemindersJob } from '../queue/paused-reminders.js';
import {
  enqueueEvacuationPrewarm,
  enqueuePrewarm,
  startPrewarmWorker,
} from '../queue/prewarm/prewarm-worker.js';
import { readinessJob } from '../queue/readiness-job.js';
import { startPeriodicWork } from '../queue/periodic.js';
import { FENCE_DEBT_PASS_EVERY_MS, reconcileFenceDebts } from '../queue/reconcile-fence-debts.js';
import type { RunJobData } from '../queue/queues.js';
import { RUNS_QUEUE } from '../queue/queues.js';
import type { RunWorker, RunWorkerOptions } from '../queue/run-worker.js';
import { startRunWorker } from '../queue/run-worker.js';
import { buildProposalMessage } from '../slack/blocks/proposal-message.js';
import { buildStatusView } from '../slack/blocks/views.js';
import { createAuthorizer } from '../runs/authorizer.js';
import { sourcesOfTruth } from '../runs/observe-site.js';
import { RunService } from '../runs/run-service.js';
import { RunPublisher } from '../slack/publish-run.js';
import { createDrillScheduler } from './drill-parts.js';
import { createEvacuationParts } from './evacuation-parts.js';
import { IncidentStore } from '../store/incidents/incident-store.js';
import { ReadinessStore } from '../store/readiness-store.js';
import { ReportStore } from '../store/report-store.js';
import { RunStore } from '../store/run-store.js';

export interface WorkerRoleOptions {
  topology: Topology;
  /** A connection with maxRetriesPerRequest: null (BullMQ workers need it). */
  connection: Redis;
  prefixes: { store: string; bull: string };
  ports: Ports;
  /** The Slack Web API client for the notify worker; null runs no notify worker (messages wait in Redis). */
  slack: NotifySlack | null;
  clock: Clock;
  log: Log;
  name?: string;
  settings?: StepSettings;
  lock?: RunWorkerOptions['lock'];
  backoff?: RunWorkerOptions['backoff'];
  /** Runs this process drives at once (`BATON_RUN_CONCURRENCY`; default RUN_CONCURRENCY in run-worker.ts). */
  runConcurrency?: number;
  reconcileEveryMs?: number;
  /** Minimum spacing of Slack messages per channel (default 1050 ms). */
  perChannelIntervalMs?: number;
  notifyRetry?: Partial<NotifyRetryPolicy>;
  /** How often to look for alert proposals due for auto-approval (default 5 s; only when a rule enables it). */
  autoApproveEveryMs?: number;
  /** Baton's metrics: run outcomes, step durations and Slack rate-limit waits seen by this worker. */
  metrics?: BatonMetrics;
  /** How often a paused run reminds its thread (default 15 min). */
  pausedReminderEveryMs?: number;
  /** How often fence debts are looked at (default 1 s; each debt backs off on its own while its side is down). */
  fenceDebtEveryMs?: number;
  /** How often the game day pass runs (default 15 s; src/queue/drill-job.ts). */
  drillEveryMs?: number;
  /** How often the deployment's reminder scheduler looks for due reminders (default: min(1 min, every / 4)). */
  pausedReminderCheckEveryMs?: number;
  /** How often the readiness scheduler ticks (default: a tenth of the shortest readiness interval, 1 s to 1 min). */
  readinessCheckEveryMs?: number;
  /** The boot-time doctor's refusals for a site (null while it runs), for readiness; absent without a doctor. */
  refusedAccess?: (site: Topology['sites'][number]) => string[] | null;
}

export interface WorkerRole {
  runs: RunWorker;
  store: RunStore;
  /** The run service this worker acts through (the auto-approval policy, expiry). */
  service: RunService;
  notifier: Notifier;
  close(): Promise<void>;
}

export async function startWorkerRole(options: WorkerRoleOptions): Promise<WorkerRole> {
  const { topology, connection, prefixes, ports, clock, log } = options;
  const store = options.metrics
    ? new MeteredRunStore(connection, prefixes.store, options.metrics)
    : new RunStore(connection, prefixes.store);
  const notifier = new Notifier({ connection, prefix: prefixes.bull, log, clock });
  const evacuationParts = createEvacuationParts({ connection, prefixes, notifier, topology, clock, log });
  // A run of an evacuation also refreshes the evacuation's live table.
  const publisher = evacuationParts.reporting(new RunPublisher({ notifier, topology, clock, log }));
  const onChange = (run: Parameters<RunPublisher['publish']>[0]) => void publisher.publish(run);

  const debts = store.debts;
  const runs = startRunWorker({
    connection,
    bullPrefix: prefixes.bull,
    ...(options.name && { name: options.name }),
    store,
    debts,
    topology,
    ports,
    clock,
    log,
    ...(options.settings && { settings: options.settings }),
    ...(options.lock && { lock: options.lock }),
    ...(options.backoff && { backoff: options.backoff }),
    ...(options.runConcurrency !== undefined && { concurrency: options.runConcurrency }),
    onChange,
  });
  // Pre-warm (src/queue/prewarm/): once a proposal's (or an evacuation site's) preflight is stored, its target side
  // warms up.
  const prewarm = startPrewarmWorker({
    connection,
    bullPrefix: prefixes.bull,
    storePrefix: prefixes.store,
    ...(options.name && { name: options.name }),
    store,
    topology,
    ports,
    clock,
    log: log.child({ component: 'prewarm' }),
    ...(options.settings && { pollMs: options.settings.pollIntervalMs }),
    onChange,
    onEvacuationChange: (evacuationId) => void evacuationParts.table.publish(evacuationId),
  });
  const checks = startCheckWorker({
    connection,
    bullPrefix: prefixes.bull,
    store,
    topology,
    ports,
    clock,
    log,
    onChange,
    afterPreflight: (run) => enqueuePrewarm(prewarm.queue, run),
    onDryRun: async (run, responseUrl) => {
      await notifier.respond({
        responseUrl,
        responseType: 'ephemeral',
        message: buildProposalMessage({
          run,
          preflight: run.preflight?.checks ?? 'pending',
          lagBytes: run.preflight?.lagBytes ?? null,
          ...(run.preflight?.lagUnknown && { lagUnknown: run.preflight.lagUnknown }),
          approvalsRequired: requiredApprovals(run, topology.approvals),
          breakGlassRequired: run.force,
          dryRun: true,
          now: clock.now(),
        }),
      });
    },
    onObserved: async (sites, responseUrl) => {
      await notifier.respond({
        responseUrl,
        responseType: 'ephemeral',
        message: buildStatusView({
          now: clock.now(),
          sites: sites.map((s) => ({
            site: s.site,
            servingPerBaton: s.servingPerBaton,
            truth: sourcesOfTruth(s),
            ...(s.openRun && { openRun: s.openRun }),
            ...(s.fenceDebt && { fenceDebt: s.fenceDebt }),
          })),
        }),
      });
    },
  });
  const notify = options.slack
    ? startNotifyWorker({
        connection,
        prefix: prefixes.bull,
        slack: options.slack,
        files: runReportFiles(new ReportStore(connection, prefixes.store), store),
        log,
        clock,
        ...(options.name && { name: options.name }),
        ...(options.perChannelIntervalMs !== undefined && {
          perChannelIntervalMs: options.perChannelIntervalMs,
        }),
        ...(options.notifyRetry && { retry: options.notifyRetry }),
        ...(options.metrics && { metrics: options.metrics }),
      })
    : null;
  await runs.worker.waitUntilReady();
  await runs.reconcile();

  // Runs approved by the auto-approval policy go through the same service as everyone's (no Slack directory here:
  // the worker acts only as the policy, and for Baton's own reconciliation).
  const runsQueue = new Queue<RunJobData>(RUNS_QUEUE, { connection, prefix: prefixes.bull });
  const checksQueue = new Queue<CheckJobData>(CHECKS_QUEUE, { connection, prefix: prefixes.bull });
  const service = new RunService({
    store,
    queues: { runs: runsQueue, checks: checksQueue },
    reporter: publisher,
    authorizer: createAuthorizer(topology.approvals),
    topology,
    clock,
    log,
  });
  evacuationParts.attach(service);
  evacuationParts.startWorker({
    ports,
    afterPreflight: (evacuationId, site) => enqueueEvacuationPrewarm(prewarm.queue, evacuationId, site),
  });
  const autoApproval = autoApprovalJob({
    incidents: new IncidentStore(connection, prefixes.store),
    service,
    notifier,
    health: ports.health,
    topology,
    clock,
    log,
    ...(options.autoApproveEveryMs !== undefined && { everyMs: options.autoApproveEveryMs }),
  });

  // Periodic work, one job scheduler each for the deployment (src/queue/periodic.ts): runs without a live job are
  // re-enqueued and proposals expire; a paused run reminds its thread (src/queue/paused-reminders.ts); an old side
  // that could not be fenced is fenced the moment it answers (src/queue/reconcile-fence-debts.ts); alert proposals
  // are auto-approved when a rule says so (src/alerts/auto-approve.ts).
  const periodic = await startPeriodicWork({
    connection,
    bullPrefix: prefixes.bull,
    log,
    ...(options.name && { name: options.name }),
    jobs: [
      { id: 'reconcile-runs', everyMs: options.reconcileEveryMs ?? 10_000, run: () => runs.reconcile() },
      pausedRemindersJob({
        connection,
        prefixes,
        store,
        notifier,
        topology,
        clock,
        log,
        ...(options.pausedReminderEveryMs !== undefined && { everyMs: options.pausedReminderEveryMs }),
        ...(options.pausedReminderCheckEveryMs !== undefined && {
          checkEveryMs: options.pausedReminderCheckEveryMs,
        }),
      }),
      {
        id: 'fence-debts',
        everyMs: options.fenceDebtEveryMs ?? FENCE_DEBT_PASS_EVERY_MS,
        run: () =>
          reconcileFenceDebts({
            connection,
            storePrefix: prefixes.store,
            debts,
            store,
            ports,
            notifier,
            topology,
            clock,
            log: log.child({ component: 'fence-debts' }),
          }),
      },
      ...(autoApproval ? [autoApproval] : []),
      // An approved evacuation whose approving process died before starting every site's run.
      evacuationParts.resumeStartsJob(),
      // Game days (src/runs/drill-scheduler.ts): due occurrences start, holds end, failbacks start.
      drillJob(
        createDrillScheduler({
          connection,
          prefixes,
          notifier,
          runs: service,
          store,
          ports,
          topology,
          clock,
          log,
        }),
        options.drillEveryMs,
      ),
      // Continuous readiness (src/queue/readiness-job.ts): each site every readiness.interval, read-only.
      readinessJob({
        store,
        readiness: new ReadinessStore(connection, prefixes.store),
        ports,
        notifier,
        topology,
        clock,
        log,
        ...(options.readinessCheckEveryMs !== undefined && { checkEveryMs: options.readinessCheckEveryMs }),
        ...(options.refusedAccess && { refusedAccess: options.refusedAccess }),
      }),
    ],
  });

  return {
    runs,
    store,
    service,
    notifier,
    async close() {
      // Runs first: the current step finishes and its job goes back; then the helpers.
      await periodic.close();
      await runs.close();
      await checks.close();
      await prewarm.close();
      await evacuationParts.close();
      await notify?.close();
      await notifier.close();
      await runsQueue.close();
      await checksQueue.close();
    },
  };
}
