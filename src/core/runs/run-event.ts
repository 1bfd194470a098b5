/**
 * What happened to a run, as one typed union: the audit stream records it (its `type` as the action, its payload as
 * JSON, and a one-line detail for people), the metrics count it (by `type` and `step`, never by parsing text), and
 * later evidence (reports, history) reads it back. Every change of a run is saved with exactly one event.
 *
 * The Slack messages are not built from events: a message is a projection of the run's whole state, rendered anew
 * on each change and deduplicated by id, so a lost or repeated event can never leave a message wrong.
 */
import type { ErrorCode, ErrorCodeSubset } from '../../error-codes.js';
import type { Actor, StepEvent, StepId } from '../model.js';

type Votes = { count: number; required: number };

export type RunEvent =
  // People and policies deciding.
  | { type: 'run-proposed'; reason: string }
  | ({ type: 'approval-added' | 'run-approved' } & Votes)
  | {
      type: 'approval-refused';
      reason: ErrorCodeSubset<'not-approver' | 'self-approval' | 'same-os-account'>;
    }
  | { type: 'run-rejected'; reason: string }
  | { type: 'run-cancelled' }
  | { type: 'run-expired' }
  | { type: 'run-retry' }
  | { type: 'run-abort' }
  | ({ type: 'skip-requested' | 'run-skip' | 'split-brain-risk-vote' } & Votes)
  | ({ type: 'split-brain-risk-accepted'; risk: string } & Votes)
  | { type: 'break-glass-vote-refused'; act: 'skip' | 'accept-risk'; code: ErrorCode }
  | { type: 'click-refused'; reason: string }
  | { type: 'auto-approval-withheld'; reason: string }
  // The alert behind a proposal.
  | { type: 'alert-firing-again' | 'alert-resolved' }
  | { type: 'preflight-measured'; checks: { id: string; status: string }[] }
  // The worker running it.
  | { type: 'run-started' }
  | { type: 'run-paused' | 'run-aborted' | 'run-failed' | 'abort-refused'; reason: string }
  | { type: 'run-succeeded'; summary: string }
  | { type: 'step-started' | 'step-progress' | 'step-succeeded' | 'step-undone'; step: StepId }
  | { type: 'step-attempt'; step: StepId; attempt: number }
  | { type: 'step-failed' | 'step-retry' | 'step-undo-failed'; step: StepId; message: string }
  | { type: 'point-of-no-return'; step: StepId; what: string }
  // Told at once, beyond a step's progress (fence-debt-opened also by the fence debt store), and the debt's end.
  | { type: StepEvent['kind']; text: string }
  | { type: 'fence-debt-paid'; cluster: string; done: string }
  // Pre-warm of a proposal's target side (src/queue/prewarm/): each change of `run.prewarm`.
  | { type: 'prewarm-progress'; cluster: string }
  | { type: 'prewarm-started'; cluster: string; scaled: string[]; autoscalers: string[] }
  | { type: 'prewarm-ready'; cluster: string; ready: string }
  | { type: 'prewarm-failed'; cluster: string; reason: string }
  | { type: 'prewarm-released'; cluster: string; restored: string[]; leftAlone: string[] };

export type RunEventType = RunEvent['type'];

/** One audit entry: what happened, and who made it happen. */
export interface AuditEvent {
  event: RunEvent;
  actor: Actor;
}

/** The step an event is about, if any. */
export const eventStep = (event: RunEvent): StepId | undefined => ('step' in event ? event.step : undefined);

/** The one line an operator reads in the audit beside the event's type (undefined when the type says it all). */
export function describeEvent(event: RunEvent): string | undefined {
  switch (event.type) {
    case 'run-proposed':
    case 'run-rejected':
    case 'click-refused':
    case 'auto-approval-withheld':
    case 'approval-refused':
    case 'run-paused':
    case 'run-aborted':
    case 'run-failed':
    case 'abort-refused':
      return event.reason;
    case 'approval-added':
    case 'run-approved':
    case 'skip-requested':
    case 'run-skip':
    case 'split-brain-risk-vote':
      return `${event.count} of ${event.required}`;
    case 'split-brain-risk-accepted':
      return `${event.count} of ${event.required}: ${event.risk}`;
    case 'break-glass-vote-refused':
      return `${event.act}: ${event.code}`;
    case 'run-cancelled':
      return 'cancelled';
    case 'preflight-measured':
      return event.checks.map((c) => `${c.id}: ${c.status}`).join(', ');
    case 'run-succeeded':
      return event.summary;
    case 'step-started':
    case 'step-progress':
    case 'step-succeeded':
    case 'step-undone':
      return event.step;
    case 'step-attempt':
      return `${event.step} attempt ${event.attempt}`;
    case 'step-failed':
    case 'step-retry':
    case 'step-undo-failed':
      return `${event.step}: ${event.message}`;
    case 'point-of-no-return':
      return `${event.step}: ${event.what}`;
    case 'data-loss-detected':
    case 'fence-breached':
    case 'split-brain-risk-taken':
    case 'fence-debt-opened':
      return event.text;
    case 'fence-debt-paid':
      return `${event.cluster}: ${event.done}`;
    case 'prewarm-progress':
      return `${event.cluster}: about to scale`;
    case 'prewarm-started':
      return `${event.cluster}: ${[...event.scaled, ...event.autoscalers].join('; ') || 'already at serving size'}`;
    case 'prewarm-ready':
      return `${event.cluster}: ${event.ready}`;
    case 'prewarm-failed':
      return `${event.cluster}: ${event.reason}`;
    case 'prewarm-released':
      return (
        `${event.cluster}: ${event.restored.join('; ') || 'nothing to give back'}` +
        (event.leftAlone.length ? `; left alone: ${event.leftAlone.join('; ')}` : '')
      );
    case 'run-expired':
    case 'run-retry':
    case 'run-abort':
    case 'alert-firing-again':
    case 'alert-resolved':
    case 'run-started':
      return undefined;
  }
}
