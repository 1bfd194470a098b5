/**
 * `/failover readiness [site]`, end to end through Bolt and the Slack stand-in: answered at once, ephemerally, from
 * the last evaluation in Redis and its age; before the first evaluation, when it is due.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startRedis } from '../../lab/processes/processes.js';
import { SimulatedWorld } from '../../lab/simulated-world/simulated-world.js';
import { systemClock } from '../../src/core/clock.js';
import { evaluateReadiness } from '../../src/core/readiness/evaluate-readiness.js';
import { ReadinessStore } from '../../src/store/readiness-store.js';
import type { SlackHarness } from '../support/slack-harness.js';
import { USERS, startSlackHarness } from '../support/slack-harness.js';

let redis: RedisProcess;
let h: SlackHarness | null = null;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});
afterEach(async () => {
  await h?.close();
  h = null;
});

/** The ephemeral answer's fallback text and its blocks' text. */
async function readiness(
  harness: SlackHarness,
  text = 'readiness',
): Promise<{ text: string; blocks: string }> {
  const ack = await harness.command(USERS.dave, '/failover', text);
  expect(ack.status).toBe(200);
  const body = JSON.parse(ack.text) as { response_type: string; text: string; blocks: unknown[] };
  expect(body.response_type).toBe('ephemeral');
  return { text: body.text, blocks: JSON.stringify(body.blocks).replace(/\\n/g, '\n') };
}

describe('/failover readiness', () => {
  it('says when the first evaluation is due before there is one', async () => {
    h = await startSlackHarness(redis.url, { worker: false });
    const { text } = await readiness(h);
    expect(text).toMatch(
      /^production: not evaluated yet — the first evaluation is due <!date\^\d+\^\{time\}\|.+> \(in (1 m 0 s|59 s)\)\.$/,
    );
  });

  it('shows the last evaluation, its age and every check that did not pass', async () => {
    h = await startSlackHarness(redis.url, { worker: false });
    const site = h.topology.sites[0]!;
    const world = SimulatedWorld.inMemory(site, systemClock);
    await world.change((s) => {
      s.lagBytes = 3_355_443;
    });
    const twoMinutesAgo = Date.now() - 120_000;
    const evaluation = await evaluateReadiness({
      site,
      ports: world.ports,
      from: 'east',
      to: 'west',
      now: () => twoMinutesAgo,
    });
    await new ReadinessStore(h.redis, h.prefixes.store).record(evaluation);

    const { text, blocks } = await readiness(h, 'readiness production');
    const lines = text.split('\n');
    expect(lines[0]).toMatch(
      /^🔴 production is not ready to fail over \(east → west\) for 2 m \d+ s — evaluated 2 m \d+ s ago \(<!date.+>\), next due <!date.+>$/,
    );
    expect(lines).toContain(
      '✗ target-database: west: standby streaming from east, 3.2 MiB behind (limit 1 MiB)',
    );
    expect(lines.at(-1)).toMatch(/^\d+ of \d+ checks passed\.$/);
    expect(blocks).toContain('*production is not ready to fail over*');
  });

  it('refuses an unknown site with the list of sites', async () => {
    h = await startSlackHarness(redis.url, { worker: false });
    const { text } = await readiness(h, 'readiness nowhere');
    expect(text).toContain('Unknown site "nowhere"');
  });
});
