import { describe, expect, it } from 'vitest';
import { parseRedisUrl } from '../../src/config/redis-url.js';

describe('parseRedisUrl', () => {
  it('reads one server, Sentinel and Redis Cluster URLs', () => {
    expect(parseRedisUrl('rediss://:pw@redis.internal:6380/2')).toEqual({
      ok: true,
      target: { kind: 'server', url: 'rediss://:pw@redis.internal:6380/2' },
    });
    expect(parseRedisUrl('redis+sentinel://baton:s%40cret@10.0.0.1,10.0.0.2:26380/mymaster/3')).toEqual({
      ok: true,
      target: {
        kind: 'sentinel',
        sentinels: [
          { host: '10.0.0.1', port: 26379 },
          { host: '10.0.0.2', port: 26380 },
        ],
        masterName: 'mymaster',
        username: 'baton',
        password: 's@cret',
        db: 3,
        tls: false,
      },
    });
    expect(parseRedisUrl('rediss+cluster://:s%40cret@r1.internal:6379,r2.internal,10.0.0.3:7000')).toEqual({
      ok: true,
      target: {
        kind: 'cluster',
        nodes: [
          { host: 'r1.internal', port: 6379 },
          { host: 'r2.internal', port: 6379 },
          { host: '10.0.0.3', port: 7000 },
        ],
        password: 's@cret',
        tls: true,
      },
    });
  });

  it('refuses what it cannot read, saying the form, never echoing the URL', () => {
    const problems = [
      'http://user:hunter2@redis:6379',
      'redis+sentinel://:hunter2@10.0.0.1:26379',
      'redis+cluster://:hunter2@r1:99999',
      'redis+cluster://:hunter2@r1:6379,,r2:6379',
      'redis+cluster://:hunter2@r1:6379/1',
      'redis+cluster:///',
    ].map((url) => {
      const reading = parseRedisUrl(url);
      return reading.ok ? 'accepted' : reading.problem;
    });
    expect(problems).toEqual([
      expect.stringMatching(
        /^must start with redis:\/\/, rediss:\/\/, redis\+sentinel:\/\/ or redis\+cluster:\/\//,
      ),
      expect.stringMatching(/^a Sentinel URL looks like redis\+sentinel:\/\//),
      expect.stringMatching(/^a Redis Cluster URL lists startup nodes as host:port/),
      expect.stringMatching(/^a Redis Cluster URL lists startup nodes as host:port/),
      expect.stringMatching(/^a Redis Cluster has only database 0/),
      expect.stringMatching(/^a Redis Cluster URL lists startup nodes/),
    ]);
    for (const problem of problems) expect(problem).not.toContain('hunter2');
  });
});
