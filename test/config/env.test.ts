import { describe, expect, it } from 'vitest';
import { loadEnv, parseEnv } from '../../src/config/env.js';
import { BatonError } from '../../src/errors.js';

describe('loadEnv', () => {
  it('fills defaults from an empty environment', () => {
    expect(loadEnv({})).toEqual({
      redisUrl: 'redis://127.0.0.1:6379',
      redisUrlGiven: false,
      batonConfig: './baton.yaml',
      port: 3000,
      logLevel: 'info',
      keyPrefix: 'baton',
      route53MaxRequestsPerSecond: 5,
    });
  });

  it('reads every variable', () => {
    expect(
      loadEnv({
        SLACK_BOT_TOKEN: 'xoxb-1-2-abc',
        SLACK_SIGNING_SECRET: 'shh',
        SLACK_APP_TOKEN: 'xapp-1-abc',
        SLACK_API_URL: 'http://127.0.0.1:4000/api/',
        REDIS_URL: 'rediss://:pw@redis.internal:6380/2',
        BATON_CONFIG: '/etc/baton/baton.yaml',
        ALERTMANAGER_TOKEN: 'am-token',
        PORT: '8080',
        LOG_LEVEL: 'DEBUG',
        KUBECONFIG: 'a.yaml:b.yaml',
        AWS_ENDPOINT_URL_ROUTE_53: 'http://127.0.0.1:4566',
        BATON_KEY_PREFIX: 'team-a',
        BATON_SANDBOX_PORT: '8099',
        BATON_ROUTE53_MAX_REQUESTS_PER_SECOND: '3',
        UNRELATED: 'ignored',
      }),
    ).toEqual({
      slackBotToken: 'xoxb-1-2-abc',
      slackSigningSecret: 'shh',
      slackAppToken: 'xapp-1-abc',
      slackApiUrl: 'http://127.0.0.1:4000/api/',
      redisUrl: 'rediss://:pw@redis.internal:6380/2',
      redisUrlGiven: true,
      batonConfig: '/etc/baton/baton.yaml',
      alertmanagerToken: 'am-token',
      port: 8080,
      logLevel: 'debug',
      kubeconfig: 'a.yaml:b.yaml',
      awsEndpointUrlRoute53: 'http://127.0.0.1:4566',
      keyPrefix: 'team-a',
      sandboxPort: 8099,
      route53MaxRequestsPerSecond: 3,
    });
  });

  it('refuses a Route 53 rate that is not a whole number from 1 to 100', () => {
    for (const value of ['0', '2.5', 'five', '101']) {
      expect(parseEnv({ BATON_ROUTE53_MAX_REQUESTS_PER_SECOND: value })).toEqual({
        ok: false,
        problems: [
          'BATON_ROUTE53_MAX_REQUESTS_PER_SECOND: must be a whole number of requests per second from 1 to 100 ' +
            '(Route 53 allows 5 per account)',
        ],
      });
    }
  });

  it('reads the run and Kubernetes write limits, and refuses values outside their ranges', () => {
    const read = parseEnv({ BATON_RUN_CONCURRENCY: '24', BATON_KUBE_WRITES_PER_SECOND: '50' });
    expect(read.ok && read.env.runConcurrency).toBe(24);
    expect(read.ok && read.env.kubeWritesPerSecond).toBe(50);
    for (const value of ['0', '65', '1.5', 'many']) {
      expect(parseEnv({ BATON_RUN_CONCURRENCY: value })).toEqual({
        ok: false,
        problems: ['BATON_RUN_CONCURRENCY: must be a whole number of runs at once from 1 to 64'],
      });
    }
    expect(parseEnv({ BATON_KUBE_WRITES_PER_SECOND: '0' })).toMatchObject({ ok: false });
  });

  it('reads how long the CLI waits for Redis as a duration, and refuses a bare number or an absurd one', () => {
    const read = parseEnv({ BATON_REDIS_TIMEOUT: '10s' });
    expect(read.ok && read.env.redisTimeoutMs).toBe(10_000);
    expect(parseEnv({}).ok && (parseEnv({}) as { env: object }).env).not.toHaveProperty('redisTimeoutMs');
    for (const value of ['1h', '10ms']) {
      expect(parseEnv({ BATON_REDIS_TIMEOUT: value })).toEqual({
        ok: false,
        problems: ['BATON_REDIS_TIMEOUT: must be from 100ms to 5m, like 3s or 10s'],
      });
    }
    for (const value of ['10', 'soon']) {
      expect(parseEnv({ BATON_REDIS_TIMEOUT: value })).toEqual({
        ok: false,
        problems: [
          `BATON_REDIS_TIMEOUT: ${JSON.stringify(value)} is not a duration: use a number and a unit (ms, s, m, h), ` +
            'e.g. 90s, 15m or 1h30m',
        ],
      });
    }
  });

  it('refuses a key prefix that would not make a clean Redis key, and a bad sandbox port', () => {
    expect(parseEnv({ BATON_KEY_PREFIX: 'Team A', BATON_SANDBOX_PORT: 'x' })).toEqual({
      ok: false,
      problems: [
        'BATON_KEY_PREFIX: must be 1–41 lowercase letters, digits, - or _ (it becomes part of every Redis key)',
        'BATON_SANDBOX_PORT: must be a port number (0: any free port), got "x"',
      ],
    });
  });

  it('reads BATON_ALLOW_INSECURE_KUBE only as 1 (or 0), and sets nothing otherwise', () => {
    expect(loadEnv({ BATON_ALLOW_INSECURE_KUBE: '1' }).allowInsecureKube).toBe(true);
    expect(loadEnv({ BATON_ALLOW_INSECURE_KUBE: '0' })).toEqual(loadEnv({}));
    expect(loadEnv({})).not.toHaveProperty('allowInsecureKube');
    expect(parseEnv({ BATON_ALLOW_INSECURE_KUBE: 'true' })).toEqual({
      ok: false,
      problems: ['BATON_ALLOW_INSECURE_KUBE: must be 1 (accept insecure-skip-tls-verify clusters) or 0'],
    });
  });

  it('lets a command change what an unset variable means', () => {
    expect(loadEnv({}).logLevel).toBe('info');
    expect(parseEnv({}, { logLevel: 'warn' })).toMatchObject({ ok: true, env: { logLevel: 'warn' } });
    expect(parseEnv({ LOG_LEVEL: 'debug' }, { logLevel: 'warn' })).toMatchObject({
      env: { logLevel: 'debug' },
    });
  });

  it('treats empty values as unset', () => {
    expect(loadEnv({ PORT: '', SLACK_APP_TOKEN: '', REDIS_URL: ' ' })).toEqual(loadEnv({}));
  });

  it('lists every bad variable in one config-invalid error, without echoing secrets', () => {
    let caught: unknown;
    try {
      loadEnv({
        PORT: '70000',
        LOG_LEVEL: 'loud',
        SLACK_BOT_TOKEN: 'xoxp-user-token-secret',
        SLACK_APP_TOKEN: 'not-an-app-token',
        REDIS_URL: 'http://user:hunter2@redis:6379',
        SLACK_API_URL: 'nope',
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BatonError);
    const error = caught as BatonError;
    expect(error.code).toBe('config-invalid');
    expect(error.retriable).toBe(false);
    for (const name of [
      'PORT',
      'LOG_LEVEL',
      'SLACK_BOT_TOKEN',
      'SLACK_APP_TOKEN',
      'REDIS_URL',
      'SLACK_API_URL',
    ]) {
      expect(error.message).toContain(`${name}:`);
    }
    expect(error.message).toMatch(/^invalid environment \(6 problems\):/);
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('user-token-secret');
  });

  it.each(['65536', '3000.5', 'abc', '-1', '80 80'])('rejects PORT=%s', (port) => {
    expect(parseEnv({ PORT: port })).toEqual({
      ok: false,
      problems: [
        `PORT: must be an integer from 1 to 65535 (or 0: any free port), got ${JSON.stringify(port)}`,
      ],
    });
  });

  it.each(['0', '1', '65535'])('accepts PORT=%s', (port) => {
    expect(loadEnv({ PORT: port }).port).toBe(Number(port));
  });

  it('accepts every pino level, including silent', () => {
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) {
      expect(loadEnv({ LOG_LEVEL: level }).logLevel).toBe(level);
    }
  });

  it('accepts Sentinel-style Redis URLs', () => {
    expect(loadEnv({ REDIS_URL: 'redis+sentinel://s1:26379,s2:26379/mymaster' }).redisUrl).toBe(
      'redis+sentinel://s1:26379,s2:26379/mymaster',
    );
  });

  it('accepts Redis Cluster URLs and refuses a bad one, saying what it should look like', () => {
    expect(loadEnv({ REDIS_URL: 'redis+cluster://r1:6379,r2:6380' }).redisUrl).toBe(
      'redis+cluster://r1:6379,r2:6380',
    );
    expect(parseEnv({ REDIS_URL: 'redis+cluster://:hunter2@r1:6379,r2:notaport' })).toEqual({
      ok: false,
      problems: [
        'REDIS_URL: a Redis Cluster URL lists startup nodes as host:port, like redis+cluster://host1:6379,host2:6379,host3:6379',
      ],
    });
    expect(parseEnv({ REDIS_URL: 'redis+cluster://r1:6379/2' })).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/^REDIS_URL: a Redis Cluster has only database 0/)],
    });
  });
});
