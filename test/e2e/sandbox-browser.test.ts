/**
 * The README's first command, used as a newcomer would: `baton sandbox` runs as a real process, and a real headless
 * Chromium (Debian's, driven by playwright-core) opens the page it prints, types /failover, is refused as an
 * outsider, approves as an approver through the confirmation dialog, watches the run finish and the world move,
 * rebuilds the old primary as a standby, fails back, and finally Ctrl-C leaves nothing listening.
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
  sandbox = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'sandbox'], {
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

  it('types /failover, refuses an outsider, approves through the dialog and shows the run finish', async () => {
    await sees(page.locator('#dns'), 'east serves');
    await as('dave');
    await type('/failover --planned browser drill');
    const proposal = await messageAbout('browser drill');
    await sees(proposal, 'Requested by @dave');
    await proposal.getByRole('button', { name: 'Approve' }).waitFor();

    await as('mallory');
    await proposal.getByRole('button', { name: 'Approve' }).click();
    await page.locator('#confirm-ok').click(); // Slack shows the dialog to anyone; Baton refuses the click
    await sees(page.locator('#ephemerals'), 'Only approvers can approve');

    await as('alice');
    await proposal.getByRole('button', { name: 'Approve' }).click();
    await sees(page.locator('#confirm-title'), 'Approve');
    await page.locator('#confirm-ok').click();
    await sees(proposal, 'succeeded: west serves production', 60_000);
    await sees(page.locator('#dns'), 'west serves');
    await sees(cluster('west'), '5/5 ready');
    await role('east', 'fenced primary');

    // Threads: each finished step is a reply under the run's message.
    await proposal.locator('summary').click();
    await sees(proposal.locator('.thread'), 'Promote west');
  }, 120_000);

  it('rebuilds the old primary as a standby and fails back from the page', async () => {
    await cluster('east').getByRole('button', { name: "Rebuild east's database as a standby" }).click();
    await role('east', 'standby', 30_000);
    await as('dave');
    await type('/failback coming home');
    const proposal = await messageAbout('coming home');
    await proposal.getByRole('button', { name: 'Approve' }).waitFor({ timeout: 20_000 });
    await as('bob');
    await proposal.getByRole('button', { name: 'Approve' }).click();
    await page.locator('#confirm-ok').click();
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
    const again = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'sandbox'], {
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
