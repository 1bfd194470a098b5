/**
 * Per-channel pacing of Slack posts, shared by every notify worker process through Redis. Slack allows about one
 * chat.postMessage a second per channel; the pacer hands out send slots one interval apart, so a job whose slot is
 * in the future can wait as a delayed job instead of sleeping. A 429 blocks the lane until its Retry-After.
 *
 * A lane is a channel, or its updates lane: chat.update is not under chat.postMessage's limit (it is a Tier 3
 * method), so updates of a message already posted are paced alike in a lane of their own, and a run's status never
 * waits behind the thread replies queued in its channel.
 */
import type { Redis } from 'ioredis';
import type { Clock } from '../../core/ports.js';
import { NotifyKeys } from '../../store/keys.js';
import { loadScript } from '../../store/script.js';
import { STATE_TTL_MS } from './notify-jobs.js';
import type { SlotReservation } from './notify-jobs.js';

// --- Lua (`lane` is the lane's hash: next, lastSent, blockedUntil; all times in ms of the pacer's clock) ---

/** The job's send slot: its reserved one while valid, else the next free one. */
const TAKE_SLOT = loadScript('take-slot', { keys: ['lane'], args: ['now', 'interval', 'reserved', 'ttl'] });

/** The last check before a send: records the send (0), or returns a fresh slot to wait for. */
const CLAIM_SEND = loadScript('claim-send', { keys: ['lane'], args: ['now', 'interval', 'ttl', 'hold'] });

/** The send claimed in the lane was answered: the next one waits an interval from now. */
const FINISH_SEND = loadScript('finish-send', { keys: ['lane'], args: ['now', 'ttl'] });

/** The longest a claimed send holds its lane without being finished (its worker died mid-send). */
export const SEND_HOLD_MS = 10_000;

/** A 429: a later Retry-After extends the lane's block; an earlier one does not shorten it. */
const BLOCK_LANE = loadScript('block-lane', { keys: ['lane'], args: ['blockedUntil', 'ttl'] });

// --- The pacer ---

/** The lane of chat.update calls in `channel`. */
export const updatesLane = (channel: string) => `${channel}:updates`;

/** The slot a job reserved in `lane` during this attempt, if it holds one. */
export function reservedSlot(data: SlotReservation, attempt: number, lane: string): number | undefined {
  if (data.slot === undefined || data.slotAttempt !== attempt) return undefined;
  return (data.slotLane ?? lane) === lane ? data.slot : undefined;
}

export interface ChannelPacerOptions {
  redis: Redis;
  /** BullMQ prefix; the lanes live under `<prefix>:notify-state:channel:*`. */
  prefix: string;
  /** Minimum spacing of sends in a lane (ms), across every process sharing the prefix. */
  intervalMs: number;
  /** Slots are times of this clock; every process sharing a prefix must read the same time. */
  clock: Clock;
}

export class ChannelPacer {
  readonly intervalMs: number;
  private readonly redis: Redis;
  private readonly clock: Clock;
  private readonly keys: NotifyKeys;

  constructor(options: ChannelPacerOptions) {
    this.redis = options.redis;
    this.clock = options.clock;
    this.intervalMs = options.intervalMs;
    this.keys = new NotifyKeys(options.prefix);
  }

  /**
   * The send slot of a job in `lane`: `reserved` while it is still valid (a 429 since voids it), else the next free
   * one. A slot later than `clock.now()` is the job's to wait for; nobody else gets it.
   */
  async reserve(lane: string, reserved?: number): Promise<number> {
    const args = {
      now: this.clock.now(),
      interval: this.intervalMs,
      reserved: reserved ?? -1,
      ttl: STATE_TTL_MS,
    };
    return Number(await TAKE_SLOT.run(this.redis, { keys: { lane: this.keys.lane(lane) }, args }));
  }

  /**
   * Just before a send: undefined when the job may send now (recorded as the lane's last send), else a fresh slot
   * to wait for (the slot it waited for came too soon after the send before it, or inside a Retry-After).
   */
  async claim(lane: string): Promise<number | undefined> {
    const args = { now: this.clock.now(), interval: this.intervalMs, ttl: STATE_TTL_MS, hold: SEND_HOLD_MS };
    const later = Number(await CLAIM_SEND.run(this.redis, { keys: { lane: this.keys.lane(lane) }, args }));
    return later > 0 ? later : undefined;
  }

  /**
   * After a claimed send is answered, or fails: Slack counts a message when it arrives, so the lane's next send
   * waits one interval from the answer, not from the claim (a busy worker's request can reach Slack late).
   */
  async finished(lane: string): Promise<void> {
    await FINISH_SEND.run(this.redis, {
      keys: { lane: this.keys.lane(lane) },
      args: { now: this.clock.now(), ttl: STATE_TTL_MS },
    });
  }

  /** A 429: nothing is sent in `lane` for `retryAfterMs`. Returns the end of the block. */
  async block(lane: string, retryAfterMs: number): Promise<number> {
    const until = this.clock.now() + retryAfterMs;
    await BLOCK_LANE.run(this.redis, {
      keys: { lane: this.keys.lane(lane) },
      args: { blockedUntil: until, ttl: STATE_TTL_MS },
    });
    return until;
  }
}
