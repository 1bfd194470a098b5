import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A Lua script run by sha, loaded again when Redis has forgotten it (first use, restart, SCRIPT FLUSH). Every key
 * the script touches is passed in `keys`.
 */
export class Script {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    // One array (ioredis flattens it): an alert storm's 80,000 arguments would overflow a spread call's stack.
    const all = [...keys, ...args.map(String)];
    try {
      return await redis.evalsha(this.sha, keys.length, all);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.includes('NOSCRIPT')) throw error;
      return redis.eval(this.source, keys.length, all);
    }
  }
}
