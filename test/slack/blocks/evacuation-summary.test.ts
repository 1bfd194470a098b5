import { describe, expect, it } from 'vitest';
import type { EvacuationSummary } from '../../../src/core/evacuation/summarize-evacuation.js';
import { buildEvacuationSummary } from '../../../src/slack/blocks/evacuation-summary.js';
import { SLACK_LIMITS } from '../../../src/slack/blocks/limits.js';

const summary = (extra: Partial<EvacuationSummary> = {}): EvacuationSummary => ({
  id: 'e3',
  kind: 'failover',
  from: 'east',
  to: 'west',
  state: 'waiting',
  sites: 50,
  moved: 47,
  needsYou: [
    { site: 'app-07', state: 'paused', runId: 'r31', step: 'promote-target-db' },
    { site: 'app-12', state: 'failed', runId: 'r36', step: 'switch-dns' },
    { site: 'app-30', state: 'not-started', reason: 'preflight failed; not started' },
  ],
  running: [],
  rto: { sites: 47, minMs: 41_000, medianMs: 52_000, maxMs: 80_000 },
  ...extra,
});

const blocksText = (message: ReturnType<typeof buildEvacuationSummary>): string =>
  JSON.stringify(message.blocks);

describe('buildEvacuationSummary', () => {
  it('says how many sites moved, who needs you and what to do, and the recovery spread', () => {
    const message = buildEvacuationSummary(summary());
    expect(message.text).toBe(
      'Evacuation e3 (east → west) waits for you: 47 of 50 sites serve from west. Needs you: ' +
        'app-07 (r31) paused at promote-target-db (open its thread: Retry, Skip or Abort); ' +
        'app-12 (r36) failed at switch-dns (open its thread for the error); ' +
        'app-30 not started: preflight failed (`/failover app-30` to move it alone). ' +
        'Approval → verified (47 sites): min 41 s, median 52 s, max 1 m 20 s.',
    );
    expect(message).toMatchSnapshot();
  });

  it('finished: all moved, or with an aborted site and how to try it again', () => {
    const all = buildEvacuationSummary(summary({ state: 'finished', moved: 50, needsYou: [] }));
    expect(all.text).toBe(
      'Evacuation e3 (east → west) finished: all 50 sites serve from west. ' +
        'Approval → verified (47 sites): min 41 s, median 52 s, max 1 m 20 s.',
    );
    expect(blocksText(all)).toContain('✅');
    expect(blocksText(all)).not.toContain('Needs you');

    const aborted = buildEvacuationSummary(
      summary({
        state: 'finished',
        kind: 'failback',
        from: 'west',
        to: 'east',
        sites: 2,
        moved: 1,
        needsYou: [{ site: 'shop', state: 'aborted', runId: 'r9', step: 'scale-up-target' }],
        rto: { sites: 1, minMs: 30_000, medianMs: 30_000, maxMs: 30_000 },
      }),
    );
    expect(aborted.text).toBe(
      'Evacuation e3 (west → east) finished: 1 of 2 sites serve from east. Needs you: shop (r9) aborted at ' +
        'scale-up-target (its thread says what was undone; `/failback shop` to try again). ' +
        'Approval → verified (1 site): 30 s.',
    );
    expect(blocksText(aborted)).toContain('⚠️');
  });

  it('running again after a Retry: names the site that runs', () => {
    const message = buildEvacuationSummary(
      summary({
        state: 'running',
        needsYou: [],
        running: [{ site: 'app-07', runId: 'r31', step: 'promote-target-db' }],
        rto: null,
      }),
    );
    expect(message.text).toBe(
      'Evacuation e3 (east → west) is running again: 47 of 50 sites serve from west. ' +
        'Running again: app-07 (r31) at promote-target-db.',
    );
  });

  it('stays inside Slack’s limits when every site of a large evacuation needs you', () => {
    const needsYou = Array.from({ length: 200 }, (_, i) => ({
      site: `application-with-a-long-name-${i}`,
      state: 'paused' as const,
      runId: `r${1000 + i}`,
      step: 'promote-target-db',
    }));
    const message = buildEvacuationSummary(summary({ sites: 200, moved: 0, needsYou, rto: null }));
    expect(message.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocksPerMessage);
    expect(message.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackText);
    for (const block of message.blocks) {
      if (block.type === 'section')
        expect(block.text?.text.length ?? 0).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
    }
    expect(blocksText(message)).toContain('application-with-a-long-name-0');
  });

  it('escapes site names and reasons', () => {
    const message = buildEvacuationSummary(
      summary({ needsYou: [{ site: 'a<b>', state: 'not-started', reason: 'refused: x & y' }] }),
    );
    expect(message.text).toContain('a&lt;b&gt; not started: refused: x &amp; y');
    expect(blocksText(message)).not.toContain('a<b>');
  });
});
