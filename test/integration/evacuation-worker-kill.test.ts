/**
 * Issue 16: an evacuation of 10 sites while a worker process is SIGKILLed in the middle, with Baton deployed as
 * 2 web and 3 worker processes. Every site completes once: one run per site, its DNS switched once, every external
 * action exactly once (each site's simulated world records them), and the evacuation's one message ends with all
 * 10 done.
 */
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJobId } from '../../src/core/model.js';
import type { Run } from '../../src/core/model.js';
import { ACTION_IDS } from '../../src/slack/action-ids.js';
import { EvacuationStore } from '../../src/store/evacuation-store.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { startRedis } from '../../lab/processes/processes.js';
import type { SlackMessage } from '../../lab/slack/slack-api-server.js';
import type { Fleet } from '../support/multi-process.js';
import { FLEET_CHANNEL, FLEET_USERS, startFleet } from '../support/multi-process.js';
import { waitFor } from '../support/integration.js';
import { writeSeveralSitesTopology } from '../support/several-sites.js';

const EXTRA_SITES = ['shop', 'blog', 'api', 'docs', 'mail', 'search', 'auth', 'media', 'billing'];
const WORKER_FLAGS = [
  // Short locks, so another worker takes the killed one's runs soon (as worker-kill.test.ts).
  '--lock-duration-ms',
  '2000',
  '--stalled-interval-ms',
  '1000',
  // Slow pods and DNS, so that the runs are still going when the kill lands.
  '--pods-ready-ms',
  '2000',
  '--dns-insync-ms',
  '2000',
];

let redis: RedisProcess;
let fleet: Fleet | null = null;
let topologyFile = '';

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  if (fleet) await fleet.close();
  await redis?.stop();
  if (topologyFile) await rm(dirname(topologyFile), { recursive: true, force: true });
});

const buttonsOf = (message: SlackMessage): string[] =>
  ((message.blocks ?? []) as { type?: string; elements?: { action_id?: string }[] }[])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => (b.elements ?? []).map((e) => e.action_id ?? ''));

describe('an evacuation of 10 sites with a worker SIGKILLed in the middle', () => {
  it('completes every site once, with 2 web and 3 worker processes', async () => {
    topologyFile = await writeSeveralSitesTopology(EXTRA_SITES);
    fleet = await startFleet(redis.url, { webs: 2, workers: 3, workerFlags: WORKER_FLAGS, topologyFile });
    const f = fleet;
    const { harness } = f;
    const sites = harness.topology.sites.map((s) => s.name);
    expect(sites).toHaveLength(10);
    const worlds = f.sites!;
    const evacuations = new EvacuationStore(harness.redis, harness.storePrefix);
    const alive = () => f.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    // The live table's title is "🚨 Evacuation e1: …"; the closing summary's "Evacuation e1 (east → west) …".
    const evacuationMessage = () =>
      f.slack.messages(FLEET_CHANNEL).filter((m) => m.text.includes('Evacuation e1:'));
    const closingSummary = () =>
      f.slack.messages(FLEET_CHANNEL).filter((m) => m.text.includes('Evacuation e1 (east → west)'));

    // Proposed through web 0 by the requester.
    const answer = await f.command(0, FLEET_USERS.requester, '/failover', '--cluster east east is down');
    expect(answer).toContain('Proposed evacuation e1 of east (10 sites)');

    // Approved through web 1 by an approver, once every site's preflight is in the message.
    const proposal = await waitFor(
      'the measured proposal in Slack',
      async () => {
        const [message] = evacuationMessage();
        return message &&
          buttonsOf(message).includes(ACTION_IDS.evacuationApproveAll) &&
          !JSON.stringify(message.blocks).includes('preflight…') &&
          !JSON.stringify(message.blocks).includes('sites measured')
          ? message
          : undefined;
      },
      180_000,
      200,
    );
    expect(proposal.text).not.toContain('not ready');
    await f.click(1, FLEET_USERS.approver, proposal, ACTION_IDS.evacuationApproveAll);

    const runIds = await waitFor(
      'a run for every site',
      async () => {
        const e = await evacuations.get('e1');
        const ids = e?.sites.map((s) => s.runId);
        return ids && ids.length === 10 && ids.every((id) => id) ? (ids as string[]) : undefined;
      },
      60_000,
      100,
    );
    const runs = () => Promise.all(runIds.map((id) => harness.store.require(id)));

    // Once the runs are under way, kill a worker that holds one in the middle of a step.
    const { victim, run: held } = await waitFor(
      'three runs past preflight and a worker inside a step',
      async () => {
        const current = await runs();
        const failed = current.find((r) => ['paused', 'failed', 'aborted'].includes(r.state));
        if (failed) throw new Error(`run ${failed.id} ${failed.state}: ${failed.stateReason}`);
        if (current.filter((r) => r.steps.preflight?.status === 'succeeded').length < 3) return undefined;
        for (const run of current) {
          const step = Object.values(run.steps).find((s) => s.status === 'running');
          if (run.state !== 'running' || !step || step.id === 'preflight') continue;
          const owner = await harness.redis.hget(`${harness.bullPrefix}:runs:${runJobId(run)}`, 'pb');
          const worker = alive().find((w) => w.name === owner);
          if (worker) return { victim: worker, run: { id: run.id, step: step.id } };
        }
        return undefined;
      },
      180_000,
      20,
    );
    const unfinished = (await runs()).filter((r) => r.state !== 'succeeded').length;
    victim.child.kill('SIGKILL');
    await victim.exited;
    expect(unfinished, 'runs not yet done when the worker was killed').toBeGreaterThan(1);

    const done = await waitFor(
      'every run to end',
      async () => {
        const current = await runs();
        const stuck = current.find((r) => ['paused', 'failed', 'aborted'].includes(r.state));
        if (stuck) throw new Error(`run ${stuck.id} ${stuck.state}: ${stuck.stateReason}`);
        return current.every((r) => r.state === 'succeeded') ? current : undefined;
      },
      300_000,
      200,
    ).catch((error: unknown) => {
      throw new Error(
        `${String(error)} (killed ${victim.name} in ${held.step} of ${held.id})\n${f.output()}`,
      );
    });

    const byRun = new Map<string, Run>(done.map((r) => [r.id, r]));
    for (const site of harness.topology.sites) {
      // One run for the evacuation per site, and no other.
      const history = await harness.store.history(site.name, 10);
      expect(
        history.map((r) => [r.evacuation, r.state]),
        site.name,
      ).toEqual([['e1', 'succeeded']]);
      const run = byRun.get(history[0]!.id)!;
      expect(run.to).toBe('west');

      const state = await worlds.world(site.name).state();
      expect(state.dns.serving, site.name).toBe('west');
      const web = 'default/Deployment/web';
      // Every action once, but the fence: it runs on every attempt by design (idempotent).
      expect(state.actions.filter((a) => !a.startsWith('fence ')).sort(), site.name).toEqual(
        [
          'dns west',
          ...(site.database ? ['promote west'] : []),
          `scale east ${web} 1`,
          `scale west ${web} 5`,
        ].sort(),
      );
      if (!site.database)
        expect(
          state.actions.filter((a) => a.startsWith('fence ')),
          site.name,
        ).toEqual([]);
    }
    // The killed worker's run was finished by another.
    const owner = await harness.redis.hget(
      `${harness.bullPrefix}:runs:${runJobId(byRun.get(held.id)!)}`,
      'pb',
    );
    expect(owner).not.toBe(victim.name);

    // One message for the evacuation, whose table ends with all 10 done.
    const final = await waitFor(
      'the final table',
      async () => {
        const [message] = evacuationMessage();
        return message && sites.every((s) => message.text.includes(`${s} succeeded`)) ? message : undefined;
      },
      60_000,
      200,
    );
    expect(evacuationMessage()).toHaveLength(1);
    expect(buttonsOf(final)).not.toContain(ACTION_IDS.evacuationApproveAll);
    // One closing summary at the top level; each run's own summary is in its thread.
    await waitFor(
      'the closing summary',
      async () =>
        closingSummary()[0]?.text.includes('finished: all 10 sites serve from west') ? true : undefined,
      60_000,
      200,
    );
    expect(closingSummary()).toHaveLength(1);
    // Every run's own message, once. One the killed worker had claimed comes late: its key stays locked for the
    // dead holder (30 s), and the closing summary need not wait for it longer than the channel's order wait (20 s).
    const top = await waitFor(
      'a message for every run',
      async () => {
        const messages = f.slack.messages(FLEET_CHANNEL);
        return messages.length >= 1 + 10 + 1 ? messages : undefined;
      },
      90_000,
      200,
    );
    expect(top).toHaveLength(1 + 10 + 1);
    for (const run of done)
      expect(
        top.filter((m) => m.text.includes(`(${run.id}, east → west`)),
        run.id,
      ).toHaveLength(1);
    console.log(`killed ${victim.name} in ${held.step} of ${held.id}; ${unfinished} runs were unfinished`);
  }, 600_000);
});
