/**
 * A run recorded already approved: one site of an evacuation whose one approval (DESIGN §2) counts for every site.
 * It is planned from where the site is served now, refused when that is no longer where the evacuation found it
 * (the site moved since: an evacuation of east never moves a site back onto east) and as a single proposal would be
 * (fence debt, cooldown), created only if the evacuation has no run of the site yet and the site has no open run
 * (the same Lua script as a proposal: one run per site), carries the evacuation's approvals attributed to the
 * people who gave them, starts from the site's pre-warm (handed over by the approved transition, as a single
 * proposal's is), and is enqueued at once; the first step, preflight, measures the gates again as for any approved
 * run.
 */
import type { Queue } from 'bullmq';
import type { ClusterId, Topology } from '../config/topology.js';
import type { Approval, Actor, Run, RunMode, RunTrigger } from '../core/model.js';
import type { Prewarm } from '../core/prewarm/prewarm-record.js';
import type { StepTuning } from '../core/plans/build-plan.js';
import { buildPlan } from '../core/plans/build-plan.js';
import type { Clock } from '../core/ports.js';
import { newRun } from '../core/runs/new-run.js';
import { transitionRun } from '../core/runs/transition-run.js';
import { BatonError } from '../errors.js';
import type { RunJobData } from '../queue/queues.js';
import { enqueueRun } from '../queue/queues.js';
import type { RunStore } from '../store/run-store.js';
import { refuseDuringCooldown, refuseOntoUnfencedSide } from './refuse-proposal.js';

export interface ApprovedRunRequest {
  site: string;
  kind: Run['kind'];
  /** Where the evacuation found the site served: a site served elsewhere now is not started. */
  from: ClusterId;
  mode: RunMode;
  reason: string;
  requestedBy: Actor;
  /** At least one: the evacuation's approvals, in order. */
  approvals: Approval[];
  evacuation: string;
  trigger?: RunTrigger;
  /**
   * The site's pre-warm during the evacuation's proposal: the run is created with it, so the approval hands it over
   * as a single proposal's (scale-up-target starts from its checkpoint; an Abort restores what it found).
   */
  prewarm?: Prewarm;
}

export interface StartApprovedParts {
  store: RunStore;
  queues: { runs: Queue<RunJobData> };
  topology: Topology;
  clock: Clock;
  tuning?: StepTuning | undefined;
  publish(run: Run): Promise<void>;
}

/** How far back a site's history is searched for a run of the same evacuation. */
const OWN_RUN_LOOKBACK = 20;

/** Returns the new run (`created`), or the site's open run or this evacuation's earlier run, never started twice. */
export async function startApprovedRun(
  parts: StartApprovedParts,
  request: ApprovedRunRequest,
): Promise<{ created: boolean; run: Run }> {
  const { store, topology, clock } = parts;
  const site = topology.sites.find((s) => s.name === request.site);
  if (!site) throw new BatonError('unknown-site', `No site "${request.site}" in the topology`);
  const last = request.approvals[request.approvals.length - 1];
  if (!last) throw new BatonError('not-approver', `evacuation ${request.evacuation} has no approval`);
  // This evacuation's run of the site, whatever became of it (an operator may have aborted it since): a start
  // resumed after the approving process died never runs the site twice.
  const own = (await store.history(site.name, OWN_RUN_LOOKBACK)).find(
    (r) => r.evacuation === request.evacuation,
  );
  if (own) return { created: false, run: own };
  const open = await store.openRun(site.name);
  if (open) return { created: false, run: open };
  const serving = (await store.site(site.name)).serving ?? site.homeCluster;
  if (serving !== request.from) {
    throw new BatonError(
      'site-moved',
      `${site.name} is served by ${serving} now, not ${request.from} as when evacuation ${request.evacuation} was proposed; not started`,
    );
  }
  const plan = buildPlan(
    { kind: request.kind, mode: request.mode, force: false },
    site,
    { serving },
    parts.tuning,
  );
  await refuseOntoUnfencedSide(store, site.name, plan.to);
  if (plan.kind === 'failover') await refuseDuringCooldown({ store, clock, topology }, site, false);
  const now = clock.now();
  const proposed: Run = {
    ...newRun({
      id: await store.nextRunId(),
      plan,
      force: false,
      reason: request.reason,
      requestedBy: request.requestedBy,
      now,
      expiresAfterMs: topology.approvals.expiresAfterMs,
    }),
    approvals: request.approvals,
    evacuation: request.evacuation,
    ...(request.trigger && { trigger: request.trigger }),
    // Only onto the side it warmed (the site may have moved since it was proposed): transitionRun hands it over.
    ...(request.prewarm && request.prewarm.cluster === plan.to && { prewarm: request.prewarm }),
  };
  const withApprovals: Run = {
    ...proposed,
    timeline: [
      ...proposed.timeline,
      ...request.approvals.map((a) => ({
        at: a.at,
        event: 'approval',
        actor: a.actor,
        detail: `evacuation ${request.evacuation}`,
      })),
    ],
  };
  const approved = {
    ...transitionRun(withApprovals, 'approved', { at: now, actor: last.actor }),
    segment: withApprovals.segment + 1,
  };
  const result = await store.create(approved, {
    event: {
      type: 'run-approved',
      count: request.approvals.length,
      required: request.approvals.length,
    },
    actor: last.actor,
  });
  if (result.created) {
    await enqueueRun(parts.queues.runs, result.run);
    await parts.publish(result.run);
  }
  return result;
}
