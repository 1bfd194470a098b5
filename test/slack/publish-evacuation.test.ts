/**
 * The evacuation's table under 50 runs saving at once (issue 16's benchmark): one render in flight per evacuation in
 * a process, calls meanwhile return at once, and the last message queued shows the newest state. And its closing
 * summary: nothing while the sites first run, posted once none runs, edited when a paused site runs again.
 */
import { describe, expect, it } from 'vitest';
import type { Evacuation } from '../../src/core/evacuation/evacuation.js';
import type { Run } from '../../src/core/model.js';
import { systemClock } from '../../src/core/clock.js';
import { EvacuationPublisher, evacuationSummaryKey } from '../../src/slack/publish-evacuation.js';
import { exampleTopology, recordingLog } from '../support/core-fixtures.js';
import { pausedBeforePromotion, runningRun } from './blocks/run-fixtures.js';

const evacuation = (version: number): Evacuation => ({
  id: 'e1',
  kind: 'failover',
  cluster: 'east',
  reason: 'east down',
  requestedBy: { type: 'slack-user', id: 'U0DAVE' },
  createdAt: 0,
  updatedAt: 0,
  expiresAt: 1000,
  state: 'approved',
  sites: [{ site: 'production', from: 'east', to: 'west', mode: 'emergency', plan: ['preflight'] }],
  approvals: [],
  version,
});

describe('EvacuationPublisher', () => {
  it('renders once at a time per evacuation, and last from the newest state', async () => {
    let version = 1;
    let reads = 0;
    let lastRead = 0;
    /** The state version each queued message was rendered from. */
    const posted: number[] = [];
    const publisher = new EvacuationPublisher({
      notifier: {
        postStatus: async () => {
          posted.push(lastRead);
          // Slack-queue latency: the other calls arrive while this render is in flight.
          await new Promise((resolve) => setTimeout(resolve, 20));
          return true;
        },
        statusMessage: async () => null,
      },
      read: async () => {
        reads += 1;
        lastRead = version;
        return { evacuation: evacuation(version), runs: new Map<string, Run>() };
      },
      topology: exampleTopology(),
      clock: systemClock,
      log: recordingLog(),
    });
    const calls = Array.from({ length: 50 }, (_, i) => {
      version = i + 2; // each run's save moves the state before it publishes
      return publisher.publish('e1');
    });
    await Promise.all(calls);
    // The follow-up render runs on its own: wait for it to settle.
    for (let i = 0; i < 100 && posted.at(-1) !== version; i += 1)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(posted.at(-1)).toBe(version);
    expect(reads).toBeLessThanOrEqual(10);
    expect(posted.length).toBeLessThanOrEqual(6);
  });
});

describe('EvacuationPublisher: the closing summary', () => {
  it('posts nothing while the sites first run, posts once none runs, edits it when a site runs again', async () => {
    /** Texts queued per key, as the notify queue would keep them (one message per key). */
    const queued = new Map<string, string[]>();
    let run: Run = { ...runningRun(), evacuation: 'e1' };
    const publisher = new EvacuationPublisher({
      notifier: {
        postStatus: async ({ key, message }) => {
          queued.set(key, [...(queued.get(key) ?? []), message.text]);
          return true;
        },
        statusMessage: async (key) =>
          queued.has(key) ? { channel: 'C0INCIDENTS', version: 1, postedVersion: 1 } : null,
      },
      read: async () => ({
        evacuation: {
          ...evacuation(run.version),
          sites: [{ ...evacuation(1).sites[0]!, runId: run.id }],
        },
        runs: new Map([[run.id, run]]),
      }),
      topology: exampleTopology(),
      clock: systemClock,
      log: recordingLog(),
    });
    const summaries = () => queued.get(evacuationSummaryKey('e1')) ?? [];

    await publisher.publish('e1');
    expect(summaries()).toEqual([]);

    run = { ...pausedBeforePromotion(), evacuation: 'e1' };
    await publisher.publish('e1');
    expect(summaries()).toHaveLength(1);
    expect(summaries()[0]).toContain('waits for you: 0 of 1 site serve from west');

    run = { ...runningRun(), evacuation: 'e1', version: run.version + 1 };
    await publisher.publish('e1');
    expect(summaries()).toHaveLength(2);
    expect(summaries()[1]).toContain('is running again');
  });
});
