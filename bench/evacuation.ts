/**
 * Evacuating a cluster of 50 sites that share a hosted zone (issue 16), against the stand-ins with realistic delays
 * (pods Ready 1 s after a scale-up, Route 53 INSYNC 2 s after a change, Route 53 throttling beyond 5 requests/s as
 * the account quota does) and Baton as deployed: 2 `baton web` and 3 `baton worker` processes with the real adapters
 * on one Redis (evacuation-fleet.ts).
 *
 * Batched: Alertmanager's ClusterDown reaches both web processes (both Alertmanager replicas), one evacuation message
 * lists the 50 sites, and one Approve all starts 50 runs. Unbatched: the same 50 sites as 50 `/failover <site>`
 * proposals, approved together (50 clicks at once). Each scenario is a fresh lab, Redis and fleet.
 */
import { writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Run } from '../src/core/model.js';
import { TERMINAL_STATES } from '../src/core/model.js';
import { ACTION_IDS } from '../src/slack/action-ids.js';
import type { SlackMessage } from '../lab/slack/slack-api-server.js';
import { waitFor } from '../test/support/integration.js';
import type { EvacuationFleet } from './evacuation-fleet.js';
import { buttonValue, CHANNEL, startEvacuationFleet } from './evacuation-fleet.js';
import type { Measured } from './evacuation-measure.js';
import { measure } from './evacuation-measure.js';
import type { Row } from './support.js';
import { ms, renderTable, runIfMain, sleep } from './support.js';

const SITES = 50;
const WEBS = 2;
const WORKERS = 3;
const PODS_READY_MS = 1000;
const INSYNC_MS = 2000;
const ROUTE53_PER_SECOND = 5;
const SAMPLES = Number(process.env.EVACUATION_SAMPLES ?? 1);
/** How long the runs may take before the scenario gives up (far beyond the 30 s budget: to see where time goes). */
const RUNS_TIMEOUT_MS = 300_000;

interface Outcome extends Measured {
  /** Batched only: the alert's POST → the evacuation message in the channel. */
  alertToMessage?: number;
  /** Batched only: evacuation messages posted (top-level messages naming an evacuation). */
  evacuationMessages?: number;
  /** The machine's 1-minute load average when the runs ended (the figures are CPU-bound on 2 cores). */
  load?: number;
}

/** Waits until the Slack stand-in has had no API call for `quietMs` (the messages have settled, as a reader sees). */
async function slackSettled(fleet: EvacuationFleet, quietMs = 2000, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    'Slack to settle',
    async () => {
      const last = Math.max(0, ...fleet.slack.calls().map((c) => c.at));
      return Date.now() - last >= quietMs;
    },
    timeoutMs,
    100,
  );
}

/** Samples Redis's command count every second until stopped. */
function sampleRedis(fleet: EvacuationFleet) {
  const samples: { at: number; total: number; own: number }[] = [];
  let running = true;
  const take = async () => {
    const at = Date.now();
    const total = await fleet.commandsProcessed();
    samples.push({ at, total, own: fleet.ownCommands() });
  };
  const loop = (async () => {
    await take();
    while (running) {
      await sleep(1000);
      await take();
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await take();
      return samples;
    },
  };
}

/** Waits until every run of `runIds()` has ended or paused; polls only the runs still going. */
async function runsDone(fleet: EvacuationFleet, runIds: () => Promise<string[] | null>): Promise<Run[]> {
  const done = new Map<string, Run>();
  const deadline = Date.now() + RUNS_TIMEOUT_MS;
  for (;;) {
    const ids = await runIds();
    if (ids) {
      for (const id of ids.filter((i) => !done.has(i))) {
        const run = await fleet.runs.get(id);
        if (run && (TERMINAL_STATES.has(run.state) || run.state === 'paused')) done.set(id, run);
      }
      if (done.size === ids.length) return ids.map((id) => done.get(id) as Run);
    }
    if (Date.now() > deadline) {
      throw new Error(`runs not done within ${RUNS_TIMEOUT_MS} ms: ${done.size} of ${ids?.length} ended`);
    }
    await sleep(500);
  }
}

/** EVACUATION_DEBUG=1: the stand-ins' logs and the runs, as JSON in the temp directory, to see where time goes. */
async function dump(name: string, fleet: EvacuationFleet, runs: Run[], approvedAt: number): Promise<void> {
  if (!process.env.EVACUATION_DEBUG) return;
  const file = join(tmpdir(), `evacuation-${name}-${Date.now()}.json`);
  const kube = fleet.lab.kube.requests().map(({ cluster, at, method, path, status }) => ({
    cluster,
    at: at - approvedAt,
    method,
    path,
    status,
  }));
  const route53 = fleet.lab.route53.requests.map((r) => ({ ...r, at: r.at - approvedAt }));
  const slack = fleet.slack.calls().map((c) => ({ ...c, at: c.at - approvedAt }));
  const messages = fleet.slack
    .messages(CHANNEL)
    .flatMap((m) => [m, ...m.replies].map((x) => ({ ts: x.ts, text: x.text.slice(0, 80) })));
  await writeFile(file, JSON.stringify({ approvedAt, kube, route53, slack, messages, runs }, null, 1));
  console.error(`evacuation ${name}: logs in ${file}`);
}

async function batched(fleet: EvacuationFleet): Promise<Outcome> {
  // The live table ("🚨 Evacuation e1: …"), not the closing summary ("Evacuation e1 (east → west) finished: …").
  const isEvacuation = (m: SlackMessage) => /Evacuation e\d+:/.test(m.text);
  const alertedAt = Date.now();
  await Promise.all([fleet.alert(0), fleet.alert(1)]);
  const message = await waitFor(
    'the evacuation message',
    async () => fleet.slack.messages(CHANNEL).find(isEvacuation),
    60_000,
    5,
  );
  const alertToMessage = Date.now() - alertedAt;
  // A person approves once every site's preflight shows in the message.
  await waitFor(
    'every preflight measured',
    async () => {
      const e = await fleet.evacuations.get('e1');
      return e?.sites.every((s) => s.preflight || s.openRun);
    },
    120_000,
    250,
  ).catch(async (error: unknown) => {
    const e = await fleet.evacuations.get('e1');
    const waiting = e?.sites.filter((s) => !s.preflight && !s.openRun).map((s) => s.site);
    const logs = fleet.problems().slice(-30).join('\n');
    throw new Error(
      `${String(error)}: evacuation e1 ${e?.state}, no preflight for ${waiting?.join(', ')}\n${logs}`,
    );
  });
  await slackSettled(fleet);
  const current = fleet.slack.message(CHANNEL, message.ts) ?? message;
  const redis = sampleRedis(fleet);
  const approvedAt = Date.now();
  await fleet.click(1, current, ACTION_IDS.evacuationApproveAll);
  const runs = await runsDone(fleet, async () => {
    const e = await fleet.evacuations.get('e1');
    const ids = e?.sites.map((s) => s.runId);
    return ids?.length && ids.every(Boolean) ? (ids as string[]) : null;
  });
  const redisSamples = await redis.stop();
  await slackSettled(fleet, 3000).catch(() => undefined);
  await dump('batched', fleet, runs, approvedAt);
  return {
    ...measure({ fleet, runs, approvedAt, redisSamples }),
    alertToMessage,
    evacuationMessages: fleet.slack.messages(CHANNEL).filter(isEvacuation).length,
  };
}

async function unbatched(fleet: EvacuationFleet): Promise<Outcome> {
  const sites = fleet.lab.topology.sites.map((s) => s.name);
  for (const [i, site] of sites.entries()) await fleet.slash(i % WEBS, `${site} east is down`);
  const proposalOf = (site: string) =>
    fleet.slack
      .messages(CHANNEL)
      .find((m) => buttonValue(m, ACTION_IDS.approve)?.includes(`"site":"${site}"`));
  await waitFor(`${sites.length} proposals`, async () => sites.every((s) => proposalOf(s)), 120_000, 100);
  await slackSettled(fleet);
  const proposals = sites.map((s) => fleet.slack.message(CHANNEL, proposalOf(s)?.ts ?? '') as SlackMessage);
  const runIds = proposals.map(
    (m) => (JSON.parse(buttonValue(m, ACTION_IDS.approve) ?? '{}') as { runId: string }).runId,
  );
  const redis = sampleRedis(fleet);
  const approvedAt = Date.now();
  await Promise.all(proposals.map((m, i) => fleet.click(i % WEBS, m, ACTION_IDS.approve)));
  const runs = await runsDone(fleet, async () => runIds);
  const redisSamples = await redis.stop();
  await slackSettled(fleet, 3000).catch(() => undefined);
  await dump('unbatched', fleet, runs, approvedAt);
  return measure({ fleet, runs, approvedAt, redisSamples });
}

async function scenario(run: (fleet: EvacuationFleet) => Promise<Outcome>): Promise<Outcome> {
  const fleet = await startEvacuationFleet({
    lab: {
      sites: SITES,
      podReadyAfterMs: PODS_READY_MS,
      insyncAfterMs: INSYNC_MS,
      route53RequestsPerSecond: ROUTE53_PER_SECOND,
    },
    webs: WEBS,
    workers: WORKERS,
  });
  try {
    // Start from a quiet Route 53 and Slack log: what boot did (zone reads, doctor) is not the evacuation's.
    fleet.lab.route53.clearRequests();
    fleet.lab.kube.clearRequests();
    const outcome = { ...(await run(fleet)), load: loadavg()[0] ?? Number.NaN };
    if (process.env.EVACUATION_DEBUG) console.error(JSON.stringify(outcome, null, 2));
    return outcome;
  } finally {
    await fleet.close();
  }
}

/** The worst of the samples for each figure (the budgets hold per run, so the worst decides). */
function worst(outcomes: Outcome[]): Outcome {
  const [first] = outcomes;
  if (!first) throw new Error('no samples');
  const max = (pick: (o: Outcome) => number) => Math.max(...outcomes.map(pick));
  return {
    ...first,
    approvalToVerified: max((o) => o.approvalToVerified),
    succeeded: Math.min(...outcomes.map((o) => o.succeeded)),
    notSucceeded: outcomes.flatMap((o) => o.notSucceeded),
    route53: { ...first.route53, maxPerSecond: max((o) => o.route53.maxPerSecond) },
    slack: {
      ...first.slack,
      postMaxPerSecond: max((o) => o.slack.postMaxPerSecond),
      updateMaxPerSecond: max((o) => o.slack.updateMaxPerSecond),
      postMinGapMs: Math.min(...outcomes.map((o) => o.slack.postMinGapMs)),
    },
    queued: { p50: max((o) => o.queued.p50), max: max((o) => o.queued.max) },
    redis: {
      meanPerSecond: max((o) => o.redis.meanPerSecond),
      peakPerSecond: max((o) => o.redis.peakPerSecond),
    },
    duplicates: {
      records: outcomes.flatMap((o) => o.duplicates.records),
      scales: outcomes.flatMap((o) => o.duplicates.scales),
    },
    load: max((o) => o.load ?? Number.NaN),
    ...(first.alertToMessage !== undefined && { alertToMessage: max((o) => o.alertToMessage ?? 0) }),
    ...(first.evacuationMessages !== undefined && {
      evacuationMessages: max((o) => o.evacuationMessages ?? 0),
    }),
  };
}

function rows(b: Outcome, u: Outcome): Row[] {
  const both = (pick: (o: Outcome) => string) => [pick(b), pick(u)];
  const passBoth = (ok: (o: Outcome) => boolean) => ok(b) && ok(u);
  const dupes = (o: Outcome) => o.duplicates.records.length + o.duplicates.scales.length;
  const seconds = (value: number) => (Number.isFinite(value) ? `${(value / 1000).toFixed(1)} s` : 'n/a');
  const stepRows: Row[] = [...new Set([...b.steps, ...u.steps].map((s) => s.id))].map((id) => {
    const of = (o: Outcome) => {
      const step = o.steps.find((s) => s.id === id);
      return step ? `${ms(step.p50, 0)} / ${ms(step.max, 0)} / +${seconds(step.lastEnd)}` : '—';
    };
    return {
      metric: `· ${id}: duration p50 / max / last ended after approval`,
      values: both(of),
      budget: '—',
    };
  });
  return [
    {
      metric: 'machine load average (1 min) when the runs ended',
      values: both((o) => (o.load ?? Number.NaN).toFixed(1)),
      budget: '—',
    },
    {
      metric: 'alert → one evacuation message',
      values: [ms(b.alertToMessage ?? Number.NaN, 0), 'n/a'],
      budget: '—',
    },
    {
      metric: 'evacuation messages posted (alert sent to both web processes)',
      values: [String(b.evacuationMessages ?? 0), 'n/a'],
      budget: '1',
      pass: b.evacuationMessages === 1,
    },
    {
      metric: `approval → all ${SITES} verified`,
      values: both((o) => seconds(o.approvalToVerified)),
      budget: '≤ 30 s',
      pass: passBoth((o) => o.approvalToVerified <= 30_000),
    },
    {
      metric: 'runs succeeded',
      values: both((o) => `${o.succeeded}/${o.runs}`),
      budget: `${SITES}/${SITES}`,
      pass: passBoth((o) => o.succeeded === SITES && o.runs === SITES),
    },
    {
      metric: 'Route 53 requests/s (max in any 1 s, all processes)',
      values: both((o) => String(o.route53.maxPerSecond)),
      budget: `≤ ${ROUTE53_PER_SECOND}`,
      pass: passBoth((o) => o.route53.maxPerSecond <= ROUTE53_PER_SECOND),
    },
    {
      metric: '· Route 53 requests / throttled / change batches',
      values: both((o) => `${o.route53.requests} / ${o.route53.throttled} / ${o.route53.changeRequests}`),
      budget: '—',
    },
    {
      metric: 'Slack chat.postMessage/s per channel (max in any 1 s)',
      values: both((o) => String(o.slack.postMaxPerSecond)),
      budget: '≤ 1',
      pass: passBoth((o) => o.slack.postMaxPerSecond <= 1),
    },
    {
      metric: '· shortest gap between two chat.postMessage to one channel',
      values: both((o) => ms(o.slack.postMinGapMs, 0)),
      budget: '—',
    },
    {
      metric: '· Slack chat.update/s (max in any 1 s, per channel) · posts / updates in all',
      values: both((o) => `${o.slack.updateMaxPerSecond} · ${o.slack.posts} / ${o.slack.updates}`),
      budget: '—',
    },
    {
      metric: 'Redis commands/s, approval → verified (mean / busiest second)',
      values: both((o) => `${o.redis.meanPerSecond.toFixed(0)} / ${o.redis.peakPerSecond.toFixed(0)}`),
      budget: '—',
    },
    {
      metric: 'duplicate external actions (record changed twice, workload scaled twice)',
      values: both((o) => String(dupes(o))),
      budget: '0',
      pass: passBoth((o) => dupes(o) === 0),
    },
    {
      metric: "· approval → a run's first step starts (p50 / max)",
      values: both((o) => `${ms(o.queued.p50, 0)} / ${ms(o.queued.max, 0)}`),
      budget: '—',
    },
    ...stepRows,
  ];
}

export async function evacuation(): Promise<string> {
  const batchedRuns: Outcome[] = [];
  const unbatchedRuns: Outcome[] = [];
  // EVACUATION_ONLY=batched (or unbatched) runs one scenario, for a quick look; the table then shows n/a for the other.
  const only = process.env.EVACUATION_ONLY;
  for (let i = 0; i < SAMPLES; i += 1) {
    if (only !== 'unbatched') batchedRuns.push(await scenario(batched));
    if (only !== 'batched') unbatchedRuns.push(await scenario(unbatched));
  }
  if (!batchedRuns.length || !unbatchedRuns.length) {
    const outcomes = batchedRuns.length ? batchedRuns : unbatchedRuns;
    return JSON.stringify(worst(outcomes), null, 2);
  }
  const b = worst(batchedRuns);
  const u = worst(unbatchedRuns);
  const problems = [...b.notSucceeded, ...u.notSucceeded, ...b.duplicates.records, ...u.duplicates.records];
  problems.push(...b.duplicates.scales, ...u.duplicates.scales);
  const table = renderTable({
    title: `Evacuating ${SITES} sites of one hosted zone (issue 16)`,
    setup:
      `${SITES} sites served by east, records in one Route 53 hosted zone; Kubernetes and Route 53 stand-ins through ` +
      `the official SDKs (pods Ready ${PODS_READY_MS / 1000} s after a scale-up, INSYNC ${INSYNC_MS / 1000} s after ` +
      `a change, Route 53 throttling beyond ${ROUTE53_PER_SECOND} requests/s across all clients); ${WEBS} \`baton web\` ` +
      `and ${WORKERS} \`baton worker\` processes with the real adapters on one Redis, the Slack stand-in (no rate ` +
      `limit: the figures are Baton's own pacing). Batched: ClusterDown posted to both web processes, Approve all ` +
      `once the preflight shows. Unbatched: ${SITES} \`/failover <site>\` proposals, approved with ${SITES} clicks at ` +
      `once. A fresh lab per scenario; worst of ${SAMPLES} run(s) each. Step rows: p50 / max duration / the last ` +
      `one's end after the approval.`,
    columns: ['batched (1 evacuation)', `unbatched (${SITES} proposals)`],
    rows: rows(b, u),
  });
  return problems.length ? `${table}\n\nProblems:\n${problems.map((p) => `- ${p}`).join('\n')}` : table;
}

runIfMain(import.meta.url, evacuation);
