import type { KnownBlock } from '@slack/types';
import { describe, expect, it } from 'vitest';
import type { Prewarm } from '../../../src/core/prewarm/prewarm-record.js';
import { buildProposalMessage } from '../../../src/slack/blocks/proposal-message.js';
import { prewarmCell, prewarmLines, warmthText } from '../../../src/slack/blocks/prewarm-lines.js';
import { PREFLIGHT_OK, at, move, proposal } from './run-fixtures.js';

const warming = (ready: number, extra: Partial<Prewarm> = {}): Prewarm => ({
  cluster: 'west',
  startedAt: at(1),
  scaledAt: at(2),
  workloads: { 'default/web': { from: 1, to: 5, ready } },
  autoscalers: [],
  progress: { before: { 'default/Deployment/web': 1 } },
  ...extra,
});

const allText = (blocks: KnownBlock[]): string => JSON.stringify(blocks);

describe('prewarmLines', () => {
  it('shows the Ready count while warming, and says when the pods are up', () => {
    expect(prewarmLines(warming(3), 'proposed')).toEqual(['🔥 *Warming west:* web 3/5 Ready']);
    expect(prewarmLines(warming(5, { readyAt: at(20) }), 'proposed')).toEqual([
      '✅ *Warm on west:* web 5/5 Ready — approval starts with the pods up',
    ]);
    expect(
      prewarmLines(
        warming(1, { autoscalers: ['default/web-hpa (default/web): minReplicas 1 → 5'] }),
        'proposed',
      ),
    ).toEqual(['🔥 *Warming west:* web 1/5 Ready · its HPA held at the serving count']);
  });

  it('names workloads by namespace only when two share a name', () => {
    const two = warming(0, {
      workloads: {
        'default/web': { from: 1, to: 5, ready: 2 },
        'batch/web': { from: 0, to: 2, ready: 2 },
      },
    });
    expect(warmthText(two)).toBe('default/web 2/5 Ready, batch/web 2/2 Ready');
  });

  it('says why it is not warming, without blocking anything', () => {
    expect(
      prewarmLines(
        {
          ...warming(0),
          scaledAt: undefined,
          workloads: {},
          failed: 'Kubernetes API: connection refused',
        } as Prewarm,
        'proposed',
      ),
    ).toEqual([
      '⚠️ *Not warming west:* Kubernetes API: connection refused — approval works as usual; the run scales it up',
    ]);
  });

  it('after a reject: what was given back, and what someone else changed since', () => {
    const released = warming(5, {
      released: {
        at: at(40),
        because: 'rejected',
        restored: ['default/web 5 → 1'],
        leftAlone: ['default/worker: now 3, not the 2 Baton set — left as it is'],
      },
    });
    expect(prewarmLines(released, 'rejected')).toEqual([
      '↩️ *Pre-warm given back on west* (rejected): default/web 5 → 1',
      '⚠️ default/worker: now 3, not the 2 Baton set — left as it is',
    ]);
  });

  it('is part of the open proposal, and not of a dry run', () => {
    const run = { ...proposal(), prewarm: warming(3) };
    const input = {
      run,
      preflight: PREFLIGHT_OK,
      lagBytes: 0,
      approvalsRequired: 1,
      breakGlassRequired: false,
      now: at(30),
    };
    expect(allText(buildProposalMessage(input).blocks)).toContain('*Warming west:* web 3/5 Ready');
    expect(allText(buildProposalMessage({ ...input, dryRun: true }).blocks)).not.toContain('Warming');
    const approved = move(run, 'approved', 40);
    expect(allText(buildProposalMessage({ ...input, run: approved }).blocks)).not.toContain('Warming');
  });
});

describe('prewarmCell (an evacuation table row)', () => {
  it('says how warm the site is, why it is not warming, or that it was given back', () => {
    expect(prewarmCell({ ...warming(0), scaledAt: undefined })).toBe('warming…');
    expect(prewarmCell(warming(3))).toBe('warming web 3/5 Ready');
    expect(prewarmCell(warming(5, { readyAt: at(20) }))).toBe('warm web 5/5 Ready');
    expect(
      prewarmCell(warming(0, { scaledAt: undefined, failed: "west's Kubernetes API did not answer" })),
    ).toBe("not warming: west's Kubernetes API did not answer");
    const released = (leftAlone: string[]) =>
      warming(5, { released: { at: at(40), because: 'rejected', restored: [], leftAlone } });
    expect(prewarmCell(released([]))).toBe('pre-warm given back');
    expect(prewarmCell(released(['default/web: now 3, not the 5 Baton set — left as it is']))).toBe(
      'pre-warm given back (1 left alone)',
    );
  });
});
