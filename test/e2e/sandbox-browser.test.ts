/**
 * The README's first command, used as a newcomer would: `baton sandbox` runs as a real process, and a real headless
 * Chromium (Debian's, driven by playwright-core) opens the page it prints, types /failover, is refused as an
 * outsider, approves as an approver through the confirmation dialog, watches the run finish and the world move (and
 * the RPO count a client that wrote on the old primary past its fence), sees a failback onto a diverged standby
 * refused, rebuilds the old primary as a standby, fails back, sees a fence debt opened and paid, and finally Ctrl-C
 * leaves nothing listening.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { ROOT, waitFor } from '../support/integration.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));

let sandbox: ChildProcess;
let output = '';
let exited: Promise<number | null>;
let browser: Browser;
let page: Page;
let pageUrl = '';

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** Every port the sandbox printed (Redis, the stand-ins, PostgreSQL, Baton, the page). */
const printedPorts = () => [...output.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));

beforeAll(async () => {
  if (!CHROMIUM) throw new Error('Chromium is not installed: apt-get install -y chromium (.ci/run does)');
  sandbox = spawn(process.execPath, ['--import', 'tsx', 'lab/cli.ts', 'sandbox'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, BATON_SANDBOX_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  sandbox.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  sandbox.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  exited = new Promise((resolve) => sandbox.once('exit', (code) => resolve(code)));
  pageUrl = await waitFor(
    'the sandbox to print its page',
    async () => {
      if (sandbox.exitCode !== null) throw new Error(`sandbox exited ${sandbox.exitCode}:\n${output}`);
      return /Open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)?.[1];
    },
    90_000,
    100,
  );
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(pageUrl);
  await page.locator('body[data-ready="true"]').waitFor();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  // A test that failed before the Ctrl-C test: stop the sandbox as a person would, so it removes what it started
  // (SIGKILL would orphan its Redis and PostgreSQL); SIGKILL only if it does not stop.
  if (sandbox && sandbox.exitCode === null) {
    sandbox.kill('SIGINT');
    const timer = setTimeout(() => sandbox.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
}, 45_000);

const USER_IDS: Record<string, string> = {
  alice: 'U0ALICE',
  bob: 'U0BOB',
  dave: 'U0DAVE',
  mallory: 'U0MALLORY',
};
const channel = () => page.locator('#messages');
const as = async (name: string) => {
  await page.selectOption('#user', USER_IDS[name] ?? name);
};
const type = async (text: string) => {
  await page.fill('#command', text);
  await page.click('#composer button[type="submit"]');
};
const cluster = (id: string) => page.locator(`.cluster[data-cluster="${id}"]`);
/** Waits until `locator` shows `text` (the page re-renders as Baton's messages change). */
const sees = (locator: Locator, text: string | RegExp, timeout = 15_000) =>
  locator.filter({ hasText: text }).first().waitFor({ timeout });
const role = (id: string, value: string, timeout = 15_000) =>
  cluster(id).locator(`[data-role="${value}"]`).waitFor({ timeout });
/** Clicks the button `name` on a cluster's card in the world panel. */
const press = (id: string, name: string) => cluster(id).getByRole('button', { name }).click();
/** Approves `proposal` as `name` through Slack's confirmation dialog. */
const approve = async (proposal: Locator, name: string) => {
  await as(name);
  await proposal.getByRole('button', { name: 'Approve' }).click();
  await page.locator('#confirm-ok').click();
};
/** The top-level message about a run, by its ts (its text changes as the run goes on). */
const messageAbout = async (text: string, timeout = 20_000) => {
  const first = channel().locator('li.message', { hasText: text }).last();
  await first.waitFor({ timeout });
  const ts = await first.getAttribute('data-ts');
  return channel().locator(`li.message[data-ts="${ts}"]`);
};

describe('npm run sandbox in a browser', () => {
  it('prints what runs where and how to drive it', () => {
    for (const part of ['Redis', 'Kubernetes', 'Route 53', 'PostgreSQL', 'Slack', 'Baton', 'Try this:'])
      expect(output).toContain(part);
    expect(output).toMatch(/Prometheus {5}http:\/\/127\.0\.0\.1:\d+/);
  });

  it('offers commands to try under the composer: a click fills it, Send answers it', async () => {
    const tryIt = page.locator('#try');
    for (const command of [
      '/failover --dry-run',
      '/failover drill production --hold 1m',
      '/failover history production',
    ])
      await tryIt.getByRole('button', { name: command, exact: true }).waitFor();
    await as('dave');
    await tryIt.getByRole('button', { name: '/failover readiness production', exact: true }).click();
    expect(await page.inputValue('#command')).toBe('/failover readiness production');
    await page.click('#composer button[type="submit"]');
    await sees(page.locator('#ephemerals'), /production.*(ready|evaluat)/);
  });

  it('types /failover, refuses an outsider, approves through the dialog; the RPO counts a write past the fence', async () => {
    await sees(page.locator('#dns'), 'east serves');
    await as('dave');
    await type('/failover --planned browser drill');
    const proposal = await messageAbout('browser drill');
    await sees(proposal, 'Requested by @dave');
    await proposal.getByRole('button', { name: 'Approve' }).waitFor();
    // Pre-warm: west scales up while the proposal waits, and the message says so with its Ready count.
    await sees(proposal, /(Warming|Warm on) west: web \d\/5 Ready/);

    await as('mallory');
    await proposal.getByRole('button', { name: 'Approve' }).click();
    await page.locator('#confirm-ok').click(); // Slack shows the dialog to anyone; Baton refuses the click
    await sees(page.locator('#ephemerals'), 'Only approvers can approve');

    // verify waits until users reach west: with west's health endpoint stopped, the run holds there while a client
    // writes on east past its fence, and the RPO that verify measures counts that write.
    await press('west', "Stop west's health endpoint");
    await cluster('west').locator('dd.bad', { hasText: 'down' }).waitFor();
    await as('alice');
    await proposal.getByRole('button', { name: 'Approve' }).click();
    await sees(page.locator('#confirm-title'), 'Approve');
    await page.locator('#confirm-ok').click();
    await role('west', 'primary', 60_000); // promoted: past the split-brain guard
    await press('east', 'Write on east anyway');
    await cluster('east').locator('.write-result[data-committed="true"]').waitFor();
    await press('west', "Start west's health endpoint");
    await sees(proposal, 'succeeded: west serves production', 60_000);
    await sees(channel(), /Data loss \(RPO\): LOST/);
    await sees(page.locator('#last-run'), /Data loss \(RPO\): LOST/);
    await sees(page.locator('#dns'), 'west serves');
    await sees(cluster('west'), '5/5 ready');
    await role('east', 'fenced primary');

    // Threads: each finished step is a reply under the run's message.
    await proposal.locator('details.thread > summary').click();
    await sees(proposal.locator('.thread'), 'Promote west');
  }, 120_000);

  it('refuses to fail back onto a diverged standby, and fails back once it is rebuilt', async () => {
    // The wrong way back: east, holding the write west never had, restarted as west's standby as it is.
    await press('east', 'Rejoin east as a standby (no rewind)');
    await sees(cluster('east'), 'not streaming — diverged?', 30_000);
    await as('dave');
    await type('/failback coming home');
    const proposal = await messageAbout('coming home');
    // The proposal's preflight names the divergence and the fix; approved anyway, the run stops at preflight.
    await sees(
      proposal,
      /❌ target-database: east's database (has diverged|is not streaming from west)/,
      30_000,
    );
    await sees(proposal, 'pg_rewind');
    await approve(proposal, 'bob');
    const retry = proposal.getByRole('button', { name: 'Retry step' });
    await retry.waitFor({ timeout: 30_000 });
    await sees(proposal, 'Paused: preflight');

    // The right way back: a new base backup of west; then the same run goes on.
    await press('east', "Rebuild east's database as a standby");
    await cluster('east')
      .locator('[data-role="standby"][data-streaming="true"]')
      .waitFor({ timeout: 30_000 });
    await retry.click();
    await sees(proposal, 'succeeded: east serves production', 60_000);
    await sees(page.locator('#dns'), 'east serves');
    await role('east', 'primary');
  }, 120_000);

  it('breaks a cluster: health, API and database lag show on the page and in the preflight', async () => {
    // After the failback west's database is the fenced old primary; make it a standby again first.
    await cluster('west').getByRole('button', { name: "Rebuild west's database as a standby" }).click();
    await role('west', 'standby', 30_000);
    await cluster('west').getByRole('button', { name: "Stop west's health endpoint" }).click();
    await cluster('west').locator('dd.bad', { hasText: 'down' }).waitFor();
    await cluster('west').getByRole('button', { name: "Break west's API" }).click();
    await cluster('west').getByRole('button', { name: "Repair west's API" }).waitFor();
    await cluster('west').getByRole('button', { name: 'Add DB lag on west' }).click();
    await sees(cluster('west'), 'replay paused', 30_000);

    await as('dave');
    await type('/failover --dry-run');
    // The dry run's preflight names every broken thing; nothing is proposed.
    await sees(
      page.locator('#ephemerals'),
      /target-database: west: standby .* behind \(limit 1 MiB\)/,
      30_000,
    );
    await sees(page.locator('#ephemerals'), 'target-nodes');
    const text = await page.locator('#ephemerals').innerText();
    expect(text).toMatch(/❌ target-database/);

    await cluster('west').getByRole('button', { name: 'Resume replay on west' }).click();
    await cluster('west').getByRole('button', { name: "Repair west's API" }).click();
    await cluster('west').getByRole('button', { name: "Start west's health endpoint" }).click();
    await cluster('west').getByRole('button', { name: 'Add DB lag on west' }).waitFor({ timeout: 15_000 });
    await cluster('west').locator('dd.good', { hasText: 'up' }).first().waitFor();
  }, 90_000);

  it('opens a fence debt when east cannot be fenced, and pays it the moment east answers', async () => {
    // East serves, west is its streaming standby (rebuilt by the test above); east's database crashes.
    await press('east', "Kill east's database");
    await role('east', 'down');
    await press('east', "Break east's API");
    await cluster('east').getByRole('button', { name: "Repair east's API" }).waitFor();

    await as('dave');
    await type('/failover production east went dark');
    const proposal = await messageAbout('east went dark');
    await proposal.getByRole('button', { name: 'Approve' }).waitFor({ timeout: 20_000 });
    await approve(proposal, 'alice');
    await sees(proposal, 'succeeded: west serves production', 60_000);
    await sees(page.locator('#fence-debt'), 'east still owes its database read-only and its workloads');
    await sees(page.locator('#last-run'), 'Data loss (RPO): unknown');

    // East comes back as it crashed, a writable primary: Baton says so and fences it.
    await press('east', "Start east's database");
    await press('east', "Repair east's API");
    await sees(channel(), 'production: east is back and writable', 30_000);
    await sees(channel(), 'production: east fenced', 30_000);
    const text = await channel().innerText();
    expect(text.indexOf('east is back and writable')).toBeLessThan(text.indexOf('production: east fenced'));
    await page.locator('#fence-debt .debt').waitFor({ state: 'detached' });
    await role('east', 'fenced primary');
  }, 120_000);

  it('Ctrl-C stops everything it started', async () => {
    const ports = printedPorts();
    expect(ports.length).toBeGreaterThan(6);
    sandbox.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(output).toContain('Stopped; nothing left running.');
    const still = [];
    for (const port of ports) if (await listening(port)) still.push(port);
    expect(still).toEqual([]);
    // Its files too: the directory holding Baton's log (and the topology, kubeconfig, Prometheus targets) is gone.
    const log = /Baton's log: (\S+)\. Stop/.exec(output)?.[1];
    expect(log).toBeDefined();
    expect(existsSync(dirname(log ?? ''))).toBe(false);

    // A second start works (nothing of the first one is in the way), and stops as cleanly.
    const again = spawn(process.execPath, ['--import', 'tsx', 'lab/cli.ts', 'sandbox'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, BATON_SANDBOX_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let second = '';
    again.stdout?.on('data', (chunk: Buffer) => (second += chunk.toString()));
    again.stderr?.on('data', (chunk: Buffer) => (second += chunk.toString()));
    const done = new Promise<number | null>((resolve) => again.once('exit', (code) => resolve(code)));
    try {
      await waitFor('the second sandbox to be ready', async () => second.includes('Open http'), 90_000, 100);
    } finally {
      again.kill('SIGINT'); // ready or not, it removes what it started
    }
    expect(await done, second).toBe(130);
  }, 150_000);
});
