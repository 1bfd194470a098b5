/**
 * The drill's aborted game day (DESIGN §2, `drills.abortOn`): the standby's new pods are slowed (30 s to start, as
 * with a slow image pull) so that the game day's failover sits in scale-up-target, well before its point of no
 * return; then the topology's abortOn alert (HighErrorRate) is fired into the real Alertmanager as Prometheus would
 * send it, and the shipped route takes it to Baton. The failover must be aborted by the game-day policy, undo what
 * it did and leave everything as it was: DNS on the home cluster, the standby database still in recovery, the home
 * cluster serving with its database writable, the standby back at its standby size. The alert is then resolved and
 * the pods' start time restored.
 */
import { DRILL_ACTOR } from '../../src/core/drills/drill.js';
import { pastPointOfNoReturn } from '../../src/core/runs/point-of-no-return.js';
import { query } from '../postgres/postgres-pair.js';
import { check, DrillFailure, until } from './drill-support.js';
import type { GameDayPhaseInput } from './game-day-phase.js';
import { gameDayRun, proposeGameDay } from './game-day-phase.js';

/** How long the standby's new pods take to become Ready: long enough to fire the alert while they start. */
const SLOW_POD_START_MS = 30_000;

const ENDED = ['succeeded', 'paused', 'failed', 'aborted', 'cancelled'];

export async function gameDayAbortPhase(input: GameDayPhaseInput): Promise<void> {
  const { sandbox: s, mark, requester, approvers, withDatabase } = input;
  const monitoring = s.monitoring;
  if (!monitoring) throw new DrillFailure('the aborted game day needs Prometheus and Alertmanager');
  const alertname = s.lab.topology.drills?.abortOn[0]?.alertname;
  if (!alertname) throw new DrillFailure('the lab topology has no drills.abortOn alert');
  const site = s.site;
  const home = site.homeCluster;
  const away = Object.keys(site.clusters).find((c) => c !== home) ?? '';
  const standbyUrl = s.lab.postgres?.nodes[away]?.url ?? '';

  const prepareFrom = Date.now();
  if (withDatabase) await s.breaks.rebuildStandby(away);
  await s.breaks.podStart(away, SLOW_POD_START_MS);
  mark(`abort game day: ${away}'s new pods take ${SLOW_POD_START_MS / 1000} s to start`, prepareFrom);

  const askFrom = Date.now();
  const { drillId, ts } = await proposeGameDay(s, requester, approvers);
  const waiting = await until(
    `game day ${drillId}'s failover to wait in scale-up-target`,
    60_000,
    async () => {
      const run = await gameDayRun(s, drillId, 'failover');
      return run?.steps['scale-up-target']?.status === 'running' ? run : undefined;
    },
  );
  mark(`game day ${drillId} approved; failover ${waiting.id} waits in scale-up-target`, askFrom);

  const firedAt = Date.now();
  await monitoring.fireAlert(alertname);
  await until(`Alertmanager to hold ${alertname} for Baton`, 10_000, async () =>
    (await monitoring.alertmanager.alerts()).some(
      (a) => a.labels.alertname === alertname && a.receivers.some((r) => r.name === 'baton'),
    ),
  );
  mark(`${alertname} fired into Alertmanager, routed to Baton`, firedAt);
  const run = await until(`failover ${waiting.id} to end`, 90_000, async () => {
    const r = await s.store.get(waiting.id);
    return r && ENDED.includes(r.state) ? r : undefined;
  });
  const asked = run.timeline.find((e) => e.event === 'aborting');
  check(
    run.state === 'aborted',
    `failover ${run.id} ended ${run.state} after ${alertname} fired: ${run.stateReason ?? ''}`,
  );
  check(
    asked?.actor?.id === DRILL_ACTOR.id && asked.detail?.includes(`${alertname} fired`) === true,
    `failover ${run.id} was aborted, but not by the game day for ${alertname}: ${JSON.stringify(asked)}`,
  );
  const promoted = pastPointOfNoReturn(run);
  check(
    !promoted,
    `failover ${run.id} crossed the point of no return (${promoted?.id}) before it was aborted`,
  );
  await until(`the abort note in game day ${drillId}'s thread`, 20_000, async () =>
    s.slack
      .replies(s.channel.id, ts)
      .some((m) => m.text.includes(`ABORTED before the point of no return: ${alertname} fired`)),
  );
  mark(`aborted before the point of no return: ${asked?.detail}; ${run.stateReason ?? ''}`, firedAt);

  // Everything as it was, read from outside: DNS, the databases' roles, the clusters' replicas.
  const checkFrom = Date.now();
  check((await s.lab.servedBy()) === home, `DNS no longer answers ${home} after the aborted game day`);
  if (withDatabase) {
    const [row] = await query<{ r: boolean }>(standbyUrl, 'select pg_is_in_recovery() as r');
    check(row?.r === true, `${away}'s database left recovery: the aborted game day promoted it`);
  }
  const world = await until(
    `${home} to serve as before and ${away} to be a standby again`,
    30_000,
    async () => {
      const w = await s.world();
      const side = (id: string) => w.clusters.find((c) => c.id === id);
      const homeServes =
        side(home)?.health === 'up' &&
        (side(home)?.workloads ?? []).every(
          (x, i) => x.replicas === site.workloads[i]?.replicas && x.readyReplicas === x.replicas,
        ) &&
        (!withDatabase || side(home)?.database?.role === 'primary');
      const awayStandby = (side(away)?.workloads ?? []).every(
        (x, i) => x.replicas === site.workloads[i]?.standbyReplicas,
      );
      return homeServes && awayStandby ? w : undefined;
    },
  );
  check(world.servedBy === home, `DNS answers ${world.servedBy} instead of ${home}`);
  mark(
    `everything as it was: DNS → ${home}, ${home} serves` +
      `${withDatabase ? ` (writable), ${away}'s database still in recovery` : ''}, ${away} at standby size`,
    checkFrom,
  );

  const restoreFrom = Date.now();
  await monitoring.resolveAlert(alertname);
  await s.breaks.podStart(away, null);
  await until(`Alertmanager to let ${alertname} go`, 10_000, async () =>
    (await monitoring.alertmanager.alerts()).every((a) => a.labels.alertname !== alertname),
  );
  mark(`${alertname} resolved; ${away}'s pods start as before`, restoreFrom);
}
