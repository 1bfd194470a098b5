/**
 * The simulated Argo CD Applications behind Baton's GitOpsPort: an Application syncs on its own or not, and Baton's
 * pause is recorded on it (as the real adapter records the policy in an annotation), so resuming gives back exactly
 * what pausing took. Self-heal itself is the Kubernetes stand-in's; here only the switch is modelled.
 */
import type { GitOpsPort } from '../../src/core/ports.js';
import { BatonError } from '../../src/errors.js';
import { reachCluster } from './world-state.js';
import type { WorldContext } from './world-store.js';

export function simulatedGitOpsPort({ store, enter }: WorldContext): GitOpsPort {
  const key = (app: { namespace: string; name: string }) => `${app.namespace}/${app.name}`;
  return {
    syncState: async (_site, cluster, app) => {
      await enter('gitops.syncState', cluster);
      const found = reachCluster(await store.read(), cluster).applications?.[key(app)];
      return found ? { ...found } : null;
    },
    pauseSync: async (_site, cluster, app) => {
      await enter('gitops.pauseSync', cluster);
      await store.update((state) => {
        const found = reachCluster(state, cluster).applications?.[key(app)];
        if (!found)
          throw new BatonError(
            'argocd-application-missing',
            `Application ${key(app)} not found on ${cluster}`,
          );
        if (!found.automated) return;
        Object.assign(found, { automated: false, pausedByBaton: true });
        state.actions.push(`argocd ${cluster} ${key(app)} paused`);
      });
    },
    resumeSync: async (_site, cluster, app) => {
      await enter('gitops.resumeSync', cluster);
      await store.update((state) => {
        const found = reachCluster(state, cluster).applications?.[key(app)];
        if (!found?.pausedByBaton) return;
        Object.assign(found, { automated: true, pausedByBaton: false });
        state.actions.push(`argocd ${cluster} ${key(app)} resumed`);
      });
    },
  };
}
