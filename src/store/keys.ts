/**
 * Every Redis key Baton's own code reads or writes, in one place (BullMQ builds its own keys, under the bull prefix).
 *
 * All of them, and BullMQ's, carry one hash tag: `{<BATON_KEY_PREFIX>}`. On Redis Cluster a script or a MULTI may only
 * touch keys of one slot, and Baton's scripts mix keys across these families: saving a run checks the BullMQ lock
 * of its job (`{baton}-bull:runs:<job>:lock`) in the same script that writes `{baton}:run:<id>`. So the store and
 * BullMQ share the tag, and one deployment's keys live in one slot: Baton's load is a few writes per incident, far
 * below what one node serves, and this is what keeps every script atomic.
 *
 * | Key (prefix `baton`)                                   | What                                          |
 * | ------------------------------------------------------ | --------------------------------------------- |
 * | `{baton}:run:<id>`                                     | a run (hash: data, version, state)            |
 * | `{baton}:site:<site>`                                  | a site (hash: serving, openRun, fenceDebt)    |
 * | `{baton}:runs:<site>` / `{baton}:runs`                 | run ids by creation (zset), per site / all    |
 * | `{baton}:audit` / `{baton}:seq`                        | the audit stream / the run id sequence        |
 * | `{baton}:fence-debts` / `{baton}:fence-debt-lock:<s>`  | sites with a debt (set) / the reconciler lock |
 * | `{baton}:paused-reminder:<run>`                        | when a paused run last reminded its thread    |
 * | `{baton}:prewarm-lock:<run>`                           | the worker acting on a proposal's pre-warm    |
 * | `{baton}:prewarm-lock:<evacuation>:<site>`             | … on an evacuation site's pre-warm            |
 * | `{baton}:report:<run>`                                 | a finished run's report (JSON, written once)  |
 * | `{baton}:alerts:run:<run>[:alerts]`                    | a run's incident record / its alerts          |
 * | `{baton}:alerts:notice:<site>:<n>[:alerts]`            | a notice's incident record / its alerts       |
 * | `{baton}:alerts:site:<site>` / `…:alerts:notice-seq`   | a site's pointers / the notice sequence       |
 * | `{baton}:world`                                        | the simulated world (sandbox, tests)          |
 * | `{baton}:readiness:<site>` / `…:readiness-claim:<site>` | last readiness evaluation / its pass claim    |
 * | `{baton}:evacuation:<id>` / `…:evacuation-seq`         | an evacuation (hash) / its id sequence        |
 * | `{baton}:evacuation-open:<kind>:<cluster>`             | the open evacuation of a cluster              |
 * | `{baton}:evacuation-alert:<fingerprint>:<startsAt>`    | the evacuation an alert already proposed      |
 * | `{baton}:evacuation-prewarm:<id>:<site>`               | an evacuation site's pre-warm (hash)          |
 * | `{baton}:rate:<api>:starts` / `…:rate:<api>:waiting`  | a shared request limit: starts / high waiters |
 * | `{baton}:drill:<id>` / `…:drills` / `…:drill-seq`     | a game day (hash) / open drills (zset) / ids  |
 * | `{baton}-bull:notify-state:status\|lock\|channel\|…`   | the notify queue's state, beside its queue    |
 */

/** Where Baton's keys live in Redis: its store and BullMQ's, both under the key prefix and its hash tag. */
export interface KeyPrefixes {
  /** Baton's own keys: `{baton}:`. */
  store: string;
  /** BullMQ's `prefix` option: `{baton}-bull` (BullMQ adds `:<queue>:…`). */
  bull: string;
}

/**
 * The prefixes of key prefix `keyPrefix` (`BATON_KEY_PREFIX`, lowercase letters, digits, `-` and `_`, so never a
 * brace): `{baton}:` and `{baton}-bull`.
 */
export function keyPrefixesOf(keyPrefix: string): KeyPrefixes {
  const tag = `{${keyPrefix}}`;
  return { store: `${tag}:`, bull: `${tag}-bull` };
}

/** The prefixes of the default key prefix, `baton` (for callers that are not given any: tests, tools). */
export const DEFAULT_KEY_PREFIXES: KeyPrefixes = keyPrefixesOf('baton');

/** The keys of Baton's store, under the store prefix (e.g. `{baton}:`). */
export class StoreKeys {
  constructor(readonly prefix: string = DEFAULT_KEY_PREFIXES.store) {}

  /** A run: hash of `data` (JSON), `version` and `state`. */
  run(id: string): string {
    return `${this.prefix}run:${id}`;
  }

  /** A site: hash of `serving`, `servingSince`, `openRun` and `fenceDebt`. */
  site(site: string): string {
    return `${this.prefix}site:${site}`;
  }

  /** The site's run ids by creation time (sorted set). */
  siteRuns(site: string): string {
    return `${this.prefix}runs:${site}`;
  }

  /** Every run id by creation time (sorted set). */
  runs(): string {
    return `${this.prefix}runs`;
  }

  /** The audit stream. */
  audit(): string {
    return `${this.prefix}audit`;
  }

  /** The run id sequence. */
  seq(): string {
    return `${this.prefix}seq`;
  }

  /** The sites with an open fence debt (set). */
  fenceDebts(): string {
    return `${this.prefix}fence-debts`;
  }

  /** The reconciler's lock on a site's debt (one worker works on a debt at a time). */
  fenceDebtLock(site: string): string {
    return `${this.prefix}fence-debt-lock:${site}`;
  }

  /**
   * The worker acting on a proposal's pre-warm (one at a time, across workers and duplicated jobs): a run's id, or
   * `<evacuation>:<site>` for a site of an evacuation.
   */
  prewarmLock(proposal: string): string {
    return `${this.prefix}prewarm-lock:${proposal}`;
  }

  /** When the paused run last reminded its thread. */
  pausedReminder(runId: string): string {
    return `${this.prefix}paused-reminder:${runId}`;
  }

  /** A finished run's report (JSON string, written once, kept as long as the run: neither expires). */
  report(runId: string): string {
    return `${this.prefix}report:${runId}`;
  }

  /** A site's continuous readiness: the last evaluation, the verdict last posted and when (hash). */
  readiness(site: string): string {
    return `${this.prefix}readiness:${site}`;
  }

  /** When a readiness pass last claimed the site's evaluation (one evaluation per interval, across workers). */
  readinessClaim(site: string): string {
    return `${this.prefix}readiness-claim:${site}`;
  }

  /** A game day (`/failover drill`): hash of `data` (JSON) and `version`. */
  drill(id: string): string {
    return `${this.prefix}drill:${id}`;
  }

  /** The open game days (proposed, scheduled or active), by creation time (sorted set). */
  drills(): string {
    return `${this.prefix}drills`;
  }

  /** The `drills.abortOn` alerts firing now: hash of fingerprint → JSON `{ name, until }`. */
  drillAlerts(): string {
    return `${this.prefix}drill-alerts`;
  }

  /** The game day id sequence (`d1`, `d2`, …). */
  drillSeq(): string {
    return `${this.prefix}drill-seq`;
  }

  /** The simulated world of the sandbox and the tests. */
  world(): string {
    return `${this.prefix}world`;
  }

  /** A run's incident record (hash of totals, digests, flags and probes). */
  alertRun(runId: string): string {
    return `${this.prefix}alerts:run:${runId}`;
  }

  /** A run's alerts (hash: fingerprint → `startsAt|f` or `startsAt|r`). */
  alertRunAlerts(runId: string): string {
    return `${this.alertRun(runId)}:alerts`;
  }

  /** A site's notice `id`: the incident record of its `notify` alerts. */
  alertNotice(site: string, id: string): string {
    return `${this.prefix}alerts:notice:${site}:${id}`;
  }

  /** A notice's alerts (as {@link alertRunAlerts}). */
  alertNoticeAlerts(site: string, id: string): string {
    return `${this.alertNotice(site, id)}:alerts`;
  }

  /** A site's alert pointers: `lastRun` (the run that last got alerts), `open` (its open notice). */
  alertSite(site: string): string {
    return `${this.prefix}alerts:site:${site}`;
  }

  /** The notices' sequence (one for every site). */
  alertNoticeSeq(): string {
    return `${this.prefix}alerts:notice-seq`;
  }

  /** An evacuation: hash of `data` (JSON) and `version`. */
  evacuation(id: string): string {
    return `${this.prefix}evacuation:${id}`;
  }

  /**
   * A site's pre-warm while its evacuation is proposed: hash of `data` (JSON) and `version`. Its own key, so fifty
   * sites warming at once never race on the evacuation's record.
   */
  evacuationPrewarm(id: string, site: string): string {
    return `${this.prefix}evacuation-prewarm:${id}:${site}`;
  }

  /** The evacuation id sequence. */
  evacuationSeq(): string {
    return `${this.prefix}evacuation-seq`;
  }

  /** The open evacuation of `cluster` for `kind` (one at a time: a repeat gets the open one back). */
  evacuationOpen(kind: string, cluster: string): string {
    return `${this.prefix}evacuation-open:${kind}:${cluster}`;
  }

  /** The evacuation one firing of an alert proposed (its fingerprint and start), so a repeat proposes nothing. */
  evacuationAlert(fingerprint: string, startsAt: string): string {
    return `${this.prefix}evacuation-alert:${fingerprint}:${startsAt}`;
  }

  /** A request limit shared by every process (e.g. `route53`): when each recent request started (sorted set). */
  rateStarts(api: string): string {
    return `${this.prefix}rate:${api}:starts`;
  }

  /** The high-priority requests waiting for that limit, by when their claim lapses (sorted set). */
  rateWaiting(api: string): string {
    return `${this.prefix}rate:${api}:waiting`;
  }
}

const b64 = (value: string) => Buffer.from(value, 'utf8').toString('base64url');

/**
 * The keys of the notify state, under the bull prefix (`{baton}-bull:notify-state:*`): beside the notify queue,
 * never inside BullMQ's `<prefix>:notify:*` keys, so a Notifier and the notify workers need one prefix.
 */
export class NotifyKeys {
  private readonly base: string;

  constructor(bullPrefix: string) {
    this.base = `${bullPrefix}:notify-state`;
  }

  /** A status message's state (hash). */
  status(key: string): string {
    return `${this.base}:status:${key}`;
  }

  /** A status message's post lock. */
  lock(key: string): string {
    return `${this.base}:lock:${key}`;
  }

  /** A channel's status messages waiting for their first post, in the order they were asked for (sorted set). */
  posts(channel: string): string {
    return `${this.base}:posts:${b64(channel)}`;
  }

  /** A pacing lane: a channel, or its updates lane (hash). */
  lane(lane: string): string {
    return `${this.base}:channel:${lane}`;
  }

  /** A posted thread reply's marker. */
  reply(threadKey: string, dedupeId: string): string {
    return `${this.base}:reply:${b64(threadKey)}:${b64(dedupeId)}`;
  }

  /** The thread's replies not yet posted, by when they were asked for: only the oldest may take a slot. */
  thread(threadKey: string): string {
    return `${this.base}:thread:${b64(threadKey)}`;
  }

  /** The content of the thread's replies not yet posted, by dedupeId (hash): what a merged reply is made of. */
  replyBodies(threadKey: string): string {
    return `${this.base}:reply-bodies:${b64(threadKey)}`;
  }

  /** Which reply's job posts each waiting reply of the thread, and since when (hash). */
  replyClaims(threadKey: string): string {
    return `${this.base}:reply-claims:${b64(threadKey)}`;
  }

  /** The thread's replies posted within another's message (hash: dedupeId → the reply that carried it). */
  repliesPosted(threadKey: string): string {
    return `${this.base}:replies-posted:${b64(threadKey)}`;
  }
}
