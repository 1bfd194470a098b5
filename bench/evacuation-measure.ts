/**
 * What the evacuation benchmark reads after a scenario, all of it at the stand-ins or in the run store: request
 * rates (Route 53 across all processes, Slack per channel), duplicate external actions (a record changed, or a
 * workload scaled, more than once), Redis's commands per second, and each run's step durations.
 */
import type { Run } from '../src/core/model.js';
import { maxRequestsInWindow } from '../lab/route53/request-rate.js';
import type { EvacuationFleet } from './evacuation-fleet.js';
import { percentile } from './support.js';

export interface Measured {
  /** approval (the first click sent) → the last run's verify step ended, ms. */
  approvalToVerified: number;
  runs: number;
  succeeded: number;
  /** Runs not succeeded: `id site state: reason`. */
  notSucceeded: string[];
  route53: {
    maxPerSecond: number;
    requests: number;
    throttled: number;
    changeRequests: number;
    byAction: Record<string, number>;
  };
  slack: {
    postMaxPerSecond: number;
    updateMaxPerSecond: number;
    posts: number;
    updates: number;
    /** The shortest gap between two chat.postMessage calls to one channel (ms). */
    postMinGapMs: number;
  };
  /** approval → a run's first step started (waiting for the start and a worker's slot): p50 and max, ms. */
  queued: { p50: number; max: number };
  redis: { meanPerSecond: number; peakPerSecond: number };
  duplicates: { records: string[]; scales: string[] };
  /** Per step id: p50 and max of its duration, and max of its end after the approval (ms). */
  steps: { id: string; p50: number; max: number; lastEnd: number }[];
}

/** Every channel's busiest 1 s window for `method`. */
function maxPerChannel(
  fleet: EvacuationFleet,
  method: string,
): { max: number; total: number; minGapMs: number } {
  const calls = fleet.slack.calls({ method });
  const byChannel = new Map<string, { at: number }[]>();
  for (const call of calls) {
    const key = call.channel ?? '?';
    byChannel.set(key, [...(byChannel.get(key) ?? []), call]);
  }
  const max = Math.max(0, ...[...byChannel.values()].map((c) => maxRequestsInWindow(c)));
  // The shortest gap between two calls to one channel: a pacer of 1 s shows ~1000 ms.
  const gaps = [...byChannel.values()].flatMap((c) => {
    const times = c.map((x) => x.at).sort((x, y) => x - y);
    return times.slice(1).map((t, i) => t - (times[i] ?? t));
  });
  return { max, total: calls.length, minGapMs: Math.min(...gaps) };
}

/** Route 53: record names changed by more than one accepted change batch (each site's record switches once). */
function duplicateRecords(fleet: EvacuationFleet): string[] {
  const batches = new Map<string, number>();
  for (const request of fleet.lab.route53.requests) {
    if (request.action !== 'ChangeResourceRecordSets' || request.status !== 200) continue;
    for (const name of new Set((request.changes ?? []).map((c) => c.name))) {
      batches.set(name, (batches.get(name) ?? 0) + 1);
    }
  }
  return [...batches].filter(([, n]) => n > 1).map(([name, n]) => `${name} ×${n}`);
}

/** Kubernetes: workloads whose replicas were written more than once with the same target (a repeated scale). */
function duplicateScales(fleet: EvacuationFleet): string[] {
  const writes = new Map<string, number>();
  for (const request of fleet.lab.kube.requests()) {
    if (!['PATCH', 'PUT'].includes(request.method) || request.status >= 300) continue;
    const replicas = (request.body as { spec?: { replicas?: unknown } } | undefined)?.spec?.replicas;
    if (replicas === undefined) continue;
    const object = request.path.replace(/\/scale$/, '');
    const key = `${request.cluster} ${object} → ${String(replicas)}`;
    writes.set(key, (writes.get(key) ?? 0) + 1);
  }
  return [...writes].filter(([, n]) => n > 1).map(([key, n]) => `${key} ×${n}`);
}

/** Redis commands per second from samples of total_commands_processed, less the benchmark's own. */
export function redisRates(samples: { at: number; total: number; own: number }[]): {
  meanPerSecond: number;
  peakPerSecond: number;
} {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (!first || !last || last.at === first.at)
    return { meanPerSecond: Number.NaN, peakPerSecond: Number.NaN };
  const rate = (a: typeof first, b: typeof first) =>
    (b.total - a.total - (b.own - a.own)) / ((b.at - a.at) / 1000);
  let peak = 0;
  for (let i = 1; i < samples.length; i += 1) {
    const [a, b] = [samples[i - 1] as typeof first, samples[i] as typeof first];
    // The last sample closes the window right after the one before it: too short a span for a rate.
    if (b.at - a.at >= 500) peak = Math.max(peak, rate(a, b));
  }
  return { meanPerSecond: rate(first, last), peakPerSecond: peak };
}

export function measure(input: {
  fleet: EvacuationFleet;
  runs: Run[];
  approvedAt: number;
  redisSamples: { at: number; total: number; own: number }[];
}): Measured {
  const { fleet, runs, approvedAt } = input;
  const requests = fleet.lab.route53.requests;
  const byAction: Record<string, number> = {};
  for (const r of requests) byAction[r.action] = (byAction[r.action] ?? 0) + 1;
  const stepIds = [...new Set(runs.flatMap((run) => Object.keys(run.steps)))];
  const steps = stepIds.map((id) => {
    const of = runs.map((run) => run.steps[id as keyof Run['steps']]).filter((s) => s?.finishedAt);
    const durations = of.map((s) => (s?.finishedAt ?? 0) - (s?.startedAt ?? s?.finishedAt ?? 0));
    return {
      id,
      p50: percentile(durations, 50),
      max: Math.max(...durations),
      lastEnd: Math.max(...of.map((s) => (s?.finishedAt ?? 0) - approvedAt)),
    };
  });
  const firstStarts = runs.map(
    (run) => Math.min(...Object.values(run.steps).map((s) => s.startedAt ?? Infinity)) - approvedAt,
  );
  const verifiedAt = Math.max(...runs.map((run) => run.steps.verify?.finishedAt ?? Number.NaN));
  const posts = maxPerChannel(input.fleet, 'chat.postMessage');
  const updates = maxPerChannel(input.fleet, 'chat.update');
  return {
    approvalToVerified: verifiedAt - approvedAt,
    runs: runs.length,
    succeeded: runs.filter((r) => r.state === 'succeeded').length,
    notSucceeded: runs
      .filter((r) => r.state !== 'succeeded')
      .map((r) => `${r.id} ${r.site} ${r.state}: ${r.stateReason ?? ''}`),
    route53: {
      maxPerSecond: maxRequestsInWindow(requests),
      requests: requests.length,
      throttled: requests.filter((r) => r.errorCode === 'Throttling').length,
      changeRequests: byAction.ChangeResourceRecordSets ?? 0,
      byAction,
    },
    slack: {
      postMaxPerSecond: posts.max,
      updateMaxPerSecond: updates.max,
      posts: posts.total,
      updates: updates.total,
      postMinGapMs: posts.minGapMs,
    },
    queued: {
      p50: percentile(firstStarts, 50),
      max: Math.max(...firstStarts),
    },
    redis: redisRates(input.redisSamples),
    duplicates: { records: duplicateRecords(fleet), scales: duplicateScales(fleet) },
    steps,
  };
}
