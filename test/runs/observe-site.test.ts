/**
 * `/failover status`, end to end: the web role answers at once with Baton's own record ("reading…" for the sources
 * of truth), and a worker reads Route 53 and each cluster's PostgreSQL and answers on the response_url. A source that
 * cannot be read is named, with why, never shown as a bare "unknown". Real Redis, Bolt, the Slack stand-in, and the
 * simulated world with injected faults.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startRedis } from '../../lab/processes/processes.js';
import { sourcesOfTruth } from '../../src/runs/observe-site.js';
import { read, unreadable } from '../../src/core/reading.js';
import { waitFor } from '../support/integration.js';
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

/** Every text of a response_url answer's blocks, one per line. */
function answerTexts(harness: SlackHarness, id: string): string[] {
  return harness.slack
    .responseUrlPosts(id)
    .map((post) => JSON.stringify(post.body.blocks ?? []).replace(/\\n/g, '\n'));
}

async function status(harness: SlackHarness): Promise<{ first: string; observed: string }> {
  const ack = await harness.command(USERS.dave, '/failover', 'status');
  const first = ack.text.replace(/\\n/g, '\n');
  const observed = await waitFor(
    'the worker’s answer',
    async () => answerTexts(harness, ack.responseUrlId)[0],
  );
  return { first, observed };
}

describe('/failover status', () => {
  it('answers with Baton’s record at once, then with what Route 53 and PostgreSQL say', async () => {
    h = await startSlackHarness(redis.url);
    const { first, observed } = await status(h);
    expect(first).toContain('serving: *east* per Baton · Route 53 and PostgreSQL: _reading…_');
    expect(observed).toContain('serving: *east* per Baton · *east* per Route 53 · database primary: *east*');
    expect(observed).not.toContain('unknown');
  });

  it('names each source it could not read, and why', async () => {
    h = await startSlackHarness(redis.url);
    h.world?.fail('dns.currentTarget', 1000);
    h.world?.fail('database.status:west', 1000);
    const { observed } = await status(h);
    // East's database answered as the primary: that is an answer, though west could not be read.
    expect(observed).toContain('· _unreadable_ per Route 53 · database primary: *east*');
    expect(observed).toContain('❓ Could not read Route 53: dns.currentTarget failed (injected)');
    expect(observed).toContain('❓ Could not read west database: database.status:west failed (injected)');
    expect(observed).not.toContain('unknown');
  });
});

describe('sourcesOfTruth', () => {
  const base = { site: 'production', servingPerBaton: 'east' };
  it('no primary among partial answers is unreadable, not "none writable"', () => {
    const truth = sourcesOfTruth({
      ...base,
      route53: read('east'),
      databases: [
        { cluster: 'east', role: unreadable('connection refused') },
        { cluster: 'west', role: read('standby') },
      ],
    });
    expect(truth.databasePrimary).toEqual(unreadable('east could not be read'));
    expect(truth.unreadable).toEqual(['east database: connection refused']);
    expect(truth.disagreement).toBeUndefined();
  });

  it('spells out every disagreement with Baton’s record, and two writable primaries', () => {
    const truth = sourcesOfTruth({
      ...base,
      route53: read('west'),
      databases: [
        { cluster: 'east', role: read('primary') },
        { cluster: 'west', role: read('primary') },
      ],
    });
    expect(truth.disagreement).toBe(
      'Route 53 sends users to west, Baton records east; both databases accept writes (east, west)',
    );
    const nowhere = sourcesOfTruth({
      ...base,
      route53: read(null),
      databases: [
        { cluster: 'east', role: read('fenced primary') },
        { cluster: 'west', role: read('primary') },
      ],
    });
    expect(nowhere.databasePrimary).toEqual(read('west'));
    expect(nowhere.disagreement).toBe(
      'Route 53 points at neither cluster; the database primary is on west, Baton records east',
    );
  });
});
