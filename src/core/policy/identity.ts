/**
 * Counting approvers by Baton's one identity rule (`approverMatch` in model.ts): a Slack user and the CLI acting as
 * that user are one person, and everything typed from one OS account on one host is one approver whatever `--as`
 * it claims. Approvals, Skip votes and split-brain risk votes all count through here.
 */
import type { Actor } from '../model.js';
import { approverMatch } from '../model.js';

/** `root@bastion-1`: the OS account a CLI actor typed from. */
export const osAccountText = (origin: NonNullable<Actor['origin']>): string =>
  `${origin.osUser}@${origin.host}`;

/** The first actor of `actors` who is the same approver as `actor`, and why; null when there is none. */
export function findSameApprover(
  actors: readonly Actor[],
  actor: Actor,
): { earlier: Actor; match: 'same-person' | 'same-os-account' } | null {
  for (const earlier of actors) {
    const match = approverMatch(earlier, actor);
    if (match) return { earlier, match };
  }
  return null;
}

/** `actors` with later repeats of the same approver dropped (the first of each counts), in order. */
export function distinctApprovers(actors: readonly Actor[]): Actor[] {
  const kept: Actor[] = [];
  for (const actor of actors) if (!findSameApprover(kept, actor)) kept.push(actor);
  return kept;
}

/**
 * The refusal for a second approval (or vote) typed from an OS account that already gave one: why it does not
 * count and what to do. `did` says what the earlier actor did, e.g. "U0ALICE's approval from it is already counted".
 */
export function sameOsAccountReason(actor: Actor, did: string, next: string): string {
  const account = actor.origin ? osAccountText(actor.origin) : 'this OS account';
  return (
    `approvals typed from one OS account (${account}) count as one, whatever --as says: ${did}. ` +
    `${next} from their own OS account, or in Slack`
  );
}

/** Whether two actors count as one approver: the same person, or one OS account (see `approverMatch`). */
export const sameApprover = (a: Actor, b: Actor): boolean => approverMatch(a, b) !== null;
