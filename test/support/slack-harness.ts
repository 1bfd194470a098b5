/**
 * Baton's web and worker roles in this process, wired to a real Redis and the Slack Web API stand-in, driven by
 * signed requests exactly as Slack sends them — or, with `socketMode`, by envelopes over the stand-in's Socket Mode
 * WebSocket. The world behind the ports is the simulated one unless a test passes its own ports (the real adapters
 * against the stand-ins).
 */
import { randomUUID } from 'node:crypto';
import type { CustomRoute } from '@slack/bolt';
import { Redis } from 'ioredis';
import { keyPrefixes } from '../../src/config/load-config.js';
import type { Topology } from '../../src/config/topology.js';
import { systemClock } from '../../src/core/clock.js';
import type { Run } from '../../src/core/model.js';
import type { Ports } from '../../src/core/ports.js';
import { createSlackWebClient } from '../../src/adapters/slack-web.js';
import type { Logger } from '../../src/logger.js';
import { createLogger } from '../../src/logger.js';
import type { NotifyRetryPolicy } from '../../src/queue/notify/index.js';
import { freePort } from '../../lab/processes/processes.js';
import type { SlackApiServer, SlackDelivery, SlackMessage } from '../../lab/slack/slack-api-server.js';
import { startSlackApiServer } from '../../lab/slack/slack-api-server.js';
import type { AppResponse, BlockActionInput, SlashCommandInput } from '../../lab/slack/slack-signer.js';
import {
  blockAction,
  blockActionPayload,
  postToApp,
  sign,
  slashCommand,
} from '../../lab/slack/slack-signer.js';
import { SimulatedWorld } from '../../lab/simulated-world/simulated-world.js';
import type { WorldTiming } from '../../lab/simulated-world/simulated-world.js';
import { runMessageKey } from '../../src/slack/publish-run.js';
import type { WebRole, WebRoleParts } from '../../src/roles/web-role.js';
import { startWebRole } from '../../src/roles/web-role.js';
import type { WorkerRole } from '../../src/roles/worker-role.js';
import { startWorkerRole } from '../../src/roles/worker-role.js';
import { exampleTopology, waitFor } from './integration.js';

export const BOT_TOKEN = 'xoxb-test-bot-token';
export const SIGNING_SECRET = 'test-signing-secret-0123456789';
/** The app-level token of Socket Mode harnesses. */
export const APP_TOKEN = 'xapp-1-A0BATON-1-test-app-token';
export const CHANNEL = 'C0INCIDENTS';
/**
 * U0ALICE and U0BOB approve (listed); U0CAROL approves through S0SRE; U0DAVE and U0ALICE request through S0ONCALL;
 * U0MALLORY is nobody.
 */
export const USERS = {
  alice: 'U0ALICE',
  bob: 'U0BOB',
  carol: 'U0CAROL',
  dave: 'U0DAVE',
  mallory: 'U0MALLORY',
} as const;

export interface SlackHarnessOptions {
  topology?: (topology: Topology) => Topology;
  ports?: Ports;
  timing?: Partial<WorldTiming>;
  perChannelIntervalMs?: number;
  notifyRetry?: Partial<NotifyRetryPolicy>;
  pollMs?: number;
  /** Start without a worker role (tests of the web role alone). */
  worker?: boolean;
  /** The worker's own auto-approval passes (default 5 s); tests that run their own passes push it out of the way. */
  autoApproveEveryMs?: number;
  /** The worker's own game day passes (default 15 s); tests that run their own passes push it out of the way. */
  drillEveryMs?: number;
  /**
   * Slack over Socket Mode: the stand-in accepts APP_TOKEN, the web role connects to it, and commands and clicks
   * arrive as envelopes (`deliverCommand`, `deliverClick`). Baton's own routes answer on `web.port`.
   */
  socketMode?: boolean;
  /** The bot token's scopes in the stand-in (default: its DEFAULT_SCOPES). */
  slackScopes?: string[];
  /** More web routes (e.g. the Alertmanager webhook), given the role's parts and the harness's Redis and prefixes. */
  routes?: (parts: WebRoleParts, context: HarnessRouteContext) => CustomRoute[];
}

export interface HarnessRouteContext {
  /** The web role's producer connection. */
  connection: Redis;
  prefixes: { store: string; bull: string };
  topology: Topology;
  log: Logger;
}

export interface SlackHarness {
  slack: SlackApiServer;
  web: WebRole;
  worker: WorkerRole | null;
  world: SimulatedWorld | null;
  topology: Topology;
  redis: Redis;
  /** This harness's key prefix (`BATON_KEY_PREFIX` of a CLI sharing its Redis keys) and its prefixes in Redis. */
  keyPrefix: string;
  prefixes: { store: string; bull: string };
  /** Where Slack POSTs over HTTP (in Socket Mode nothing listens for Slack there: it answers 404). */
  eventsUrl: string;
  /** Baton's HTTP base (`/healthz`, `/readyz`, custom routes), on the installer port in Socket Mode. */
  webUrl: string;
  socketMode: boolean;
  /** HTTP mode: POSTs a signed slash command. */
  command(
    user: string,
    command: '/failover' | '/failback',
    text: string,
    options?: { retryNum?: number; secret?: string; nowSeconds?: number },
  ): Promise<AppResponse & { responseUrlId: string }>;
  /** HTTP mode: clicks the button `actionId` on the run's message as `user`. */
  click(
    user: string,
    actionId: string,
    runId: string,
    options?: { retryNum?: number },
  ): Promise<AppResponse & { responseUrlId: string }>;
  /** Socket Mode: sends a `slash_commands` envelope and waits for the ack. */
  deliverCommand(
    user: string,
    command: '/failover' | '/failback',
    text: string,
    options?: { timeoutMs?: number },
  ): Promise<SlackDelivery & { responseUrlId: string }>;
  /** Socket Mode: clicks the button `actionId` on the run's message as `user`, as an `interactive` envelope. */
  deliverClick(
    user: string,
    actionId: string,
    runId: string,
    options?: { timeoutMs?: number },
  ): Promise<SlackDelivery & { responseUrlId: string }>;
  /** The run's one message in the incident channel, once posted. */
  runMessage(runId: string): Promise<SlackMessage>;
  /** The newest run of the site. */
  latestRun(): Promise<Run | null>;
  /** Ephemeral answers posted to a response_url, as text. */
  answers(responseUrlId: string): string[];
  close(): Promise<void>;
}

export async function startSlackHarness(
  redisUrl: string,
  options: SlackHarnessOptions = {},
): Promise<SlackHarness> {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const prefixes = keyPrefixes({ keyPrefix: prefix });
  const base = await exampleTopology();
  const topology = options.topology ? options.topology(base) : base;
  const site = topology.sites[0];
  if (!site) throw new Error('no site');
  const log = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const socketMode = options.socketMode === true;
  const slack = await startSlackApiServer({
    botToken: BOT_TOKEN,
    ...(socketMode && { appToken: APP_TOKEN }),
    userGroups: { S0SRE: [USERS.carol], S0ONCALL: [USERS.dave, USERS.alice] },
    ...(options.slackScopes && { scopes: options.slackScopes }),
  });
  const workerConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const producer = new Redis(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  await producer.ping().catch(async () => {
    await new Promise((resolve) => producer.once('ready', resolve));
  });
  const world = options.ports ? null : SimulatedWorld.inMemory(site, systemClock, options.timing ?? {});
  const ports = options.ports ?? world?.ports;
  if (!ports) throw new Error('no ports');
  const poll = options.pollMs ?? 50;
  const worker =
    options.worker === false
      ? null
      : await startWorkerRole({
          topology,
          connection: workerConnection,
          prefixes,
          ports,
          slack: createSlackWebClient({ token: BOT_TOKEN, apiUrl: slack.apiUrl, log }),
          clock: systemClock,
          log,
          settings: { pollIntervalMs: poll, dnsPollIntervalMs: poll },
          backoff: { baseMs: 50, maxMs: 200 },
          perChannelIntervalMs: options.perChannelIntervalMs ?? 100,
          notifyRetry: { baseMs: 200, maxMs: 1000, ...options.notifyRetry },
          reconcileEveryMs: 1000,
          ...(options.autoApproveEveryMs !== undefined && { autoApproveEveryMs: options.autoApproveEveryMs }),
          ...(options.drillEveryMs !== undefined && { drillEveryMs: options.drillEveryMs }),
        });
  // Bolt's Socket Mode receiver does not report the port it listens on, so it gets a known free one.
  const web = await startWebRole({
    topology,
    slack: socketMode
      ? { botToken: BOT_TOKEN, appToken: APP_TOKEN, apiUrl: slack.apiUrl }
      : { botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, apiUrl: slack.apiUrl },
    connection: producer,
    prefixes,
    port: socketMode ? await freePort() : 0,
    clock: systemClock,
    log,
    ...(options.routes && {
      routes: (parts: WebRoleParts) =>
        options.routes?.(parts, { connection: producer, prefixes, topology, log }) ?? [],
    }),
  });
  const webUrl = `http://127.0.0.1:${web.port}`;
  const eventsUrl = `${webUrl}/slack/events`;
  const requireMode = (wanted: boolean, method: string) => {
    if (socketMode !== wanted)
      throw new Error(
        `${method} is for ${wanted ? 'Socket Mode' : 'HTTP'} harnesses; this one uses the other`,
      );
  };

  /** A slash command as Slack sends it, with a fresh response_url and trigger_id. */
  const commandInput = (user: string, command: string, text: string) => {
    const { id, url } = slack.createResponseUrl({ channel: CHANNEL, user });
    const input: SlashCommandInput = {
      command,
      text,
      userId: user,
      userName: user.toLowerCase(),
      channelId: CHANNEL,
      responseUrl: url,
      triggerId: slack.mintTriggerId({ userId: user }),
    };
    return { responseUrlId: id, input };
  };
  /** A click on the run's button `actionId`, its value taken from the posted message. */
  const clickInput = async (user: string, actionId: string, runId: string) => {
    const message = await harness.runMessage(runId);
    const value = findButtonValue(message, actionId);
    if (!value) throw new Error(`run ${runId}'s message has no ${actionId} button: ${message.text}`);
    const { id, url } = slack.createResponseUrl({ channel: CHANNEL, user, messageTs: message.ts });
    const input: BlockActionInput = {
      actionId,
      value,
      userId: user,
      userName: user.toLowerCase(),
      channelId: CHANNEL,
      messageTs: message.ts,
      responseUrl: url,
      triggerId: slack.mintTriggerId({ userId: user }),
      message: { ts: message.ts, text: message.text, blocks: message.blocks },
    };
    return { responseUrlId: id, input };
  };

  const harness: SlackHarness = {
    slack,
    web,
    worker,
    world,
    topology,
    redis: workerConnection,
    keyPrefix: prefix,
    prefixes,
    eventsUrl,
    webUrl,
    socketMode,
    async command(user, command, text, opts = {}) {
      requireMode(false, 'command');
      const { responseUrlId, input } = commandInput(user, command, text);
      const body = slashCommand(input);
      const headers = sign(opts.secret ?? SIGNING_SECRET, body, opts.nowSeconds ?? Date.now() / 1000, {
        ...(opts.retryNum !== undefined && { retryNum: opts.retryNum }),
      });
      return { ...(await postToApp(eventsUrl, body, headers)), responseUrlId };
    },
    async click(user, actionId, runId, opts = {}) {
      requireMode(false, 'click');
      const { responseUrlId, input } = await clickInput(user, actionId, runId);
      const body = blockAction(input);
      const headers = sign(SIGNING_SECRET, body, Date.now() / 1000, {
        ...(opts.retryNum !== undefined && { retryNum: opts.retryNum }),
      });
      return { ...(await postToApp(eventsUrl, body, headers)), responseUrlId };
    },
    async deliverCommand(user, command, text, opts = {}) {
      requireMode(true, 'deliverCommand');
      const { responseUrlId, input } = commandInput(user, command, text);
      // Socket Mode carries the same fields as the HTTP form, as a JSON object of strings.
      const payload = Object.fromEntries(new URLSearchParams(slashCommand(input)));
      return {
        ...(await slack.socketMode.deliver({ type: 'slash_commands', payload }, opts)),
        responseUrlId,
      };
    },
    async deliverClick(user, actionId, runId, opts = {}) {
      requireMode(true, 'deliverClick');
      const { responseUrlId, input } = await clickInput(user, actionId, runId);
      const payload = blockActionPayload(input);
      return { ...(await slack.socketMode.deliver({ type: 'interactive', payload }, opts)), responseUrlId };
    },
    async runMessage(runId) {
      return waitFor(
        `run ${runId}'s Slack message`,
        async () => {
          const state = await web.notifier.statusMessage(runMessageKey({ id: runId }));
          return state?.ts ? slack.message(CHANNEL, state.ts) : undefined;
        },
        10_000,
      );
    },
    async latestRun() {
      return (await web.store.history(site.name, 1))[0] ?? null;
    },
    answers(responseUrlId) {
      return slack.responseUrlPosts(responseUrlId).map((post) => String(post.body.text ?? ''));
    },
    async close() {
      await web.close();
      await worker?.close();
      workerConnection.disconnect();
      producer.disconnect();
      await slack.close();
    },
  };
  return harness;
}

/** The `value` of the button with `actionId` in a message's blocks. */
export function findButtonValue(message: Pick<SlackMessage, 'blocks'>, actionId: string): string | undefined {
  for (const block of (message.blocks ?? []) as { type?: string; elements?: unknown[] }[]) {
    if (block.type !== 'actions') continue;
    for (const element of (block.elements ?? []) as { action_id?: string; value?: string }[]) {
      if (element.action_id === actionId) return element.value;
    }
  }
  return undefined;
}

export const buttonIds = (message: Pick<SlackMessage, 'blocks'>): string[] =>
  ((message.blocks ?? []) as { type?: string; elements?: { action_id?: string }[] }[])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => (b.elements ?? []).map((e) => e.action_id ?? ''));
