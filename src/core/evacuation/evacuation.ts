/**
 * An evacuation (DESIGN §2, `/failover --cluster east`): one proposal that moves every site a cluster serves (or,
 * for `/failback --cluster east`, brings home every site whose home is that cluster), decided by one approval and
 * carried out as one ordinary run per site. The record keeps what the proposal showed (each site's plan in short
 * form and its preflight) and, once decided, which run each site got, or why it got none.
 */
import type { ClusterId } from '../../config/topology.js';
import type { Actor, Approval, ProposalPreflight, RunKind, RunMode, RunTrigger } from '../model.js';

export const EVACUATION_STATES = ['proposed', 'approved', 'rejected', 'expired'] as const;
export type EvacuationState = (typeof EVACUATION_STATES)[number];

/** Approve all sites, or only those whose preflight passed (warnings pass). */
export type EvacuationChoice = 'all' | 'ready';

export interface EvacuationSite {
  site: string;
  from: ClusterId;
  to: ClusterId;
  mode: RunMode;
  /** The plan in short form: one line per step group, e.g. "fence-source ∥ scale-up-target". */
  plan: string[];
  /** Measured by a worker (never on the Slack request path); absent while pending. */
  preflight?: ProposalPreflight;
  /** The site already had an open run when the evacuation was proposed or decided: it is not started twice. */
  openRun?: string;
  /** The run this evacuation started for the site. */
  runId?: string;
  /** Why no run was started at the decision (preflight failed under "Approve ready sites", a refusal). */
  notStarted?: string;
}

export interface Evacuation {
  /** `e<n>`, from a Redis counter. */
  id: string;
  kind: RunKind;
  /** The cluster evacuated (failover) or brought home to (failback). */
  cluster: ClusterId;
  reason: string;
  requestedBy: Actor;
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
  state: EvacuationState;
  sites: EvacuationSite[];
  approvals: (Approval & { choice: EvacuationChoice })[];
  /** What the completing approval chose ("ready" if any approver chose it: the more careful wins). */
  choice?: EvacuationChoice;
  /** Who rejected it, or let it expire. */
  decidedBy?: Actor;
  trigger?: RunTrigger;
  /** Optimistic-concurrency version, bumped by every save. */
  version: number;
}

/** Whether a site's measured preflight lets "Approve ready sites" start it: measured, and no gate failed. */
export function isSiteReady(site: EvacuationSite): boolean {
  return site.preflight !== undefined && site.preflight.checks.every((c) => c.status !== 'failed');
}

/** Whether every site's preflight has been measured (or the site needs none: it already has an open run). */
export function preflightComplete(evacuation: Evacuation): boolean {
  return evacuation.sites.every((s) => s.preflight !== undefined || s.openRun !== undefined);
}
