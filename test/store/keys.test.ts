import { describe, expect, it } from 'vitest';
import { keyPrefixes } from '../../src/config/load-config.js';
import { jobLockKey } from '../../src/queue/queues.js';
import { DEFAULT_KEY_PREFIXES, NotifyKeys, StoreKeys } from '../../src/store/keys.js';

/** What Redis Cluster hashes a key by: the first `{…}` with something inside, else the whole key. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/** Every key a builder makes, each method called with sample arguments (a new method is covered unasked). */
function everyKey(keys: object): string[] {
  const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(keys)).filter(
    (name) => name !== 'constructor',
  );
  return methods.map((name) => (keys as Record<string, (...args: string[]) => string>)[name]!('site-a', 'x'));
}

describe('key prefixes', () => {
  it('wrap the key prefix in braces for the store and for BullMQ', () => {
    expect(keyPrefixes({ keyPrefix: 'baton' })).toEqual({ store: '{baton}:', bull: '{baton}-bull' });
    expect(keyPrefixes({ keyPrefix: 'team-a' })).toEqual({ store: '{team-a}:', bull: '{team-a}-bull' });
    expect(DEFAULT_KEY_PREFIXES).toEqual(keyPrefixes({ keyPrefix: 'baton' }));
  });
});

describe('keys', () => {
  it('lay out the store under {baton}:', () => {
    const keys = new StoreKeys('{baton}:');
    expect({
      run: keys.run('r1'),
      site: keys.site('production'),
      siteRuns: keys.siteRuns('production'),
      runs: keys.runs(),
      audit: keys.audit(),
      seq: keys.seq(),
      fenceDebts: keys.fenceDebts(),
      fenceDebtLock: keys.fenceDebtLock('production'),
      pausedReminder: keys.pausedReminder('r1'),
      report: keys.report('r1'),
      world: keys.world(),
      alertRun: keys.alertRun('r1'),
      alertRunAlerts: keys.alertRunAlerts('r1'),
      alertNotice: keys.alertNotice('production', '3'),
      alertNoticeAlerts: keys.alertNoticeAlerts('production', '3'),
      alertSite: keys.alertSite('production'),
      alertNoticeSeq: keys.alertNoticeSeq(),
    }).toEqual({
      run: '{baton}:run:r1',
      site: '{baton}:site:production',
      siteRuns: '{baton}:runs:production',
      runs: '{baton}:runs',
      audit: '{baton}:audit',
      seq: '{baton}:seq',
      fenceDebts: '{baton}:fence-debts',
      fenceDebtLock: '{baton}:fence-debt-lock:production',
      pausedReminder: '{baton}:paused-reminder:r1',
      report: '{baton}:report:r1',
      world: '{baton}:world',
      alertRun: '{baton}:alerts:run:r1',
      alertRunAlerts: '{baton}:alerts:run:r1:alerts',
      alertNotice: '{baton}:alerts:notice:production:3',
      alertNoticeAlerts: '{baton}:alerts:notice:production:3:alerts',
      alertSite: '{baton}:alerts:site:production',
      alertNoticeSeq: '{baton}:alerts:notice-seq',
    });
    expect(new StoreKeys().run('r1')).toBe('{baton}:run:r1');
  });

  it('lay out the notify state beside the notify queue, under {baton}-bull:notify-state:', () => {
    const keys = new NotifyKeys('{baton}-bull');
    expect([
      keys.status('run:production:r1'),
      keys.lock('run:production:r1'),
      keys.lane('C1:updates'),
      keys.reply('t', 'd'),
      keys.thread('t'),
    ]).toEqual([
      '{baton}-bull:notify-state:status:run:production:r1',
      '{baton}-bull:notify-state:lock:run:production:r1',
      '{baton}-bull:notify-state:channel:C1:updates',
      '{baton}-bull:notify-state:reply:dA:ZA',
      '{baton}-bull:notify-state:thread:dA',
    ]);
  });

  it("share one hash tag with BullMQ's keys, so every script and transaction stays in one slot", () => {
    const prefixes = keyPrefixes({ keyPrefix: 'team-a' });
    const all = [
      ...everyKey(new StoreKeys(prefixes.store)),
      ...everyKey(new NotifyKeys(prefixes.bull)),
      jobLockKey(prefixes.bull, 'failover-production-r1'),
      `${prefixes.bull}:runs:wait`,
    ];
    expect(all.length).toBeGreaterThan(20);
    expect(new Set(all.map(hashTag))).toEqual(new Set(['team-a']));
  });
});
