/** Kubernetes quantities as the API serves them: decimal and binary suffixes, fractions, exponents. */
import { describe, expect, it } from 'vitest';
import { cpuMillis, parseQuantity, wholeUnits } from '../../src/adapters/kubernetes/quantity.js';

describe('Kubernetes quantities', () => {
  it('reads CPU in millicores, rounding up as MilliValue does', () => {
    expect(cpuMillis('250m')).toBe(250);
    expect(cpuMillis('1.5')).toBe(1500);
    expect(cpuMillis('0.3')).toBe(300);
    expect(cpuMillis('2')).toBe(2000);
    expect(cpuMillis('1e3')).toBe(1_000_000);
    expect(cpuMillis('100u')).toBe(1);
    expect(cpuMillis('1n')).toBe(1);
    expect(cpuMillis(undefined)).toBe(0);
  });

  it('reads memory in bytes, binary and decimal suffixes alike', () => {
    expect(wholeUnits('1Gi')).toBe(1024 ** 3);
    expect(wholeUnits('128Mi')).toBe(128 * 1024 ** 2);
    expect(wholeUnits('512M')).toBe(512_000_000);
    expect(wholeUnits('1G')).toBe(1_000_000_000);
    expect(wholeUnits('1.5Gi')).toBe(1.5 * 1024 ** 3);
    expect(wholeUnits('0.5G')).toBe(500_000_000);
    expect(wholeUnits('15218612Ki')).toBe(15_218_612 * 1024);
    expect(wholeUnits('1e9')).toBe(1_000_000_000);
    expect(wholeUnits('12E-1')).toBe(2); // 1.2 bytes, rounded up
    expect(wholeUnits('110')).toBe(110);
  });

  it('refuses what is not a quantity', () => {
    for (const text of ['', 'Gi', '1 Gi', '1gi', '1.2.3', '1Xi', 'ten']) {
      expect(() => parseQuantity(text), text).toThrow(/not a Kubernetes quantity/);
    }
  });
});
