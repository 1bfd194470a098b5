/**
 * Optional auto-approval of alert proposals (DESIGN §6), off unless a `propose-failover` rule sets
 * `autoApprove: { after: 5m }`. A proposal an alert raised is approved by the policy only when all of these hold:
 * nobody has approved or rejected it for the quiet period (counted from the proposal, or from the alert firing
 * again after it had resolved), its alerts still fire, it has not expired, and Baton's own probe of the serving
 * cluster's `healthUrl` fails too (a witness: Alertmanager alone never moves traffic). The audit names the policy
 * (`{ type: 'policy', id: 'auto-approval' }`) as the approver; it counts as one approval like a person's.
 *
 * `autoApproveDue` is one pass and safe to run in every worker at once: approvals are saved atomically, so a
 * second worker finds the run already approved. `startAutoApproval` runs it on a timer.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Topology } from '../config/topology.js';
import type { Actor, Run } from '../core/model.js';
import type { Clock, HealthPort, Log } from '../core/ports.js';
import { BatonError, describeError } from '../errors.js';
import type { Notifier } from '../queue/notify.js';
import type { RunJobData } from '../queue/queues.js';
import { RUNS_QUEUE } from '../queue/queues.js';
import { RunCommands } from '../queue/run-commands.js';
import { runMessageKey } from '../slack/publish-run.js';
import type { RunStore } from '../store/run-store.js';
import { buildAutoApprovalWithheldReply, buildAutoApprovedReply } from './alert-messages.js';
import type { IncidentState } from './incident-store.js';
import { IncidentStore } from './incident-store.js';

/** The audit's approver when the policy approves. */
export const AUTO_APPROVAL_ACTOR: Actor = { type: 'policy', id: 'auto-approval' };

/** How often workers look for due proposals (default). */
export const AUTO_APPROVE_EVERY_MS = 5_000;

/** Approval codes that mean another worker (or a person) got there first. */
const SETTLED_CODES = new Set(['not-proposed', 'already-approved', 'expired']);

/** When the policy may approve: the quiet period after the proposal, or after the alert fired again. */
export function autoApprovalDueAt(
  run: Pick<Run, 'createdAt'>,
  state: Pick<IncidentState, 'firingSince' | 'autoApproveAfterMs'>,
): number {
  return Math.max(run.createdAt, state.firingSince ?? run.createdAt) + (state.autoApproveAfterMs ?? Infinity);
}

export interface AutoApproveOptions {
  store: RunStore;
  incidents: IncidentStore;
  /** Approves as `actor` (RunCommands.approve with an approver check that admits the policy). */
  approve(runId: string, actor: Actor): Promise<{ run: Run; complete: boolean }>;
  /** Publishes the run's message after the approval (RunPublisher.publish). */
  publish(run: Run): Promise<void>;
  notifier: Pick<Notifier, 'postReply'>;
  health: HealthPort;
  topology: Topology;
  clock: Clock;
  log: Log;
}

export type AutoApprovalOutcome =
  'approved' | 'withheld' | 'not-due' | 'resolved' | 'not-enabled' | 'already-decided';

/** One pass over open proposals; returns what it decided for each proposal an alert raised. */
export async function autoApproveDue(
  options: AutoApproveOptions,
): Promise<{ runId: string; outcome: AutoApprovalOutcome }[]> {
  const { store, incidents, topology, clock, log } = options;
  const out: { runId: string; outcome: AutoApprovalOutcome }[] = [];
  for (const run of await store.runsInState(['proposed'])) {
    if (run.requestedBy.type !== 'alert') continue;
    const outcome = await decide(run).catch((error: unknown) => {
      log.warn({ runId: run.id, site: run.site, err: describeError(error) }, 'auto-approval check failed');
      return undefined;
    });
    if (outcome) out.push({ runId: run.id, outcome });
  }
  return out;

  async function decide(run: Run): Promise<AutoApprovalOutcome> {
    const state = await incidents.runState(run.id);
    if (!state || state.autoApproveAfterMs === undefined) return 'not-enabled';
    if (state.firing === 0) return 'resolved';
    const now = clock.now();
    if (now < autoApprovalDueAt(run, state)) return 'not-due';
    if (run.expiresAt !== undefined && now >= run.expiresAt) return 'already-decided';
    if (run.approvals.some((a) => a.actor.type === 'policy')) return 'already-decided';
    const site = topology.sites.find((s) => s.name === run.site);
    const healthUrl = site?.clusters[run.from]?.healthUrl;
    if (!site || !healthUrl) return 'not-enabled';

    const runLog = log.child({ runId: run.id, site: run.site });
    const probe = await options.health.check(healthUrl);
    const channel = topology.slack.incidentChannel;
    if (probe.ok) {
      // Say it once per proposal; later passes keep probing quietly.
      if (await incidents.claim(run.id, 'auto-approval-withheld')) {
        runLog.info({ status: probe.status }, 'auto-approval withheld: the serving cluster answers Baton');
        await store.recordAudit(
          run,
          {
            action: 'auto-approval-withheld',
            actor: AUTO_APPROVAL_ACTOR,
            detail: `${run.from} answered ${probe.status ?? 'ok'}`,
          },
          now,
        );
        await options.notifier.postReply({
          channel,
          threadKey: runMessageKey(run),
          dedupeId: 'auto-approval-withheld',
          message: buildAutoApprovalWithheldReply({
            run,
            healthUrl,
            ...(probe.status !== undefined && { status: probe.status }),
            now,
          }),
        });
      }
      return 'withheld';
    }

    const detail = probe.error ?? (probe.status === undefined ? 'no answer' : `HTTP ${probe.status}`);
    let approved: { run: Run; complete: boolean };
    try {
      approved = await options.approve(run.id, AUTO_APPROVAL_ACTOR);
    } catch (error) {
      if (error instanceof BatonError && SETTLED_CODES.has(error.code)) return 'already-decided';
      throw error;
    }
    runLog.warn(
      { probe: detail, complete: approved.complete },
      'auto-approval policy approved the proposal: the alert still fires and the serving cluster fails Baton’s probe',
    );
    await options.notifier.postReply({
      channel,
      threadKey: runMessageKey(run),
      dedupeId: 'auto-approved',
      message: buildAutoApprovedReply({
        run,
        afterMs: state.autoApproveAfterMs ?? 0,
        healthUrl,
        probe: detail,
        now,
        complete: approved.complete,
      }),
    });
    await options.publish(approved.run);
    return 'approved';
  }
}

/** Whether any rule of the topology turns auto-approval on. */
export const autoApprovalEnabled = (topology: Topology): boolean =>
  topology.sites.some((site) => site.alerts.some((rule) => rule.autoApprove !== undefined));

export interface StartAutoApprovalOptions {
  /** A worker connection (maxRetriesPerRequest: null). */
  connection: Redis;
  prefixes: { store: string; bull: string };
  store: RunStore;
  notifier: Pick<Notifier, 'postReply'>;
  publish(run: Run): Promise<void>;
  health: HealthPort;
  topology: Topology;
  clock: Clock;
  log: Log;
  everyMs?: number;
}

export interface AutoApproval {
  /** One pass now (the timer calls it too). */
  tick(): Promise<{ runId: string; outcome: AutoApprovalOutcome }[]>;
  close(): Promise<void>;
}

/**
 * Runs {@link autoApproveDue} every `everyMs` (default 5 s) in this worker. Returns null when no rule enables
 * auto-approval: then nothing runs at all.
 */
export function startAutoApproval(options: StartAutoApprovalOptions): AutoApproval | null {
  if (!autoApprovalEnabled(options.topology)) return null;
  const { connection, prefixes, store, topology, clock } = options;
  const log = options.log.child({ component: 'auto-approval' });
  const queue = new Queue<RunJobData>(RUNS_QUEUE, { connection, prefix: prefixes.bull });
  const commands = new RunCommands({
    store,
    queue,
    topology,
    clock,
    // This instance approves for the policy only; people approve through Slack.
    isApprover: async (actor) =>
      actor.type === AUTO_APPROVAL_ACTOR.type && actor.id === AUTO_APPROVAL_ACTOR.id,
  });
  const incidents = new IncidentStore(connection, prefixes.store);
  let running: Promise<unknown> | null = null;
  const tick = () =>
    autoApproveDue({
      store,
      incidents,
      approve: (runId, actor) => commands.approve(runId, actor),
      publish: options.publish,
      notifier: options.notifier,
      health: options.health,
      topology,
      clock,
      log,
    });
  const timer = setInterval(() => {
    if (running) return;
    running = tick()
      .catch((error: unknown) => log.warn({ err: describeError(error) }, 'auto-approval pass failed'))
      .finally(() => {
        running = null;
      });
  }, options.everyMs ?? AUTO_APPROVE_EVERY_MS);
  timer.unref();
  log.info({ everyMs: options.everyMs ?? AUTO_APPROVE_EVERY_MS }, 'auto-approval policy active');
  return {
    tick,
    async close() {
      clearInterval(timer);
      await running;
      await queue.close();
    },
  };
}
