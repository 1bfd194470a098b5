/**
 * Promoting a CloudNativePG replica Cluster. With the demoted primary's token it is step 2 of the controlled
 * switchover (cnpg-demote.ts has step 1): `spec.replica.primary` names itself and `spec.replica.promotionToken`
 * carries the token, in one write, and its instance manager promotes only once it has replayed exactly up to the
 * token. A promotion without a token is a failover: the former primary must be rebuilt.
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

export interface PromoteCnpgOptions extends WaitOptions {
  /** The demoted primary's `status.demotionToken`: a switchover. Without it the promotion is a failover. */
  promotionToken?: string;
}

/**
 * The phase reason the instance manager sets when a promotion token can never match this replica (another system
 * identifier, an older timeline, or it replayed past the token): internal/management/controller/instance_controller.go.
 */
const TOKEN_REJECTED = 'Promotion token content is not correct for current instance';

/**
 * Promotes a CloudNativePG replica Cluster, then waits until the operator reports a healthy, Ready primary. With
 * `promotionToken` (a switchover) the merge patch sets `spec.replica.primary` to itself and
 * `spec.replica.promotionToken` in one write, and the wait ends only once the operator has accepted that token.
 * Without one it is a failover: `spec.replica.enabled: false`, or `primary: <self>` in a distributed topology. A
 * Cluster that is already a primary is left alone. Resolves whether this call changed it.
 */
export async function promoteCnpg(
  access: CnpgClusterAccess,
  options: PromoteCnpgOptions,
): Promise<{ changed: boolean; status: CnpgClusterStatus }> {
  const { ref } = access;
  const label = `CloudNativePG Cluster ${ref.namespace}/${ref.name}`;
  const statusCommand = `kubectl cnpg status -n ${ref.namespace} ${ref.name}`;
  const token = options.promotionToken;
  // A token that does not parse is refused before anything is written.
  const content = token === undefined ? null : parseCnpgDemotionToken(token);
  options.signal?.throwIfAborted();
  const object = await access.read(options.signal);
  const replica = object.spec?.replica;
  const self = replica?.self || object.metadata?.name || ref.name;
  const distributed =
    replica?.primary !== undefined && (replica.enabled === undefined || replica.enabled === null);
  const first = cnpgStatus(object);
  const finished = (status: CnpgClusterStatus) =>
    status.promoted && (token === undefined || status.lastPromotionToken === token);

  if (first.promoted) {
    if (finished(first)) {
      access.log.info({ cnpgCluster: label }, 'CloudNativePG cluster is already a primary');
      return { changed: false, status: first };
    }
    throw new BatonError(
      'cnpg-token-conflict',
      `${label} on ${access.where} is already a primary, but was not promoted with this demotion token ` +
        `(last promotion token: ${first.lastPromotionToken ? 'another one' : 'none'}) — it may have diverged ` +
        `from the demoted Cluster: compare both with ${statusCommand} before going on`,
    );
  }
  let changed = false;
  if (first.replica) {
    let patch: Record<string, unknown>;
    if (token !== undefined) {
      if (!distributed) {
        throw new BatonError(
          'cnpg-not-distributed',
          `${label} on ${access.where} uses spec.replica.enabled, not a distributed topology: CloudNativePG has no ` +
            'controlled switchover for it — promote without a token (a failover; the old primary is then rebuilt)',
        );
      }
      if (replica?.minApplyDelay) {
        throw new BatonError(
          'cnpg-apply-delay',
          `${label} on ${access.where} has spec.replica.minApplyDelay ${replica.minApplyDelay}, which CloudNativePG ` +
            'does not allow with a promotion token — remove minApplyDelay, let it catch up, then Retry',
        );
      }
      // Both in one write: a primary field without the token would be a failover (replica_cluster.md).
      patch = { primary: self, promotionToken: token };
    } else {
      // The distributed topology (spec.replica.primary/self, CloudNativePG ≥ 1.24) promotes by naming itself primary.
      patch = distributed ? { primary: self } : { enabled: false };
    }
    await patchCnpgCluster(access, label, { spec: { replica: patch } }, options.signal);
    changed = true;
    access.log.info(
      {
        cnpgCluster: label,
        primary: patch.primary ?? null,
        switchover: content !== null,
        ...(content && { tokenTimeline: content.timeline, tokenRedoLsn: content.redoLsn }),
      },
      content
        ? 'requested CloudNativePG promotion with the demotion token'
        : 'requested CloudNativePG promotion',
    );
  } else if (token !== undefined && replica?.promotionToken !== token) {
    // Promotion already asked for, not by this token: writing ours could turn a failover into something else.
    throw new BatonError(
      'cnpg-token-conflict',
      `${label} on ${access.where} is already being promoted ` +
        `${replica?.promotionToken ? 'with another token' : 'without a token (a failover)'} — Baton will not ` +
        `change that; look at ${statusCommand}`,
    );
  }

  const look = (found: CnpgClusterObject): Look<CnpgClusterStatus> => {
    const status = cnpgStatus(found);
    if (finished(status)) return { done: true, value: status };
    if (status.replica) {
      throw new BatonError(
        'cnpg-promotion-failed',
        `${label} on ${access.where} was made a replica again while Baton waited for its promotion — someone else ` +
          `is switching it; look at ${statusCommand}`,
      );
    }
    if (token !== undefined && status.phaseReason === TOKEN_REJECTED) {
      throw new BatonError(
        'cnpg-token-rejected',
        `CloudNativePG refused to promote ${label} on ${access.where} with the demotion token (phase ` +
          `"${status.phase ?? 'none'}": ${TOKEN_REJECTED}) — the token (system identifier ` +
          `${content?.systemIdentifier ?? '?'}, timeline ${content?.timeline ?? '?'}, REDO ${content?.redoLsn ?? '?'}) ` +
          `is not this replica's: another database, an older timeline, or it replayed past that point. It was not ` +
          `promoted. Compare ${statusCommand} with the demoted Cluster; to give up on the switchover, fail over ` +
          '(promote without a token) and rebuild the old primary',
      );
    }
    if (status.phase !== null && STUCK_PHASES.includes(status.phase)) {
      throw new BatonError(
        'cnpg-promotion-failed',
        `${label} on ${access.where} is in phase "${status.phase}"${status.phaseReason ? ` (${status.phaseReason})` : ''} — ` +
          `it needs a human: ${statusCommand}`,
      );
    }
    const waiting = content ? `, waiting until it has replayed up to the token's ${content.redoLsn}` : '';
    return {
      done: false,
      seen:
        `phase "${status.phase ?? 'none'}", Ready ${status.ready}, current primary ${status.currentPrimary ?? 'none'}` +
        `${status.primaryReported === false ? ' (not yet a primary)' : ''}${waiting}`,
    };
  };

  const status = await waitUntil(
    access.clock,
    kubeWaitOptions(
      options,
      (seen) =>
        new BatonError(
          'not-ready',
          `${label} on ${access.where} is not a healthy primary after ${formatMs(options.timeoutMs ?? 0)}: ${seen} — ` +
            `check the operator (${statusCommand}); Retry waits again`,
          { retriable: true },
        ),
    ),
    async () => look(await access.read(options.signal)),
  );
  return { changed, status };
}
