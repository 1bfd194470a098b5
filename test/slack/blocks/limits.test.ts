/**
 * Slack's limits hold for every builder, however big the input: checked by a walker written here, independently of
 * the clamping code in src, against huge reasons, 200 preflight checks, 100 workloads, long errors and timelines.
 */
import type { KnownBlock } from '@slack/types';
import { describe, expect, it } from 'vitest';
import type { SiteConfig } from '../../../src/config/topology.js';
import type { Actor, Run } from '../../../src/core/model.js';
import { buildPlan } from '../../../src/core/plans/build-plan.js';
import type { PreflightCheck } from '../../../src/core/steps/preflight.js';
import { BatonError } from '../../../src/errors.js';
import { button, context } from '../../../src/slack/blocks/elements.js';
import {
  buildClickRefusalMessage,
  buildErrorMessage,
  buildRefusalMessage,
  buildUsageMessage,
} from '../../../src/slack/blocks/ephemeral.js';
import {
  escapeText,
  fitMessage,
  joinLines,
  truncatePlainText,
  truncateText,
} from '../../../src/slack/blocks/limits.js';
import type { SlackMessage } from '../../../src/slack/blocks/limits.js';
import { buildProposalMessage } from '../../../src/slack/blocks/proposal-message.js';
import { buildStatusMessage } from '../../../src/slack/blocks/status-message.js';
import { buildStepReply } from '../../../src/slack/blocks/step-reply.js';
import { buildRunSummary } from '../../../src/slack/blocks/summary-message.js';
import { read } from '../../../src/core/reading.js';
import { buildHistoryView, buildPlanView, buildStatusView } from '../../../src/slack/blocks/views.js';
import { STEP_IDS } from '../../../src/core/model.js';
import { exampleSite, exampleTopology, proposedRun } from '../../support/core-fixtures.js';
import {
  PREFLIGHT_OK,
  abortedRun,
  approve,
  at,
  pausedAfterPromotion,
  proposal,
  runningRun,
  step,
  succeededRun,
} from './run-fixtures.js';

// ------------------------------------------------------------------------------------------------------------------
// An independent checker of Slack's published limits and of mrkdwn escaping.
// ------------------------------------------------------------------------------------------------------------------

/** The `<…>` tokens Baton may emit on purpose: mentions, group mentions, dates and http(s) links. */
const TOKEN =
  /<(?:@[UW][A-Z0-9]+|#C[A-Z0-9]+|!subteam\^S[A-Z0-9]+|!date\^\d+\^[^|<>]+\|[^<>]+|https?:\/\/[^|<>\s]+\|[^<>]+)>/g;

/** A `<`, `>` or bare `&` left in mrkdwn is user text Slack would parse as markup. */
function markupProblems(where: string, text: string): string[] {
  const rest = text.replace(TOKEN, '');
  const problems: string[] = [];
  if (/[<>]/.test(rest)) problems.push(`${where}: unescaped < or > in ${JSON.stringify(rest.slice(0, 120))}`);
  if (/&(?!amp;|lt;|gt;)/.test(rest))
    problems.push(`${where}: bare & in ${JSON.stringify(rest.slice(0, 120))}`);
  return problems;
}

function violations(message: SlackMessage): string[] {
  const problems: string[] = [];
  const max = (where: string, value: string | undefined, limit: number, min = 1) => {
    const length = value?.length ?? 0;
    if (length > limit || length < min) problems.push(`${where}: length ${length} not in [${min}, ${limit}]`);
  };
  max('text', message.text, 4000);
  problems.push(...markupProblems('text', message.text));
  if (message.blocks.length > 50 || message.blocks.length < 1)
    problems.push(`${message.blocks.length} blocks`);
  const blockIds = new Set<string>();
  message.blocks.forEach((block, i) => {
    const where = `block ${i} (${block.type})`;
    if (block.block_id !== undefined) {
      max(`${where} block_id`, block.block_id, 255);
      if (blockIds.has(block.block_id)) problems.push(`${where}: duplicate block_id`);
      blockIds.add(block.block_id);
    }
    switch (block.type) {
      case 'header':
        max(where, block.text.text, 150);
        if (block.text.type !== 'plain_text') problems.push(`${where}: header must be plain_text`);
        break;
      case 'section':
        max(where, block.text?.text, 3000);
        if (block.text?.type === 'mrkdwn') problems.push(...markupProblems(where, block.text.text));
        if ((block.fields?.length ?? 0) > 10) problems.push(`${where}: more than 10 fields`);
        for (const field of block.fields ?? []) max(`${where} field`, field.text, 2000);
        break;
      case 'context':
        if (block.elements.length > 10 || block.elements.length < 1) problems.push(`${where}: elements`);
        for (const element of block.elements) {
          if (element.type !== 'mrkdwn' && element.type !== 'plain_text') continue;
          max(`${where} element`, element.text, 3000);
          if (element.type === 'mrkdwn') problems.push(...markupProblems(where, element.text));
        }
        break;
      case 'actions':
        if (block.elements.length > 25 || block.elements.length < 1) problems.push(`${where}: elements`);
        for (const element of block.elements) {
          if (element.type !== 'button') {
            problems.push(`${where}: unexpected ${element.type}`);
            continue;
          }
          max(`${where} button text`, element.text.text, 75);
          max(`${where} button value`, element.value, 2000);
          max(`${where} action_id`, element.action_id, 255);
          if (element.confirm) {
            max(`${where} confirm title`, element.confirm.title?.text, 100);
            max(`${where} confirm text`, element.confirm.text.text, 300);
            max(`${where} confirm button`, element.confirm.confirm?.text, 30);
            max(`${where} deny button`, element.confirm.deny?.text, 30);
          }
        }
        break;
      case 'divider':
        break;
      default:
        problems.push(`${where}: a block type Baton does not use`);
    }
  });
  return problems;
}

const buttonsOf = (message: SlackMessage) =>
  message.blocks
    .flatMap((b: KnownBlock) => (b.type === 'actions' ? b.elements : []))
    .filter((e) => e.type === 'button');

// ------------------------------------------------------------------------------------------------------------------
// Huge inputs.
// ------------------------------------------------------------------------------------------------------------------

const NASTY = '<!channel> db & <@U123|x> > 5xx ';
const HUGE_REASON = NASTY.repeat(Math.ceil(10_000 / NASTY.length)).slice(0, 10_000);
const HUGE_ERROR = `connect ECONNREFUSED <10.0.0.1> & ${'stack line\n'.repeat(1000)}`;
const MANY_CHECKS: PreflightCheck[] = Array.from({ length: 200 }, (_, i) => ({
  id: `workload default/web-${i}`,
  status: (['failed', 'warning', 'passed'] as const)[i % 3] ?? 'passed',
  detail: `image drift <${i}> & ${'x'.repeat(480)}`,
}));
const MANY_ACTORS: Actor[] = Array.from({ length: 100 }, (_, i) => ({
  type: 'slack-user',
  id: `U${String(i).padStart(8, '0')}`,
}));

/** The example site with 100 workloads. */
function bigSite(): SiteConfig {
  const site = exampleSite();
  return {
    ...site,
    workloads: Array.from({ length: 100 }, (_, i) => ({
      namespace: `team-${i}`,
      kind: 'Deployment' as const,
      name: `service-with-a-rather-long-name-${i}`,
      replicas: 20,
      standbyReplicas: 2,
    })),
  };
}

const scaled = (from: number, to: number) =>
  Object.fromEntries(
    Array.from({ length: 100 }, (_, i) => [`team-${i}/service-with-a-rather-long-name-${i}`, { from, to }]),
  );

/** A run of the 100-workload site in every bad way at once: huge reason, errors, outputs, approvals, timeline. */
function hugeRun(state: 'paused' | 'succeeded'): Run {
  const base = state === 'paused' ? pausedAfterPromotion() : succeededRun();
  // Planned, so the plan has every step (catch-up too).
  const big = proposedRun(bigSite(), { now: at(0), request: { kind: 'failover', mode: 'planned' } });
  let run: Run = { ...base, plan: big.plan, reason: HUGE_REASON };
  run = step(run, 'preflight', { output: { checks: MANY_CHECKS, overridden: true } });
  run = step(run, 'fence-source', {
    output: { lsn: '0/3000060', scaled: scaled(20, 2), unfenced: [HUGE_ERROR] },
  });
  run = step(run, 'scale-up-target', { output: { scaled: scaled(2, 20) } });
  run = step(run, 'verify', {
    output: { answers: Array.from({ length: 100 }, (_, i) => `203.0.113.${i}`), healthStatus: 200 },
  });
  if (state === 'paused') run = step(run, 'switch-dns', { error: HUGE_ERROR, errorCode: 'x'.repeat(300) });
  const noise = Array.from({ length: 2000 }, (_, i) => ({
    at: at(100 + i),
    event: i % 2 ? 'skip-requested' : `switch-dns failed: ${HUGE_ERROR}`,
    actor: MANY_ACTORS[i % 100],
    detail: `segment ${run.segment}`,
  }));
  return {
    ...run,
    approvals: MANY_ACTORS.map((actor, i) => ({ actor, at: at(i), breakGlass: true })),
    timeline: [...run.timeline, ...noise],
    stateReason: HUGE_ERROR,
  };
}

describe('every builder stays inside Slack limits for huge inputs', () => {
  const topology = exampleTopology();
  const hugeProposal = (): Run => ({
    ...approve(proposedRun(bigSite(), { now: at(0) }), MANY_ACTORS[0] as Actor, 1, false),
    reason: HUGE_REASON,
  });
  const trigger = {
    alertname: `Alert<${'A'.repeat(5000)}>`,
    summary: HUGE_REASON,
    startsAt: 'not a date',
    url: `https://alertmanager.example.com/${'a'.repeat(5000)}`,
  };

  const cases: [string, () => SlackMessage][] = [
    [
      'proposal, pending, 200 checks',
      () =>
        buildProposalMessage({
          run: hugeProposal(),
          preflight: MANY_CHECKS,
          lagBytes: 2 ** 40,
          approvalsRequired: 2,
          breakGlassRequired: true,
          trigger,
          now: at(2),
        }),
    ],
    [
      'proposal, dry run',
      () =>
        buildProposalMessage({
          run: hugeProposal(),
          preflight: MANY_CHECKS,
          lagBytes: null,
          approvalsRequired: 1,
          breakGlassRequired: false,
          dryRun: true,
          now: at(2),
        }),
    ],
    [
      'proposal, decided',
      () =>
        buildProposalMessage({
          run: hugeRun('succeeded'),
          preflight: MANY_CHECKS,
          lagBytes: 0,
          approvalsRequired: 1,
          breakGlassRequired: false,
          now: at(2),
        }),
    ],
    [
      'status, paused',
      () => buildStatusMessage({ run: hugeRun('paused'), now: at(5000), breakGlassApprovals: 2 }),
    ],
    ['status, succeeded', () => buildStatusMessage({ run: hugeRun('succeeded'), now: at(5000) })],
    ...STEP_IDS.map((id): [string, () => SlackMessage] => [
      `step reply ${id}`,
      () => buildStepReply({ run: hugeRun('paused'), stepId: id, now: at(5000) }),
    ]),
    ['summary', () => buildRunSummary({ run: hugeRun('succeeded'), alertFiredAt: at(-60), now: at(5000) })],
    [
      'usage with a huge error',
      () => buildUsageMessage({ sites: Array(500).fill('production'), error: HUGE_REASON }),
    ],
    [
      'refusal',
      () =>
        buildRefusalMessage({
          kind: 'failover',
          site: 'production',
          requesters: { users: MANY_ACTORS.map((a) => a.id), userGroups: ['S0SRE'] },
        }),
    ],
    [
      'click refusal',
      () =>
        buildClickRefusalMessage({
          code: 'not-approver',
          run: hugeRun('paused'),
          approvers: { users: Array(2000).fill('U0ALICE'), userGroups: [] },
        }),
    ],
    [
      'error',
      () => buildErrorMessage({ action: HUGE_REASON, error: new Error(HUGE_ERROR), next: HUGE_REASON }),
    ],
    [
      'status view, 60 sites',
      () =>
        buildStatusView({
          sites: Array.from({ length: 60 }, (_, i) => ({
            site: `site-${i}`,
            servingPerBaton: 'east',
            truth: { route53: read('west'), unreadable: [HUGE_ERROR], disagreement: HUGE_ERROR },
            openRun: hugeRun('paused'),
          })),
        }),
    ],
    [
      'history, 500 runs',
      () => buildHistoryView({ site: 'production', runs: Array(500).fill(hugeRun('paused')) }),
    ],
    [
      'plan view, 100 workloads',
      () =>
        buildPlanView({ plan: buildPlan({ kind: 'failover', force: true }, bigSite(), { serving: 'east' }) }),
    ],
  ];

  it.each(cases)('%s', (_name, build) => {
    const message = build();
    expect(violations(message)).toEqual([]);
  });

  it('keeps the buttons when the content is cut', () => {
    const proposalMessage = cases[0]?.[1]();
    expect(proposalMessage && buttonsOf(proposalMessage).map((b) => b.action_id)).toEqual([
      'approve',
      'reject',
    ]);
    const paused = buildStatusMessage({ run: hugeRun('paused'), now: at(5000), breakGlassApprovals: 2 });
    expect(buttonsOf(paused).map((b) => b.action_id)).toEqual(['retry-step', 'skip-step']); // past promotion: no Abort
  });

  it('says how much was left out instead of failing', () => {
    const proposalMessage = cases[0]?.[1]();
    const body = JSON.stringify(proposalMessage?.blocks);
    expect(body).toMatch(/… \(\d+ more\)/);
    expect(body).toContain('&lt;!channel&gt; db &amp; &lt;@U123|x&gt;');
    expect(
      buildPlanView({ plan: buildPlan({ kind: 'failover' }, bigSite(), { serving: 'east' }) })
        .blocks.map((b) => JSON.stringify(b))
        .join(),
    ).toContain('• … (95 more)');
    const history = buildHistoryView({ site: 'production', runs: Array(500).fill(hugeRun('paused')) });
    expect(JSON.stringify(history.blocks)).toContain('… (490 older)');
  });

  it('the checker itself catches what Slack would reject', () => {
    expect(violations({ text: '', blocks: [] })).toEqual(['text: length 0 not in [1, 4000]', '0 blocks']);
    expect(
      violations({
        text: 'a <b> & c',
        blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }],
      }),
    ).toEqual([
      'text: unescaped < or > in "a <b> & c"',
      'text: bare & in "a <b> & c"',
      'block 0 (section): length 3001 not in [1, 3000]',
    ]);
    expect(
      violations({ text: 'ok <@U0ALICE> &amp; <!date^1^{time}|x>', blocks: [{ type: 'divider' }] }),
    ).toEqual([]);
  });

  it('checks the example topology too (sanity of the fixture)', () => {
    expect(topology.sites).toHaveLength(1);
    expect(
      violations(
        buildProposalMessage({
          run: proposal(),
          preflight: PREFLIGHT_OK,
          lagBytes: 1,
          approvalsRequired: 1,
          breakGlassRequired: false,
          now: at(1),
        }),
      ),
    ).toEqual([]);
    for (const run of [runningRun(), pausedAfterPromotion(), succeededRun(), abortedRun()]) {
      expect(violations(buildStatusMessage({ run, now: at(900) }))).toEqual([]);
      expect(violations(buildRunSummary({ run, now: at(900) }))).toEqual([]);
    }
  });
});

// ------------------------------------------------------------------------------------------------------------------
// The helpers.
// ------------------------------------------------------------------------------------------------------------------

describe('escapeText', () => {
  it('escapes exactly &, < and >', () => {
    expect(escapeText(`<@U1> & "quotes" 'x' *bold*`)).toBe(`&lt;@U1&gt; &amp; "quotes" 'x' *bold*`);
  });
});

describe('truncateText', () => {
  it('leaves short text alone and cuts long text to the limit with …', () => {
    expect(truncateText('abc', 3)).toBe('abc');
    expect(truncateText('abcdef', 4)).toBe('abc…');
    expect(truncateText('abcdef', 1)).toBe('…');
  });

  it('never splits an entity, a Slack token or an emoji', () => {
    expect(truncateText('ab &amp; cd', 6)).toBe('ab…');
    expect(truncateText('hi <@U0ALICE> there', 10)).toBe('hi…');
    expect(truncateText('date <!date^1^{time}|x> ok', 15)).toBe('date…');
    expect(truncateText('ab🔥cd', 4)).toBe('ab…');
  });

  it('truncatePlainText cuts user text without treating < or & as markup', () => {
    expect(truncatePlainText('a < b & c and more', 10)).toBe('a < b & c…');
    expect(truncatePlainText('ab🔥cd', 4)).toBe('ab…');
  });
});

describe('joinLines', () => {
  it('joins lines that fit', () => {
    expect(joinLines(['a', 'b'], 3)).toBe('a\nb');
  });

  it('drops whole lines from the end and says how many', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`);
    const joined = joinLines(lines, 60);
    expect(joined.length).toBeLessThanOrEqual(60);
    expect(joined).toBe('line 0\nline 1\nline 2\nline 3\nline 4\nline 5\nline 6\n… (93 more)');
  });

  it('cuts one overlong line', () => {
    expect(joinLines(['x'.repeat(100)], 10)).toBe(`${'x'.repeat(9)}…`);
  });
});

describe('fitMessage', () => {
  it('keeps the footer and notes the left-out blocks', () => {
    const blocks: KnownBlock[] = Array.from({ length: 80 }, () => ({ type: 'divider' }));
    const footer = [context(['footer'])];
    const message = fitMessage({ text: 'x'.repeat(5000), blocks, footer });
    expect(message.blocks).toHaveLength(50);
    expect(message.blocks[48]).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: '… (32 more) — not shown, Slack allows 50 blocks' }],
    });
    expect(message.blocks[49]).toEqual(footer[0]);
    expect(message.text).toHaveLength(4000);
  });

  it('always sets the fallback text', () => {
    expect(fitMessage({ text: '  ', blocks: [] }).text).toBe('Baton');
  });
});

describe('elements', () => {
  it('a button value over 2000 characters is a bug, not something to cut', () => {
    expect(() => button({ actionId: 'approve', text: 'Approve', value: 'x'.repeat(2001) })).toThrow(
      BatonError,
    );
  });

  it('context folds more than 10 parts into the tenth', () => {
    const block = context(Array.from({ length: 12 }, (_, i) => `p${i}`));
    expect(block.elements).toHaveLength(10);
    expect(block.elements[9]).toEqual({ type: 'mrkdwn', text: 'p9 · p10 · p11' });
  });
});
