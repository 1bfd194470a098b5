import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../../lab/processes/processes.js';

/** Linux's ephemeral range: outgoing connections take their local ports from it. */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    return [low ?? 32_768, high ?? 60_999];
  } catch {
    return [32_768, 60_999];
  }
}

describe('freePort', () => {
  it('hands out distinct ports outside the ephemeral range, where no outgoing connection can take one first', async () => {
    const [low, high] = ephemeralRange();
    const ports = await Promise.all(Array.from({ length: 100 }, () => freePort()));
    expect(new Set(ports).size).toBe(100);
    for (const port of ports) expect(port < low || port > high).toBe(true);
  });
});
