/**
 * The sandbox with several sites (`npm run sandbox -- --sites N`), through its page's server as the browser uses it:
 * the state lists every site and where DNS sends it, the page loads its sites script, and the command the page's
 * button sends (`/failover --cluster east`) puts one evacuation message in the channel whose table names every site
 * and follows their runs, until DNS serves every site from west.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleServer } from '../../lab/sandbox/console/console-server.js';
import { startConsoleServer } from '../../lab/sandbox/console/console-server.js';
import type { Sandbox } from '../../lab/sandbox/stack.js';
import { startSandbox } from '../../lab/sandbox/stack.js';
import { createLogger } from '../../src/logger.js';
import { waitFor } from '../support/integration.js';

const SITES = ['production', 'app-02', 'app-03'];

interface PageState {
  site: string;
  sites: { name: string; record: string; home: string; servedBy: string | null }[];
  messages: {
    ts: string;
    text: string;
    blocks: { type: string; block_id?: string; elements?: unknown[] }[];
  }[];
}

let sandbox: Sandbox;
let page: ConsoleServer;

beforeAll(async () => {
  sandbox = await startSandbox({
    sites: SITES.length,
    database: 'off',
    monitoring: 'off',
    podReadyAfterMs: 300,
    insyncAfterMs: 300,
  });
  page = await startConsoleServer(sandbox, { port: 0, log: createLogger({ level: 'silent' }) });
}, 90_000);
afterAll(async () => {
  await page?.close();
  await sandbox?.stop();
}, 60_000);

const state = async (): Promise<PageState> =>
  (await (await fetch(new URL('/api/state?user=U0DAVE', page.url))).json()) as PageState;

const post = (path: string, body: unknown) =>
  fetch(new URL(path, page.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** The evacuation's message on the page, once it says `until` of it. */
const evacuationMessage = (until: (text: string) => boolean, what: string) =>
  waitFor(
    what,
    async () =>
      (await state()).messages.find((m) => /Evacuation /.test(m.text) && until(JSON.stringify(m.blocks))),
    60_000,
    250,
  );

describe('the sandbox with 3 sites', () => {
  it('serves the sites script and lists every site, served by east', async () => {
    const html = await (await fetch(page.url)).text();
    expect(html).toContain('id="sites"');
    const script = await fetch(new URL('/sites.js', page.url));
    expect(script.status).toBe(200);
    expect(await script.text()).toContain('export function renderSites');

    const now = await state();
    expect(now.site).toBe('production');
    expect(now.sites.map((s) => [s.name, s.record, s.servedBy])).toEqual([
      ['production', 'app.example.com', 'east'],
      ['app-02', 'app-02.example.com', 'east'],
      ['app-03', 'app-03.example.com', 'east'],
    ]);
  });

  it('proposes every site east serves in one message, whose table follows the runs to west', async () => {
    const asked = await post('/api/command', { user: 'U0DAVE', text: '/failover --cluster east' });
    expect(asked.status).toBe(200);
    const proposed = await evacuationMessage(
      (blocks) => SITES.every((s) => blocks.includes(s)) && blocks.includes('Approve all'),
      'the evacuation proposal with every site in its table',
    );
    expect((await state()).messages.filter((m) => /Evacuation /.test(m.text))).toHaveLength(1);

    const decision = proposed.blocks.find((b) => b.block_id?.startsWith('evacuation-decision-'));
    const approveAll = (decision?.elements as { action_id: string; value: string }[] | undefined)?.find(
      (e) => e.action_id === 'evacuation-approve-all',
    );
    if (!decision?.block_id || !approveAll) throw new Error(`no Approve all: ${proposed.text}`);
    const click = await post('/api/click', {
      user: 'U0ALICE',
      messageTs: proposed.ts,
      actionId: approveAll.action_id,
      value: approveAll.value,
      blockId: decision.block_id,
    });
    expect(click.status).toBe(200);

    // The same message, edited in place, until every site's row says its run succeeded.
    const done = await evacuationMessage(
      (blocks) => (blocks.match(/succeeded/g) ?? []).length >= SITES.length,
      "every site's run to succeed in the table",
    );
    expect(done.ts).toBe(proposed.ts);
    await waitFor(
      'DNS to serve every site from west',
      async () => ((await state()).sites.every((s) => s.servedBy === 'west') ? true : undefined),
      30_000,
      250,
    );
  }, 180_000);
});
