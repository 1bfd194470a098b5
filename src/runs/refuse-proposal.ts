/**
 * Refusals the run service checks before it records a run: a move onto a side that still owes its fence, and a new
 * failover during the site's cooldown. Each reads Baton's own record and throws a BatonError that says what to do.
 */
import type { SiteConfig, Topology } from '../config/topology.js';
import type { LastFailover } from '../core/policy/cooldown.js';
import { checkCooldown, CooldownError, DEFAULT_COOLDOWN_MS, lastFailover } from '../core/policy/cooldown.js';
import type { Clock } from '../core/ports.js';
import { BatonError } from '../errors.js';
import type { RunStore } from '../store/run-store.js';

/** Runs of history read for the last failover, only for a site record written before it named its run. */
const COOLDOWN_HISTORY = 50;

/**
 * A run onto a cluster that still owes its fence is refused: its database may be a writable primary that was never
 * fenced, and its data may have diverged. The reconciler pays the debt the moment the cluster answers.
 */
export async function refuseOntoUnfencedSide(store: RunStore, site: string, to: string): Promise<void> {
  const debt = await store.debts.get(site);
  if (!debt || debt.cluster !== to) return;
  throw new BatonError(
    'fence-debt-open',
    `${site} cannot move to ${to}: ${to} still owes its fence (fence debt from run ${debt.runId}: ${debt.reason}). ` +
      `Baton fences ${to} the moment it answers and says so in the incident channel; if ${to} is gone for good, ` +
      `rebuild it as a standby of the serving side — the debt is paid when it answers as one. /failover status ` +
      'shows the debt.',
  );
}

/**
 * The succeeded failover the site is served by now, from the site record: the run that last moved it, in one read
 * however many proposals came since. A failback since then ends the cooldown (the record names the failback).
 */
async function lastFailoverOf(store: RunStore, site: string): Promise<LastFailover | undefined> {
  const record = await store.site(site);
  if (record.servingKind === undefined) return lastFailover(await store.history(site, COOLDOWN_HISTORY));
  if (record.servingKind !== 'failover' || !record.serving || !record.servingRun || !record.servingSince)
    return undefined;
  return { runId: record.servingRun, to: record.serving, finishedAt: record.servingSince };
}

/**
 * A new failover this soon after the site's last succeeded one is refused unless break-glass (core/policy/cooldown.ts):
 * a {@link CooldownError}, which the Alertmanager route turns into one message in the incident channel.
 */
export async function refuseDuringCooldown(
  parts: { store: RunStore; clock: Clock; topology: Topology },
  site: SiteConfig,
  force: boolean,
): Promise<void> {
  const decision = checkCooldown({
    site: site.name,
    lastFailover: await lastFailoverOf(parts.store, site.name),
    now: parts.clock.now(),
    cooldownMs: site.cooldownMs ?? DEFAULT_COOLDOWN_MS,
    force,
    breakGlassRequired: parts.topology.approvals.breakGlass.required,
  });
  if (!decision.ok) throw new CooldownError(decision.reason, decision.lastFailover, decision.until);
}
