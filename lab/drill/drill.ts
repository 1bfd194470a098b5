/**
 * `npm run drill`: the article's failover test, automated on the sandbox. It first proves continuous readiness
 * (readiness-phase.ts: green at rest, red within one interval when the standby lags, green again, one notice each
 * way), then kills the serving cluster's health endpoint, waits for Prometheus to fire and Alertmanager to make Baton propose, approves as the configured
 * approvers (signed clicks, as Slack sends them), waits for the failover and checks from outside what DNS answers,
 * the replicas and the database roles; then brings the old side back as a standby, fails back and checks again,
 * including that no row written on either side was lost, and that each run has its report, stored and in its
 * Slack thread (run-reports.ts). Then a game day that fails over and back on its own (game-day-phase.ts), and one that
 * an abortOn alert fired through Alertmanager aborts before its point of no return (game-day-abort-phase.ts). Prints
 * a timeline of measured phases; exits 1 on any failure.
 */
import { Redis } from 'ioredis';
import type { Run } from '../../src/core/model.js';
import { allSteps } from '../../src/core/model.js';
import type { Logger } from '../../src/logger.js';
import { ReportStore } from '../../src/store/report-store.js';
import { keyPrefixesOf } from '../../src/store/keys.js';
import { query } from '../postgres/postgres-pair.js';
import type { SlackMessage } from '../slack/slack-api-server.js';
import type { Sandbox } from '../sandbox/stack.js';
import { startSandbox } from '../sandbox/stack.js';
import { DrillFailure, check, until } from './drill-support.js';
import { readinessPhase } from './readiness-phase.js';
import { gameDayPhase } from './game-day-phase.js';
import { gameDayAbortPhase } from './game-day-abort-phase.js';
import { checkRunReport } from './run-reports.js';

export interface DrillOptions {
  log: Logger;
  print: (line: string) => void;
  /** Use this Redis instead of starting one. */
  redisUrl?: string;
  /** The alert rules' `for:` during the drill (default 3s; production uses 2m). */
  alertFor?: string;
}

interface Phase {
  name: string;
  /** ms since the drill's clock started */
  at: number;
  took?: number;
}

const END_STATES = ['succeeded', 'paused', 'failed', 'aborted', 'rejected', 'expired', 'cancelled'];

/** How long the lab's new pods take to become Ready. */
const POD_READY_AFTER_MS = 1000;

/** The continuous readiness interval during the drill: the shortest the topology allows. */
const READINESS_INTERVAL_MS = 10_000;

/** The button `actionId` of a top-level message about `runId`, with its value. */
export function findButton(messages: SlackMessage[], runId: string, actionId: string) {
  for (const message of messages) {
    for (const block of (message.blocks ?? []) as { type?: string; elements?: Record<string, unknown>[] }[]) {
      if (block.type !== 'actions') continue;
      for (const element of block.elements ?? []) {
        const value = typeof element.value === 'string' ? element.value : '';
        if (element.action_id === actionId && value.includes(`"runId":"${runId}"`)) return { message, value };
      }
    }
  }
  return undefined;
}

export async function runDrill(options: DrillOptions): Promise<number> {
  const { print } = options;
  const phases: Phase[] = [];
  const started = Date.now();
  let last = started;
  const mark = (name: string, since?: number) => {
    const now = Date.now();
    const took = now - (since ?? last);
    phases.push({ name, at: now - started, took });
    last = now;
    print(`  ✔ ${name} (${(took / 1000).toFixed(1)} s)`);
  };
  const stepPhases = (run: Run) => {
    for (const planned of allSteps(run.plan)) {
      const step = run.steps[planned.id];
      if (!step?.startedAt || !step.finishedAt) continue;
      phases.push({
        name: `  step ${planned.id}${step.status === 'succeeded' ? '' : ` (${step.status})`}`,
        at: step.finishedAt - started,
        took: step.finishedAt - step.startedAt,
      });
    }
  };

  print('Drill: starting the sandbox with Prometheus and Alertmanager…');
  let sandbox: Sandbox | null = null;
  let redis: Redis | null = null;
  try {
    sandbox = await startSandbox({
      monitoring: 'required',
      alertFor: options.alertFor ?? '3s',
      podReadyAfterMs: POD_READY_AFTER_MS,
      insyncAfterMs: 2000,
      readinessInterval: `${READINESS_INTERVAL_MS / 1000}s`,
      ...(options.redisUrl && { redisUrl: options.redisUrl }),
      progress: (line) => print(`  ${line}`),
    });
    for (const note of sandbox.notes) print(`  ⚠ ${note}`);
    const s = sandbox;
    const monitoring = s.monitoring;
    if (!monitoring) throw new DrillFailure('the drill needs Prometheus and Alertmanager');
    const { site, lab } = s;
    const home = site.homeCluster;
    const away = Object.keys(site.clusters).find((c) => c !== home) ?? '';
    const topology = lab.topology;
    const approvers = topology.approvals.approvers.users.slice(0, topology.approvals.required);
    check(
      approvers.length >= topology.approvals.required,
      `the topology lists ${approvers.length} approver user(s) but needs ${topology.approvals.required} approvals`,
    );
    const requester = s.users.find((u) => u.role === 'requester')?.id ?? approvers[0] ?? '';
    const pg = lab.postgres;
    const url = (cluster: string) => pg?.nodes[cluster]?.url ?? '';
    redis = new Redis(s.redis.url, { maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    const reports = new ReportStore(redis, keyPrefixesOf(s.prefix).store);
    const reportChecks: Promise<string>[] = [];
    const countRows = async (cluster: string) =>
      Number((await query<{ n: string }>(url(cluster), 'select count(*) as n from drill_orders'))[0]?.n);

    /**
     * Waits for the run to end, then checks the world from outside (DNS, replicas, database roles) and its report
     * (stored, and the file in the thread of its message `threadTs`).
     */
    const finish = async (runId: string, to: string, from: string, since: number, threadTs: string) => {
      const run = await until(`run ${runId} to finish`, 120_000, async () => {
        const r = await s.store.get(runId);
        return r && END_STATES.includes(r.state) ? r : undefined;
      });
      stepPhases(run);
      check(run.state === 'succeeded', `run ${runId} ended ${run.state}: ${run.stateReason ?? ''}`);
      const dns = run.steps['switch-dns'];
      if (dns?.finishedAt) {
        phases.push({ name: 'DNS in sync (Route 53 INSYNC)', at: dns.finishedAt - started });
      }
      mark(`${run.kind} ${runId} succeeded`, since);
      const verifyFrom = Date.now();
      await until(`DNS to answer ${to}'s address`, 10_000, async () => (await lab.servedBy()) === to);
      // The same reading of the world the sandbox page shows: replicas from the clusters, roles from the databases.
      const world = await s.world();
      const side = (id: string) => world.clusters.find((c) => c.id === id);
      for (const [i, w] of (side(to)?.workloads ?? []).entries())
        check(
          w.replicas === w.readyReplicas && w.replicas === site.workloads[i]?.replicas,
          `${to} is not scaled up: ${JSON.stringify(w)}`,
        );
      for (const [i, w] of (side(from)?.workloads ?? []).entries()) {
        const standby = site.workloads[i]?.standbyReplicas;
        check(w.replicas === standby, `${from} keeps ${w.replicas} replicas, expected ${standby}`);
      }
      if (pg) {
        const now = `${to} ${side(to)?.database?.role}, ${from} ${side(from)?.database?.role}`;
        check(side(to)?.database?.role === 'primary', `${to}'s database is not a writable primary (${now})`);
        check(side(from)?.database?.role !== 'primary', `two writable primaries (${now})`);
      }
      mark(`verified from outside: DNS → ${to}, replicas, database roles`, verifyFrom);
      // The report file comes after the step replies, which Baton paces at about one a second per channel as
      // Slack allows: it is checked while the drill goes on, and awaited at the end.
      const reportFrom = Date.now();
      const checking = checkRunReport(s, reports, runId, threadTs).then((file) => {
        const now = Date.now();
        phases.push({
          name: `report ${runId} stored and in its thread`,
          at: now - started,
          took: now - reportFrom,
        });
        return file;
      });
      checking.catch(() => undefined); // awaited (and its failure reported) at the end
      reportChecks.push(checking);
      return run;
    };

    // --- At rest ---------------------------------------------------------------------------------------------
    check((await lab.servedBy()) === home, `DNS does not serve ${home} at the start`);
    if (pg) {
      await query(
        url(home),
        'create table drill_orders (id bigserial primary key, side text, at timestamptz default now())',
      );
      await query(url(home), `insert into drill_orders (side) select '${home}' from generate_series(1, 500)`);
    }
    await until('Prometheus to scrape both health endpoints', 20_000, async () => {
      const probes = await monitoring.probes();
      return probes[home] === true && probes[away] === true;
    });
    print(`Drill: ${home} serves ${site.name}; breaking ${away}'s replication lag for readiness.`);
    last = Date.now();

    // --- Readiness -------------------------------------------------------------------------------------------
    if (pg) await readinessPhase({ sandbox: s, intervalMs: READINESS_INTERVAL_MS, mark });
    print(`Drill: killing ${home}'s health endpoint.`);

    // --- The failover ----------------------------------------------------------------------------------------
    const killedAt = Date.now();
    await s.breaks.health(home, false);
    mark(`${home}'s health endpoint killed`, killedAt);
    await until('Prometheus to fire ActiveClusterDown', 60_000, async () =>
      (await monitoring.alerts()).some((a) => a.alertname === 'ActiveClusterDown' && a.state === 'firing'),
    );
    mark('detected: ActiveClusterDown firing', killedAt);
    const proposed = await until('Baton to propose a failover in Slack', 30_000, async () => {
      const run = await s.store.openRun(site.name);
      if (!run || run.trigger?.alertname !== 'ActiveClusterDown') return undefined;
      return findButton(s.slack.messages(s.channel.id), run.id, 'approve') ? run : undefined;
    });
    mark(`proposed: run ${proposed.id} (${proposed.mode} ${proposed.kind}) in #${s.channel.name}`);
    // Pre-warm: west scales up while the approvers read the proposal, so the run's scale-up-target finds its pods
    // Ready and approval → verified drops by their start time. The drill approves once they are, as people would.
    const warmed = await until(`run ${proposed.id}'s pre-warm`, 30_000, async () => {
      const prewarm = (await s.store.get(proposed.id))?.prewarm;
      return prewarm?.readyAt || prewarm?.failed ? prewarm : undefined;
    });
    check(!warmed.failed, `pre-warm of run ${proposed.id} failed: ${warmed.failed ?? ''}`);
    mark(`pre-warmed: ${warmed.cluster}'s workloads Ready while the proposal waited`);

    const approveFrom = Date.now();
    const failoverTs = findButton(s.slack.messages(s.channel.id), proposed.id, 'approve')?.message.ts ?? '';
    for (const approver of approvers) {
      const button = findButton(s.slack.messages(s.channel.id), proposed.id, 'approve');
      if (!button) throw new DrillFailure(`run ${proposed.id}'s Approve button is gone`);
      const answer = await s.as.click(approver, {
        messageTs: button.message.ts,
        actionId: 'approve',
        value: button.value,
        buttonText: 'Approve',
      });
      check(answer.status === 200, `Baton answered the approval click with HTTP ${answer.status}`);
    }
    await until(`run ${proposed.id} to start`, 10_000, async () => {
      const r = await s.store.get(proposed.id);
      return r && r.state !== 'proposed';
    });
    mark(`approved by ${approvers.join(', ')}`, approveFrom);
    const failover = await finish(proposed.id, away, home, approveFrom, failoverTs);
    const scaleUp = failover.steps['scale-up-target'];
    if (scaleUp?.startedAt && scaleUp.finishedAt)
      print(
        `  ✔ scale-up-target after the pre-warm: ${scaleUp.finishedAt - scaleUp.startedAt} ms ` +
          `(new pods take ${POD_READY_AFTER_MS / 1000} s to start here)`,
      );
    if (pg) {
      await query(url(away), `insert into drill_orders (side) select '${away}' from generate_series(1, 250)`);
    }

    // --- Back home -------------------------------------------------------------------------------------------
    print(`Drill: bringing ${home} back (health endpoint up, database rebuilt as a standby of ${away}).`);
    const repairFrom = Date.now();
    await s.breaks.health(home, true);
    if (pg) await s.breaks.rebuildStandby(home);
    await until(
      `Prometheus to see ${home} healthy again`,
      20_000,
      async () => (await monitoring.probes())[home],
    );
    mark(`${home} repaired${pg ? ` and streaming from ${away}` : ''}`, repairFrom);

    const askFrom = Date.now();
    const answer = await s.as.command(requester, '/failback', 'drill: traffic home');
    check(answer.status === 200, `Baton answered /failback with HTTP ${answer.status}`);
    const back = await until('Baton to propose the failback', 20_000, async () => {
      const run = await s.store.openRun(site.name);
      if (!run || run.kind !== 'failback' || run.id === failover.id) return undefined;
      return findButton(s.slack.messages(s.channel.id), run.id, 'approve') ? run : undefined;
    });
    mark(`failback ${back.id} proposed by ${requester}`, askFrom);
    const approveBack = Date.now();
    const failbackTs = findButton(s.slack.messages(s.channel.id), back.id, 'approve')?.message.ts ?? '';
    for (const approver of approvers) {
      const button = findButton(s.slack.messages(s.channel.id), back.id, 'approve');
      if (!button) throw new DrillFailure(`run ${back.id}'s Approve button is gone`);
      await s.as.click(approver, { messageTs: button.message.ts, actionId: 'approve', value: button.value });
    }
    await finish(back.id, home, away, approveBack, failbackTs);
    if (pg) {
      const rows = await countRows(home);
      check(rows === 750, `${home} has ${rows} drill rows after failback; 750 were written (500 + 250)`);
      print(`  ✔ zero data loss: all 750 rows written on ${home} and then ${away} are on ${home}`);
    }

    // --- A game day -----------------------------------------------------------------------------------------
    print(`Drill: a game day — ${site.name} fails over on its own, holds, and comes home on its own.`);
    const gameDay = { sandbox: s, mark, requester, approvers, withDatabase: pg !== null && pg !== undefined };
    await gameDayPhase(gameDay);
    print(
      `Drill: a game day aborted — ${topology.drills?.abortOn[0]?.alertname} fires while it waits on ${away}'s pods.`,
    );
    await gameDayAbortPhase(gameDay);

    const reportsFrom = Date.now();
    const files = await Promise.all(reportChecks);
    mark(`every finished run has its report (${files.length} files)`, reportsFrom);

    printTimeline(print, phases);
    print('Drill passed.');
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    printTimeline(print, phases);
    print(`Drill FAILED: ${message}`);
    if (sandbox) print(`Baton's last log lines:\n${sandbox.baton.tail(25)}`);
    return 1;
  } finally {
    redis?.disconnect();
    await sandbox?.stop();
  }
}

function printTimeline(print: (line: string) => void, phases: Phase[]): void {
  if (phases.length === 0) return;
  print('');
  print('Timeline                                                         at       took');
  for (const phase of [...phases].sort((a, b) => a.at - b.at)) {
    const at = `${(phase.at / 1000).toFixed(1)} s`.padStart(8);
    const took = phase.took === undefined ? '' : `${(phase.took / 1000).toFixed(1)} s`.padStart(9);
    print(`  ${phase.name.padEnd(60)} ${at} ${took}`);
  }
  print('');
}
