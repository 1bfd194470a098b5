/**
 * An evacuation's one message (DESIGN §2): what moves and why, the plan in short form, a table of the sites (site,
 * move, step, state — each site's preflight verdict and pre-warm while proposed, its run's step and state once
 * started), the decision buttons while it waits (Approve all, Approve ready sites, Reject), and a button per site
 * that opens its detail (a modal: plan, gates, its run). Pure and snapshot-tested; the text fallback is always set.
 */
import type { Button, KnownBlock, View } from '@slack/types';
import type { Evacuation, EvacuationSite } from '../../core/evacuation/evacuation.js';
import { isSiteReady } from '../../core/evacuation/evacuation.js';
import type { EvacuationRow } from '../../core/evacuation/evacuation-table.js';
import type { Run } from '../../core/model.js';
import { allSteps } from '../../core/model.js';
import { ACTION_IDS } from '../action-ids.js';
import { encodeEvacuationValue } from '../evacuation-actions.js';
import { actions, button, context, header, section } from './elements.js';
import { actorText, actorsText, plural, slackDate, STEP_ICONS } from './format.js';
import type { SlackMessage } from './limits.js';
import { escapeText, fitMessage, truncatePlainText, truncateText } from './limits.js';
import type { Prewarm } from '../../core/prewarm/prewarm-record.js';
import { prewarmCell, prewarmLines } from './prewarm-lines.js';

export interface EvacuationMessageInput {
  evacuation: Evacuation;
  rows: readonly EvacuationRow[];
  approvalsRequired: number;
  now: number;
}

/** Rows per table section: each row is under 100 characters, a section holds 3000. */
const ROWS_PER_SECTION = 25;
const SITE_BUTTONS_PER_BLOCK = 5;

const title = (e: Pick<Evacuation, 'id' | 'kind' | 'cluster'>): string =>
  e.kind === 'failover'
    ? `🚨 Evacuation ${e.id}: fail over every site ${e.cluster} serves`
    : `🏠 Evacuation ${e.id}: bring every site home to ${e.cluster}`;

const pad = (text: string, width: number): string => truncatePlainText(text, width).padEnd(width);

function rowText(row: EvacuationRow): string {
  const detail = row.detail ? ` — ${truncatePlainText(row.detail, 60)}` : '';
  const run = row.runId ? ` ${row.runId}` : '';
  const warmth = row.prewarm ? prewarmCell(row.prewarm) : '';
  return (
    `${pad(row.site, 16)} ${pad(`${row.from}→${row.to}`, 11)} ${pad(row.step || '—', 18)} ` +
    `${row.state}${run}${warmth ? ` · ${warmth}` : ''}${detail}`
  );
}

/** Why a site is not ready: its failed gates. */
const failedGates = (site: EvacuationSite): string =>
  (site.preflight?.checks ?? [])
    .filter((c) => c.status === 'failed')
    .map((c) => c.id)
    .join(', ');

function tableBlocks(input: EvacuationMessageInput): KnownBlock[] {
  const sites = new Map(input.evacuation.sites.map((s) => [s.site, s]));
  const rows = input.rows.map((row) => {
    const site = sites.get(row.site);
    if (row.state === 'not ready' && site && !row.detail)
      return { ...row, detail: `failed: ${failedGates(site)}` };
    return row;
  });
  const head = `${pad('site', 16)} ${pad('move', 11)} ${pad('step', 18)} state`;
  const blocks: KnownBlock[] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_SECTION) {
    const lines = rows.slice(i, i + ROWS_PER_SECTION).map(rowText);
    const body = escapeText([...(i === 0 ? [head] : []), ...lines].join('\n'));
    blocks.push(section(`\`\`\`${truncateText(body, 2900)}\`\`\``));
  }
  return blocks;
}

/** The plan once when every site shares it (the usual case), else per site. */
function planLines(evacuation: Evacuation): string[] {
  const plans = new Set(evacuation.sites.map((s) => s.plan.join(' → ')));
  const [only] = plans;
  if (plans.size === 1 && only !== undefined) return [`*Plan, every site:* ${escapeText(only)}`];
  return evacuation.sites.map((s) => `*${escapeText(s.site)}:* ${escapeText(s.plan.join(' → '))}`);
}

function decisionLine(evacuation: Evacuation, required: number, now: number): string {
  switch (evacuation.state) {
    case 'proposed':
      return (
        `Needs ${plural(required, 'approval')}` +
        (evacuation.approvals.length ? ` (${evacuation.approvals.length} so far)` : '') +
        ` · expires ${slackDate(evacuation.expiresAt)}` +
        (now >= evacuation.expiresAt ? ' (past)' : '')
      );
    case 'approved':
      return (
        `👍 Approved by ${actorsText(evacuation.approvals.map((a) => a.actor))}` +
        (evacuation.choice === 'ready' ? ' — ready sites only' : ' — all sites')
      );
    case 'rejected':
      return `🚫 Rejected${evacuation.decidedBy ? ` by ${actorText(evacuation.decidedBy)}` : ''}; nothing was started`;
    case 'expired':
      return '⌛ Expired without a decision; nothing was started. Propose it again with /failover --cluster.';
  }
}

export function buildEvacuationMessage(input: EvacuationMessageInput): SlackMessage {
  const { evacuation, approvalsRequired, now } = input;
  const value = encodeEvacuationValue({ evacuationId: evacuation.id });
  const ready = evacuation.sites.filter((s) => !s.openRun && isSiteReady(s)).length;
  const startable = evacuation.sites.filter((s) => !s.openRun).length;
  const measured = evacuation.sites.filter((s) => s.preflight || s.openRun).length;
  const first = evacuation.sites[0];
  const blocks: KnownBlock[] = [
    header(title(evacuation)),
    section(
      `*${plural(evacuation.sites.length, 'site')}*` +
        (first ? ` · ${first.mode}` : '') +
        ` · requested by ${actorText(evacuation.requestedBy)}` +
        (evacuation.reason ? ` · _${escapeText(truncatePlainText(evacuation.reason, 300))}_` : ''),
    ),
  ];
  if (evacuation.trigger) {
    blocks.push(
      context([
        `🔔 Alert *${escapeText(evacuation.trigger.alertname)}*` +
          (evacuation.trigger.summary ? `: ${escapeText(evacuation.trigger.summary)}` : ''),
      ]),
    );
  }
  blocks.push(section(planLines(evacuation)), ...tableBlocks(input));
  if (evacuation.state === 'proposed' && measured < evacuation.sites.length) {
    blocks.push(context([`Preflight: ${measured} of ${evacuation.sites.length} sites measured…`]));
  }
  blocks.push(context([decisionLine(evacuation, approvalsRequired, now)]));

  const footer: KnownBlock[] = [];
  if (evacuation.state === 'proposed') {
    const decision: Button[] = [
      button({
        actionId: ACTION_IDS.evacuationApproveAll,
        text: `Approve all (${startable})`,
        value,
        style: 'primary',
        confirm: {
          title: 'Approve the evacuation?',
          text: `Starts ${plural(startable, 'run')}, one per site, ${evacuation.cluster} ${
            evacuation.kind === 'failover' ? '→ the other cluster' : '← home'
          }, whatever their preflight says.`,
          confirm: 'Approve all',
        },
      }),
      button({ actionId: ACTION_IDS.evacuationApproveReady, text: `Approve ready sites (${ready})`, value }),
      button({ actionId: ACTION_IDS.evacuationReject, text: 'Reject', value, style: 'danger' }),
    ];
    footer.push(actions(`evacuation-decision-${evacuation.id}`, decision));
  }
  // Slack wants action_ids unique within a block: `evacuation-site-<n>`, matched by prefix (evacuationSiteAction).
  const siteButtons = evacuation.sites.map((s, i) =>
    button({
      actionId: `${ACTION_IDS.evacuationSite}-${i}`,
      text: `${s.site} ›`,
      value: encodeEvacuationValue({ evacuationId: evacuation.id, site: s.site }),
    }),
  );
  for (let i = 0; i < siteButtons.length; i += SITE_BUTTONS_PER_BLOCK) {
    footer.push(actions(`evacuation-sites-${i / SITE_BUTTONS_PER_BLOCK}`, siteButtons.slice(i, i + 5)));
  }
  const text =
    `${title(evacuation)} — ${plural(evacuation.sites.length, 'site')}, ${evacuation.state}: ` +
    input.rows.map((r) => `${r.site} ${r.state}`).join(', ');
  return fitMessage({ text, blocks, footer });
}

export interface EvacuationSiteViewInput {
  evacuation: Evacuation;
  site: EvacuationSite;
  /** The site's run, once started (or the open run that kept it from starting). */
  run?: Run;
  /** The site's pre-warm while the evacuation is proposed, or what was given back after it. */
  prewarm?: Prewarm;
}

/** One site of an evacuation, in a modal: its plan step by step, its gates, and its run. */
export function buildEvacuationSiteView(input: EvacuationSiteViewInput): View {
  const { evacuation, site, run } = input;
  const blocks: KnownBlock[] = [
    section(
      `*${escapeText(site.site)}*: ${site.from} → ${site.to}, ${site.mode} (evacuation ${evacuation.id})`,
    ),
  ];
  if (run) {
    const steps = allSteps(run.plan).map((s) => {
      const status = run.steps[s.id]?.status ?? 'pending';
      return `${STEP_ICONS[status]} ${escapeText(s.title)}`;
    });
    blocks.push(
      section(
        `*Run ${run.id}: ${run.state}*` +
          (run.stateReason ? ` — ${escapeText(run.stateReason)}` : '') +
          '\nRetry, Skip and Abort are on its own message in the channel.',
      ),
      section(steps),
    );
  } else {
    blocks.push(section(site.plan.map((line, i) => `${i + 1}. ${escapeText(line)}`)));
  }
  if (site.preflight) {
    blocks.push(
      section([
        '*Preflight*',
        ...site.preflight.checks.map(
          (c) =>
            `${c.status === 'passed' ? '✅' : c.status === 'warning' ? '⚠️' : '❌'} ${escapeText(c.id)}: ` +
            escapeText(truncatePlainText(c.detail, 200)),
        ),
      ]),
    );
  } else if (!run) {
    blocks.push(
      context([site.openRun ? `Open run ${site.openRun}: not started twice.` : 'Preflight pending…']),
    );
  }
  if (site.notStarted) blocks.push(context([`Not started: ${escapeText(site.notStarted)}`]));
  // While proposed: warming or warm; once decided, only what a give-back did (an approval hands the pods to the run).
  const warm = prewarmLines(input.prewarm, evacuation.state === 'proposed' ? 'proposed' : 'approved');
  if (warm.length) blocks.push(section(warm));
  return {
    type: 'modal',
    title: { type: 'plain_text', text: truncatePlainText(`Site ${site.site}`, 24) },
    close: { type: 'plain_text', text: 'Close' },
    blocks: blocks.slice(0, 100),
  };
}
