/**
 * The sandbox on a machine without the PostgreSQL server programs: it says so, the site has no database, and a
 * failover runs every other step against the stand-ins through a real `baton start`.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findButton } from '../../lab/drill/drill.js';
import type { Sandbox } from '../../lab/sandbox/stack.js';
import { startSandbox } from '../../lab/sandbox/stack.js';
import { waitFor } from '../support/integration.js';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({
    database: 'off',
    monitoring: 'off',
    podReadyAfterMs: 300,
    insyncAfterMs: 300,
  });
}, 90_000);
afterAll(async () => {
  await sandbox?.stop();
}, 60_000);

describe('the sandbox without PostgreSQL', () => {
  it('says so and fails over without the database steps', async () => {
    expect(sandbox.notes.join('\n')).toContain('Running without the database steps');
    expect(sandbox.lab.postgres).toBeNull();
    expect(sandbox.site.database).toBeUndefined();
    expect((await sandbox.world()).clusters.map((c) => c.database)).toEqual([null, null]);

    const asked = await sandbox.as.command('U0DAVE', '/failover', '--planned no database here');
    expect(asked.status).toBe(200);
    const run = await waitFor('the proposal', async () => sandbox.store.openRun(sandbox.site.name), 20_000);
    const button = await waitFor(
      'its Approve button',
      async () => findButton(sandbox.slack.messages(sandbox.channel.id), run.id, 'approve'),
      20_000,
    );
    const click = await sandbox.as.click('U0ALICE', {
      messageTs: button.message.ts,
      actionId: 'approve',
      value: button.value,
    });
    expect(click.status).toBe(200);
    const done = await waitFor(
      `run ${run.id} to end`,
      async () => {
        const r = await sandbox.store.get(run.id);
        return r && ['succeeded', 'paused', 'failed'].includes(r.state) ? r : undefined;
      },
      60_000,
    ).catch(async (error: unknown) => {
      // Say why: the run's state, what Slack showed alice, and what Baton logged about the click.
      const log = await readFile(sandbox.baton.logFile, 'utf8').catch(() => '');
      throw new Error(
        `${String(error)}; run is ${(await sandbox.store.get(run.id))?.state}; alice saw ` +
          `${JSON.stringify(sandbox.slack.ephemerals({ user: 'U0ALICE' }).map((e) => e.text))}; Baton logged:\n` +
          log
            .split('\n')
            .filter((line) => /click|approv|"level":(40|50)/.test(line))
            .join('\n'),
      );
    });
    expect(done.state, done.stateReason).toBe('succeeded');
    expect(Object.keys(done.steps).sort()).toEqual(
      ['fence-source', 'preflight', 'scale-down-source', 'scale-up-target', 'switch-dns', 'verify'].sort(),
    );
    expect(await sandbox.lab.servedBy()).toBe('west');
  }, 120_000);
});
