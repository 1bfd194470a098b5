/**
 * Reading sites' record sets from their hosted zones (ListResourceRecordSets, paged), gathered per zone.
 *
 * Route 53 allows five requests a second for the whole account, and in a cluster evacuation fifty sites of one zone
 * read their records at once (preflight, the switch, its check). So reads of one zone that wait for the rate limiter
 * together are answered by the same pages: each request starts at the first record still wanted (in the listing's
 * order, record-order.ts) and asks for up to 300 record sets, so sites whose records lie together — the usual case
 * for one zone's sites — come back in one page, and a request never costs more than one read per site would.
 *
 * A read is only ever answered by a page sent after it was asked for: it joins requests still waiting for the
 * limiter, never one already on its way. So a read that follows a switch always sees the switch.
 */
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import type {
  ListResourceRecordSetsCommandOutput,
  ResourceRecordSet,
  RRType,
} from '@aws-sdk/client-route-53';
import type { SiteConfig } from '../../config/topology.js';
import type { CallOptions } from '../../core/ports.js';
import { compareKeys, keyOf } from './record-order.js';
import type { RecordKey } from './record-order.js';
import { hostedZone, stripIdPrefix } from './route53-ids.js';
import type { Route53Requests } from './route53-requests.js';

/** Route 53's largest page (ListResourceRecordSets MaxItems). */
const MAX_PAGE = 300;
/** A site alone asks for this many: its name and type hold a few record sets (a failover pair, a weighted set). */
const SINGLE_PAGE = 10;

interface Wanted {
  key: RecordKey;
  found: ResourceRecordSet[];
  /** Set once a page ended inside this name and type: the set identifier the next page must start at. */
  resumeAt?: string;
  /** A page that will answer it is on its way: no other may answer it meanwhile. */
  inFlight: boolean;
  resolve(records: ResourceRecordSet[]): void;
  reject(error: unknown): void;
}

interface Zone {
  site: SiteConfig;
  waiting: Wanted[];
  /** A request for this zone is waiting for the limiter (at most one per priority). */
  queued: { poll: boolean; change: boolean };
}

interface Start {
  name: string;
  type: RRType;
  identifier?: string;
}

/** Reads of record sets, gathered per hosted zone. */
export class ZoneReads {
  private readonly zones = new Map<string, Zone>();

  /**
   * @param requests reads of preflight, status and verification.
   * @param urgent the same path for a switch's reads, which go ahead of polls.
   */
  constructor(
    private readonly requests: Route53Requests,
    private readonly urgent: Route53Requests = requests,
  ) {}

  /** The record sets with the site's name and type. */
  read(site: SiteConfig, options: CallOptions & { urgent?: boolean } = {}): Promise<ResourceRecordSet[]> {
    options.signal?.throwIfAborted();
    const zoneId = stripIdPrefix(site.dns.hostedZoneId);
    let zone = this.zones.get(zoneId);
    if (!zone) {
      zone = { site, waiting: [], queued: { poll: false, change: false } };
      this.zones.set(zoneId, zone);
    }
    const current = zone;
    return new Promise((resolve, reject) => {
      const wanted: Wanted = {
        key: { name: keyOf({ Name: site.dns.recordName }).name, type: site.dns.recordType },
        found: [],
        inFlight: false,
        resolve,
        reject,
      };
      current.waiting.push(wanted);
      options.signal?.addEventListener(
        'abort',
        () => {
          this.forget(current, wanted);
          reject(options.signal?.reason);
        },
        { once: true },
      );
      this.schedule(current, options.urgent ? 'change' : 'poll');
    });
  }

  private forget(zone: Zone, wanted: Wanted): void {
    const index = zone.waiting.indexOf(wanted);
    if (index !== -1) zone.waiting.splice(index, 1);
  }

  /** Queues a request for the zone unless one of this priority (or an urgent one) already waits. */
  private schedule(zone: Zone, priority: 'poll' | 'change'): void {
    const idle = zone.waiting.some((wanted) => !wanted.inFlight);
    if (!idle || zone.queued.change || zone.queued[priority]) return;
    zone.queued[priority] = true;
    const requests = priority === 'change' ? this.urgent : this.requests;
    let sent: { start: Start; answering: Wanted[] } | undefined;
    void requests
      .call('ListResourceRecordSets', hostedZone(zone.site), (abortSignal) => {
        // Let go by the limiter: whoever waits now is answered by this page (a retry re-reads who waits).
        zone.queued[priority] = false;
        for (const wanted of sent?.answering ?? []) wanted.inFlight = false;
        const idle = zone.waiting.filter((wanted) => !wanted.inFlight);
        const start = startOf(idle);
        if (!start) {
          sent = undefined;
          return Promise.resolve(undefined);
        }
        sent = { start, answering: idle };
        for (const wanted of idle) wanted.inFlight = true;
        return requests.client.send(
          new ListResourceRecordSetsCommand({
            HostedZoneId: zone.site.dns.hostedZoneId,
            StartRecordName: start.name,
            StartRecordType: start.type,
            ...(start.identifier !== undefined && { StartRecordIdentifier: start.identifier }),
            MaxItems: idle.length > 1 ? MAX_PAGE : SINGLE_PAGE,
          }),
          { abortSignal },
        );
      })
      .then(
        (page) => {
          if (page && sent) this.answer(zone, sent.start, sent.answering, page);
        },
        (error: unknown) => {
          zone.queued[priority] = false;
          // Every read the failed request stood for fails with it, as its own request would have.
          for (const wanted of sent?.answering ?? zone.waiting.filter((w) => !w.inFlight)) {
            this.forget(zone, wanted);
            wanted.reject(error);
          }
        },
      )
      .finally(() => this.schedule(zone, priority));
  }

  private answer(zone: Zone, start: Start, answering: Wanted[], page: ListResourceRecordSetsCommandOutput) {
    const records = page.ResourceRecordSets ?? [];
    const next =
      page.IsTruncated && page.NextRecordName !== undefined
        ? {
            key: keyOf({ Name: page.NextRecordName, Type: page.NextRecordType }),
            identifier: page.NextRecordIdentifier,
          }
        : undefined;
    const startKey = keyOf({ Name: start.name, Type: start.type });
    for (const wanted of answering) {
      wanted.inFlight = false;
      if (!zone.waiting.includes(wanted)) continue;
      // The page holds this name and type from its first record set on, or from where the last page ended.
      const fromItsStart =
        wanted.resumeAt === undefined &&
        (compareKeys(startKey, wanted.key) < 0 ||
          (compareKeys(startKey, wanted.key) === 0 && start.identifier === undefined));
      const resumed =
        wanted.resumeAt !== undefined &&
        compareKeys(startKey, wanted.key) === 0 &&
        start.identifier === wanted.resumeAt;
      if (!fromItsStart && !resumed) continue;
      wanted.found.push(...records.filter((record) => compareKeys(keyOf(record), wanted.key) === 0));
      const order = next ? compareKeys(next.key, wanted.key) : 1;
      if (order > 0) {
        this.forget(zone, wanted);
        wanted.resolve(wanted.found);
      } else if (order === 0) {
        wanted.resumeAt = next?.identifier ?? '';
      }
      // order < 0: the page ended before this name; a later page starts there.
    }
  }
}

/** Where the next page starts: where a read left off inside its name, else at the first name still wanted. */
function startOf(waiting: readonly Wanted[]): Start | undefined {
  const resuming = waiting.filter((wanted) => wanted.resumeAt !== undefined);
  const pool = resuming.length > 0 ? resuming : waiting;
  const first = [...pool].sort((a, b) => compareKeys(a.key, b.key))[0];
  if (!first) return undefined;
  return {
    name: `${first.key.name}.`,
    type: first.key.type as RRType,
    ...(first.resumeAt !== undefined && { identifier: first.resumeAt }),
  };
}
