/**
 * The thread reply under a run's status message for one step that failed or finished with details: the error and
 * its code, the attempts, and what the step recorded, as a short `key: value` list.
 */
import type { KnownBlock } from '@slack/types';
import type { Run, StepId } from '../../core/model.js';
import { allSteps, isSplitBrainCode } from '../../core/model.js';
import { errorHint, isErrorCode, messageSaysWhatToDo } from '../../error-codes.js';
import { BatonError } from '../../errors.js';
import { section } from './elements.js';
import { STEP_ICONS, actorText, formatDuration, plural, runLabelTitle } from './format.js';
import type { SlackMessage } from './limits.js';
import { capList, escapeText, fitMessage, moreNote, truncateText } from './limits.js';
import { stepRecord, stepSummary } from './run-lines.js';

export interface StepReplyInput {
  run: Run;
  stepId: StepId;
  now: number;
}

/** Values longer than this are cut in the key: value list. */
const VALUE_LENGTH = 300;
/** Entries shown per list (output, progress, preflight checks) before "(n more)". */
const LIST_ENTRIES = 25;
const CHECK_ICONS: Readonly<Record<string, string>> = { failed: '❌', warning: '⚠️', passed: '✅' };

/** Builds the thread reply for `stepId`; throws `step-not-in-plan` when the run's plan has no such step. */
export function buildStepReply(input: StepReplyInput): SlackMessage {
  const { run, stepId, now } = input;
  const steps = allSteps(run.plan);
  const index = steps.findIndex((s) => s.id === stepId);
  const step = steps[index];
  if (!step) throw new BatonError('step-not-in-plan', `Run ${run.id} has no step ${stepId} in its plan`);
  const rec = stepRecord(run, stepId);

  const facts = [`status *${rec.status}*`];
  // Attempts add up across Retry clicks, so "n of max" only while within one segment's automatic retries.
  const max = step.retries + 1;
  if (rec.attempts > 0)
    facts.push(
      rec.attempts <= max ? `${rec.attempts} of ${plural(max, 'attempt')}` : plural(rec.attempts, 'attempt'),
    );
  if (rec.startedAt !== undefined) {
    const end = rec.status === 'running' ? now : (rec.finishedAt ?? now);
    facts.push(`${rec.status === 'running' ? 'running for' : 'took'} ${formatDuration(end - rec.startedAt)}`);
  }
  const title = `${STEP_ICONS[rec.status]} *${index + 1}. ${escapeText(step.title)}*`;
  const blocks: KnownBlock[] = [section([title, facts.join(' · ')])];

  if (rec.error) {
    const code = rec.errorCode ? ` \`${escapeText(rec.errorCode)}\`` : '';
    blocks.push(section(`*Error*${code}\n\`\`\`${truncateText(escapeText(rec.error), 2800)}\`\`\``));
    if (isErrorCode(rec.errorCode) && !messageSaysWhatToDo(rec.errorCode))
      blocks.push(section(`💡 ${escapeText(errorHint(rec.errorCode))}`));
  }
  if (rec.skippedBy) blocks.push(section(`⏭️ Skipped by ${actorText(rec.skippedBy)} (break-glass)`));
  const output = outputLines(rec.output);
  if (output.length) blocks.push(section(['*Output*', ...output]));
  const progress = keyValueLines(rec.progress);
  if (progress.length) blocks.push(section(['*Progress saved*', ...progress]));
  if (run.state === 'paused' && rec.status === 'failed') {
    blocks.push(
      section(
        isSplitBrainCode(rec.errorCode)
          ? 'Next: *Retry step* once the old side is fenced or down, *Accept split-brain risk* (break-glass), ' +
              '*Skip step* (break-glass) or *Abort* on the status message above.'
          : 'Next: *Retry step*, *Skip step* (break-glass) or *Abort* on the status message above.',
      ),
    );
  }

  const summary = stepSummary(run, step, rec);
  const text =
    `${runLabelTitle(run)} of ${escapeText(run.site)} (${escapeText(run.id)}): ${escapeText(step.title)} ${rec.status}` +
    (rec.attempts > 1 ? ` after ${rec.attempts} attempts` : '') +
    (summary ? ` — ${summary}` : '');
  return fitMessage({ text, blocks });
}

/** Preflight checks as their own list; everything else as key: value. */
function outputLines(output: Record<string, unknown> | undefined): string[] {
  if (!output) return [];
  const { checks, ...rest } = output;
  const lines = keyValueLines(rest);
  if (Array.isArray(checks)) {
    const { shown, hidden } = capList(checks, LIST_ENTRIES);
    for (const check of shown) {
      const c = typeof check === 'object' && check !== null ? (check as Record<string, unknown>) : {};
      const status = typeof c.status === 'string' ? c.status : '?';
      lines.push(
        `${CHECK_ICONS[status] ?? '•'} *${escapeText(String(c.id ?? '?'))}*: ${truncateText(escapeText(String(c.detail ?? '')), VALUE_LENGTH)}`,
      );
    }
    if (hidden) lines.push(moreNote(hidden));
  }
  return lines;
}

function keyValueLines(values: Record<string, unknown> | undefined): string[] {
  if (!values) return [];
  // One level of nesting reads as `fence.lsn: 0/3000060` rather than a line of JSON.
  const entries = Object.entries(values)
    .filter(([, v]) => v !== undefined)
    .flatMap(([key, value]): [string, unknown][] =>
      isPlainRecord(value) && valueText(value).startsWith('{')
        ? Object.entries(value)
            .filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))
            .map(([sub, v]) => [`${key}.${sub}`, v])
        : [[key, value]],
    );
  const { shown, hidden } = capList(entries, LIST_ENTRIES);
  const lines = shown.map(
    ([key, value]) => `• ${escapeText(key)}: ${truncateText(escapeText(valueText(value)), VALUE_LENGTH)}`,
  );
  if (hidden) lines.push(`• ${moreNote(hidden)}`);
  return lines;
}

const isPlainRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Scalars as they are, `{from, to}` maps as `a 1 → 5`, anything else as compact JSON. */
function valueText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(', ');
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    const changes = entries.map(([k, v]) => {
      const c = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
      return typeof c.from === 'number' && typeof c.to === 'number' ? `${k} ${c.from} → ${c.to}` : null;
    });
    if (entries.length && changes.every((c) => c !== null)) return changes.join(', ');
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value); // a cyclic value cannot come from Redis, but must not break a Slack message
  }
}
