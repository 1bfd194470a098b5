/**
 * The simulated Route 53 record behind Baton's DnsPort: a switch is a change that stays PENDING for
 * `dnsInSyncAfterMs`, and resolvers answer with the new target only once it is INSYNC.
 */
import type { DnsPort } from '../../src/core/ports.js';
import { waitUntil } from '../../src/core/wait.js';
import { BatonError } from '../../src/errors.js';
import type { WorldState } from './world-state.js';
import type { WorldContext } from './world-store.js';

export function simulatedDnsPort({ store, clock, timing, enter }: WorldContext): DnsPort {
  const settle = (state: WorldState): void => {
    const now = clock.now();
    for (const change of Object.values(state.dns.changes))
      if (now >= change.insyncAt) state.dns.resolved = change.to;
  };
  const changeStatus: DnsPort['changeStatus'] = async (changeId) => {
    await enter('dns.changeStatus');
    const change = (await store.read()).dns.changes[changeId];
    if (!change) {
      // The code the Route 53 adapter gives NoSuchChange; its message says what to do, as the adapter's does.
      throw new BatonError(
        'route53-no-such-change',
        `Route 53 has no change ${changeId} (simulated) — check the record itself with /failover status`,
      );
    }
    return clock.now() >= change.insyncAt ? 'INSYNC' : 'PENDING';
  };
  return {
    currentTarget: async () => {
      await enter('dns.currentTarget');
      return (await store.read()).dns.serving;
    },
    switchTo: async (_site, to) => {
      await enter('dns.switchTo');
      return store.update((state) => {
        state.seq += 1;
        const changeId = `C${String(state.seq).padStart(6, '0')}`;
        state.dns.serving = to;
        state.dns.changes[changeId] = { to, insyncAt: clock.now() + timing.dnsInSyncAfterMs };
        state.actions.push(`dns ${to}`);
        return { changeId };
      });
    },
    changeStatus,
    // The simulated zone holds the records the site's configuration describes (as route53SeedFor seeds the
    // Route 53 stand-in): a failover record is moved by Route 53 on its own by its health check, or by
    // EvaluateTargetHealth on its alias, in the same words as the real adapter.
    failoverTriggers: async (site) => {
      await enter('dns.failoverTriggers');
      if (site.dns.strategy !== 'failover-records') return {};
      const triggers: Record<string, string | null> = {};
      for (const cluster of Object.keys(site.clusters)) {
        const healthCheck = site.dns.healthCheckIds?.[cluster];
        const target = site.dns.targets[cluster];
        triggers[cluster] = healthCheck
          ? `health check ${healthCheck}`
          : target && 'aliasDnsName' in target && target.evaluateTargetHealth
            ? 'EvaluateTargetHealth on its alias'
            : null;
      }
      return triggers;
    },
    waitForInsync: async (changeId, options) => {
      const started = clock.now();
      await waitUntil(clock, { pollMs: 2000, ...options }, async () =>
        (await changeStatus(changeId, options)) === 'INSYNC'
          ? { done: true, value: undefined }
          : { done: false, seen: `change ${changeId} PENDING` },
      );
      return { waitedMs: clock.now() - started };
    },
    resolveTarget: async () => {
      await enter('dns.resolveTarget');
      const state = await store.read();
      settle(state);
      return { cluster: state.dns.resolved, answers: [`${state.dns.resolved}-lb.sandbox.internal`] };
    },
  };
}
