/**
 * Evacuations in Redis (src/core/evacuation/): the record (JSON with a version for optimistic concurrency), one open
 * evacuation per cluster and kind, and which evacuation one firing of an alert proposed. Both changes that touch
 * more than one key are one script each, every key under the store's hash tag.
 */
import type { Redis } from 'ioredis';
import type { Evacuation } from '../core/evacuation/evacuation.js';
import { BatonError } from '../errors.js';
import { StoreKeys } from './keys.js';
import { loadScript } from './script.js';

const CREATE = loadScript('create-evacuation', {
  keys: ['evacuation', 'open', 'alert?'],
  args: ['id', 'data', 'expectedOpen', 'alertTtlMs'],
});
const SAVE = loadScript('save-evacuation', {
  keys: ['evacuation', 'open'],
  args: ['version', 'data', 'id', 'release'],
});

/** How long a firing alert is remembered as having proposed its evacuation. */
const ALERT_MEMORY_MS = 24 * 3600_000;

/** The alert firing behind a proposal: a repeat (Alertmanager, both replicas, other sites' rules) is the same. */
export interface AlertFiring {
  fingerprint: string;
  startsAt: string;
}

export type CreateResult =
  | { outcome: 'created'; id: string }
  /** The cluster has an open evacuation: the id the marker holds (the caller decides whether it is still open). */
  | { outcome: 'marker-moved'; open: string }
  | { outcome: 'alert-seen'; id: string };

export class EvacuationStore {
  private readonly key: StoreKeys;

  constructor(
    private readonly redis: Redis,
    prefix?: string,
  ) {
    this.key = new StoreKeys(prefix);
  }

  async nextId(): Promise<string> {
    return `e${await this.redis.incr(this.key.evacuationSeq())}`;
  }

  async get(id: string): Promise<Evacuation | null> {
    const raw = await this.redis.hget(this.key.evacuation(id), 'data');
    return raw ? (JSON.parse(raw) as Evacuation) : null;
  }

  /** The evacuation's version (null when none): a cheap look before reading the whole record again. */
  async versionOf(id: string): Promise<number | null> {
    const raw = await this.redis.hget(this.key.evacuation(id), 'version');
    return raw === null ? null : Number(raw);
  }

  async require(id: string): Promise<Evacuation> {
    const evacuation = await this.get(id);
    if (!evacuation) {
      throw new BatonError('evacuation-not-found', `No evacuation ${id}; use the newest evacuation message`);
    }
    return evacuation;
  }

  /** The evacuation this alert firing already proposed, if any ('' when none). */
  async proposedFor(alert: AlertFiring): Promise<string> {
    return (await this.redis.get(this.key.evacuationAlert(alert.fingerprint, alert.startsAt))) ?? '';
  }

  /** The id the cluster's open marker holds ('' when none). */
  async openId(kind: string, cluster: string): Promise<string> {
    return (await this.redis.get(this.key.evacuationOpen(kind, cluster))) ?? '';
  }

  /** Creates `evacuation` if the cluster's marker still holds `expectedOpen` and the alert firing is new. */
  async create(evacuation: Evacuation, expectedOpen: string, alert?: AlertFiring): Promise<CreateResult> {
    const [code, id] = (await CREATE.run(this.redis, {
      keys: {
        evacuation: this.key.evacuation(evacuation.id),
        open: this.key.evacuationOpen(evacuation.kind, evacuation.cluster),
        ...(alert && { alert: this.key.evacuationAlert(alert.fingerprint, alert.startsAt) }),
      },
      args: {
        id: evacuation.id,
        data: JSON.stringify({ ...evacuation, version: 1 }),
        expectedOpen,
        alertTtlMs: ALERT_MEMORY_MS,
      },
    })) as [number, string];
    if (code === 1) return { outcome: 'created', id };
    if (code === 0) return { outcome: 'alert-seen', id };
    return { outcome: 'marker-moved', open: id };
  }

  /** Saves over `evacuation.version`; `release` frees the cluster for a new evacuation. Returns the saved one. */
  async save(evacuation: Evacuation, release = false): Promise<Evacuation> {
    const next = { ...evacuation, version: evacuation.version + 1 };
    const result = (await SAVE.run(this.redis, {
      keys: {
        evacuation: this.key.evacuation(evacuation.id),
        open: this.key.evacuationOpen(evacuation.kind, evacuation.cluster),
      },
      args: {
        version: evacuation.version,
        data: JSON.stringify(next),
        id: evacuation.id,
        release: release ? 1 : 0,
      },
    })) as number;
    if (result === -3) throw new BatonError('evacuation-not-found', `No evacuation ${evacuation.id}`);
    if (result === -1) {
      throw new BatonError('evacuation-conflict', `evacuation ${evacuation.id} changed meanwhile`, {
        retriable: true,
      });
    }
    return next;
  }

  /** Read-modify-write with optimistic retries; `change` may throw to refuse. */
  async mutate(
    id: string,
    change: (evacuation: Evacuation) => { evacuation: Evacuation; release?: boolean },
  ): Promise<Evacuation> {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const { evacuation, release } = change(await this.require(id));
      try {
        return await this.save(evacuation, release);
      } catch (error) {
        if (error instanceof BatonError && error.code === 'evacuation-conflict') continue;
        throw error;
      }
    }
    throw new BatonError('evacuation-conflict', `evacuation ${id} is changing too fast; try again`, {
      retriable: true,
    });
  }
}
