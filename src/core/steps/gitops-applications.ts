/**
 * Argo CD Applications named by a workload's `argocd` (per cluster). With automated sync and self-heal on, Argo CD
 * puts spec.replicas back to Git's value seconds after Baton scales a workload, on either side. Git describes the
 * site at home, so Baton pauses an Application's automated sync when it scales that cluster away from home (the
 * fence on the old side, scale-up on the new one) and gives it back when the site is home again: after a failback's
 * last step, or when an abort returns the site home. An abort that leaves the site away keeps them paused.
 *
 * The policy to give back is written on the Application itself in the pausing write (see the adapter), so a crash,
 * a later run or another worker gives back exactly what the team had. Standalone Applications only: one owned by an
 * ApplicationSet gets its sync policy put back by the ApplicationSet controller (argo-cd.readthedocs.io,
 * user-guide/auto_sync: "Temporarily toggling auto-sync for applications managed by ApplicationSets"), so preflight
 * and the step refuse it with the fix.
 */
import type { ClusterId, SiteConfig } from '../../config/topology.js';
import { BatonError } from '../../errors.js';
import type { PreflightCheck } from '../model.js';
import type { ApplicationRef, CallOptions, GitOpsPort } from '../ports.js';

/** Where Argo CD keeps its Applications unless told otherwise. */
export const ARGOCD_NAMESPACE = 'argocd';

/** `name` or `namespace/name` → the Application. */
export function applicationRef(text: string): ApplicationRef {
  const slash = text.indexOf('/');
  return slash < 0
    ? { namespace: ARGOCD_NAMESPACE, name: text }
    : { namespace: text.slice(0, slash), name: text.slice(slash + 1) };
}

const label = (app: ApplicationRef) => `${app.namespace}/${app.name}`;

/** The Applications of `cluster` that the site's workloads name, each once. */
export function applicationsOf(site: SiteConfig, cluster: ClusterId): ApplicationRef[] {
  const names = new Set<string>();
  for (const workload of site.workloads) {
    const text = workload.argocd?.[cluster];
    if (text) names.add(label(applicationRef(text)));
  }
  return [...names].map(applicationRef);
}

interface GitOpsContext {
  site: SiteConfig;
  ports: { gitops: GitOpsPort };
  signal?: AbortSignal;
}

const call = (ctx: GitOpsContext): CallOptions => (ctx.signal ? { signal: ctx.signal } : {});

function refuseApplicationSet(cluster: ClusterId, app: ApplicationRef, owner: string): never {
  throw new BatonError(
    'argocd-application-set',
    `${cluster}: Argo CD Application ${label(app)} belongs to ApplicationSet ${owner}, which puts back any change to ` +
      `its sync policy, so Baton cannot pause it. Add to ApplicationSet ${owner}: ` +
      'spec.ignoreApplicationDifferences: [{ jsonPointers: [/spec/syncPolicy/automated] }] — or remove argocd from ' +
      'the workload in the topology and keep spec.replicas out of Git',
  );
}

/** Pauses every Application of `cluster`; returns what it changed, e.g. "argocd/web-west: automated sync paused". */
export async function pauseApplications(ctx: GitOpsContext, cluster: ClusterId): Promise<string[]> {
  const changes: string[] = [];
  for (const app of applicationsOf(ctx.site, cluster)) {
    const state = await ctx.ports.gitops.syncState(ctx.site, cluster, app, call(ctx));
    if (!state) {
      throw new BatonError(
        'argocd-application-missing',
        `${cluster}: Argo CD Application ${label(app)} does not exist; fix the workload's argocd in the topology`,
      );
    }
    if (!state.automated) continue; // already manual (or paused by Baton): self-heal cannot revert anything
    if (state.ownedBy) refuseApplicationSet(cluster, app, state.ownedBy);
    await ctx.ports.gitops.pauseSync(ctx.site, cluster, app, call(ctx));
    changes.push(`Argo CD ${label(app)} on ${cluster}: automated sync paused`);
  }
  return changes;
}

/** Gives back every Application of `cluster` that Baton paused; returns what it changed. */
export async function resumeApplications(ctx: GitOpsContext, cluster: ClusterId): Promise<string[]> {
  const changes: string[] = [];
  for (const app of applicationsOf(ctx.site, cluster)) {
    const state = await ctx.ports.gitops.syncState(ctx.site, cluster, app, call(ctx));
    if (!state?.pausedByBaton) continue;
    await ctx.ports.gitops.resumeSync(ctx.site, cluster, app, call(ctx));
    changes.push(`Argo CD ${label(app)} on ${cluster}: automated sync given back`);
  }
  return changes;
}

/** True when no Application of `cluster` syncs on its own. */
export async function applicationsPaused(ctx: GitOpsContext, cluster: ClusterId): Promise<boolean> {
  for (const app of applicationsOf(ctx.site, cluster)) {
    const state = await ctx.ports.gitops.syncState(ctx.site, cluster, app, call(ctx));
    if (!state || state.automated) return false;
  }
  return true;
}

/** True when Baton holds no Application of `cluster` paused. */
export async function applicationsResumed(ctx: GitOpsContext, cluster: ClusterId): Promise<boolean> {
  for (const app of applicationsOf(ctx.site, cluster)) {
    const state = await ctx.ports.gitops.syncState(ctx.site, cluster, app, call(ctx));
    if (state?.pausedByBaton) return false;
  }
  return true;
}

/** Preflight: each Application Baton will pause on `cluster` exists and can be paused. */
export async function applicationChecks(ctx: GitOpsContext, cluster: ClusterId): Promise<PreflightCheck[]> {
  const checks: PreflightCheck[] = [];
  for (const app of applicationsOf(ctx.site, cluster)) {
    const id = `argocd ${label(app)}`;
    try {
      const state = await ctx.ports.gitops.syncState(ctx.site, cluster, app, call(ctx));
      if (!state) {
        checks.push({
          id,
          status: 'failed',
          detail: `${cluster}: Argo CD Application ${label(app)} does not exist`,
        });
      } else if (state.automated && state.ownedBy) {
        checks.push({
          id,
          status: 'failed',
          detail: `${cluster}: ${label(app)} belongs to ApplicationSet ${state.ownedBy}, which would undo the pause — add spec.ignoreApplicationDifferences for /spec/syncPolicy/automated to it`,
        });
      } else {
        checks.push({
          id,
          status: 'passed',
          detail: state.automated
            ? `${cluster}: Baton pauses Argo CD ${label(app)}'s automated sync while the site is away from home`
            : `${cluster}: Argo CD ${label(app)} does not sync on its own${state.pausedByBaton ? ' (paused by Baton)' : ''}`,
        });
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      checks.push({
        id,
        status: 'failed',
        detail: `${cluster}: could not read Argo CD ${label(app)} (${reason})`,
      });
    }
  }
  return checks;
}
