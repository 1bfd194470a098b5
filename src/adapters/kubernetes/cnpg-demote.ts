/**
 * Step 1 of CloudNativePG's controlled switchover of a distributed topology
 * (https://cloudnative-pg.io/documentation/current/replica_cluster/#distributed-topology, docs/src/replica_cluster.md
 * in cloudnative-pg/cloudnative-pg): demote the primary. `spec.replica.primary` names the new primary; the operator
 * fences the Cluster, shuts PostgreSQL down, archives the shutdown checkpoint's WAL and publishes
 * `status.demotionToken`, which the promotion (cnpg-promote.ts) must carry.
 */
import type { WaitOptions } from '../../core/ports.js';
import { waitUntil } from '../../core/wait.js';
import type { Look } from '../../core/wait.js';
import { BatonError } from '../../errors.js';
import { patchCnpgCluster } from './cnpg-access.js';
import type { CnpgClusterAccess } from './cnpg-access.js';
import { cnpgStatus, STUCK_PHASES } from './cnpg-status.js';
import type { CnpgClusterObject, CnpgClusterStatus } from './cnpg-status.js';
import { parseCnpgDemotionToken } from './cnpg-token.js';
import { formatMs } from './format-ms.js';
import { kubeWaitOptions } from './kube-wait.js';

export interface DemoteCnpgOptions extends WaitOptions {
  /** The Cluster that will become primary, as `spec.replica.primary` and `externalClusters` name it. */
  newPrimary: string;
}

/**
 * Demotes the primary Cluster of a distributed topology in favour of `newPrimary` (merge patch
 * `spec.replica.primary: <newPrimary>`), then waits until the operator publishes `status.demotionToken`: the
 * source is shut down and that token is what the new primary's promotion must carry. A Cluster already demoted in
 * favour of `newPrimary` is left alone and its token returned.
 */
export async function demoteCnpg(
  access: CnpgClusterAccess,
  options: DemoteCnpgOptions,
): Promise<{ demotionToken: string; changed: boolean }> {
  const { ref } = access;
  const { newPrimary } = options;
  const label = `CloudNativePG Cluster ${ref.namespace}/${ref.name}`;
  const status = `kubectl cnpg status -n ${ref.namespace} ${ref.name}`;
  options.signal?.throwIfAborted();
  const object = await access.read(options.signal);
  const replica = object.spec?.replica;
  const self = replica?.self || object.metadata?.name || ref.name;
  if (newPrimary === self) {
    throw new BatonError(
      'config-invalid',
      `${label} cannot be demoted in favour of itself (${self}) — name the Cluster that is to become primary`,
    );
  }
  const distributed =
    replica?.primary !== undefined && (replica.enabled === undefined || replica.enabled === null);
  const before = cnpgStatus(object);
  let staleToken: string | null = null;
  let changed = false;
  if (before.replica) {
    if (!distributed || replica?.primary !== newPrimary) {
      throw new BatonError(
        'cnpg-not-primary',
        `${label} on ${access.where} is not a primary: it replicates from ${replica?.source ?? 'another cluster'} ` +
          `${distributed ? `and names ${replica?.primary ?? 'no Cluster'} as primary, not ${newPrimary}` : '(a standalone replica cluster)'} ` +
          `— nothing to demote; see ${status}`,
      );
    }
  } else {
    if (!distributed) {
      throw new BatonError(
        'cnpg-not-distributed',
        `${label} on ${access.where} is not part of a distributed topology (spec.replica.primary/source) — a ` +
          'controlled switchover needs one; configure spec.replica and externalClusters on both Clusters as in ' +
          'https://cloudnative-pg.io/documentation/current/replica_cluster/#distributed-topology, or fail over',
      );
    }
    // The operator clears status.demotionToken while a Cluster is primary; one still shown before this write is
    // left over from an earlier demotion and is not the token of this one.
    staleToken = before.demotionToken;
    // A token left from this Cluster's own promotion must go in the same write: the webhook allows promotionToken
    // on primaries only (cloudnative-pg issue #9273).
    const patch = { primary: newPrimary, ...(replica?.promotionToken && { promotionToken: null }) };
    await patchCnpgCluster(access, label, { spec: { replica: patch } }, options.signal);
    changed = true;
    access.log.info({ cnpgCluster: label, newPrimary }, 'requested CloudNativePG demotion');
  }

  const look = (found: CnpgClusterObject): Look<string> => {
    const now = cnpgStatus(found);
    const primary = found.spec?.replica?.primary;
    if (!now.replica || primary !== newPrimary) {
      throw new BatonError(
        'cnpg-demotion-failed',
        `${label} on ${access.where} was changed while Baton waited for its demotion: it now ` +
          `${now.replica ? `names ${primary ?? 'no Cluster'} as primary` : 'is a primary again'} — someone else is ` +
          `switching it; look at ${status} before going on`,
      );
    }
    if (now.phase !== null && STUCK_PHASES.includes(now.phase)) {
      throw new BatonError(
        'cnpg-demotion-failed',
        `${label} on ${access.where} is in phase "${now.phase}"${now.phaseReason ? ` (${now.phaseReason})` : ''} while ` +
          `demoting — it needs a human: ${status}`,
      );
    }
    const token = now.demotionToken;
    if (token !== null && token !== staleToken && !now.demoting) {
      const content = parseCnpgDemotionToken(token);
      // kubectl cnpg status checks the same: the token belongs to this database.
      if (now.systemId !== null && content.systemIdentifier !== now.systemId) {
        throw new BatonError(
          'cnpg-token-invalid',
          `${label} on ${access.where} published a demotion token of another database (system identifier ` +
            `${content.systemIdentifier}, its own is ${now.systemId}) — do not promote with it; see ${status}`,
        );
      }
      return { done: true, value: token };
    }
    return { done: false, seen: describeDemotion(found, now, token !== null && token === staleToken) };
  };

  const first = changed ? null : look(object);
  const demotionToken =
    first?.done === true
      ? first.value
      : await waitUntil(
          access.clock,
          kubeWaitOptions(
            options,
            (seen) =>
              new BatonError(
                'not-ready',
                `${label} on ${access.where} has published no demotion token after ` +
                  `${formatMs(options.timeoutMs ?? 0)}: ${seen} — the operator first shuts PostgreSQL down and ` +
                  `archives its last WAL; check ${status} and the operator's log; Retry waits again`,
                { retriable: true },
              ),
          ),
          async () => look(await access.read(options.signal)),
        );
  const content = parseCnpgDemotionToken(demotionToken);
  access.log.info(
    { cnpgCluster: label, newPrimary, changed, timeline: content.timeline, redoLsn: content.redoLsn },
    'CloudNativePG cluster demoted',
  );
  return { demotionToken, changed };
}

function describeDemotion(object: CnpgClusterObject, status: CnpgClusterStatus, stale: boolean): string {
  const conditions = object.status?.conditions ?? [];
  const transition = conditions.find((c) => c.type === 'ReplicaClusterSwitch');
  const fenced = conditions.some((c) => c.type === 'ReplicaClusterFencing' && c.status === 'True');
  const parts = [
    stale ? 'only the token of an earlier demotion' : 'no demotion token yet',
    transition?.message ? `"${transition.message}"` : 'the operator has not started the transition',
    ...(fenced ? ['fenced'] : []),
    `phase "${status.phase ?? 'none'}"`,
  ];
  return parts.join(', ');
}
