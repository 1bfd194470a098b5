/**
 * The `action_id`s of Baton's buttons and the codec for their `value`, which says which run a click is about.
 * Listeners match on these ids; the value is untrusted input (anyone can craft a payload), so decoding validates it.
 */
import { BatonError } from '../errors.js';
import { SLACK_LIMITS } from './blocks/limits.js';

/** Every button Baton posts. The values are the `action_id`s Slack sends back. */
export const ACTION_IDS = {
  approve: 'approve',
  reject: 'reject',
  retryStep: 'retry-step',
  skipStep: 'skip-step',
  abortRun: 'abort-run',
  startFailback: 'start-failback',
  /** Break-glass: accept the split-brain risk of a run the promote step's guard paused. */
  acceptRisk: 'accept-split-brain-risk',
  /** An evacuation (`/failover --cluster`): approve every site, only the ready ones, reject, open one site. */
  evacuationApproveAll: 'evacuation-approve-all',
  evacuationApproveReady: 'evacuation-approve-ready',
  evacuationReject: 'evacuation-reject',
  evacuationSite: 'evacuation-site',
} as const;

export type ActionId = (typeof ACTION_IDS)[keyof typeof ACTION_IDS];

const ACTION_ID_VALUES: ReadonlySet<string> = new Set(Object.values(ACTION_IDS));

/** Narrows an `action_id` from a payload to one of Baton's. */
export const isActionId = (value: string): value is ActionId => ACTION_ID_VALUES.has(value);

/**
 * What a button carries: the run, its site, and the run's execution `segment` when the message was built. A Retry,
 * Skip, Abort or Accept-risk click naming another segment than the run's current one is refused as out of date
 * (RunCommands). The segment rather than the run's `version`: the version changes on every progress save, so an
 * exact version would refuse legitimate clicks racing a step's progress; the segment changes only when approve,
 * retry, skip, accepting the risk or abort decided what the run does next. `version` is what messages posted before
 * this carried: still read, never checked.
 */
export interface ActionValue {
  runId: string;
  site: string;
  segment?: number;
  version?: number;
}

const RUN_ID = /^r[1-9][0-9]{0,15}$/;
const SITE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function problem(value: ActionValue): string | null {
  if (!RUN_ID.test(value.runId)) return `run id "${value.runId}" is not like r12`;
  if (!SITE.test(value.site)) return `site "${value.site}" is not a site name`;
  if (value.version !== undefined && !(Number.isSafeInteger(value.version) && value.version > 0)) {
    return `version ${String(value.version)} is not a positive integer`;
  }
  if (value.segment !== undefined && !(Number.isSafeInteger(value.segment) && value.segment >= 0)) {
    return `segment ${String(value.segment)} is not a whole number`;
  }
  return null;
}

/** The button value for `value`: compact JSON, checked, far below Slack's 2000-character limit. */
export function encodeActionValue(value: ActionValue): string {
  const bad = problem(value);
  if (bad) throw new BatonError('invalid-action-value', `cannot encode a button value: ${bad}`);
  const encoded = JSON.stringify({
    runId: value.runId,
    site: value.site,
    ...(value.segment !== undefined && { segment: value.segment }),
    ...(value.version !== undefined && { version: value.version }),
  });
  if (encoded.length > SLACK_LIMITS.buttonValue) {
    throw new BatonError('invalid-action-value', 'button value is longer than Slack allows');
  }
  return encoded;
}

/**
 * Parses a button value from an interaction payload. Throws `invalid-action-value` for anything Baton did not
 * encode: wrong JSON, unknown fields, a run id or site of the wrong shape, or more than 2000 characters.
 */
export function decodeActionValue(raw: string): ActionValue {
  const invalid = (why: string) =>
    new BatonError(
      'invalid-action-value',
      `This button's data is not Baton's (${why}); use the newest message`,
    );
  if (raw.length > SLACK_LIMITS.buttonValue) throw invalid('too long');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalid('not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('not an object');
  const record = parsed as Record<string, unknown>;
  const unknownKeys = Object.keys(record).filter((k) => !['runId', 'site', 'segment', 'version'].includes(k));
  if (unknownKeys.length) throw invalid(`unknown field ${unknownKeys.join(', ')}`);
  const { runId, site, segment, version } = record;
  if (typeof runId !== 'string' || typeof site !== 'string') throw invalid('runId and site must be strings');
  if (version !== undefined && typeof version !== 'number') throw invalid('version must be a number');
  if (segment !== undefined && typeof segment !== 'number') throw invalid('segment must be a number');
  const value: ActionValue = {
    runId,
    site,
    ...(segment !== undefined && { segment }),
    ...(version !== undefined && { version }),
  };
  const bad = problem(value);
  if (bad) throw invalid(bad);
  return value;
}
