/**
 * Argo CD Applications (argoproj.io/v1alpha1), read and merge-patched through the adapter's retries and error
 * translation. Pausing automated sync removes `spec.syncPolicy.automated` — the way every Argo CD version reads as
 * "no automated sync" (argo-cd.readthedocs.io, user-guide/auto_sync; `automated.enabled: false` exists only in
 * newer versions) — and, in the same write, records the policy it removed in the annotation `baton/held-sync-policy`,
 * so resuming gives back exactly what the team had (prune, selfHeal, allowEmpty…) whoever resumes it. Both writes
 * carry the resourceVersion they read: a concurrent change (Argo CD's own, or a person's) is read again, not lost.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { ApplicationRef, SyncState } from '../../core/ports.js';
import { isBatonError } from '../../errors.js';
import type { Target } from './kube-clients.js';
import type { Operation } from './kube-errors.js';
import { sendWithRetry } from './kube-retry.js';
import type { KubeRequestPolicy } from './kube-retry.js';

export const ARGOCD_APPLICATIONS = {
  group: 'argoproj.io',
  version: 'v1alpha1',
  plural: 'applications',
} as const;

/** Where Baton keeps the automated policy it took away. */
export const HELD_SYNC_POLICY = 'baton/held-sync-policy';

/** The pieces of an Application object this adapter reads. */
interface ApplicationObject {
  metadata?: {
    resourceVersion?: string;
    annotations?: Record<string, string>;
    ownerReferences?: { kind?: string; name?: string }[];
  };
  spec?: { syncPolicy?: { automated?: (Record<string, unknown> & { enabled?: boolean | null }) | null } };
}

/** Writes that lost a race with another writer are read and tried again this many times. */
const CONFLICT_ATTEMPTS = 3;

const operation = (app: ApplicationRef, verb: 'get' | 'patch'): Operation => ({
  verb,
  group: ARGOCD_APPLICATIONS.group,
  resource: ARGOCD_APPLICATIONS.plural,
  object: `Argo CD Application ${app.namespace}/${app.name}`,
  namespace: app.namespace,
  name: app.name,
  write: verb === 'patch',
});

async function readApplication(
  policy: KubeRequestPolicy,
  target: Target,
  app: ApplicationRef,
  signal?: AbortSignal,
): Promise<ApplicationObject | null> {
  try {
    return (await sendWithRetry(
      policy,
      target,
      operation(app, 'get'),
      (options) =>
        target.clients.custom.getNamespacedCustomObject(
          { ...ARGOCD_APPLICATIONS, namespace: app.namespace, name: app.name },
          options,
        ),
      { signal },
    )) as ApplicationObject;
  } catch (error) {
    if (isBatonError(error) && error.code === 'not-found') return null;
    throw error;
  }
}

function stateOf(object: ApplicationObject): SyncState {
  const automated = object.spec?.syncPolicy?.automated;
  const owner = object.metadata?.ownerReferences?.find((ref) => ref.kind === 'ApplicationSet');
  return {
    automated: automated !== undefined && automated !== null && automated.enabled !== false,
    pausedByBaton: object.metadata?.annotations?.[HELD_SYNC_POLICY] !== undefined,
    ...(owner?.name && { ownedBy: owner.name }),
  };
}

export async function applicationSyncState(
  policy: KubeRequestPolicy,
  target: Target,
  app: ApplicationRef,
  signal?: AbortSignal,
): Promise<SyncState | null> {
  const object = await readApplication(policy, target, app, signal);
  return object && stateOf(object);
}

/**
 * Read, decide, merge-patch with the resourceVersion read; on a conflict, again. `decide` returns the patch, or null
 * when there is nothing to write.
 */
async function patchApplication(
  policy: KubeRequestPolicy,
  target: Target,
  app: ApplicationRef,
  decide: (object: ApplicationObject) => Record<string, unknown> | null,
  signal?: AbortSignal,
): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    const object = await readApplication(policy, target, app, signal);
    if (!object) return; // gone: nothing to pause or give back (syncState reports it missing)
    const patch = decide(object);
    if (!patch) return;
    const body = {
      ...patch,
      metadata: { ...(patch.metadata as object), resourceVersion: object.metadata?.resourceVersion },
    };
    try {
      await sendWithRetry(
        policy,
        target,
        operation(app, 'patch'),
        (options) =>
          target.clients.custom.patchNamespacedCustomObject(
            { ...ARGOCD_APPLICATIONS, namespace: app.namespace, name: app.name, body },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch, options),
          ),
        { signal, retryConflicts: false },
      );
      return;
    } catch (error) {
      if (attempt < CONFLICT_ATTEMPTS && isBatonError(error) && error.code === 'cluster-conflict') continue;
      throw error;
    }
  }
}

/** Removes the automated policy and records it on the Application, in one write; nothing when it is not automated. */
export function pauseApplicationSync(
  policy: KubeRequestPolicy,
  target: Target,
  app: ApplicationRef,
  signal?: AbortSignal,
): Promise<void> {
  return patchApplication(
    policy,
    target,
    app,
    (object) => {
      const automated = object.spec?.syncPolicy?.automated;
      if (!stateOf(object).automated || !automated) return null;
      return {
        metadata: { annotations: { [HELD_SYNC_POLICY]: JSON.stringify(automated) } },
        spec: { syncPolicy: { automated: null } },
      };
    },
    signal,
  );
}

/** Puts back the automated policy Baton recorded, and removes the record, in one write. */
export function resumeApplicationSync(
  policy: KubeRequestPolicy,
  target: Target,
  app: ApplicationRef,
  signal?: AbortSignal,
): Promise<void> {
  return patchApplication(
    policy,
    target,
    app,
    (object) => {
      const held = object.metadata?.annotations?.[HELD_SYNC_POLICY];
      if (held === undefined) return null;
      let automated: unknown = {};
      try {
        automated = JSON.parse(held);
      } catch {
        // A record someone edited by hand: automated sync with Argo CD's defaults is what "on" means.
      }
      return {
        metadata: { annotations: { [HELD_SYNC_POLICY]: null } },
        spec: { syncPolicy: { automated } },
      };
    },
    signal,
  );
}
