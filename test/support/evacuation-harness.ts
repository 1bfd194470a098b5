/**
 * Evacuations through Slack for integration tests: the Slack harness over several sites' simulated worlds (three
 * served by east, one by west), and the reads and clicks an operator makes on the evacuation's one message.
 */
import { expect } from 'vitest';
import type { Topology } from '../../src/config/topology.js';
import { systemClock } from '../../src/core/clock.js';
import type { Evacuation } from '../../src/core/evacuation/evacuation.js';
import type { Run } from '../../src/core/model.js';
import { evacuationMessageKey } from '../../src/slack/publish-evacuation.js';
import type { SlackMessage } from '../../lab/slack/slack-api-server.js';
import { blockAction, postToApp, sign } from '../../lab/slack/slack-signer.js';
import type { SeveralSites } from '../../lab/simulated-world/several-sites.js';
import { severalSitesInMemory } from '../../lab/simulated-world/several-sites.js';
import { exampleTopology, waitFor } from './integration.js';
import { siteNamed } from './several-sites.js';
import type { SlackHarness, SlackHarnessOptions } from './slack-harness.js';
import { CHANNEL, SIGNING_SECRET, USERS, startSlackHarness } from './slack-harness.js';

/** The sites east serves; `api` is served by west. */
export const EAST_SITES = ['production', 'shop', 'blog'];

/** Three sites served by east, one (api) by west. */
function severalSites(topology: Topology): Topology {
  const [base] = topology.sites;
  if (!base) throw new Error('no site');
  return {
    ...topology,
    sites: [...EAST_SITES.map((name) => siteNamed(base, name, 'east')), siteNamed(base, 'api', 'west')],
  };
}

/** The Slack harness over the four sites' worlds (`prepare` changes them before Baton starts). */
export async function startEvacuationHarness(
  redisUrl: string,
  options: {
    prepare?: (world: SeveralSites) => Promise<void>;
    approvals?: Partial<Topology['approvals']>;
    routes?: SlackHarnessOptions['routes'];
  } = {},
): Promise<{ h: SlackHarness; world: SeveralSites }> {
  const base = severalSites(await exampleTopology());
  const topology = { ...base, approvals: { ...base.approvals, ...options.approvals } };
  const world = severalSitesInMemory(topology.sites, systemClock);
  await options.prepare?.(world);
  const h = await startSlackHarness(redisUrl, {
    topology: () => topology,
    ports: world.ports,
    ...(options.routes && { routes: options.routes }),
  });
  return { h, world };
}

/** The evacuation's one message in the channel, once posted. */
export async function evacuationMessage(h: SlackHarness, id: string): Promise<SlackMessage> {
  return waitFor(`evacuation ${id}'s message`, async () => {
    const state = await h.web.notifier.statusMessage(evacuationMessageKey(id));
    return state?.ts ? h.slack.message(CHANNEL, state.ts) : undefined;
  });
}

export const buttons = (message: Pick<SlackMessage, 'blocks'>) =>
  ((message.blocks ?? []) as { type?: string; elements?: { action_id?: string; value?: string }[] }[])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements ?? []);

/** Clicks `actionId` on the evacuation's message as `user` (for a site button, the one of `site`). */
export async function clickEvacuation(
  h: SlackHarness,
  user: string,
  actionId: string,
  id: string,
  site?: string,
): Promise<string> {
  const message = await evacuationMessage(h, id);
  const button = buttons(message).find(
    (b) =>
      (b.action_id === actionId || b.action_id?.startsWith(`${actionId}-`)) &&
      (!site || (b.value ?? '').includes(`"site":"${site}"`)),
  );
  if (!button?.value) throw new Error(`evacuation ${id} has no ${actionId} button: ${message.text}`);
  const { id: responseUrlId, url } = h.slack.createResponseUrl({
    channel: CHANNEL,
    user,
    messageTs: message.ts,
  });
  const body = blockAction({
    actionId: button.action_id ?? actionId,
    value: button.value,
    userId: user,
    userName: user.toLowerCase(),
    channelId: CHANNEL,
    messageTs: message.ts,
    responseUrl: url,
    triggerId: h.slack.mintTriggerId({ userId: user }),
    message: { ts: message.ts, text: message.text, blocks: message.blocks },
  });
  const response = await postToApp(h.eventsUrl, body, sign(SIGNING_SECRET, body, Date.now() / 1000));
  expect(response.status).toBe(200);
  return responseUrlId;
}

export const evacuationRecord = (h: SlackHarness, id: string): Promise<Evacuation> =>
  waitFor(`evacuation ${id}`, async () => (await h.web.evacuations.get(id)) ?? undefined);

/** Waits until every site's preflight is measured. */
export const measured = (h: SlackHarness, id: string): Promise<Evacuation> =>
  waitFor(`evacuation ${id}'s preflight`, async () => {
    const e = await h.web.evacuations.get(id);
    return e && e.sites.every((s) => s.preflight || s.openRun) ? e : undefined;
  });

/** Waits until the runs of `sites` in the evacuation are all `state`. */
export async function runsOf(
  h: SlackHarness,
  id: string,
  sites: string[],
  state: Run['state'],
): Promise<Run[]> {
  return waitFor(
    `${sites.join(', ')} ${state}`,
    async () => {
      const e = await h.web.evacuations.get(id);
      const runs = await Promise.all(
        sites.map((site) => {
          const runId = e?.sites.find((s) => s.site === site)?.runId;
          return runId ? h.web.store.get(runId) : null;
        }),
      );
      return runs.every((r) => r?.state === state) ? (runs as Run[]) : undefined;
    },
    30_000,
  );
}

/** A message's blocks as text (the evacuation's table, its decision line). */
export const tableOf = (message: SlackMessage): string => JSON.stringify(message.blocks);

/** Sends `/failover` (or `/failback`) `text` as dave; returns the ephemeral answer. */
export async function proposeEvacuation(
  h: SlackHarness,
  text: string,
  command: '/failover' | '/failback' = '/failover',
): Promise<string> {
  const response = await h.command(USERS.dave, command, text);
  expect(response.status).toBe(200);
  return waitFor('the answer', async () => h.answers(response.responseUrlId)[0]);
}
