/**
 * Baton as it is deployed: several `baton web` and `baton worker` processes (the lab's entry point: the production
 * wiring, a simulated world) on one Redis — whatever REDIS_URL names: a server, Sentinel or a Redis Cluster — with
 * the Slack stand-in. A test proposes with a signed slash command to one web process and approves with a signed
 * click on the posted message to another, as people in Slack would.
 */
import { Redis } from 'ioredis';
import { systemClock } from '../../src/core/clock.js';
import type { Run } from '../../src/core/model.js';
import { SimulatedWorld } from '../../lab/simulated-world/simulated-world.js';
import type { SeveralSites } from '../../lab/simulated-world/several-sites.js';
import { resetSeveralSitesInRedis, severalSitesInRedis } from '../../lab/simulated-world/several-sites.js';
import { freePort } from '../../lab/processes/processes.js';
import type { SlackApiServer, SlackMessage } from '../../lab/slack/slack-api-server.js';
import { startSlackApiServer } from '../../lab/slack/slack-api-server.js';
import { blockAction, postToApp, sign, slashCommand } from '../../lab/slack/slack-signer.js';
import type { Harness, WorkerProcess } from './integration.js';
import {
  SIM_WORKER_FLAGS,
  createHarness,
  exampleTopology,
  processReady,
  spawnWorker,
  waitFor,
} from './integration.js';
import { findButtonValue } from './slack-harness.js';

const BOT_TOKEN = 'xoxb-fleet-test-token';
const SIGNING_SECRET = 'fleet-test-signing-secret';
export const FLEET_CHANNEL = 'C0INCIDENTS';
/** U0DAVE requests (S0ONCALL); U0ALICE approves (a listed approver). */
export const FLEET_USERS = { requester: 'U0DAVE', approver: 'U0ALICE' } as const;

export interface Fleet {
  harness: Harness;
  slack: SlackApiServer;
  webs: { process: WorkerProcess; port: number }[];
  workers: WorkerProcess[];
  /** The simulated world the workers act on (the harness's, unless it has a Redis of its own); the first site's. */
  world: SimulatedWorld;
  /** With a topology of several sites, each site's world. */
  sites: SeveralSites | null;
  /** `/failover <text>` (or `command`) as `user`, sent to web process `web`; resolves with the run it proposed. */
  propose(web: number, user: string, text: string, command?: '/failover' | '/failback'): Promise<Run>;
  /** Clicks Approve on the run's proposal as `user`, sent to web process `web`. */
  approve(web: number, user: string, runId: string): Promise<void>;
  /** `command <text>` as `user`, sent to web process `web`; resolves with Baton's first answer. */
  command(web: number, user: string, command: string, text: string): Promise<string>;
  /** Clicks the button `actionId` (its first, if several start so) on `message` as `user`, sent to `web`. */
  click(web: number, user: string, message: SlackMessage, actionId: string): Promise<void>;
  /** Every process's output, for a failure message. */
  output(): string;
  close(): Promise<void>;
}

export interface FleetOptions {
  webs: number;
  workers: number;
  /** More flags for `lab worker` (timings, locks). */
  workerFlags?: string[];
  /**
   * Keep the simulated world in this Redis instead of Baton's: it stands for the systems outside, whose record of
   * actions must not be lost with a write Baton's Redis loses (a Sentinel failover drops unreplicated writes).
   */
  worldRedisUrl?: string;
  /** The topology file every process loads (default: the example); with several sites, each has its own world. */
  topologyFile?: string;
}

export async function startFleet(redisUrl: string, options: FleetOptions): Promise<Fleet> {
  const harness = await createHarness(
    redisUrl,
    options.topologyFile ? { topology: await exampleTopology(options.topologyFile) } : {},
  );
  const worldRedis = options.worldRedisUrl
    ? new Redis(options.worldRedisUrl, { maxRetriesPerRequest: null })
    : null;
  const site = harness.topology.sites[0]!;
  // Several sites: each its own world, as `lab worker --simulated` keeps them (lab/cli.ts).
  const several = harness.topology.sites.length > 1;
  if (several)
    await resetSeveralSitesInRedis(worldRedis ?? harness.redis, harness.worldKey, harness.topology.sites);
  else if (worldRedis) await SimulatedWorld.resetInRedis(worldRedis, harness.worldKey, site);
  const sites = several
    ? severalSitesInRedis(worldRedis ?? harness.redis, harness.worldKey, harness.topology.sites, systemClock)
    : null;
  const world =
    sites?.world(site.name) ??
    (worldRedis ? SimulatedWorld.inRedis(worldRedis, harness.worldKey, site, systemClock) : harness.world);
  const configEnv: Record<string, string> = options.topologyFile
    ? { BATON_CONFIG: options.topologyFile }
    : {};
  const slack = await startSlackApiServer({
    botToken: BOT_TOKEN,
    userGroups: { S0SRE: ['U0CAROL'], S0ONCALL: ['U0DAVE', 'U0ALICE'] },
  });
  const slackEnv = {
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
  };
  const webs: Fleet['webs'] = [];
  const workers: WorkerProcess[] = [];
  const all = () => [...webs.map((w) => w.process), ...workers];
  const close = async () => {
    for (const p of all()) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await p.exited;
    }
    await slack.close();
    await harness.close();
    worldRedis?.disconnect();
  };
  try {
    for (let i = 0; i < options.webs; i += 1) {
      const port = await freePort();
      const process = spawnWorker(harness, redisUrl, [], {
        role: 'web',
        // The web role never connects to PostgreSQL, so it starts without the database URLs.
        env: { ...slackEnv, ...configEnv, PORT: String(port), EAST_DATABASE_URL: '', WEST_DATABASE_URL: '' },
      });
      webs.push({ process, port });
    }
    for (let i = 0; i < options.workers; i += 1) {
      workers.push(
        spawnWorker(
          harness,
          redisUrl,
          [
            ...SIM_WORKER_FLAGS,
            '--slack-interval-ms',
            '100',
            ...(options.worldRedisUrl ? ['--world-redis-url', options.worldRedisUrl] : []),
            ...(options.workerFlags ?? []),
          ],
          { env: { ...slackEnv, ...configEnv } },
        ),
      );
    }
    await Promise.all([
      ...webs.map((w) => processReady(w.process, /"msg":"web ready"/)),
      ...workers.map((w) => processReady(w, /"msg":"worker ready"/)),
    ]);
  } catch (error) {
    await close();
    throw error;
  }
  const post = async (web: number, body: string) => {
    const port = webs[web]?.port;
    if (port === undefined) throw new Error(`no web process ${web}`);
    const answer = await postToApp(
      `http://127.0.0.1:${port}/slack/events`,
      body,
      sign(SIGNING_SECRET, body, Date.now() / 1000),
    );
    if (answer.status !== 200) throw new Error(`web ${web} answered ${answer.status}: ${answer.text}`);
  };
  const slash = async (web: number, user: string, command: string, text: string): Promise<string> => {
    const responseUrl = slack.createResponseUrl({ channel: FLEET_CHANNEL, user });
    await post(
      web,
      slashCommand({
        command,
        text,
        userId: user,
        channelId: FLEET_CHANNEL,
        responseUrl: responseUrl.url,
        triggerId: slack.mintTriggerId({ userId: user }),
      }),
    );
    return responseUrl.id;
  };
  const click = async (web: number, user: string, message: SlackMessage, actionId: string) => {
    const buttons = (message.blocks ?? []) as { type?: string; elements?: { action_id?: string }[] }[];
    const button = buttons
      .filter((b) => b.type === 'actions')
      .flatMap((b) => b.elements ?? [])
      .find((e) => e.action_id === actionId || e.action_id?.startsWith(`${actionId}-`));
    await post(
      web,
      blockAction({
        actionId: button?.action_id ?? actionId,
        value: findButtonValue(message, button?.action_id ?? actionId) ?? '',
        userId: user,
        channelId: FLEET_CHANNEL,
        messageTs: message.ts,
        responseUrl: slack.createResponseUrl({ channel: FLEET_CHANNEL, user, messageTs: message.ts }).url,
        triggerId: slack.mintTriggerId({ userId: user }),
        message: { ts: message.ts, text: message.text, blocks: message.blocks },
      }),
    );
  };
  const proposalOf = (runId: string): SlackMessage | undefined =>
    slack.messages(FLEET_CHANNEL).find((m) => findButtonValue(m, 'approve')?.includes(`"runId":"${runId}"`));

  return {
    harness,
    slack,
    webs,
    workers,
    world,
    sites,
    async propose(web, user, text, command = '/failover') {
      const before = (await harness.store.history(site.name, 1))[0]?.id;
      await slash(web, user, command, text);
      return waitFor(
        'the proposed run',
        async () => {
          const [latest] = await harness.store.history(site.name, 1);
          return latest && latest.id !== before ? latest : undefined;
        },
        20_000,
      );
    },
    async approve(web, user, runId) {
      const message = await waitFor(
        `run ${runId}'s proposal in Slack`,
        async () => proposalOf(runId),
        30_000,
      );
      await click(web, user, message, 'approve');
    },
    async command(web, user, command, text) {
      const id = await slash(web, user, command, text);
      return waitFor(
        `the answer to ${command} ${text}`,
        async () => slack.responseUrlPosts(id).map((p) => String(p.body.text ?? ''))[0],
        30_000,
      );
    },
    click,
    output: () =>
      all()
        .map((p) => `--- ${p.name}\n${p.output()}`)
        .join('\n'),
    close,
  };
}
