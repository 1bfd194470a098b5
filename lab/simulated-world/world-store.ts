/**
 * Where the simulated world's state lives: in memory, or in one Redis key that several worker processes (and a
 * test that kills them) share, updated under WATCH. Also what every simulated port is built from.
 */
import type { Redis } from 'ioredis';
import type { ClusterId } from '../../src/config/topology.js';
import type { Clock } from '../../src/core/ports.js';
import type { WorldState, WorldTiming } from './world-state.js';

export interface WorldStore {
  read(): Promise<WorldState>;
  update<T>(change: (state: WorldState) => T): Promise<T>;
}

/** What a simulated port needs: the state, time, the world's timing, and the latency and faults before a call. */
export interface WorldContext {
  store: WorldStore;
  clock: Clock;
  timing: WorldTiming;
  /** Latency and injected faults before a call; returns what to do after its effect (a `fail-after` fault). */
  enter(method: string, cluster?: ClusterId): Promise<() => void>;
}

export function memoryStore(initial: WorldState): WorldStore {
  const state = initial;
  return { read: async () => state, update: async (change) => change(state) };
}

/**
 * WATCH belongs to the connection, and EXEC forgets every key it watched: two updates interleaved on one connection
 * (two keys, e.g. several sites' worlds, or one) would both commit, the second unguarded. So the updates through one
 * connection go one at a time, whichever key they change; WATCH still guards against other processes.
 */
const lanes = new WeakMap<Redis, { tail: Promise<unknown> }>();

export function redisStore(redis: Redis, key: string): WorldStore {
  const lane = lanes.get(redis) ?? { tail: Promise.resolve() };
  lanes.set(redis, lane);
  const read = async (): Promise<WorldState> => {
    const raw = await redis.get(key);
    if (!raw) throw new Error(`simulated world ${key} is not initialised`);
    return JSON.parse(raw) as WorldState;
  };
  return {
    read,
    update<T>(change: (state: WorldState) => T): Promise<T> {
      const next = lane.tail.then(async () => {
        for (;;) {
          await redis.watch(key);
          const state = await read();
          let result: T;
          try {
            result = change(state);
          } catch (error) {
            await redis.unwatch();
            throw error;
          }
          if (await redis.multi().set(key, JSON.stringify(state)).exec()) return result;
        }
      });
      lane.tail = next.catch(() => undefined);
      return next;
    },
  };
}
