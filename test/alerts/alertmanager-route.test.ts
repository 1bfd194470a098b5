import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bearerMatches } from '../../src/alerts/alertmanager-route.js';

const digest = (text: string) => createHash('sha256').update(text).digest();

describe('bearerMatches', () => {
  const expected = digest('s3cret-token');

  it('accepts the token in any case of the scheme, with surrounding blanks', () => {
    expect(bearerMatches('Bearer s3cret-token', expected)).toBe(true);
    expect(bearerMatches('bearer s3cret-token', expected)).toBe(true);
    expect(bearerMatches('Bearer \ts3cret-token ', expected)).toBe(true);
  });

  it('refuses anything else', () => {
    for (const header of [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      's3cret-token',
      'Basic s3cret-token',
      'Bearer s3cret-token2',
      'Bearer s3cret-toke',
      'Bearer s3cret token',
      'Bearer S3CRET-TOKEN',
    ]) {
      expect([header, bearerMatches(header, expected)]).toEqual([header, false]);
    }
    // An empty expected token is refused at construction (alertmanagerRoute); the digest of "" never matches "".
    expect(bearerMatches('Bearer ', digest(''))).toBe(false);
  });
});
