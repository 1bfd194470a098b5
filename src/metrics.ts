/**
 * Baton's own Prometheus metrics (served at GET /metrics). One Registry per process, created by the composition root
 * and passed down: nothing here touches prom-client's global default registry, so two roles in one process (or two
 * tests) never collide.
 *
 * Counters and the step histogram are updated where things happen. The gauges that describe Redis (queue depths,
 * workers, runs in each state, approvals pending) are read at scrape time by {@link registerStateGauges}.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RunKind, RunMode, RunState } from './core/model.js';
import type { Log } from './core/ports.js';
import { describeError } from './errors.js';

export const RUN_OUTCOMES = ['succeeded', 'failed', 'aborted', 'rejected', 'expired', 'cancelled'] as const;
export type RunOutcome = (typeof RUN_OUTCOMES)[number];
export type StepOutcome = 'succeeded' | 'failed' | 'skipped';
export type WebhookOutcome = 'accepted' | 'unauthorized' | 'invalid' | 'error';
/** The run states the `baton_runs_in_state` gauge reports (the ones an operator acts on). */
export const GAUGED_RUN_STATES = ['proposed', 'approved', 'running', 'paused'] as const satisfies RunState[];
export const METERED_QUEUES = ['runs', 'checks', 'notify'] as const;
export type MeteredQueue = (typeof METERED_QUEUES)[number];
export const QUEUE_JOB_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/** Step durations run from milliseconds (already done) to many minutes (pods becoming Ready, Route 53 INSYNC). */
const STEP_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
/**
 * A whole recovery takes from seconds (planned, no database) to many minutes (pods, DNS INSYNC); from the alert it
 * includes the time people took to approve, so the buckets reach an hour.
 */
const RECOVERY_BUCKETS = [5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1800, 3600];

/** Where a measured recovery starts: the last approval, or the alert behind the run. */
export type RecoveryStart = 'approval' | 'alert';

/** The labels of one measured recovery. */
export interface RecoveryLabels {
  site: string;
  kind: RunKind;
  mode: RunMode;
  from: RecoveryStart;
}

/** What the instrumented code calls; each method is one metric. */
export interface BatonMetrics {
  readonly registry: Registry;
  /** A run reached a final state (counted once per run: the save that made it final succeeds exactly once). */
  runFinished(kind: RunKind, outcome: RunOutcome): void;
  stepFinished(step: string, outcome: StepOutcome, seconds: number): void;
  /** A run succeeded and verify proved users reach the new side, `seconds` after the start `labels.from` names. */
  runRecovered(labels: RecoveryLabels, seconds: number): void;
  webhook(source: 'alertmanager', outcome: WebhookOutcome): void;
  /** A Slack call failed; `error` is Slack's error string (`channel_not_found`) or Baton's code (`slack-unreachable`). */
  slackApiError(method: string, error: string): void;
  /** Slack answered 429 and Baton waits `seconds` (Retry-After) before calling `method` again. */
  slackRateLimitWait(method: string, seconds: number): void;
}

/** Creates Baton's metrics, and prom-client's default process metrics (unprefixed), in `registry`. */
export function createMetrics(registry: Registry = new Registry()): BatonMetrics {
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const runs = new Counter({
    name: 'baton_runs_total',
    help: 'Runs that reached a final state, by kind and outcome.',
    labelNames: ['kind', 'outcome'] as const,
    registers,
  });
  const steps = new Histogram({
    name: 'baton_step_duration_seconds',
    help:
      'Time a step took in one execution, from its first attempt to its final result (retries included). ' +
      'outcome="skipped" observes, when an approver skips a failed step, the time it ran before failing.',
    labelNames: ['step', 'outcome'] as const,
    buckets: STEP_BUCKETS,
    registers,
  });
  const recoveries = new Histogram({
    name: 'baton_run_recovery_seconds',
    help:
      'Measured recovery time (RTO) of each succeeded run: from="approval" from the last approval, from="alert" ' +
      'from when the alert behind it started firing, to the end of the verify step. A run whose verify was ' +
      'skipped proved nothing and is not observed.',
    labelNames: ['site', 'kind', 'mode', 'from'] as const,
    buckets: RECOVERY_BUCKETS,
    registers,
  });
  const webhooks = new Counter({
    name: 'baton_webhooks_total',
    help: 'Webhook requests, by source and outcome (accepted, unauthorized, invalid, error).',
    labelNames: ['source', 'outcome'] as const,
    registers,
  });
  const slackErrors = new Counter({
    name: 'baton_slack_api_errors_total',
    help: 'Failed Slack API calls made by the worker side, by method and Slack error.',
    labelNames: ['method', 'error'] as const,
    registers,
  });
  const rateLimitWaits = new Counter({
    name: 'baton_slack_rate_limit_waits_total',
    help: 'Times Slack answered 429 and Baton waited for Retry-After, by method.',
    labelNames: ['method'] as const,
    registers,
  });
  const rateLimitSeconds = new Counter({
    name: 'baton_slack_rate_limit_wait_seconds_total',
    help: 'Seconds of Retry-After Slack asked Baton to wait, by method.',
    labelNames: ['method'] as const,
    registers,
  });
  // Every label combination an alert or dashboard reads exists from the first scrape, at zero.
  for (const kind of ['failover', 'failback'] as const)
    for (const outcome of RUN_OUTCOMES) runs.labels(kind, outcome).inc(0);
  for (const outcome of ['accepted', 'unauthorized', 'invalid', 'error'] as const)
    webhooks.labels('alertmanager', outcome).inc(0);

  return {
    registry,
    runFinished: (kind, outcome) => runs.labels(kind, outcome).inc(),
    stepFinished: (step, outcome, seconds) => steps.labels(step, outcome).observe(Math.max(0, seconds)),
    runRecovered: (labels, seconds) => recoveries.observe(labels, Math.max(0, seconds)),
    webhook: (source, outcome) => webhooks.labels(source, outcome).inc(),
    slackApiError: (method, error) => slackErrors.labels(method, error).inc(),
    slackRateLimitWait: (method, seconds) => {
      rateLimitWaits.labels(method).inc();
      rateLimitSeconds.labels(method).inc(Math.max(0, seconds));
    },
  };
}

/** What the scrape-time gauges show: read from Redis and BullMQ in one go. */
export interface StateSnapshot {
  queues: Record<MeteredQueue, { jobs: Record<(typeof QUEUE_JOB_STATES)[number], number>; workers: number }>;
  runsInState: Record<(typeof GAUGED_RUN_STATES)[number], number>;
  /** Runs awaiting approval (proposed). */
  approvalsPending: number;
  /** Per site: 1 while the old side of a run still owes its fence, else 0. */
  fenceDebt: Record<string, number>;
  /** Per evaluated site: its last readiness evaluation's verdict and each check's {@link READINESS_CHECK_VALUES}. */
  readiness?: Record<string, { ready: boolean; checks: Record<string, number> }>;
}

/** `baton_readiness_check`'s value per check status: a warning does not make a site unready, but is not a pass. */
export const READINESS_CHECK_VALUES = { passed: 1, warning: 0.5, failed: 0 } as const;

/** Reads a {@link StateSnapshot}; rejects when Redis does not answer. */
export type ReadState = () => Promise<StateSnapshot>;

/**
 * Registers the gauges that are read at scrape time. One read serves every gauge of a scrape; when it fails (Redis
 * down or slow), the gauges report no samples for that scrape, the scrape itself still succeeds (process metrics
 * and counters keep flowing), and one warning is logged.
 */
export function registerStateGauges(registry: Registry, readState: ReadState, log: Log): void {
  // prom-client starts every metric's collect() in the same tick of a scrape: they share the read in flight, and
  // the next scrape (after it settled) reads again.
  let inFlight: Promise<StateSnapshot | null> | null = null;
  const snapshot = (): Promise<StateSnapshot | null> => {
    inFlight ??= readState()
      .catch((error: unknown) => {
        log.warn({ err: describeError(error) }, 'metrics: could not read queue and run state from Redis');
        return null;
      })
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  };
  const registers = [registry];
  new Gauge({
    name: 'baton_queue_jobs',
    help: 'BullMQ jobs by queue and state, read at scrape time.',
    labelNames: ['queue', 'state'] as const,
    registers,
    async collect() {
      this.reset();
      const state = await snapshot();
      if (!state) return;
      for (const queue of METERED_QUEUES)
        for (const jobState of QUEUE_JOB_STATES)
          this.labels(queue, jobState).set(state.queues[queue].jobs[jobState]);
    },
  });
  new Gauge({
    name: 'baton_queue_workers',
    help: 'Workers connected to each BullMQ queue, read at scrape time.',
    labelNames: ['queue'] as const,
    registers,
    async collect() {
      this.reset();
      const state = await snapshot();
      if (!state) return;
      for (const queue of METERED_QUEUES) this.labels(queue).set(state.queues[queue].workers);
    },
  });
  new Gauge({
    name: 'baton_runs_in_state',
    help: 'Open runs by state, read at scrape time.',
    labelNames: ['state'] as const,
    registers,
    async collect() {
      this.reset();
      const state = await snapshot();
      if (!state) return;
      for (const runState of GAUGED_RUN_STATES) this.labels(runState).set(state.runsInState[runState]);
    },
  });
  new Gauge({
    name: 'baton_fence_debt',
    help:
      '1 while the site has an old side that could not be fenced (database read-only, workloads at standby size): ' +
      'it may come back writable. Baton fences it the moment it answers. Read at scrape time.',
    labelNames: ['site'] as const,
    registers,
    async collect() {
      this.reset();
      const state = await snapshot();
      if (!state) return;
      for (const [site, open] of Object.entries(state.fenceDebt)) this.labels(site).set(open);
    },
  });
  new Gauge({
    name: 'baton_site_ready',
    help:
      "1 when the site's last continuous readiness evaluation found a failover would work now, 0 when not; no " +
      'sample before its first evaluation. Read at scrape time.',
    labelNames: ['site'] as const,
    registers,
    async collect() {
      this.reset();
      const state = await snapshot();
      for (const [site, r] of Object.entries(state?.readiness ?? {})) this.labels(site).set(r.ready ? 1 : 0);
    },
  });
  new Gauge({
    name: 'baton_readiness_check',
    help:
      "Each check of the site's last readiness evaluation: 1 passed, 0.5 warning (does not make the site unready), " +
      '0 failed. Read at scrape time.',
    labelNames: ['site', 'check'] as const,
    registers,
    async collect() {
      this.reset();
      const state = await snapshot();
      for (const [site, r] of Object.entries(state?.readiness ?? {}))
        for (const [check, value] of Object.entries(r.checks)) this.labels(site, check).set(value);
    },
  });
  new Gauge({
    name: 'baton_approvals_pending',
    help: 'Proposed runs awaiting approval, read at scrape time.',
    registers,
    async collect() {
      const state = await snapshot();
      // remove(), not reset(): a gauge without labels would otherwise report 0 while Redis is down.
      if (state) this.set(state.approvalsPending);
      else this.remove();
    },
  });
}
