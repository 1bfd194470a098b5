/**
 * The hosted zones and their changes. A committed change batch shows in the API at once and becomes what the
 * name servers serve when it is INSYNC; changes to one zone become INSYNC in the order they were submitted.
 */
import { randomBytes } from 'node:crypto';
import { compareRecords, cloneRecord, normalizeRecord } from './record-sets.js';
import type { StoredRecord } from './record-sets.js';
import { ApiError } from './route53-errors.js';
import { inZone, plainName, route53Name } from './route53-names.js';
import type { ChangeView, HostedZoneSeed } from './route53-types.js';

export interface ZoneState {
  id: string;
  /** route53Name form. */
  name: string;
  callerReference: string;
  nameServers: string[];
  /** What the API shows, in ListResourceRecordSets order. */
  records: StoredRecord[];
  /** What the DNS servers serve: snapshots taking effect at `at` (a change's INSYNC time), oldest first. */
  published: { at: number; records: StoredRecord[] }[];
  lastInsyncAt: number;
}

export interface ChangeState {
  id: string;
  zoneId: string;
  submittedAt: number;
  insyncAt: number;
  comment?: string;
}

const DEFAULT_NAME_SERVERS = [
  'ns-1536.awsdns-00.co.uk',
  'ns-0.awsdns-00.com',
  'ns-1024.awsdns-00.org',
  'ns-512.awsdns-00.net',
];

const randomChangeId = (): string => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return `C${[...randomBytes(13)].map((byte) => alphabet[byte % alphabet.length]).join('')}`;
};

/** A seeded zone, with the NS and SOA records Route 53 creates at the apex of every hosted zone. */
function zoneFromSeed(seed: HostedZoneSeed): ZoneState {
  const id = seed.id.replace(/^\/hostedzone\//, '');
  const name = route53Name(seed.name);
  const nameServers = seed.nameServers ?? DEFAULT_NAME_SERVERS;
  const records: StoredRecord[] = [
    { name, type: 'NS', ttl: 172800, values: nameServers.map((server) => `${plainName(server)}.`) },
    {
      name,
      type: 'SOA',
      ttl: 900,
      values: [
        `${plainName(nameServers[0] ?? 'ns-0.awsdns-00.com')}. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400`,
      ],
    },
  ];
  for (const spec of seed.records ?? []) {
    const record = normalizeRecord(spec);
    if (!inZone(plainName(record.name), plainName(name))) {
      throw new Error(`seed record ${record.name} is not in zone ${name}`);
    }
    records.push(record);
  }
  records.sort(compareRecords);
  return {
    id,
    name,
    callerReference: `baton-stand-in-${id}`,
    nameServers: [...nameServers],
    records,
    published: [{ at: Number.NEGATIVE_INFINITY, records: records.map(cloneRecord) }],
    lastInsyncAt: Number.NEGATIVE_INFINITY,
  };
}

export class HostedZones {
  private readonly zones = new Map<string, ZoneState>();
  private readonly changeLog = new Map<string, ChangeState>();

  constructor(
    seeds: readonly HostedZoneSeed[],
    private readonly now: () => number,
  ) {
    for (const seed of seeds) {
      const zone = zoneFromSeed(seed);
      this.zones.set(zone.id, zone);
    }
  }

  /** The zone, or the API's NoSuchHostedZone. */
  get(id: string): ZoneState {
    const zone = this.zones.get(id);
    if (!zone) throw new ApiError(404, 'NoSuchHostedZone', `No hosted zone found with ID: ${id}`);
    return zone;
  }

  find(id: string): ZoneState | undefined {
    return this.zones.get(id);
  }

  /** The most specific zone `name` (plain form) falls in. */
  zoneFor(name: string): ZoneState | undefined {
    let best: ZoneState | undefined;
    for (const zone of this.zones.values()) {
      const zonePlain = plainName(zone.name);
      if (inZone(name, zonePlain) && (!best || zonePlain.length > plainName(best.name).length)) best = zone;
    }
    return best;
  }

  /** Replaces the zone's records with a validated batch's result; the change is PENDING for `insyncAfterMs`. */
  commit(
    zone: ZoneState,
    records: StoredRecord[],
    comment: string | undefined,
    insyncAfterMs: number,
  ): ChangeState {
    const submittedAt = this.now();
    // A change never becomes INSYNC before an earlier one to the same zone.
    const insyncAt = Math.max(submittedAt + insyncAfterMs, zone.lastInsyncAt);
    zone.lastInsyncAt = insyncAt;
    zone.records = [...records].sort(compareRecords);
    zone.published.push({ at: insyncAt, records: zone.records.map(cloneRecord) });
    const change: ChangeState = { id: randomChangeId(), zoneId: zone.id, submittedAt, insyncAt };
    if (comment !== undefined) change.comment = comment;
    this.changeLog.set(change.id, change);
    return change;
  }

  change(id: string): ChangeState | undefined {
    return this.changeLog.get(id.replace(/^\/change\//, ''));
  }

  status(change: ChangeState): 'PENDING' | 'INSYNC' {
    return this.now() >= change.insyncAt ? 'INSYNC' : 'PENDING';
  }

  view(change: ChangeState): ChangeView {
    return {
      id: change.id,
      zoneId: change.zoneId,
      status: this.status(change),
      submittedAt: new Date(change.submittedAt).toISOString(),
      ...(change.comment !== undefined && { comment: change.comment }),
    };
  }

  /** All changes, oldest first. */
  changes(): ChangeView[] {
    return [...this.changeLog.values()].map((change) => this.view(change));
  }

  /** The records the name servers answer from at `time`: those of the newest change INSYNC by then. */
  served(zone: ZoneState, time: number): StoredRecord[] {
    let current = zone.published[0]?.records ?? [];
    let keepFrom = 0;
    zone.published.forEach((snapshot, index) => {
      if (snapshot.at <= time) {
        current = snapshot.records;
        keepFrom = index;
      }
    });
    // Older snapshots can never be served again.
    if (keepFrom > 0) zone.published.splice(0, keepFrom);
    return current;
  }
}
