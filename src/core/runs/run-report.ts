/**
 * The evidence of one finished run (issue 15): who asked and who approved, the plan as approved, each step's
 * timings, the measured RTO and RPO, the Route 53 change ids, everything skipped, forced or overridden, how it ended
 * and the fence debt it left. Pure: built from the run record alone, so the store, the Slack attachment and
 * `baton report` give the same document for the same run. Times are UTC ISO-8601; durations are milliseconds.
 *
 * A report exists for every run that was approved (it started executing, or was cancelled or failed on its way
 * there) and then ended: succeeded, failed, aborted or cancelled. A proposal that was rejected, expired or cancelled
 * never acted on anything; its record and the audit already say all there is.
 */
import type {
  Actor,
  PlannedStep,
  PreflightCheck,
  Run,
  RunKind,
  RunMode,
  RunState,
  StepId,
} from '../model.js';
import { TERMINAL_STATES } from '../model.js';
import type { Rpo } from '../rpo.js';
import { formatRpo } from '../rpo.js';
import { measureRun } from './measure-run.js';

/** Bumped whenever a field changes meaning or disappears; readers check it. */
export const REPORT_VERSION = 1;

export interface ReportStep {
  id: StepId;
  title: string;
  status: string;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  /** finishedAt − startedAt (ms), from {@link measureRun}; includes any pause between a failure and its Retry. */
  durationMs: number | null;
  error?: string;
  errorCode?: string;
  skippedBy?: Actor;
}

export interface RunReport {
  reportVersion: typeof REPORT_VERSION;
  run: {
    id: string;
    site: string;
    kind: RunKind;
    mode: RunMode;
    from: string;
    to: string;
    /** Break-glass: failing gates did not stop the run. */
    force: boolean;
    /** Why it was requested, as the requester said. */
    reason: string;
  };
  requested: {
    by: Actor;
    at: string;
    /** The alert behind the run, when an alert proposed it. */
    alert?: { alertname: string; firedAt: string | null; summary?: string; url?: string };
  };
  approvals: { by: Actor; at: string; breakGlass: boolean }[];
  /** When the last approval completed it. */
  approvedAt: string | null;
  /** The plan the approvers saw and approved: ordered groups, the steps of a group run in parallel. */
  plan: { groups: PlannedStep[][]; warnings: string[] };
  steps: ReportStep[];
  recovery: {
    alertFiredAt: string | null;
    verifiedAt: string | null;
    /** RTO from the alert (null for a person's request, or when verify did not succeed). */
    alertToVerifiedMs: number | null;
    /** RTO from the last approval. */
    approvalToVerifiedMs: number | null;
  };
  /** The measured RPO ({@link Rpo}), with its one-line form; null when nothing was promoted. */
  rpo: (Rpo & { summary: string }) | null;
  /** Route 53 change batches the run submitted: the switch, and the switch back when it was undone. */
  dns: { changeIds: string[]; undoChangeIds: string[] };
  overrides: {
    forced: boolean;
    /** Preflight gates that failed and were overridden by `--force` (empty when none). */
    preflightOverridden: PreflightCheck[];
    breakGlassApprovals: { by: Actor; at: string }[];
    acceptedRisks: { risk: string; by: Actor[]; at: string; detail: string }[];
    skippedSteps: { step: StepId; by: Actor | null; at: string | null }[];
    /** Every Skip asked for, in order (a skip takes effect once enough break-glass approvers asked). */
    skipRequests: { by: Actor | null; at: string }[];
  };
  outcome: { state: RunState; reason: string | null; finishedAt: string };
  /** The old side could not be fenced: Baton fences it when it answers, and failback waits until then. */
  fenceDebt: { openedAt: string; detail: string }[];
}

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : iso(ms);

/** Whether `run` gets a report: it ended after it was approved. */
export function isReportable(run: Pick<Run, 'state' | 'timeline'>): boolean {
  return TERMINAL_STATES.has(run.state) && run.timeline.some((e) => e.event === 'approved');
}

const strings = (...values: unknown[]): string[] =>
  values.filter((v): v is string => typeof v === 'string' && v.length > 0);

function preflightOverridden(run: Run): PreflightCheck[] {
  const output = run.steps.preflight?.output;
  if (output?.overridden !== true || !Array.isArray(output.checks)) return [];
  return (output.checks as PreflightCheck[]).filter((c) => c.status === 'failed');
}

/** Builds the report of a finished run (see {@link isReportable}; a run still open is reported as it stands). */
export function buildRunReport(run: Run): RunReport {
  const timings = measureRun(run);
  const byStep = new Map(timings.steps.map((s) => [s.id, s]));
  const finishedAt = run.timeline.at(-1)?.at ?? run.updatedAt;
  const dnsStep = run.steps['switch-dns'];
  const steps: ReportStep[] = run.plan.groups.flat().map((planned) => {
    const record = run.steps[planned.id];
    const timing = byStep.get(planned.id);
    return {
      id: planned.id,
      title: planned.title,
      status: timing?.status ?? 'pending',
      attempts: timing?.attempts ?? 0,
      startedAt: isoOrNull(record?.startedAt),
      finishedAt: isoOrNull(record?.finishedAt),
      durationMs: timing?.durationMs ?? null,
      ...(record?.error && { error: record.error }),
      ...(record?.errorCode && { errorCode: record.errorCode }),
      ...(record?.skippedBy && { skippedBy: record.skippedBy }),
    };
  });
  const trigger = run.trigger;
  return {
    reportVersion: REPORT_VERSION,
    run: {
      id: run.id,
      site: run.site,
      kind: run.kind,
      mode: run.mode,
      from: run.from,
      to: run.to,
      force: run.force,
      reason: run.reason,
    },
    requested: {
      by: run.requestedBy,
      at: iso(run.createdAt),
      ...(trigger && {
        alert: {
          alertname: trigger.alertname,
          firedAt: isoOrNull(trigger.firedAt),
          ...(trigger.summary && { summary: trigger.summary }),
          ...(trigger.url && { url: trigger.url }),
        },
      }),
    },
    approvals: run.approvals.map((a) => ({ by: a.actor, at: iso(a.at), breakGlass: a.breakGlass })),
    approvedAt: isoOrNull(timings.approvedAt),
    plan: { groups: run.plan.groups, warnings: run.plan.warnings },
    steps,
    recovery: {
      alertFiredAt: isoOrNull(timings.alertFiredAt),
      verifiedAt: isoOrNull(timings.verifiedAt),
      alertToVerifiedMs: timings.alertToVerifiedMs,
      approvalToVerifiedMs: timings.approvalToVerifiedMs,
    },
    rpo: timings.rpo && { ...timings.rpo, summary: formatRpo(timings.rpo) },
    dns: {
      // A resumed step keeps its change id in progress; a finished one reports it in its output too.
      changeIds: [...new Set(strings(dnsStep?.output?.changeId, dnsStep?.progress?.changeId))],
      undoChangeIds: strings(dnsStep?.progress?.undoChangeId),
    },
    overrides: {
      forced: run.force,
      preflightOverridden: preflightOverridden(run),
      breakGlassApprovals: run.approvals
        .filter((a) => a.breakGlass)
        .map((a) => ({ by: a.actor, at: iso(a.at) })),
      acceptedRisks: (run.acceptedRisks ?? []).map((r) => ({
        risk: r.risk,
        by: r.by,
        at: iso(r.at),
        detail: r.detail,
      })),
      skippedSteps: steps
        .filter((s) => s.status === 'skipped')
        .map((s) => ({ step: s.id, by: s.skippedBy ?? null, at: s.finishedAt })),
      skipRequests: run.timeline
        .filter((e) => e.event === 'skip-requested')
        .map((e) => ({ by: e.actor ?? null, at: iso(e.at) })),
    },
    outcome: { state: run.state, reason: run.stateReason ?? null, finishedAt: iso(finishedAt) },
    fenceDebt: run.timeline
      .filter((e) => e.event === 'fence-debt-opened')
      .map((e) => ({ openedAt: iso(e.at), detail: e.detail ?? '' })),
  };
}
