/** The README's first command: a failover and a failback of the example site, reported as an operator reads it. */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { runSandbox } from '../../src/sandbox/run-sandbox.js';

describe('npm run sandbox', () => {
  it('fails over and back, and says where traffic and the primary database are', async () => {
    const lines: string[] = [];
    const code = await runSandbox({
      log: createLogger({ level: 'silent' }),
      print: (line) => lines.push(line),
    });
    const text = lines.join('\n');
    expect(code, text).toBe(0);
    expect(text).toContain('■ failover succeeded');
    expect(text).toContain('DNS serves west; databases: east fenced old primary, west primary');
    expect(text).toContain('■ failback succeeded');
    expect(text).toContain('DNS serves east; databases: east primary, west fenced old primary');
    expect(text).toMatch(/r1\s+run-approved\s+U0ALICE/);
  }, 60_000);
});
