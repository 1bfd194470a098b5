import { describe, expect, it } from 'vitest';
import { BatonError } from '../../src/errors.js';
import { ACTION_IDS, decodeActionValue, encodeActionValue, isActionId } from '../../src/slack/action-ids.js';

function refused(fn: () => unknown): BatonError {
  try {
    fn();
  } catch (error) {
    if (error instanceof BatonError) return error;
    throw error;
  }
  throw new Error('expected a BatonError');
}

describe('action ids', () => {
  it('are the buttons of DESIGN §2, the split-brain risk and evacuations, distinct', () => {
    expect(Object.values(ACTION_IDS)).toEqual([
      'approve',
      'reject',
      'retry-step',
      'skip-step',
      'abort-run',
      'start-failback',
      'accept-split-brain-risk',
      'evacuation-approve-all',
      'evacuation-approve-ready',
      'evacuation-reject',
      'evacuation-site',
    ]);
    expect(new Set(Object.values(ACTION_IDS)).size).toBe(Object.values(ACTION_IDS).length);
    expect(isActionId('skip-step')).toBe(true);
    expect(isActionId('deploy')).toBe(false);
  });
});

describe('encodeActionValue / decodeActionValue', () => {
  it('round-trips a run, site and version as compact JSON', () => {
    const encoded = encodeActionValue({ runId: 'r12', site: 'production', version: 3 });
    expect(encoded).toBe('{"runId":"r12","site":"production","version":3}');
    expect(decodeActionValue(encoded)).toEqual({ runId: 'r12', site: 'production', version: 3 });
    expect(decodeActionValue(encodeActionValue({ runId: 'r1', site: 'a' }))).toEqual({
      runId: 'r1',
      site: 'a',
    });
  });

  it('carries the run segment (0 for a proposal), and still reads the version of older messages', () => {
    const encoded = encodeActionValue({ runId: 'r3', site: 'production', segment: 2 });
    expect(encoded).toBe('{"runId":"r3","site":"production","segment":2}');
    expect(decodeActionValue(encoded)).toEqual({ runId: 'r3', site: 'production', segment: 2 });
    expect(decodeActionValue(encodeActionValue({ runId: 'r3', site: 'production', segment: 0 }))).toEqual({
      runId: 'r3',
      site: 'production',
      segment: 0,
    });
    // A message posted before buttons carried the segment: still a valid click, with no segment to check.
    expect(decodeActionValue('{"runId":"r3","site":"production","version":7}')).toEqual({
      runId: 'r3',
      site: 'production',
      version: 7,
    });
    expect(
      refused(() => decodeActionValue('{"runId":"r3","site":"production","segment":-1}')).message,
    ).toContain('segment -1');
  });

  it('stays far inside Slack’s 2000 characters for the longest legal site', () => {
    const encoded = encodeActionValue({
      runId: 'r9999999999999999',
      site: 'a'.repeat(63),
      version: 2 ** 53 - 1,
    });
    expect(encoded.length).toBeLessThan(200);
  });

  it('refuses to encode what it could not decode', () => {
    expect(refused(() => encodeActionValue({ runId: '12', site: 'production' })).code).toBe(
      'invalid-action-value',
    );
    expect(refused(() => encodeActionValue({ runId: 'r1', site: 'Prod' })).message).toContain('site "Prod"');
    expect(refused(() => encodeActionValue({ runId: 'r1', site: 'p', version: 0 })).message).toContain(
      'version 0',
    );
  });

  it.each([
    ['not JSON', 'r12'],
    ['an array', '["r12","production"]'],
    ['null', 'null'],
    ['a missing site', '{"runId":"r12"}'],
    ['a numeric run id', '{"runId":12,"site":"production"}'],
    ['a run id of another shape', '{"runId":"r12:x","site":"production"}'],
    ['a site with a key separator', '{"runId":"r12","site":"prod:uction"}'],
    ['a fractional version', '{"runId":"r12","site":"production","version":1.5}'],
    ['a string version', '{"runId":"r12","site":"production","version":"3"}'],
    ['an extra field', '{"runId":"r12","site":"production","admin":true}'],
    ['more than 2000 characters', `{"runId":"r12","site":"production","x":"${'a'.repeat(2000)}"}`],
  ])('refuses %s', (_what, raw) => {
    const error = refused(() => decodeActionValue(raw));
    expect(error.code).toBe('invalid-action-value');
    expect(error.message).toMatch(/^This button's data is not Baton's \(.+\); use the newest message$/);
  });
});
