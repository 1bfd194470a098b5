/**
 * A Slack Web API stand-in: a real HTTP server on 127.0.0.1 that answers the methods Baton uses the way
 * slack.com does, so `@slack/web-api`'s WebClient and Bolt talk to it unmodified (`slackApiUrl` = `apiUrl`).
 *
 * Wire behaviour follows Slack's method reference: POST bodies form-encoded (token in the Authorization
 * header or a `token` field) or JSON (token only in the header); every answer is HTTP 200 with
 * `{ ok: true, … }` or `{ ok: false, error }`, except rate limiting (HTTP 429 with a `Retry-After` header in
 * seconds) and server faults. It keeps what an operator would see in Slack — messages per channel with their
 * thread replies and edit history, ephemerals per user, response_url replies, opened modals — so tests assert
 * on that, plus a call log. With an app-level token it also speaks Socket Mode on the same server.
 *
 * This file is the public entry: it wires the parts together — workspace.ts (what Slack shows), web-api-*.ts
 * (the methods and how a call is checked), interactivity.ts (trigger_ids, modals, response_urls),
 * socket-mode.ts, faults.ts, channel-rate-limit.ts and http-server.ts — and re-exports their public types.
 */
import { ChannelRateLimit } from './channel-rate-limit.js';
import { SlackFileUploads } from './file-uploads.js';
import type { SlackFaults } from './faults.js';
import { FaultInjector } from './faults.js';
import { listenSlackHttp } from './http-server.js';
import type { SlackOpenedView, SlackResponseUrlContext, SlackResponseUrlPost } from './interactivity.js';
import { SlackInteractivity } from './interactivity.js';
import type { SlackSocketMode } from './socket-mode.js';
import { SocketModeServer } from './socket-mode.js';
import type { SlackApiCall } from './web-api-dispatch.js';
import { WebApiDispatch } from './web-api-dispatch.js';
import { createWebApiMethods, DEFAULT_SCOPES } from './web-api-methods.js';
import type { SlackChannelSeed, SlackEphemeral, SlackIdentity, SlackMessage } from './workspace.js';
import { SlackWorkspace } from './workspace.js';

export type { SlackFaults } from './faults.js';
export type { SlackOpenedView, SlackResponseUrlContext, SlackResponseUrlPost } from './interactivity.js';
export { RESPONSE_URL_MAX_USES, RESPONSE_URL_TTL_MS, TRIGGER_TTL_MS } from './interactivity.js';
export { blocksError, SLACK_MAX_BLOCKS, SLACK_TEXT_LIMIT } from './message-content.js';
export type {
  SlackDelivery,
  SlackDisconnectReason,
  SlackEnvelopeInput,
  SlackEnvelopeType,
  SlackSocketConnection,
  SlackSocketEnvelope,
  SlackSocketMode,
} from './socket-mode.js';
export { SOCKET_ACK_TIMEOUT_MS, SOCKET_MAX_CONNECTIONS } from './socket-mode.js';
export type { SlackApiCall } from './web-api-dispatch.js';
export type {
  SlackChannelSeed,
  SlackEphemeral,
  SlackFile,
  SlackMessage,
  SlackMessageEdit,
} from './workspace.js';

export interface SlackApiServerOptions {
  /** The only bot token accepted (`xoxb-…`); anything else gets `invalid_auth`. */
  botToken: string;
  /** Users of the workspace. When given, an ephemeral for anyone else is refused (`user_not_in_channel`). */
  users?: string[];
  /** User group id (S…) → member user ids, for `usergroups.users.list`. */
  userGroups?: Record<string, string[]>;
  /**
   * Channels that exist: public unless `isPrivate`, without the bot unless `botMember` (a private channel the bot
   * is not in answers `channel_not_found`; a public one needs `chat:write.public`). Omitted: any channel id (C…, G…,
   * D…) exists from its first message, public and with the bot in it.
   */
  channels?: (string | SlackChannelSeed)[];
  /** Scopes granted to the bot token; a method needing another answers `missing_scope`. */
  scopes?: string[];
  /**
   * Slack's special limit on chat.postMessage (about one message per second per channel, short bursts allowed),
   * enforced with 429s when set. Off by default so tests can measure Baton's own pacing.
   */
  channelRateLimit?: { perSecond: number; burst: number };
  /**
   * chat.update's own Tier 3 limit (about 50 a minute per workspace, bursts allowed), separate from
   * chat.postMessage's per-channel one; enforced with 429s when set. Off by default, like `channelRateLimit`.
   */
  updateRateLimit?: { perMinute: number; burst: number };
  teamId?: string;
  teamDomain?: string;
  botUserId?: string;
  botId?: string;
  appId?: string;
  /** Clock for ts values, trigger and response_url expiry and the call log (default Date.now). */
  now?: () => number;
  /** Port to listen on (default: any free one). */
  port?: number;
  /**
   * The app-level token (`xapp-…`) accepted by `apps.connections.open`; without it Socket Mode is off. The bot
   * token there gets `not_allowed_token_type`, as does this token on any other method.
   */
  appToken?: string;
  /** How often the Socket Mode server pings each connection (ms, default 10 000); the app must answer with pongs. */
  socketPingIntervalMs?: number;
}

export interface SlackApiServer {
  /** `http://127.0.0.1:P` */
  url: string;
  /** Web API base for WebClient's `slackApiUrl` and Bolt's `clientOptions.slackApiUrl` (ends with `/api/`). */
  apiUrl: string;
  teamId: string;
  teamDomain: string;
  botUserId: string;
  botId: string;
  appId: string;
  /** The URL of response_url `id`. */
  responseUrl(id: string): string;
  /** A fresh response_url, valid for 5 uses within 30 minutes as Slack's are. */
  createResponseUrl(context: SlackResponseUrlContext): { id: string; url: string };
  /** A fresh trigger_id, exchangeable once by views.open within 3 seconds. */
  mintTriggerId(options?: { userId?: string }): string;
  /** Top-level messages of a channel, oldest first, each with its replies. */
  messages(channel: string): SlackMessage[];
  /** A message or thread reply by ts. */
  message(channel: string, ts: string): SlackMessage | undefined;
  replies(channel: string, threadTs: string): SlackMessage[];
  ephemerals(filter?: { channel?: string; user?: string }): SlackEphemeral[];
  responseUrlPosts(id?: string): SlackResponseUrlPost[];
  views(): SlackOpenedView[];
  calls(filter?: { method?: string; channel?: string; ok?: boolean }): SlackApiCall[];
  userGroups(): Record<string, string[]>;
  setUserGroup(id: string, users: string[]): void;
  /** Seeds a message from a person (the bot cannot update it: `cant_update_message`). Returns its ts. */
  postAsUser(channel: string, user: string, text: string): string;
  /**
   * Shows the body an app answered a slash command's HTTP request with, as Slack does: an ephemeral for the user,
   * or a channel message with `response_type: 'in_channel'`. `command` holds the command's form fields. Returns
   * why it could not be shown (`invalid_blocks`, …), or undefined.
   */
  showCommandAnswer(command: Record<string, string>, answer: unknown): string | undefined;
  addChannel(seed: string | SlackChannelSeed): void;
  /** Invites the bot to a channel that exists (`/invite @baton`), or removes it (`member` false). */
  setBotMember(channel: string, member: boolean): void;
  faults: SlackFaults;
  /** The Socket Mode side (no connection can open without `appToken`). */
  socketMode: SlackSocketMode;
  close(): Promise<void>;
}

/** Starts the stand-in on a free loopback port. */
export async function startSlackApiServer(options: SlackApiServerOptions): Promise<SlackApiServer> {
  const now = options.now ?? (() => Date.now());
  const identity: SlackIdentity = {
    teamId: options.teamId ?? 'T0BATON',
    teamDomain: options.teamDomain ?? 'baton-sandbox',
    botUserId: options.botUserId ?? 'U0BATONBOT',
    botId: options.botId ?? 'B0BATON',
    appId: options.appId ?? 'A0BATON',
  };

  const workspace = new SlackWorkspace({
    identity,
    now,
    users: options.users,
    userGroups: options.userGroups,
    channels: options.channels,
  });
  const interactivity = new SlackInteractivity(identity, workspace, now);
  // Faults and Socket Mode refer to each other; both callbacks run only once the server is up.
  const faults = new FaultInjector(() => socketMode.terminateAll());
  const socketMode = new SocketModeServer({
    appId: identity.appId,
    now,
    pingIntervalMs: options.socketPingIntervalMs ?? 10_000,
    outage: () => faults.outage,
    showCommandAnswer: (command, answer) => interactivity.showCommandAnswer(command, answer),
  });
  const scopes = new Set(options.scopes ?? DEFAULT_SCOPES);
  let base = '';
  const uploads = new SlackFileUploads(workspace, () => base);
  const dispatch = new WebApiDispatch({
    botToken: options.botToken,
    appToken: options.appToken,
    scopes,
    methods: createWebApiMethods({
      identity,
      workspace,
      scopes,
      openView: (params) => interactivity.openView(params),
      openConnection: () => socketMode.openConnection(),
      files: {
        getUploadURLExternal: (params) => uploads.getUploadURLExternal(params),
        completeUploadExternal: (params) => uploads.completeUploadExternal(params),
      },
    }),
    faults,
    rateLimit: new ChannelRateLimit(options.channelRateLimit, now, options.updateRateLimit),
    now,
  });

  const { server, port } = await listenSlackHttp({
    routes: {
      api: (method, req, raw, url) => dispatch.answer(method, req, raw, url),
      responseUrl: (id, raw, contentType) => interactivity.postToResponseUrl(id, raw, contentType),
      upload: (token, body, contentType) => uploads.receive(token, body, contentType),
    },
    outage: () => faults.outage,
    latencyMs: () => faults.latencyMs(),
    port: options.port,
  });
  base = `http://127.0.0.1:${port}`;
  socketMode.attach(server, `ws://127.0.0.1:${port}`);
  const responseUrl = (id: string) => `${base}/response/${encodeURIComponent(id)}`;

  return {
    url: base,
    apiUrl: `${base}/api/`,
    ...identity,
    responseUrl,
    createResponseUrl(context) {
      const id = interactivity.createResponseUrl(context);
      return { id, url: responseUrl(id) };
    },
    mintTriggerId: (mintOptions) => interactivity.mintTriggerId(mintOptions),
    messages: (channel) => structuredClone(workspace.findChannel(channel, false)?.messages ?? []),
    message(channel, ts) {
      const state = workspace.findChannel(channel, false);
      const found = state && workspace.findMessage(state, ts);
      return found && structuredClone(found);
    },
    replies: (channel, threadTs) =>
      structuredClone(
        workspace.findChannel(channel, false)?.messages.find((m) => m.ts === threadTs)?.replies ?? [],
      ),
    ephemerals: (filter = {}) =>
      structuredClone(
        workspace.ephemerals.filter(
          (e) =>
            (!filter.channel || e.channel === filter.channel) && (!filter.user || e.user === filter.user),
        ),
      ),
    responseUrlPosts: (id) => structuredClone(interactivity.responsePosts.filter((p) => !id || p.id === id)),
    views: () => structuredClone(interactivity.views),
    calls: (filter) => dispatch.calls(filter),
    userGroups: () => workspace.userGroups(),
    setUserGroup: (id, list) => workspace.setUserGroup(id, list),
    showCommandAnswer: (command, answer) => interactivity.showCommandAnswer(command, answer),
    postAsUser(channel, user, text) {
      const state = workspace.findChannel(channel, true);
      if (!state) throw new Error(`channel ${channel} does not exist in the Slack stand-in`);
      return workspace.postAsUser(state, user, text).ts;
    },
    addChannel: (seed) => workspace.addChannel(seed),
    setBotMember: (channel, member) => workspace.setBotMember(channel, member),
    faults: faults.controls,
    socketMode: socketMode.controls,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Upgraded sockets are no longer the HTTP server's to close, yet keep it open until they end.
        socketMode.close();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
