import type { ClusterId } from '../config/topology.js';
import type { ErrorCode } from '../error-codes.js';
import type { Prewarm } from './prewarm/prewarm-record.js';
import type { RunDrill } from './drills/drill.js';

export const RUN_KINDS = ['failover', 'failback'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/** emergency: the serving side may be unreachable. planned: both sides healthy, zero data loss. */
export const RUN_MODES = ['emergency', 'planned'] as const;
export type RunMode = (typeof RUN_MODES)[number];

export const RUN_STATES = [
  'proposed',
  'approved',
  'running',
  'paused',
  'aborting',
  'succeeded',
  'rejected',
  'expired',
  'cancelled',
  'failed',
  'aborted',
] as const;
export type RunState = (typeof RUN_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<RunState> = new Set([
  'succeeded',
  'rejected',
  'expired',
  'cancelled',
  'failed',
  'aborted',
]);

export const STEP_IDS = [
  'preflight',
  'fence-source',
  'catch-up',
  'scale-up-target',
  'promote-target-db',
  'switch-dns',
  'verify',
  'scale-down-source',
] as const;
export type StepId = (typeof STEP_IDS)[number];

export const STEP_STATUSES = [
  'pending',
  'running',
  'succeeded',
  'skipped',
  'failed',
  'undone',
  'undo-failed',
] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/** Who did something: a Slack user, the break-glass CLI, an auto-approval policy, or Baton itself. */
export interface Actor {
  type: 'slack-user' | 'cli' | 'policy' | 'alert' | 'system';
  /** A Slack user id for people, also from the CLI (`baton approve --as U…`). */
  id: string;
  name?: string;
  /** Break-glass CLI: the OS user and host that typed the command, so the audit says who really acted. */
  origin?: { osUser: string; host: string };
}

export const SYSTEM_ACTOR: Actor = { type: 'system', id: 'baton' };

const PERSON_TYPES: ReadonlySet<Actor['type']> = new Set(['slack-user', 'cli']);

/** Why two actors count as one approver (see {@link approverMatch}). */
export type ApproverMatch = 'same-person' | 'same-os-account';

/**
 * Baton's one identity rule, used for approvals (distinct count, self-approval), break-glass votes (Skip, accepting
 * the split-brain risk) and everything that lists who acted:
 * - `same-person`: the same id, or a Slack user and the break-glass CLI acting `--as` that user;
 * - `same-os-account`: two CLI actors typed by one OS user on one host. `--as` is whatever the typist claims, so
 *   one account gives one approval however many ids it names (break-glass included).
 * Returns null for two different approvers.
 */
export function approverMatch(a: Actor, b: Actor): ApproverMatch | null {
  if (a.id === b.id && (a.type === b.type || (PERSON_TYPES.has(a.type) && PERSON_TYPES.has(b.type))))
    return 'same-person';
  if (
    a.type === 'cli' &&
    b.type === 'cli' &&
    a.origin !== undefined &&
    b.origin !== undefined &&
    a.origin.osUser === b.origin.osUser &&
    a.origin.host === b.origin.host
  )
    return 'same-os-account';
  return null;
}

/**
 * Whether two actors are the same person (a Slack user and the CLI acting as them). What belongs to one person, such
 * as cancelling your own proposal, uses this; counting approvers uses {@link approverMatch}, which also folds one OS
 * account into one approver.
 */
export const sameActor = (a: Actor, b: Actor): boolean => approverMatch(a, b) === 'same-person';

export interface PlannedStep {
  id: StepId;
  /** One line a person can check, e.g. "Promote PostgreSQL on west (lag 0 B)". */
  title: string;
  /** Concrete actions, e.g. "scale default/web on west 1 → 5". */
  actions: string[];
  reversible: boolean;
  /** After this step succeeds, Abort undoes nothing (database promotion). */
  pointOfNoReturn: boolean;
  /** Per-attempt timeout. */
  timeoutMs: number;
  /** Retries after the first attempt, with exponential backoff. */
  retries: number;
}

export interface Plan {
  site: string;
  kind: RunKind;
  mode: RunMode;
  from: ClusterId;
  to: ClusterId;
  /** Ordered groups; the steps inside one group run in parallel. */
  groups: PlannedStep[][];
  warnings: string[];
}

export interface StepRecord {
  id: StepId;
  status: StepStatus;
  attempts: number;
  startedAt?: number;
  finishedAt?: number;
  /** What the step found or did, shown in Slack and the audit (never secrets). */
  output?: Record<string, unknown>;
  /** Intermediate progress a resumed step picks up (e.g. a Route 53 change id). */
  progress?: Record<string, unknown>;
  error?: string;
  errorCode?: string;
  skippedBy?: Actor;
}

/**
 * Error codes of the split-brain guard in `promote-target-db`: the old primary is (or may be) up and writable. A run
 * paused with one of these resumes only when break-glass approvers accept the risk (`acceptedRisks`); `--force`
 * never overrides it. (Skipping the promotion leaves the target a standby: no second primary, only no promotion.)
 */
export const SPLIT_BRAIN_CODES = [
  'source-still-writable',
  'source-refuses-baton',
  'fence-breached',
] as const satisfies readonly ErrorCode[];
export type SplitBrainCode = (typeof SPLIT_BRAIN_CODES)[number];

export const isSplitBrainCode = (code: string | undefined): code is SplitBrainCode =>
  (SPLIT_BRAIN_CODES as readonly string[]).includes(code ?? '');

/** A risk that break-glass approvers accepted for one segment of a run, written in the run and the audit. */
export interface AcceptedRisk {
  risk: 'split-brain';
  by: Actor[];
  at: number;
  /** The segment the acceptance started; the promote step honours it from then on. */
  segment: number;
  /** Why the guard refused, as the paused step said. */
  detail: string;
}

/**
 * The old side of a run could not be fenced (unreachable) after the point of no return: its database may come back
 * writable and its workloads at serving size. Baton fences it the moment it answers; failback waits until then.
 */
export interface FenceDebt {
  site: string;
  /** The old side: the cluster the run moved away from. */
  cluster: ClusterId;
  runId: string;
  since: number;
  /** Its database still has to be made read-only. */
  database: boolean;
  /** Its workloads still have to be scaled to `standbyReplicas`. */
  workloads: boolean;
  /** Why it could not be fenced during the run, e.g. "east's database unreachable: connection refused". */
  reason: string;
}

/** What a step tells people at once, in the channel and the audit, beyond its own progress. */
export interface StepEvent {
  kind: 'data-loss-detected' | 'fence-breached' | 'split-brain-risk-taken' | 'fence-debt-opened';
  text: string;
}

export interface Approval {
  actor: Actor;
  at: number;
  breakGlass: boolean;
}

/** One gate of DESIGN §5's preflight, as shown in the proposal and the step output. */
export interface PreflightCheck {
  id: string;
  status: 'passed' | 'warning' | 'failed';
  detail: string;
}

/** Preflight measured for a proposal (by a job, never on the Slack request path). */
export interface ProposalPreflight {
  at: number;
  checks: PreflightCheck[];
  /** The target standby's measured lag, the data an emergency promotion would lose (null: unknown). */
  lagBytes: number | null;
  /** Why the lag is unknown, and what the standby had received, e.g. "east unreachable; west had received up to 0/3000060". */
  lagUnknown?: string;
}

/** What started the run when it was not a person's request: an Alertmanager alert. */
export interface RunTrigger {
  source: 'alert';
  alertname: string;
  summary?: string;
  /** When the alert started firing (ms), the start of the measured recovery time. */
  firedAt?: number;
  fingerprint?: string;
  url?: string;
  /**
   * When every alert behind the run had resolved (ms, Alertmanager's `endsAt`); absent while any still fires. An
   * unapproved proposal stays usable and says so.
   */
  resolvedAt?: number;
}

export interface TimelineEntry {
  at: number;
  event: string;
  actor?: Actor;
  detail?: string;
}

export interface Run {
  id: string;
  site: string;
  kind: RunKind;
  mode: RunMode;
  /** Break-glass: failing gates do not stop the run; needs break-glass approvals. */
  force: boolean;
  from: ClusterId;
  to: ClusterId;
  state: RunState;
  reason: string;
  requestedBy: Actor;
  createdAt: number;
  updatedAt: number;
  expiresAt?: number;
  approvals: Approval[];
  plan: Plan;
  steps: Record<string, StepRecord>;
  /** Bumped each time execution (re)starts: approve, retry, skip, abort. Part of the job id. */
  segment: number;
  /** Optimistic-concurrency version, bumped by every save. */
  version: number;
  timeline: TimelineEntry[];
  /** Why the run is paused, failed or aborted, in one line. */
  stateReason?: string;
  /** Preflight measured while the run was a proposal. */
  preflight?: ProposalPreflight;
  trigger?: RunTrigger;
  /** Risks accepted with break-glass approvals (the split-brain guard), in order. */
  acceptedRisks?: AcceptedRisk[];
  /** Pre-warm (DESIGN §6): what Baton scaled up on the target while the proposal waited, and gave back. */
  prewarm?: Prewarm;
  /** A game day's run (`/failover drill`): the drill and its occurrence; its messages say "Game day". */
  drill?: RunDrill;
  /** The evacuation (`/failover --cluster`) that started this run; its live table follows the run. */
  evacuation?: string;
}

/** The deterministic BullMQ job id of one execution segment of a run (no `:`, as BullMQ requires). */
export function runJobId(run: Pick<Run, 'kind' | 'site' | 'id' | 'segment'>): string {
  return `${run.kind}-${run.site}-${run.id}-s${run.segment}`;
}

export function allSteps(plan: Plan): PlannedStep[] {
  return plan.groups.flat();
}
