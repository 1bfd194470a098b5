import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startRedis } from '../../lab/processes/processes.js';
import { loadScript } from '../../src/store/script.js';
// Every module that loads scripts: importing them checks each caller's names against its script's header.
import '../../src/store/incidents/incident-scripts.js';
import '../../src/queue/notify/channel-pacer.js';
import '../../src/queue/notify/status-coalescer.js';
import '../../src/queue/notify/thread-order.js';
import '../../src/queue/paused-reminders.js';
import '../../src/store/run-store.js';

const LUA = new URL('../../src/store/lua/', import.meta.url);
const files = readdirSync(LUA).filter((file) => file.endsWith('.lua'));

/** The names a script's header declares under `label`, without the optional marker. */
const declared = (text: string, label: 'KEYS' | 'ARGV') =>
  [...text.matchAll(new RegExp(`^-- ${label}:(.*)$`, 'gm'))]
    .flatMap((line) => (line[1] ?? '').split(/\s+/).filter(Boolean))
    .map((name) => name.replace(/\?$/, ''));
const used = (text: string, table: 'KEY' | 'ARG') =>
  new Set([...text.matchAll(new RegExp(`\\b${table}\\.(\\w+)`, 'g'))].map((match) => match[1]));

describe.each(files)('lua/%s', (file) => {
  const text = readFileSync(new URL(file, LUA), 'utf8');

  it('touches only keys passed in KEYS: every command names a declared key', () => {
    const keys = declared(text, 'KEYS');
    const calls = [...text.matchAll(/redis\.call\(\s*'(\w+)'\s*,\s*([^,)]+)/g)];
    expect(calls.length).toBeGreaterThan(0);
    for (const [, command, key] of calls) {
      expect(`${command} ${key?.trim()}`).toMatch(/^\w+ KEY\.\w+$/);
      expect(keys).toContain(key?.trim().slice('KEY.'.length));
    }
  });

  it('reads its keys and arguments by the names its header declares, and each of them', () => {
    expect(text).not.toMatch(/\b(KEYS|ARGV)\[/);
    expect(used(text, 'KEY')).toEqual(new Set(declared(text, 'KEYS')));
    expect(used(text, 'ARG')).toEqual(new Set(declared(text, 'ARGV')));
  });
});

describe('loadScript', () => {
  let redis: RedisProcess;
  let client: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    client.disconnect();
    await redis.stop();
  });

  it('refuses a caller whose names or order differ from the header', () => {
    expect(() => loadScript('claim-flag', { keys: ['incident'], args: ['value', 'flag'] })).toThrow(
      'lua/claim-flag.lua declares ARGV: flag value; its caller: value flag',
    );
    expect(() => loadScript('release-lock', { keys: ['lock', 'other'], args: ['holder'] })).toThrow(
      /declares KEYS: lock;/,
    );
  });

  it('sends named keys and arguments in the declared order', async () => {
    const claim = loadScript('claim-flag', { keys: ['incident'], args: ['flag', 'value'] });
    await client.hset('{t}:alerts:run:r1', 'firing', '1');
    const call = { keys: { incident: '{t}:alerts:run:r1' }, args: { flag: 'announced', value: 'yes' } };
    expect(await claim.run(client, call)).toBe(1);
    expect(await claim.run(client, call)).toBe(0);
    expect(await client.hget('{t}:alerts:run:r1', 'flag:announced')).toBe('yes');
  });

  it('refuses a call without a key or an argument it declares', async () => {
    const claim = loadScript('claim-flag', { keys: ['incident'], args: ['flag', 'value'] });
    const noValue = { keys: { incident: '{t}:x' }, args: { flag: 'f' } } as unknown as Parameters<
      typeof claim.run
    >[1];
    await expect(claim.run(client, noValue)).rejects.toThrow('script claim-flag: argument value missing');
    const noKey = { keys: {}, args: { flag: 'f', value: '1' } } as unknown as Parameters<typeof claim.run>[1];
    await expect(claim.run(client, noKey)).rejects.toThrow('script claim-flag: key incident missing');
  });

  it('leaves out an optional key that is not given (never sent as an empty key)', async () => {
    const save = loadScript('save-run', {
      keys: ['run', 'site', 'audit', 'report', 'lock?'],
      args: [
        'version',
        'data',
        'token',
        'state',
        'terminal',
        'runId',
        'serving',
        'servingSince',
        'servingKind',
        'auditFields',
        'reportData',
      ],
    });
    await client.hset('{t}:run:r1', 'version', '1', 'data', '{}', 'state', 'approved');
    const call = {
      keys: { run: '{t}:run:r1', site: '{t}:site:s', audit: '{t}:audit', report: '{t}:report:r1' },
      args: {
        version: 1,
        data: '{"v":2}',
        token: '',
        state: 'running',
        terminal: '0',
        runId: 'r1',
        serving: '',
        servingSince: 0,
        servingKind: 'failover',
        auditFields: JSON.stringify(['action', 'started']),
        reportData: '',
      },
    };
    expect(await save.run(client, call)).toBe(1);
    await client.set('{t}:lock', 'theirs');
    const leased = { ...call, keys: { ...call.keys, lock: '{t}:lock' }, args: { ...call.args, version: 2 } };
    expect(await save.run(client, { ...leased, args: { ...leased.args, token: 'mine' } })).toBe(-2);
  });
});
