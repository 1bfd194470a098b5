/**
 * Changes of several sites of one hosted zone, sent as one ChangeResourceRecordSets where they can be.
 *
 * In a cluster evacuation many sites switch at about the same time. Route 53 allows five requests a second for the
 * account, rejects a change to a zone while it still processes the previous one (PriorRequestNotComplete), and
 * applies a change batch atomically, with one change id that turns INSYNC for all of it. So the switches of one zone
 * that wait for the rate limiter together leave as one batch, one at a time per zone: AWS's own advice against
 * throttling ("group individual operations of the same type into one change batch"). A site alone waits no longer
 * than before: nothing is held back to gather more.
 *
 * Limits (Route 53 API reference, ChangeResourceRecordSets, and the quotas page): at most 1,000 ResourceRecord
 * elements and 32,000 characters of values per request, an UPSERT counting twice; older documentation also says 100
 * Change elements, and Baton keeps to that stricter one too. A site's own changes always stay in one batch, so each
 * site still switches atomically.
 *
 * One site's changes that Route 53 refuses (InvalidChangeBatch) would refuse the whole batch, so a refused batch of
 * several sites is sent again site by site, and only the site at fault fails.
 */
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import type { Change } from '@aws-sdk/client-route-53';
import type { SiteConfig } from '../../config/topology.js';
import type { CallOptions, Log } from '../../core/ports.js';
import { BatonError } from '../../errors.js';
import { hostedZone, stripIdPrefix } from './route53-ids.js';
import type { Route53Requests } from './route53-requests.js';

export const BATCH_LIMITS = { changes: 100, resourceRecords: 1000, characters: 32_000 } as const;
/** ChangeBatch.Comment is at most 256 characters. */
const COMMENT_MAX = 256;

/** One site's part of a batch. */
export interface SiteChange {
  site: SiteConfig;
  changes: Change[];
  /** What the site's own batch would say, e.g. "shop served by west". */
  summary: string;
}

interface Entry extends SiteChange {
  /** Sent on its own: a batch it was part of was refused. */
  alone: boolean;
  resolve(changeId: string): void;
  reject(error: unknown): void;
}

/** The ResourceRecord elements and value characters of `changes`, as Route 53 counts them (an UPSERT twice). */
export function batchWeight(changes: readonly Change[]): { resourceRecords: number; characters: number } {
  let resourceRecords = 0;
  let characters = 0;
  for (const change of changes) {
    const weight = change.Action === 'UPSERT' ? 2 : 1;
    const values = change.ResourceRecordSet?.ResourceRecords ?? [];
    resourceRecords += values.length * weight;
    characters += values.reduce((sum, record) => sum + (record.Value ?? '').length, 0) * weight;
  }
  return { resourceRecords, characters };
}

/** The entries, in order, that fit one request after the first (which is always taken). */
function takeBatch(pending: Entry[]): Entry[] {
  const [first] = pending;
  if (!first || first.alone) return pending.splice(0, first ? 1 : 0);
  let changes = 0;
  let resourceRecords = 0;
  let characters = 0;
  let count = 0;
  for (const entry of pending) {
    if (entry.alone) break;
    const weight = batchWeight(entry.changes);
    const fits =
      changes + entry.changes.length <= BATCH_LIMITS.changes &&
      resourceRecords + weight.resourceRecords <= BATCH_LIMITS.resourceRecords &&
      characters + weight.characters <= BATCH_LIMITS.characters;
    if (!fits && count > 0) break;
    changes += entry.changes.length;
    resourceRecords += weight.resourceRecords;
    characters += weight.characters;
    count += 1;
  }
  return pending.splice(0, count);
}

function commentOf(batch: readonly Entry[]): string {
  const text =
    batch.length === 1
      ? `Baton: ${batch[0]?.summary}`
      : `Baton: ${batch.length} sites: ${batch.map((entry) => entry.summary).join('; ')}`;
  return text.length <= COMMENT_MAX ? text : `${text.slice(0, COMMENT_MAX - 1)}…`;
}

/** Change batches per hosted zone: one in flight per zone in this process, carrying every change that waited. */
export class ZoneChanges {
  private readonly zones = new Map<string, { pending: Entry[]; busy: boolean }>();

  constructor(
    private readonly requests: Route53Requests,
    private readonly log: Log,
  ) {}

  /** Sends the site's changes, with other sites' of its zone where they fit; resolves with the batch's change id. */
  submit(change: SiteChange, options: CallOptions = {}): Promise<string> {
    options.signal?.throwIfAborted();
    if (change.changes.length > BATCH_LIMITS.changes) {
      throw new BatonError(
        'route53-invalid-change-batch',
        `${change.site.name}: ${change.changes.length} changes are more than Route 53 takes in one request (${BATCH_LIMITS.changes})`,
      );
    }
    const zoneId = stripIdPrefix(change.site.dns.hostedZoneId);
    let zone = this.zones.get(zoneId);
    if (!zone) {
      zone = { pending: [], busy: false };
      this.zones.set(zoneId, zone);
    }
    const current = zone;
    return new Promise((resolve, reject) => {
      const entry: Entry = { ...change, alone: false, resolve, reject };
      current.pending.push(entry);
      // Not yet sent: an aborted step takes its change back. Once sent, the batch is Route 53's.
      options.signal?.addEventListener(
        'abort',
        () => {
          const index = current.pending.indexOf(entry);
          if (index === -1) return;
          current.pending.splice(index, 1);
          reject(options.signal?.reason);
        },
        { once: true },
      );
      void this.drain(current);
    });
  }

  private async drain(zone: { pending: Entry[]; busy: boolean }): Promise<void> {
    if (zone.busy) return;
    zone.busy = true;
    try {
      while (zone.pending.length > 0) await this.sendOne(zone);
    } finally {
      zone.busy = false;
    }
  }

  private async sendOne(zone: { pending: Entry[] }): Promise<void> {
    let batch: Entry[] | undefined;
    const first = zone.pending[0];
    if (!first) return;
    try {
      const output = await this.requests.call(
        'ChangeResourceRecordSets',
        hostedZone(first.site),
        (abortSignal) => {
          // Let go by the limiter: every change waiting now goes (a retry sends the same batch again).
          batch ??= takeBatch(zone.pending);
          return this.requests.client.send(
            new ChangeResourceRecordSetsCommand({
              HostedZoneId: first.site.dns.hostedZoneId,
              ChangeBatch: { Comment: commentOf(batch), Changes: batch.flatMap((entry) => entry.changes) },
            }),
            { abortSignal },
          );
        },
      );
      const changeId = stripIdPrefix(output.ChangeInfo?.Id ?? '');
      this.log.info(
        {
          changeId,
          status: output.ChangeInfo?.Status,
          changes: batch?.reduce((sum, entry) => sum + entry.changes.length, 0),
          sites: batch?.map((entry) => entry.site.name),
        },
        'Route 53 change submitted',
      );
      for (const entry of batch ?? []) entry.resolve(changeId);
    } catch (error) {
      const refused = error instanceof BatonError && error.code === 'route53-invalid-change-batch';
      if (refused && batch && batch.length > 1) {
        this.log.warn(
          { sites: batch.map((entry) => entry.site.name), err: error.message },
          'Route 53 refused a batch of several sites; sending each site on its own',
        );
        // The same entries (an aborted step finds its own and takes it back), each to be sent on its own.
        for (const entry of batch) entry.alone = true;
        zone.pending.unshift(...batch);
        return;
      }
      for (const entry of batch ?? zone.pending.splice(0, 1)) entry.reject(error);
    }
  }
}
