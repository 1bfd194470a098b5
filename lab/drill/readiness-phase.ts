/**
 * The drill's readiness phase (DESIGN §2, continuous readiness): before anything breaks for real, the site reads
 * ready; the standby's replication lag is broken (replay paused on west while east writes), and the workers'
 * readiness job must turn the site red within one interval and tell the channel once, naming the lag; the lag is
 * repaired, and the site must turn green again with one recovery notice. Readiness is read where the sandbox page
 * and `/failover readiness` read it (the workers' last evaluation in Redis), the notices where people see them.
 */
import type { ReadinessEvaluation } from '../../src/core/readiness/readiness-types.js';
import type { Sandbox } from '../sandbox/stack.js';
import type { Mark } from './drill-support.js';
import { check, until } from './drill-support.js';

export interface ReadinessPhaseInput {
  sandbox: Sandbox;
  /** The topology's `readiness.interval` the sandbox was started with (ms). */
  intervalMs: number;
  mark: Mark;
}

/** The readiness job's tick is a tenth of the interval, at least 1 s (src/queue/readiness-job.ts). */
const tickOf = (intervalMs: number) => Math.max(1000, Math.floor(intervalMs / 10));

export async function readinessPhase({ sandbox: s, intervalMs, mark }: ReadinessPhaseInput): Promise<void> {
  const { site } = s;
  const standby = Object.keys(site.clusters).find((c) => c !== site.homeCluster) ?? '';
  /** An evaluation that started after `since` (its `at` is when it finished). */
  const evaluatedSince = async (since: number): Promise<ReadinessEvaluation | undefined> => {
    const evaluation = (await s.world()).readiness;
    return evaluation && evaluation.at - evaluation.durationMs >= since ? evaluation : undefined;
  };
  const notices = (phrase: string, since: number) =>
    s.slack.messages(s.channel.id).filter((m) => m.postedAt >= since && m.text.includes(phrase));
  // Room for an evaluation that started one interval (and one tick) after the break to finish and be read.
  const within = 2 * intervalMs + 10_000;

  const readyFrom = Date.now();
  const green = await until('readiness to read green at rest', within, async () => {
    const evaluation = (await s.world()).readiness;
    return evaluation?.ready ? evaluation : undefined;
  });
  mark(`readiness green (${green.from} → ${green.to}, ${green.checks.length} checks)`, readyFrom);

  const brokenAt = Date.now();
  await s.breaks.lag(standby, true);
  mark(`${standby}'s replay paused, ${site.homeCluster} writes on: lag`, brokenAt);
  const red = await until(`readiness to turn red on ${standby}'s lag`, within, async () => {
    const evaluation = await evaluatedSince(brokenAt);
    return evaluation && !evaluation.ready ? evaluation : undefined;
  });
  const redAfter = red.at - red.durationMs - brokenAt;
  check(
    red.problems.some((p) => p.startsWith(`${standby} lag`)),
    `readiness turned red without naming ${standby}'s lag: ${red.problems.join('; ')}`,
  );
  // Within one interval: the evaluation that saw it started at most an interval (plus the job's tick) after it.
  check(
    redAfter <= intervalMs + tickOf(intervalMs),
    `the first red evaluation started ${(redAfter / 1000).toFixed(1)} s after the break; the interval is ${intervalMs / 1000} s`,
  );
  mark(`readiness red: ${red.problems.join('; ')}`, brokenAt);
  const [unready] = await until('one "not ready" notice in the channel', 10_000, async () => {
    const found = notices('is not ready to', brokenAt);
    return found.length > 0 ? found : undefined;
  });
  check(
    unready?.text.includes(`${standby} lag`) === true,
    `the notice does not name the lag: ${unready?.text}`,
  );
  mark(`channel told once: not ready, ${standby} lag`, brokenAt);

  const repairedAt = Date.now();
  await s.breaks.lag(standby, false);
  const again = await until('readiness to turn green again', within, async () => {
    const evaluation = await evaluatedSince(repairedAt);
    return evaluation?.ready ? evaluation : undefined;
  });
  await until('one recovery notice in the channel', 10_000, async () =>
    notices('again', repairedAt).some((m) => m.text.includes('is ready to')),
  );
  const recovered = notices('is ready to', brokenAt).filter((m) => m.text.includes('again'));
  check(notices('is not ready to', brokenAt).length === 1, 'more than one "not ready" notice for one break');
  check(recovered.length === 1, `${recovered.length} recovery notices for one repair`);
  mark(`readiness green again, channel told once (${again.checks.length} checks pass)`, repairedAt);
}
