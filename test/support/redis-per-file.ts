/**
 * One real Redis for a test file: started before its first test and stopped after its last, with a list of
 * cleanups that runs after every test, last registered first, a failing cleanup not stopping the others.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startRedis } from '../../lab/processes/processes.js';

export interface RedisPerFile {
  /** The file's Redis; read it inside tests and hooks only (it starts in `beforeAll`). */
  readonly redis: RedisProcess;
  /** What to close after the current test (a harness, a client, a worker). */
  readonly cleanups: (() => Promise<unknown>)[];
}

/** Registers the file's hooks: call it once, at the top level of a test file. */
export function redisPerFile(): RedisPerFile {
  let started: RedisProcess | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    started = await startRedis();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
  afterAll(async () => {
    await started?.stop();
  });

  const current = (): RedisProcess => {
    if (!started) throw new Error('Redis is not started yet: use it inside a test or a hook');
    return started;
  };
  const redis: RedisProcess = {
    get port() {
      return current().port;
    },
    get url() {
      return current().url;
    },
    get dir() {
      return current().dir;
    },
    shutdown: () => current().shutdown(),
    start: () => current().start(),
    stop: () => current().stop(),
  };
  return { redis, cleanups };
}
