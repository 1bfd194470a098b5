import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, scrubSecrets } from '../src/logger.js';

const BOT_TOKEN = 'xoxb-1111-2222-SeCrEtBoTtOkEn';
const APP_TOKEN = 'xapp-1-A111-2222-SeCrEtApPtOkEn';
const USER_TOKEN = 'xoxp-3333-4444-SeCrEtUsErToKeN';
const DB_PASSWORD = 'Pg-SeCrEt-PaSs';
const DB_URL = `postgres://baton:${DB_PASSWORD}@east-db.internal:5432/app`;
const REDIS_PASSWORD = 'ReDiS-SeCrEt';
const BEARER = 'am-SeCrEt-BeArEr-0123456789';
const SIGNING_SECRET = 'SiGnInG-SeCrEt-abcdef';
const SECRETS = [BOT_TOKEN, APP_TOKEN, USER_TOKEN, DB_PASSWORD, REDIS_PASSWORD, BEARER, SIGNING_SECRET];

/** A logger writing into an array of parsed lines, plus the raw text to search for leaks. */
function capture() {
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw.push(chunk.toString());
      done();
    },
  });
  const log = createLogger({ level: 'trace', destination, base: { service: 'baton' } });
  return {
    log,
    text: () => raw.join(''),
    lines: () =>
      raw
        .join('')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

function expectNoSecrets(text: string): void {
  for (const secret of SECRETS) expect(text).not.toContain(secret);
  // The bare token bodies must not leak either (e.g. a prefix-less copy).
  expect(text).not.toMatch(/SeCrEt/);
}

describe('createLogger: redaction by path', () => {
  it('censors secret fields at the top level and one or two levels deep', () => {
    const { log, text, lines } = capture();
    log.info(
      {
        token: BOT_TOKEN,
        botToken: BOT_TOKEN,
        signingSecret: SIGNING_SECRET,
        appToken: APP_TOKEN,
        password: DB_PASSWORD,
        databaseUrl: DB_URL,
        connectionString: DB_URL,
        slack: { botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, token: USER_TOKEN },
        config: { slack: { appToken: APP_TOKEN }, redis: { password: REDIS_PASSWORD } },
        database: { url: DB_URL, host: 'east-db.internal' },
        headers: { authorization: `Bearer ${BEARER}`, 'content-type': 'application/json' },
        req: { method: 'POST', headers: { authorization: `Bearer ${BEARER}` } },
      },
      'starting',
    );
    expectNoSecrets(text());
    const [line] = lines();
    expect(line).toMatchObject({
      msg: 'starting',
      service: 'baton',
      token: '[redacted]',
      botToken: '[redacted]',
      password: '[redacted]',
      databaseUrl: '[redacted]',
      slack: { botToken: '[redacted]', signingSecret: '[redacted]', token: '[redacted]' },
      config: { slack: { appToken: '[redacted]' }, redis: { password: '[redacted]' } },
      database: { url: '[redacted]', host: 'east-db.internal' },
      headers: { authorization: '[redacted]', 'content-type': 'application/json' },
      req: { method: 'POST', headers: { authorization: '[redacted]' } },
    });
  });

  it('censors child bindings too', () => {
    const { log, text } = capture();
    log.child({ site: 'production', databaseUrl: DB_URL, note: `using ${DB_URL}` }).warn('child line');
    expectNoSecrets(text());
    expect(text()).toContain('"site":"production"');
  });
});

describe('createLogger: secrets embedded in strings', () => {
  it('scrubs messages, format arguments and string fields', () => {
    const { log, text, lines } = capture();
    log.info(`connecting to ${DB_URL}`);
    log.info('slack token %s and app token %s', BOT_TOKEN, APP_TOKEN);
    log.info(
      { note: `retrying with Authorization: Bearer ${BEARER}`, nested: { deep: { url: DB_URL } } },
      'x',
    );
    log.info({ redisUrl: `redis://:${REDIS_PASSWORD}@redis:6379/0` }, 'redis');
    expectNoSecrets(text());
    const [first, second, third, fourth] = lines();
    expect(first?.msg).toBe('connecting to postgres://baton:[redacted]@east-db.internal:5432/app');
    expect(second?.msg).toBe('slack token xoxb-[redacted] and app token xapp-[redacted]');
    expect(third?.note).toBe('retrying with Authorization: Bearer [redacted]');
    expect(third?.nested).toEqual({ deep: { url: 'postgres://baton:[redacted]@east-db.internal:5432/app' } });
    expect(fourth?.redisUrl).toBe('redis://:[redacted]@redis:6379/0');
  });

  it('scrubs err.message and err.stack, whether the error is the only argument or a field', () => {
    const { log, text, lines } = capture();
    const error = new Error(`connect ECONNREFUSED ${DB_URL} (token ${BOT_TOKEN})`);
    log.error(error);
    log.error({ err: error, step: 'promote-target-db' }, 'step failed');
    log.error({ error: new Error(`auth failed for ${USER_TOKEN}`) }, 'other key');
    expectNoSecrets(text());
    const [first, second, third] = lines();
    expect(first?.msg).toBe(
      'connect ECONNREFUSED postgres://baton:[redacted]@east-db.internal:5432/app (token xoxb-[redacted])',
    );
    expect((first?.err as { stack: string }).stack).toContain('postgres://baton:[redacted]@east-db.internal');
    expect(second).toMatchObject({ msg: 'step failed', step: 'promote-target-db' });
    expect((second?.err as { message: string }).message).toContain('xoxb-[redacted]');
    expect(third?.error).toMatchObject({ type: 'Error', message: 'auth failed for xoxp-[redacted]' });
  });

  it('leaves ordinary text alone', () => {
    const { log, lines } = capture();
    log.info(
      { url: 'https://active.example.com/health', email: 'sre@example.com' },
      'Basic checks passed at 12:00',
    );
    expect(lines()[0]).toMatchObject({
      msg: 'Basic checks passed at 12:00',
      url: 'https://active.example.com/health',
      email: 'sre@example.com',
    });
  });
});

describe('scrubSecrets', () => {
  it.each([
    [`token=${BOT_TOKEN}`, 'token=xoxb-[redacted]'],
    [
      'xoxa-2-abc xoxr-abc xoxs-abc xoxo-1 xoxe-1-abc',
      'xoxa-[redacted] xoxr-[redacted] xoxs-[redacted] xoxo-[redacted] xoxe-[redacted]',
    ],
    ['amqp://guest:guest@rabbit/', 'amqp://guest:[redacted]@rabbit/'],
    ['postgres://u:p@ss@db/app', 'postgres://u:[redacted]@db/app'],
    ['host=db user=baton password=hunter2 dbname=app', 'host=db user=baton password=[redacted] dbname=app'],
    ['authorization: bearer abc.def-ghi', 'authorization: bearer [redacted]'],
    ['Authorization: Basic dXNlcjpwYXNz', 'Authorization: Basic [redacted]'],
    ['https://example.com:8443/path?q=a@b', 'https://example.com:8443/path?q=a@b'],
    ['nothing to see here', 'nothing to see here'],
  ])('%s', (input, expected) => {
    expect(scrubSecrets(input)).toBe(expected);
  });
});
