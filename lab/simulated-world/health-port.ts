/**
 * The simulated health endpoints behind Baton's HealthPort: a cluster's health URL answers 200 while its API is
 * reachable and it is healthy, and is refused otherwise.
 */
import type { SiteConfig } from '../../src/config/topology.js';
import type { HealthPort } from '../../src/core/ports.js';
import type { WorldContext } from './world-store.js';

export function simulatedHealthPort({ store, enter }: WorldContext, site: SiteConfig): HealthPort {
  return {
    check: async (url) => {
      await enter('health.check');
      const state = await store.read();
      const id = Object.entries(site.clusters).find(([, c]) => c.healthUrl === url)?.[0];
      const c = id === undefined ? undefined : state.clusters[id];
      return c && c.reachable && c.healthy
        ? { ok: true, status: 200 }
        : { ok: false, error: 'connection refused' };
    },
  };
}
