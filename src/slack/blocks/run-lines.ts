/**
 * How a plan and its steps read in Slack: the planned actions of each step group, each step's status line with a
 * one-line summary of what it found or did, and what Abort would do now. Shared by the proposal, status, summary
 * and plan builders so a step reads the same everywhere.
 */
import type { Plan, PlannedStep, Run, StepRecord } from '../../core/model.js';
import { allSteps } from '../../core/model.js';
import { formatRpo, rpoIn } from '../../core/rpo.js';
import { pastPointOfNoReturn } from '../../core/runs/point-of-no-return.js';
import { STEP_ICONS, actorText, formatDuration, plural } from './format.js';
import { capList, escapeText, moreNote, truncateText } from './limits.js';

/** Planned actions shown per step before "(n more)"; a site with 100 workloads must still fit one message. */
const ACTIONS_PER_STEP = 6;
/** Longest one-line step summary or error excerpt. */
const SUMMARY_LENGTH = 200;

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;
const record = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;

/** The step numbers and parallel marker of each group: `1.`, `2.`, `3.` … counted across groups. */
function numbered(plan: Plan): { step: PlannedStep; n: number; parallel: boolean }[][] {
  let n = 0;
  return plan.groups.map((group) =>
    group.map((step) => {
      n += 1;
      return { step, n, parallel: group.length > 1 };
    }),
  );
}

const PONR_NOTE = '_⛔ Point of no return: once promotion is requested, Abort undoes nothing._';

/** The plan as mrkdwn lines per group: each step's title and its concrete actions, parallel steps and the point of no return marked. */
export function planGroupLines(plan: Plan): string[][] {
  return numbered(plan).map((group) => {
    const lines: string[] = [];
    const first = group[0];
    const last = group.at(-1);
    if (first && last && group.length > 1) lines.push(`_Steps ${first.n}–${last.n} run in parallel:_`);
    for (const { step, n, parallel } of group) {
      lines.push(
        `${step.pointOfNoReturn ? '⛔ ' : ''}*${n}. ${escapeText(step.title)}*${parallel ? ' ⇉' : ''}`,
      );
      const { shown, hidden } = capList(step.actions, ACTIONS_PER_STEP);
      for (const action of shown) lines.push(`• ${truncateText(escapeText(action), 300)}`);
      if (hidden) lines.push(`• ${moreNote(hidden)}`);
      if (step.pointOfNoReturn) lines.push(PONR_NOTE);
    }
    return lines;
  });
}

function scaledText(value: unknown): string | undefined {
  const scaled = record(value);
  if (!scaled) return undefined;
  const entries = Object.entries(scaled).flatMap(([label, change]) => {
    const c = record(change);
    const from = num(c?.from);
    const to = num(c?.to);
    return from === undefined || to === undefined ? [] : [`${escapeText(label)} ${from} → ${to}`];
  });
  if (!entries.length) return 'already at size';
  const { shown, hidden } = capList(entries, 3);
  return shown.join(', ') + (hidden ? ` ${moreNote(hidden)}` : '');
}

/** The target size of the only workload scaled, for "5/5 Ready". */
function readyText(value: unknown): string {
  const changes = Object.values(record(value) ?? {});
  const to = changes.length === 1 ? num(record(changes[0])?.to) : undefined;
  return to === undefined ? 'all Ready' : `${to}/${to} Ready`;
}

/** One line on what a finished step found or did, from its output (untrusted shape: read defensively). */
function outputSummary(
  run: Pick<Run, 'from' | 'to'>,
  step: PlannedStep,
  rec: StepRecord,
): string | undefined {
  const out = rec.output ?? {};
  if (out.alreadyDone === true) return 'already done';
  switch (step.id) {
    case 'preflight': {
      const checks = Array.isArray(out.checks) ? out.checks.map(record) : [];
      const count = (status: string) => checks.filter((c) => c?.status === status).length;
      const parts = [`${count('passed')} passed`];
      if (count('warning')) parts.push(plural(count('warning'), 'warning'));
      if (count('failed')) parts.push(`${count('failed')} failed`);
      return parts.join(', ') + (out.overridden === true ? ' — overridden by --force' : '');
    }
    case 'fence-source': {
      const parts: string[] = [];
      const fence = record(out.fence);
      const lsn = str(fence?.lsn);
      if (fence?.promotionToken)
        parts.push(`${escapeText(run.from)} demoted (CloudNativePG token at ${escapeText(lsn ?? '?')})`);
      else if (lsn)
        parts.push(`${escapeText(run.from)} database read-only, final position ${escapeText(lsn)}`);
      const prepared = Array.isArray(fence?.prepared) ? fence.prepared.map(record) : [];
      if (prepared.length) {
        parts.push(
          `⚠️ prepared transactions survive the fence: ${escapeText(prepared.map((p) => `${str(p?.gid)} (${str(p?.owner)})`).join(', '))}`,
        );
      }
      const scaled = scaledText(out.scaled);
      if (scaled) parts.push(scaled);
      const unfenced = Array.isArray(out.unfenced) ? out.unfenced.filter((u) => typeof u === 'string') : [];
      if (unfenced.length) parts.push(`⚠️ not fenced: ${escapeText(unfenced.join('; '))}`);
      return parts.join('; ') || undefined;
    }
    case 'catch-up': {
      const skipped = str(out.skipped);
      if (skipped) return `⚠️ ${escapeText(skipped)}`;
      const lsn = str(out.lsn);
      const waited = num(out.waitedMs);
      return lsn
        ? `replayed to ${escapeText(lsn)}${waited === undefined ? '' : ` after ${formatDuration(waited)}`}`
        : undefined;
    }
    case 'scale-up-target': {
      const scaled = scaledText(out.scaled);
      return scaled ? `${scaled} · ${readyText(out.scaled)}` : undefined;
    }
    case 'promote-target-db': {
      const skipped = str(out.skipped);
      if (skipped) return escapeText(skipped);
      const rpo = rpoIn(out);
      const source = str(out.source);
      return (
        `${escapeText(run.to)} promoted` +
        (rpo ? ` · RPO ${rpo.kind === 'lost' ? '🚨 ' : ''}${formatRpo(rpo)}` : '') +
        (source === 'unreachable' ? `; old primary ${escapeText(run.from)} was unreachable` : '') +
        (source === 'risk-accepted' ? `; split-brain risk accepted` : '')
      );
    }
    case 'switch-dns': {
      const already = str(out.alreadyPointing);
      if (already) return `already pointing at ${escapeText(already)}`;
      const changeId = str(out.changeId);
      const after = num(out.inSyncAfterMs);
      return changeId
        ? `DNS change ${escapeText(changeId)} INSYNC${after === undefined ? '' : ` after ${formatDuration(after)}`}`
        : undefined;
    }
    case 'verify': {
      const answers = Array.isArray(out.answers) ? out.answers.filter((a) => typeof a === 'string') : [];
      const { shown, hidden } = capList(answers, 3);
      const health = num(out.healthStatus);
      const parts = [];
      if (shown.length)
        parts.push(`resolves to ${escapeText(shown.join(', '))}${hidden ? ` ${moreNote(hidden)}` : ''}`);
      if (health !== undefined) parts.push(`health ${health}`);
      return parts.join('; ') || undefined;
    }
    case 'scale-down-source': {
      const skipped = str(out.skipped);
      return skipped ? `⚠️ ${escapeText(skipped)}` : scaledText(out.scaled);
    }
  }
}

/** What a running step is waiting for, from its saved progress. */
function progressSummary(step: PlannedStep, rec: StepRecord): string | undefined {
  const progress = rec.progress ?? {};
  if (step.id === 'switch-dns' && str(progress.changeId)) {
    return `waiting for DNS change ${escapeText(str(progress.changeId) ?? '')} to be INSYNC`;
  }
  if (step.id === 'catch-up' && str(progress.waiting)) return escapeText(str(progress.waiting) ?? '');
  if (step.id === 'scale-up-target') return 'waiting until Ready';
  return undefined;
}

/** The first line of an error, escaped and cut to one readable line. */
export const errorLine = (error: string): string =>
  truncateText(escapeText(error.split('\n')[0] ?? ''), SUMMARY_LENGTH);

/** The one-line detail a step shows after its title: what it did, is waiting for, or why it failed. */
export function stepSummary(run: Run, step: PlannedStep, rec: StepRecord): string | undefined {
  let summary: string | undefined;
  switch (rec.status) {
    case 'succeeded':
      summary = outputSummary(run, step, rec);
      break;
    case 'running':
      summary = progressSummary(step, rec);
      if (rec.error) summary = `retrying after: ${errorLine(rec.error)}`;
      break;
    case 'failed':
    case 'undo-failed':
      summary = rec.error ? errorLine(rec.error) : undefined;
      break;
    case 'skipped':
      summary = rec.skippedBy ? `skipped by ${actorText(rec.skippedBy)} (break-glass)` : undefined;
      break;
    case 'undone':
    case 'pending':
      summary = undefined;
  }
  return summary === undefined ? undefined : truncateText(summary, SUMMARY_LENGTH);
}

/** The record of a planned step (pending when the run has none yet). */
export const stepRecord = (run: Pick<Run, 'steps'>, id: PlannedStep['id']): StepRecord =>
  run.steps[id] ?? { id, status: 'pending', attempts: 0 };

/** A step's status line: icon, number and title, duration, attempts when more than one, summary. */
export function stepStatusLine(run: Run, step: PlannedStep, n: number, now: number): string {
  const rec = stepRecord(run, step.id);
  const parts = [
    `${STEP_ICONS[rec.status]} ${step.pointOfNoReturn ? '⛔ ' : ''}*${n}. ${escapeText(step.title)}*`,
  ];
  if (rec.startedAt !== undefined && rec.status !== 'pending') {
    const end = rec.status === 'running' ? now : (rec.finishedAt ?? now);
    parts.push(formatDuration(end - rec.startedAt));
  }
  if (rec.attempts > 1) {
    // Attempts add up across Retry clicks, so "of max" only while within one segment's automatic retries.
    const max = step.retries + 1;
    const of = rec.attempts <= max ? ` of ${max}` : '';
    parts.push(rec.status === 'running' ? `attempt ${rec.attempts}${of}` : `${rec.attempts} attempts`);
  }
  const summary = stepSummary(run, step, rec);
  if (summary) parts.push(summary);
  return parts.join(' · ');
}

/** Status lines per plan group, parallel groups introduced by one line. */
export function stepStatusGroups(run: Run, now: number): string[][] {
  return numbered(run.plan).map((group) => {
    const first = group[0];
    const last = group.at(-1);
    const head = first && last && group.length > 1 ? [`_Steps ${first.n}–${last.n} in parallel:_`] : [];
    return [...head, ...group.map(({ step, n }) => stepStatusLine(run, step, n, now))];
  });
}

/**
 * What Abort does now, as execute-run's abort does it: refused once promotion was requested (the point of no return
 * is checkpointed before the request, so there is no "maybe"), otherwise it undoes the reversible steps that ran,
 * newest first.
 */
export function abortEffect(run: Run): string {
  const ponr = pastPointOfNoReturn(run);
  if (ponr) {
    return (
      `Abort is refused: ${escapeText(ponr.title.replace(/ — .*$/, ''))} was already requested, so nothing can be ` +
      `undone — ${escapeText(run.to)}'s database is (or is becoming) the primary and ${escapeText(run.from)} stays ` +
      'fenced. Retry to finish the run.'
    );
  }
  const touched = allSteps(run.plan)
    .filter((s) => s.reversible && ['succeeded', 'failed', 'running'].includes(stepRecord(run, s.id).status))
    .reverse()
    .map((s) => escapeText(s.title));
  return touched.length
    ? `Abort undoes ${touched.join(', then ')} and stops.`
    : 'Abort stops the run; nothing has changed yet.';
}

/**
 * What accepting the split-brain risk means for this run, in one sentence: the words of the Accept button's confirm
 * dialog, the runbook and the CLI.
 */
export function splitBrainConsequence(run: Pick<Run, 'from' | 'to'>): string {
  const from = escapeText(run.from);
  return (
    `${from}'s database may still take writes; promoting ${escapeText(run.to)} makes two primaries, and writes on ` +
    `${from} after now are lost`
  );
}
