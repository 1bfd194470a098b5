/**
 * A Slack Web API stand-in: a real HTTP server on 127.0.0.1 that answers the methods Baton uses the way
 * slack.com does, so `@slack/web-api`'s WebClient and Bolt talk to it unmodified (`slackApiUrl` = `apiUrl`).
 *
 * Wire behaviour follows Slack's method reference: POST bodies form-encoded (token in the Authorization header or
 * a `token` field) or JSON (token only in the header); every answer is HTTP 200 with `{ ok: true, … }` or
 * `{ ok: false, error }`, except rate limiting (HTTP 429 with a `Retry-After` header in seconds) and server
 * faults. It keeps what an operator would see in Slack — messages per channel with their thread replies and edit
 * history, ephemerals per user, response_url replies, opened modals — so tests assert on that, plus a call log.
 *
 * With an app-level token it also speaks Socket Mode: `apps.connections.open` hands out a single-use
 * `ws://…/link/?ticket=…` URL on the same server, whose WebSocket greets with `hello`, pings, delivers envelopes
 * (`{ envelope_id, type, payload, accepts_response_payload }`), records the app's acks (`{ envelope_id, payload }`)
 * and sends `disconnect` messages, as Slack's Socket Mode documentation describes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { WebSocket, WebSocketServer } from 'ws';

/** A channel that exists. `members` limits who can receive ephemerals (default: every user). */
export interface SlackChannelSeed {
  id: string;
  name?: string;
  members?: string[];
}

export interface SlackApiServerOptions {
  /** The only bot token accepted (`xoxb-…`); anything else gets `invalid_auth`. */
  botToken: string;
  /** Users of the workspace. When given, an ephemeral for anyone else is refused (`user_not_in_channel`). */
  users?: string[];
  /** User group id (S…) → member user ids, for `usergroups.users.list`. */
  userGroups?: Record<string, string[]>;
  /** Channels that exist. Omitted: any channel id (C…, G…, D…) exists from its first message. */
  channels?: (string | SlackChannelSeed)[];
  /** Scopes granted to the bot token; a method needing another answers `missing_scope`. */
  scopes?: string[];
  /**
   * Slack's special limit on chat.postMessage (about one message per second per channel, short bursts allowed),
   * enforced with 429s when set. Off by default so tests can measure Baton's own pacing.
   */
  channelRateLimit?: { perSecond: number; burst: number };
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

export interface SlackMessageEdit {
  /** The content before this edit. */
  text: string;
  blocks?: unknown[];
  /** When it was replaced (ms). */
  replacedAt: number;
}

export interface SlackMessage {
  ts: string;
  channel: string;
  /** The bot user for messages Baton posted; a person's id for messages seeded with `postAsUser`. */
  user: string;
  botId?: string;
  text: string;
  blocks?: unknown[];
  threadTs?: string;
  /** Thread replies, oldest first (top-level messages only). */
  replies: SlackMessage[];
  /** Earlier versions, oldest first; empty when never edited. */
  edits: SlackMessageEdit[];
  /** ts of the latest edit (Slack's `edited.ts`). */
  editedTs?: string;
  postedAt: number;
  /** `ack`: an `in_channel` answer in a slash command's Socket Mode ack. */
  via: 'api' | 'response_url' | 'user' | 'ack';
}

export interface SlackEphemeral {
  channel: string;
  user: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  threadTs?: string;
  /** `ack`: the answer a slash command's Socket Mode ack carried. */
  via: 'api' | 'response_url' | 'ack';
  postedAt: number;
  /** Earlier versions replaced through a response_url with replace_original. */
  edits: SlackMessageEdit[];
}

/** What a slash command or a click left behind for its response_url to act on. */
export interface SlackResponseUrlContext {
  channel: string;
  user: string;
  /** The message holding the clicked button (block_actions); absent for slash commands. */
  messageTs?: string;
  /** The clicked message was an ephemeral (its ts from `ephemerals()`). */
  ephemeral?: boolean;
}

export interface SlackResponseUrlPost {
  id: string;
  at: number;
  status: number;
  body: Record<string, unknown>;
  error?: string;
}

export interface SlackOpenedView {
  id: string;
  triggerId: string;
  userId?: string;
  view: Record<string, unknown>;
  openedAt: number;
}

export interface SlackApiCall {
  method: string;
  channel?: string;
  /** When the request arrived (ms, the server's clock). */
  at: number;
  status: number;
  ok: boolean;
  error?: string;
}

export interface SlackFaults {
  /** The next `count` (default 1) matching calls get HTTP 429 with `Retry-After: retryAfterS`. */
  rateLimit(options: { method?: string; channel?: string; retryAfterS: number; count?: number }): void;
  /** The next `count` (default 1; Infinity until `clear`) matching calls get HTTP `status`. */
  fail(options: { status: 500 | 503; method?: string; count?: number }): void;
  /**
   * While on, every connection is reset before an answer, as when Slack is unreachable; open Socket Mode
   * connections are reset too and new ones refused.
   */
  outage(on: boolean): void;
  /** Delay every answer by `ms`. */
  latency(ms: number): void;
  /** Ends every fault. */
  clear(): void;
}

/** Envelope types Slack sends over Socket Mode. */
export type SlackEnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

export interface SlackEnvelopeInput {
  type: SlackEnvelopeType;
  /**
   * What Slack would have POSTed over HTTP: for `slash_commands` the form fields as a JSON object of strings, for
   * `interactive` the payload object (`block_actions`, `view_submission`, …), for `events_api` the event callback
   * (with its `event`).
   */
  payload: object;
}

export interface SlackDelivery {
  envelopeId: string;
  /** The app acked within the timeout on the connection it was sent to. */
  acked: boolean;
  /** The ack's `payload`, when the app sent one. */
  ackPayload?: unknown;
  /** Wall time from sending the envelope to the ack, or to giving up. */
  ms: number;
  /**
   * What went wrong, as Slack shows it to the user: `dispatch_failed` (no open connection), `operation_timeout`
   * (no ack in time), or why the ack's payload could not be shown (`invalid_blocks`, `no_text`, …).
   */
  error?: string;
}

/** One envelope sent over Socket Mode, and what became of it. */
export interface SlackSocketEnvelope {
  envelopeId: string;
  type: SlackEnvelopeType;
  payload: unknown;
  connectionId: string;
  deliveredAt: number;
  /** When the ack arrived, even too late. */
  ackedAt?: number;
  ackPayload?: unknown;
  error?: string;
}

/** One Socket Mode WebSocket connection. */
export interface SlackSocketConnection {
  id: string;
  openedAt: number;
  closedAt?: number;
  closeCode?: number;
  /** Pings the app sent; each was answered with a pong. */
  pingsReceived: number;
  /** Pongs the app returned to the server's pings. */
  pongsReceived: number;
}

/** Reasons of Slack's `disconnect` message. */
export type SlackDisconnectReason = 'warning' | 'refresh_requested' | 'link_disabled' | 'too_many_websockets';

export interface SlackSocketMode {
  /** Open connections. */
  connections(): number;
  /** Every connection ever opened, oldest first. */
  connectionLog(): SlackSocketConnection[];
  /** Every envelope sent, oldest first. */
  envelopes(): SlackSocketEnvelope[];
  /**
   * Sends an envelope to one open connection (round robin, as Slack spreads them) and waits up to `timeoutMs`
   * (default 3 000, Slack's limit) for its ack. A slash command's ack payload with text or blocks is shown as Slack
   * shows it: an ephemeral for the user, or a channel message with `response_type: 'in_channel'`.
   */
  deliver(envelope: SlackEnvelopeInput, options?: { timeoutMs?: number }): Promise<SlackDelivery>;
  /**
   * Sends `{ type: 'disconnect', reason }` (default `refresh_requested`) to every open connection and resolves once
   * they have closed; Slack drops a connection the app keeps open past a grace period. A `warning` only warns.
   */
  disconnectAll(reason?: SlackDisconnectReason): Promise<void>;
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
  faults: SlackFaults;
  /** The Socket Mode side (no connection can open without `appToken`). */
  socketMode: SlackSocketMode;
  close(): Promise<void>;
}

type Params = Record<string, unknown>;
type Answer = { ok: true; [key: string]: unknown } | { ok: false; error: string; [key: string]: unknown };

interface ChannelState {
  id: string;
  name: string;
  members?: Set<string>;
  messages: SlackMessage[];
}

interface TriggerState {
  mintedAt: number;
  userId?: string;
  used: boolean;
}

interface ResponseUrlState {
  context: SlackResponseUrlContext;
  createdAt: number;
  uses: number;
}

interface PendingFault {
  method?: string;
  channel?: string;
  remaining: number;
  answer: { status: number; headers: Record<string, string>; body: Answer };
}

/** Slack truncates past 40,000 characters and refuses longer text with `msg_too_long`. */
export const SLACK_TEXT_LIMIT = 40_000;
/** Blocks per message (modals allow 100). */
export const SLACK_MAX_BLOCKS = 50;
export const TRIGGER_TTL_MS = 3_000;
export const RESPONSE_URL_TTL_MS = 30 * 60_000;
export const RESPONSE_URL_MAX_USES = 5;
/** Slack waits 3 seconds for a Socket Mode ack, as for an HTTP answer. */
export const SOCKET_ACK_TIMEOUT_MS = 3_000;
/** Open Socket Mode connections allowed per app. */
export const SOCKET_MAX_CONNECTIONS = 10;
/** How long a connection told to disconnect may stay open before the server drops it. */
const SOCKET_DISCONNECT_GRACE_MS = 2_000;
const SOCKET_HOST = 'applink-sandbox';

// Scopes each method needs with a bot token, from each method's reference page.
const METHOD_SCOPES: Record<string, string | undefined> = {
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'usergroups.users.list': 'usergroups:read',
};

const DEFAULT_SCOPES = ['commands', 'chat:write', 'chat:write.public', 'usergroups:read'];

const CHANNEL_ID = /^[CGD][A-Z0-9]{2,}$/;
const TRIGGER_ID = /^\d+\.\d+\.[0-9a-f]+$/;

function randomId(prefix: string, length = 10): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const bytes = randomBytes(length);
  return prefix + Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

const clone = <T>(value: T): T => structuredClone(value);

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

const fail = (error: string, extra: Params = {}): Answer => ({ ok: false, error, ...extra });

/** One schema problem, in Slack's own `response_metadata.messages` form. */
const schemaError = (message: string, pointer: string) => `[ERROR] ${message} [json-pointer:${pointer}]`;

function textObjectError(value: unknown, pointer: string, max: number, plainOnly = false): string | null {
  if (typeof value !== 'object' || value === null) return schemaError('must provide an object', pointer);
  const object = value as Params;
  if (object.type !== 'plain_text' && (plainOnly || object.type !== 'mrkdwn'))
    return schemaError(`must be ${plainOnly ? 'plain_text' : 'plain_text or mrkdwn'}`, `${pointer}/type`);
  if (typeof object.text !== 'string' || object.text.length === 0)
    return schemaError('must be more than 0 characters', `${pointer}/text`);
  if (object.text.length > max)
    return schemaError(`must be less than ${max + 1} characters`, `${pointer}/text`);
  return null;
}

function elementError(value: unknown, pointer: string): string | null {
  if (typeof value !== 'object' || value === null) return schemaError('must provide an object', pointer);
  const element = value as Params;
  if (typeof element.type !== 'string') return schemaError('must provide a type', `${pointer}/type`);
  if (
    element.action_id !== undefined &&
    (typeof element.action_id !== 'string' || element.action_id.length > 255)
  )
    return schemaError('must be a string of at most 255 characters', `${pointer}/action_id`);
  if (element.type === 'button') {
    const textError = textObjectError(element.text, `${pointer}/text`, 75, true);
    if (textError) return textError;
    if (element.value !== undefined && (typeof element.value !== 'string' || element.value.length > 2000))
      return schemaError('must be a string of at most 2000 characters', `${pointer}/value`);
    if (element.style !== undefined && element.style !== 'primary' && element.style !== 'danger')
      return schemaError('must be primary or danger', `${pointer}/style`);
  }
  return null;
}

/**
 * Checks a message's blocks the way Slack's Block Kit validation does for the block types Baton sends (section,
 * header, context, actions, divider), returning the first problem or null. Other known types pass unchecked.
 */
export function blocksError(blocks: unknown[], maxBlocks = SLACK_MAX_BLOCKS): string | null {
  if (blocks.length > maxBlocks) return schemaError(`no more than ${maxBlocks} items allowed`, '/blocks');
  const blockIds = new Set<string>();
  for (const [index, value] of blocks.entries()) {
    const pointer = `/blocks/${index}`;
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return schemaError('must provide an object', pointer);
    const block = value as Params;
    if (block.block_id !== undefined) {
      if (typeof block.block_id !== 'string' || block.block_id.length === 0 || block.block_id.length > 255)
        return schemaError('must be a string of 1 to 255 characters', `${pointer}/block_id`);
      if (blockIds.has(block.block_id)) return schemaError('block_id must be unique', `${pointer}/block_id`);
      blockIds.add(block.block_id);
    }
    switch (block.type) {
      case 'section': {
        if (block.text === undefined && block.fields === undefined)
          return schemaError('must provide text or fields', pointer);
        if (block.text !== undefined) {
          const error = textObjectError(block.text, `${pointer}/text`, 3000);
          if (error) return error;
        }
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields) || block.fields.length === 0 || block.fields.length > 10)
            return schemaError('must provide 1 to 10 items', `${pointer}/fields`);
          for (const [i, field] of block.fields.entries()) {
            const error = textObjectError(field, `${pointer}/fields/${i}`, 2000);
            if (error) return error;
          }
        }
        if (block.accessory !== undefined) {
          const error = elementError(block.accessory, `${pointer}/accessory`);
          if (error) return error;
        }
        break;
      }
      case 'header': {
        const error = textObjectError(block.text, `${pointer}/text`, 150, true);
        if (error) return error;
        break;
      }
      case 'context': {
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > 10)
          return schemaError('must provide 1 to 10 items', `${pointer}/elements`);
        for (const [i, element] of block.elements.entries()) {
          const elementType = (element as Params | null)?.type;
          if (elementType === 'image') continue;
          const error = textObjectError(element, `${pointer}/elements/${i}`, 3000);
          if (error) return error;
        }
        break;
      }
      case 'actions': {
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > 25)
          return schemaError('must provide 1 to 25 items', `${pointer}/elements`);
        const actionIds = new Set<string>();
        for (const [i, element] of block.elements.entries()) {
          const error = elementError(element, `${pointer}/elements/${i}`);
          if (error) return error;
          const actionId = (element as Params).action_id;
          if (typeof actionId === 'string') {
            if (actionIds.has(actionId))
              return schemaError('action_id must be unique', `${pointer}/elements/${i}/action_id`);
            actionIds.add(actionId);
          }
        }
        break;
      }
      case 'markdown':
        if (typeof block.text !== 'string' || block.text.length === 0 || block.text.length > 12_000)
          return schemaError('must be 1 to 12000 characters', `${pointer}/text`);
        break;
      case 'divider':
      case 'image':
      case 'input':
      case 'rich_text':
      case 'file':
      case 'video':
        break;
      default:
        return schemaError('failed to match all allowed schemas', pointer);
    }
  }
  return null;
}

/** `blocks` as sent: a JSON string (form bodies) or an array (JSON bodies). */
function parseBlocks(value: unknown): { blocks?: unknown[]; error?: Answer } {
  if (value === undefined || value === null || value === '') return {};
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      return { error: fail('invalid_blocks_format') };
    }
  }
  if (!Array.isArray(parsed)) return { error: fail('invalid_blocks_format') };
  const problem = blocksError(parsed);
  if (problem) return { error: fail('invalid_blocks', { response_metadata: { messages: [problem] } }) };
  return { blocks: parsed };
}

function parseJsonParam(value: unknown): Params | undefined {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Params;
  if (typeof value !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Params)
      : undefined;
  } catch {
    return undefined;
  }
}

const asString = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;

/** Starts the stand-in on a free loopback port. */
export async function startSlackApiServer(options: SlackApiServerOptions): Promise<SlackApiServer> {
  const now = options.now ?? (() => Date.now());
  const teamId = options.teamId ?? 'T0BATON';
  const teamDomain = options.teamDomain ?? 'baton-sandbox';
  const botUserId = options.botUserId ?? 'U0BATONBOT';
  const botId = options.botId ?? 'B0BATON';
  const appId = options.appId ?? 'A0BATON';
  const scopes = new Set(options.scopes ?? DEFAULT_SCOPES);

  const users = new Set(options.users ?? []);
  const knownUsersOnly = options.users !== undefined;
  const userGroups = new Map(Object.entries(options.userGroups ?? {}).map(([id, list]) => [id, [...list]]));
  const channels = new Map<string, ChannelState>();
  const openWorld = options.channels === undefined;
  const addChannel = (seed: string | SlackChannelSeed) => {
    const channel = typeof seed === 'string' ? { id: seed } : seed;
    channels.set(channel.id, {
      id: channel.id,
      name: channel.name ?? channel.id.toLowerCase(),
      ...(channel.members && { members: new Set(channel.members) }),
      messages: [],
    });
  };
  for (const seed of options.channels ?? []) addChannel(seed);

  const ephemerals: SlackEphemeral[] = [];
  const triggers = new Map<string, TriggerState>();
  const responseUrls = new Map<string, ResponseUrlState>();
  const responsePosts: SlackResponseUrlPost[] = [];
  const views: SlackOpenedView[] = [];
  const callLog: SlackApiCall[] = [];
  const buckets = new Map<string, { tokens: number; at: number }>();
  let pendingFaults: PendingFault[] = [];
  let outage = false;
  let latencyMs = 0;
  let lastTsMicros = 0;
  let triggerCounter = 0;
  // Socket Mode: unused tickets from apps.connections.open, and the ws:// base known once listening.
  const tickets = new Set<string>();
  let wsBase = '';

  /** Unique, increasing message timestamps in Slack's `seconds.micros` form. */
  const nextTs = () => {
    lastTsMicros = Math.max(now() * 1000, lastTsMicros + 1);
    const seconds = Math.floor(lastTsMicros / 1_000_000);
    return `${seconds}.${String(lastTsMicros % 1_000_000).padStart(6, '0')}`;
  };

  const findChannel = (ref: string | undefined, create: boolean): ChannelState | undefined => {
    if (!ref) return undefined;
    const name = ref.replace(/^#/, '');
    const found = channels.get(ref) ?? [...channels.values()].find((c) => c.name === name);
    if (found || !create || !openWorld || !CHANNEL_ID.test(ref)) return found;
    addChannel(ref);
    return channels.get(ref);
  };

  const findMessage = (channel: ChannelState, ts: string): SlackMessage | undefined => {
    for (const message of channel.messages) {
      if (message.ts === ts) return message;
      const reply = message.replies.find((r) => r.ts === ts);
      if (reply) return reply;
    }
    return undefined;
  };

  const botMessageJson = (message: SlackMessage) => ({
    type: 'message',
    user: message.user,
    ...(message.botId && { bot_id: message.botId, app_id: appId }),
    text: message.text,
    ...(message.blocks && { blocks: message.blocks }),
    ts: message.ts,
    team: teamId,
    ...(message.threadTs && { thread_ts: message.threadTs, parent_user_id: message.user }),
    ...(message.editedTs && { edited: { user: message.user, ts: message.editedTs } }),
  });

  /** text and blocks of a message call: `no_text` when neither, `msg_too_long` past the limit. */
  const readContent = (
    params: Params,
    requireContent: boolean,
  ): { text?: string; blocks?: unknown[]; error?: Answer } => {
    const parsed = parseBlocks(params.blocks);
    if (parsed.error) return { error: parsed.error };
    const text = asString(params.text);
    const hasAttachments = params.attachments !== undefined && params.attachments !== '';
    if (requireContent && !text && !(parsed.blocks && parsed.blocks.length > 0) && !hasAttachments)
      return { error: fail('no_text') };
    if (text && text.length > SLACK_TEXT_LIMIT) return { error: fail('msg_too_long') };
    return { ...(text !== undefined && { text }), ...(parsed.blocks && { blocks: parsed.blocks }) };
  };

  const postBotMessage = (
    channel: ChannelState,
    content: { text: string; blocks?: unknown[] },
    threadTs: string | undefined,
    via: SlackMessage['via'],
  ): SlackMessage => {
    const message: SlackMessage = {
      ts: nextTs(),
      channel: channel.id,
      user: botUserId,
      botId,
      text: content.text,
      ...(content.blocks && { blocks: content.blocks }),
      ...(threadTs && { threadTs }),
      replies: [],
      edits: [],
      postedAt: now(),
      via,
    };
    const parent = threadTs ? channel.messages.find((m) => m.ts === threadTs) : undefined;
    // A reply to a reply joins the parent's thread, as Slack does. A reply to an unknown thread_ts stays
    // top-level with its threadTs set, so a test can spot such orphans.
    const root =
      parent ??
      (threadTs ? channel.messages.find((m) => m.replies.some((r) => r.ts === threadTs)) : undefined);
    if (root) {
      message.threadTs = root.ts;
      root.replies.push(message);
    } else channel.messages.push(message);
    return message;
  };

  const replaceContent = (
    target: { text: string; blocks?: unknown[]; edits: SlackMessageEdit[] },
    content: { text?: string; blocks?: unknown[] },
  ) => {
    target.edits.push({
      text: target.text,
      ...(target.blocks && { blocks: target.blocks }),
      replacedAt: now(),
    });
    if (content.text !== undefined) target.text = content.text;
    // chat.update keeps the old blocks when none are sent; an empty array removes them.
    if (content.blocks !== undefined) {
      if (content.blocks.length > 0) target.blocks = content.blocks;
      else delete target.blocks;
    }
  };

  const methods: Record<string, (params: Params) => Answer> = {
    // Each URL carries a fresh single-use ticket; the client calls again for every (re)connection.
    'apps.connections.open': () => {
      const ticket = randomUUID();
      tickets.add(ticket);
      return { ok: true, url: `${wsBase}/link/?ticket=${ticket}&app_id=${appId}` };
    },

    'auth.test': () => ({
      ok: true,
      url: `https://${teamDomain}.slack.com/`,
      team: teamDomain,
      user: 'baton',
      team_id: teamId,
      user_id: botUserId,
      bot_id: botId,
      is_enterprise_install: false,
    }),

    'chat.postMessage': (params) => {
      const channel = findChannel(asString(params.channel), true);
      if (!channel) return fail('channel_not_found');
      const content = readContent(params, true);
      if (content.error) return content.error;
      const threadTs = asString(params.thread_ts) || undefined;
      const message = postBotMessage(channel, { text: content.text ?? '', ...content }, threadTs, 'api');
      return { ok: true, channel: channel.id, ts: message.ts, message: botMessageJson(message) };
    },

    'chat.update': (params) => {
      const channel = findChannel(asString(params.channel), false);
      if (!channel) return fail('channel_not_found');
      const ts = asString(params.ts);
      if (!ts) return fail('message_not_found');
      const content = readContent(params, true);
      if (content.error) return content.error;
      const message = findMessage(channel, ts);
      if (!message) return fail('message_not_found');
      if (message.user !== botUserId) return fail('cant_update_message');
      replaceContent(message, content);
      message.editedTs = nextTs();
      return {
        ok: true,
        channel: channel.id,
        ts: message.ts,
        text: message.text,
        message: botMessageJson(message),
      };
    },

    'chat.postEphemeral': (params) => {
      const channel = findChannel(asString(params.channel), true);
      if (!channel) return fail('channel_not_found');
      const user = asString(params.user);
      if (!user) return fail('user_not_in_channel');
      if ((knownUsersOnly && !users.has(user)) || (channel.members && !channel.members.has(user)))
        return fail('user_not_in_channel');
      const content = readContent(params, true);
      if (content.error) return content.error;
      const ephemeral: SlackEphemeral = {
        channel: channel.id,
        user,
        ts: nextTs(),
        text: content.text ?? '',
        ...(content.blocks && { blocks: content.blocks }),
        ...(asString(params.thread_ts) && { threadTs: asString(params.thread_ts) }),
        via: 'api',
        postedAt: now(),
        edits: [],
      };
      ephemerals.push(ephemeral);
      return { ok: true, message_ts: ephemeral.ts };
    },

    'views.open': (params) => {
      const triggerId = asString(params.trigger_id);
      if (!triggerId)
        return fail('invalid_arguments', {
          response_metadata: { messages: ['[ERROR] missing required field: trigger_id'] },
        });
      const trigger = triggers.get(triggerId);
      if (!TRIGGER_ID.test(triggerId) || !trigger) return fail('invalid_trigger_id');
      if (trigger.used) return fail('exchanged_trigger_id');
      if (now() - trigger.mintedAt > TRIGGER_TTL_MS) return fail('expired_trigger_id');
      const view = parseJsonParam(params.view);
      if (!view)
        return fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] invalid `view`'] } });
      if (view.type !== 'modal')
        return fail('invalid_arguments', {
          response_metadata: { messages: [schemaError('must be modal', '/view/type')] },
        });
      const titleError = textObjectError(view.title, '/view/title', 24, true);
      if (titleError) return fail('invalid_arguments', { response_metadata: { messages: [titleError] } });
      const blocks = Array.isArray(view.blocks) ? view.blocks : [];
      const problem = blocksError(blocks, 100);
      if (problem) return fail('invalid_arguments', { response_metadata: { messages: [problem] } });
      trigger.used = true;
      const id = randomId('V');
      const opened = {
        id,
        team_id: teamId,
        type: 'modal',
        blocks,
        private_metadata: asString(view.private_metadata) ?? '',
        callback_id: asString(view.callback_id) ?? '',
        external_id: asString(view.external_id) ?? '',
        state: { values: {} },
        hash: `${Math.floor(now() / 1000)}.${randomBytes(4).toString('hex')}`,
        title: view.title,
        ...(view.submit !== undefined && { submit: view.submit }),
        ...(view.close !== undefined && { close: view.close }),
        clear_on_close: view.clear_on_close === true,
        notify_on_close: view.notify_on_close === true,
        root_view_id: id,
        previous_view_id: null,
        app_id: appId,
        bot_id: botId,
      };
      views.push({ id, triggerId, ...(trigger.userId && { userId: trigger.userId }), view, openedAt: now() });
      return { ok: true, view: opened };
    },

    'usergroups.users.list': (params) => {
      const id = asString(params.usergroup);
      const members = id ? userGroups.get(id) : undefined;
      if (!members) return fail('no_such_subteam');
      return { ok: true, users: [...members] };
    },
  };

  const takeFault = (method: string, channel: string | undefined): PendingFault | undefined => {
    const fault = pendingFaults.find(
      (f) => (!f.method || f.method === method) && (!f.channel || f.channel === channel),
    );
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) pendingFaults = pendingFaults.filter((f) => f !== fault);
    return fault;
  };

  /** Token bucket per channel for chat.postMessage, when channelRateLimit is set. Returns Retry-After seconds. */
  const channelLimited = (method: string, channel: string | undefined): number | undefined => {
    const limit = options.channelRateLimit;
    if (!limit || method !== 'chat.postMessage' || !channel) return undefined;
    const at = now();
    const bucket = buckets.get(channel) ?? { tokens: limit.burst, at };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((at - bucket.at) / 1000) * limit.perSecond);
    bucket.at = at;
    buckets.set(channel, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / limit.perSecond));
  };

  const parseParams = (
    req: IncomingMessage,
    raw: string,
    url: URL,
  ): { params: Params; bodyToken?: string; error?: string } => {
    const params: Params = Object.fromEntries(url.searchParams);
    if (req.method === 'GET' || raw.length === 0)
      return { params, ...(asString(params.token) && { bodyToken: asString(params.token) }) };
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (!contentType) return { params, error: 'missing_post_type' };
    if (contentType === 'application/x-www-form-urlencoded') {
      Object.assign(params, Object.fromEntries(new URLSearchParams(raw)));
      const token = asString(params.token);
      return { params, ...(token && { bodyToken: token }) };
    }
    if (contentType === 'application/json') {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
          return { params, error: 'invalid_json' };
        // Slack reads the token of a JSON body only from the Authorization header.
        Object.assign(params, parsed);
        return { params };
      } catch {
        return { params, error: 'invalid_json' };
      }
    }
    return { params, error: 'invalid_post_type' };
  };

  const handleApi = (req: IncomingMessage, res: ServerResponse, method: string, raw: string, url: URL) => {
    const at = now();
    const parsed = parseParams(req, raw, url);
    const channel = asString(parsed.params.channel);
    const record = (status: number, body: Answer) => {
      callLog.push({
        method,
        ...(channel && { channel }),
        at,
        status,
        ok: body.ok,
        ...(!body.ok && { error: body.error }),
      });
    };
    const answer = (status: number, body: Answer, headers: Record<string, string> = {}) => {
      record(status, body);
      sendJson(res, status, body, headers);
    };

    const fault = takeFault(method, channel);
    if (fault) return answer(fault.answer.status, fault.answer.body, fault.answer.headers);
    if (parsed.error) return answer(200, fail(parsed.error));

    const header = req.headers.authorization;
    const headerToken = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    const appLevel = method === 'apps.connections.open';
    // apps.connections.open takes the app-level token only from the Authorization header; an app-level token
    // is good for nothing else, and a bot token not for that.
    const token = appLevel ? headerToken : (headerToken ?? parsed.bodyToken);
    if (!token) return answer(200, fail('not_authed'));
    const isAppToken = options.appToken !== undefined && token === options.appToken;
    if (appLevel ? token === options.botToken : isAppToken)
      return answer(200, fail('not_allowed_token_type'));
    if (!(appLevel ? isAppToken : token === options.botToken)) return answer(200, fail('invalid_auth'));

    const handler = methods[method];
    if (!handler) return answer(200, fail('unknown_method', { req_method: method }));
    const needed = METHOD_SCOPES[method];
    if (needed && !scopes.has(needed))
      return answer(200, fail('missing_scope', { needed, provided: [...scopes].join(',') }));

    const retryAfter = channelLimited(method, channel);
    if (retryAfter !== undefined)
      return answer(429, fail('ratelimited'), { 'retry-after': String(retryAfter) });

    answer(200, handler(parsed.params), {
      'x-oauth-scopes': appLevel ? 'connections:write' : [...scopes].join(','),
    });
  };

  const handleResponseUrl = (res: ServerResponse, id: string, raw: string, contentType: string) => {
    const at = now();
    let body: Params = {};
    const answer = (status: number, error?: string) => {
      responsePosts.push({ id, at, status, body, ...(error && { error }) });
      sendJson(res, status, error ? { ok: false, error } : { ok: true });
    };
    const state = responseUrls.get(id);
    if (!state) return answer(404, 'no_service');
    if (at - state.createdAt > RESPONSE_URL_TTL_MS) return answer(404, 'expired_url');
    if (state.uses >= RESPONSE_URL_MAX_USES) return answer(404, 'used_url');
    try {
      const parsed: unknown = contentType.startsWith('application/x-www-form-urlencoded')
        ? JSON.parse(new URLSearchParams(raw).get('payload') ?? '')
        : JSON.parse(raw);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        return answer(400, 'invalid_payload');
      body = parsed as Params;
    } catch {
      return answer(400, 'invalid_payload');
    }

    const { context } = state;
    const channel = findChannel(context.channel, true);
    if (!channel) return answer(404, 'channel_not_found');
    const original = context.messageTs
      ? context.ephemeral
        ? ephemerals.find((e) => e.ts === context.messageTs && e.user === context.user)
        : findMessage(channel, context.messageTs)
      : undefined;

    if (body.delete_original === true || body.delete_original === 'true') {
      state.uses += 1;
      if (original && context.ephemeral) ephemerals.splice(ephemerals.indexOf(original as SlackEphemeral), 1);
      else if (original) {
        channel.messages = channel.messages.filter((m) => m !== original);
        for (const m of channel.messages) m.replies = m.replies.filter((r) => r !== original);
      }
      return answer(200);
    }

    const content = readContent(body, true);
    if (content.error) return answer(400, content.error.ok ? 'invalid_payload' : content.error.error);
    state.uses += 1;
    const text = content.text ?? '';
    const replace = body.replace_original === true || body.replace_original === 'true';
    if (replace && original) {
      replaceContent(original, { text, blocks: content.blocks ?? [] });
      if (!context.ephemeral) (original as SlackMessage).editedTs = nextTs();
      return answer(200);
    }
    const threadTs = asString(body.thread_ts);
    if (body.response_type === 'in_channel') {
      postBotMessage(
        channel,
        { text, ...(content.blocks && { blocks: content.blocks }) },
        threadTs,
        'response_url',
      );
      return answer(200);
    }
    ephemerals.push({
      channel: channel.id,
      user: context.user,
      ts: nextTs(),
      text,
      ...(content.blocks && { blocks: content.blocks }),
      ...(threadTs && { threadTs }),
      via: 'response_url',
      postedAt: now(),
      edits: [],
    });
    return answer(200);
  };

  const server = createServer((req, res) => {
    if (outage) {
      req.socket.destroy();
      return;
    }
    readBody(req)
      .then(async (raw) => {
        if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
        if (outage) {
          req.socket.destroy();
          return;
        }
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        if (url.pathname.startsWith('/api/') && (req.method === 'POST' || req.method === 'GET'))
          return handleApi(req, res, decodeURIComponent(url.pathname.slice('/api/'.length)), raw, url);
        if (url.pathname.startsWith('/response/') && req.method === 'POST')
          return handleResponseUrl(
            res,
            decodeURIComponent(url.pathname.slice('/response/'.length)),
            raw,
            (req.headers['content-type'] ?? '').toLowerCase(),
          );
        sendJson(res, 404, { ok: false, error: 'not_found' });
      })
      .catch(() => {
        if (!res.headersSent) sendJson(res, 500, { ok: false, error: 'internal_error' });
        else res.destroy();
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  wsBase = `ws://127.0.0.1:${port}`;
  const responseUrl = (id: string) => `${base}/response/${encodeURIComponent(id)}`;

  // ------------------------------------------------------------------------------------------------------------
  // Socket Mode
  // ------------------------------------------------------------------------------------------------------------
  interface LiveConnection {
    record: SlackSocketConnection;
    ws: WebSocket;
    pinger: NodeJS.Timeout;
  }
  const live = new Map<string, LiveConnection>();
  const connectionLog: SlackSocketConnection[] = [];
  const envelopeLog: SlackSocketEnvelope[] = [];
  const awaitingAck = new Map<string, (payload: unknown) => void>();
  const pingIntervalMs = options.socketPingIntervalMs ?? 10_000;
  let connectionCounter = 0;
  let nextTarget = 0;
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

  /** Slack's `debug_info.started` form: `2020-10-11 12:12:12.120`. */
  const slackTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
  const disconnectMessage = (reason: SlackDisconnectReason) => ({
    type: 'disconnect',
    reason,
    debug_info: { host: SOCKET_HOST },
  });

  /** Shows a slash command's ack payload as Slack does; returns why it could not. */
  const showCommandAnswer = (command: Params, answer: unknown): string | undefined => {
    if (typeof answer !== 'object' || answer === null || Object.keys(answer).length === 0) return undefined;
    const body = answer as Params;
    const content = readContent(body, true);
    if (content.error) return content.error.ok ? 'invalid_payload' : content.error.error;
    const channel = findChannel(asString(command.channel_id), true);
    if (!channel) return 'channel_not_found';
    const text = content.text ?? '';
    const blocks = content.blocks && { blocks: content.blocks };
    if (body.response_type === 'in_channel') {
      postBotMessage(channel, { text, ...blocks }, undefined, 'ack');
      return undefined;
    }
    ephemerals.push({
      channel: channel.id,
      user: asString(command.user_id) ?? '',
      ts: nextTs(),
      text,
      ...blocks,
      via: 'ack',
      postedAt: now(),
      edits: [],
    });
    return undefined;
  };

  /** An ack counts on the connection its envelope went to, once. */
  const onSocketMessage = (connectionId: string, raw: string) => {
    let message: unknown;
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    const envelopeId = (message as Params | null)?.envelope_id;
    const entry = envelopeLog.find((e) => e.envelopeId === envelopeId);
    if (!entry || entry.connectionId !== connectionId || entry.ackedAt !== undefined) return;
    entry.ackedAt = now();
    const payload = (message as Params).payload;
    if (payload !== undefined) entry.ackPayload = payload;
    awaitingAck.get(entry.envelopeId)?.(payload);
  };

  const accept = (ws: WebSocket) => {
    ws.on('error', () => ws.terminate());
    if (live.size >= SOCKET_MAX_CONNECTIONS) {
      ws.send(JSON.stringify(disconnectMessage('too_many_websockets')), () => ws.close(1000));
      return;
    }
    connectionCounter += 1;
    const record: SlackSocketConnection = {
      id: `link-${connectionCounter}`,
      openedAt: now(),
      pingsReceived: 0,
      pongsReceived: 0,
    };
    const pinger = setInterval(() => ws.ping(), pingIntervalMs);
    pinger.unref();
    live.set(record.id, { record, ws, pinger });
    connectionLog.push(record);
    // ws answers every ping with a pong by itself (autoPong), as Slack's servers do.
    ws.on('ping', () => (record.pingsReceived += 1));
    ws.on('pong', () => (record.pongsReceived += 1));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const bytes = Array.isArray(data)
        ? Buffer.concat(data)
        : data instanceof ArrayBuffer
          ? Buffer.from(data)
          : data;
      onSocketMessage(record.id, bytes.toString('utf8'));
    });
    ws.on('close', (code) => {
      clearInterval(pinger);
      live.delete(record.id);
      record.closedAt = now();
      record.closeCode = code;
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: live.size,
        debug_info: {
          host: SOCKET_HOST,
          started: slackTime(now()),
          build_number: 1,
          approximate_connection_time: 18_060,
        },
        connection_info: { app_id: appId },
      }),
    );
  };

  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    socket.on('error', () => socket.destroy());
    if (outage) {
      socket.destroy();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const ticket = url.searchParams.get('ticket');
    const refusal =
      url.pathname !== '/link/' && url.pathname !== '/link'
        ? '404 Not Found'
        : !ticket || !tickets.delete(ticket)
          ? '401 Unauthorized'
          : undefined;
    if (refusal) socket.end(`HTTP/1.1 ${refusal}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else wss.handleUpgrade(req, socket, head, accept);
  });

  const socketMode: SlackSocketMode = {
    connections: () => live.size,
    connectionLog: () => clone(connectionLog),
    envelopes: () => clone(envelopeLog),
    async deliver(input, deliverOptions = {}) {
      const timeoutMs = deliverOptions.timeoutMs ?? SOCKET_ACK_TIMEOUT_MS;
      const envelopeId = randomUUID();
      if (input.type === 'events_api' && typeof (input.payload as Params).event !== 'object')
        throw new Error('an events_api envelope needs the event callback, with its `event`, as payload');
      const open = [...live.values()].filter((c) => c.ws.readyState === WebSocket.OPEN);
      const target = open[nextTarget++ % Math.max(open.length, 1)];
      if (!target) return { envelopeId, acked: false, ms: 0, error: 'dispatch_failed' };
      const payload = clone(input.payload);
      const entry: SlackSocketEnvelope = {
        envelopeId,
        type: input.type,
        payload,
        connectionId: target.record.id,
        deliveredAt: now(),
      };
      envelopeLog.push(entry);
      const started = performance.now();
      const outcome = await new Promise<{ acked: true; payload: unknown } | { acked: false; error: string }>(
        (resolve) => {
          const timer = setTimeout(() => {
            awaitingAck.delete(envelopeId);
            resolve({ acked: false, error: 'operation_timeout' });
          }, timeoutMs);
          awaitingAck.set(envelopeId, (ackPayload) => {
            clearTimeout(timer);
            awaitingAck.delete(envelopeId);
            resolve({ acked: true, payload: ackPayload });
          });
          target.ws.send(
            JSON.stringify({
              envelope_id: envelopeId,
              type: input.type,
              payload,
              accepts_response_payload: input.type !== 'events_api',
              ...(input.type === 'events_api' && { retry_attempt: 0, retry_reason: '' }),
            }),
            (error) => {
              if (!error) return;
              clearTimeout(timer);
              awaitingAck.delete(envelopeId);
              resolve({ acked: false, error: 'dispatch_failed' });
            },
          );
        },
      );
      const ms = performance.now() - started;
      if (!outcome.acked) {
        entry.error = outcome.error;
        return { envelopeId, acked: false, ms, error: outcome.error };
      }
      const error =
        input.type === 'slash_commands' ? showCommandAnswer(payload as Params, outcome.payload) : undefined;
      if (error) entry.error = error;
      return {
        envelopeId,
        acked: true,
        ...(outcome.payload !== undefined && { ackPayload: clone(outcome.payload) }),
        ms,
        ...(error && { error }),
      };
    },
    async disconnectAll(reason = 'refresh_requested') {
      await Promise.all(
        [...live.values()].map(
          ({ ws }) =>
            new Promise<void>((resolve) => {
              if (ws.readyState !== WebSocket.OPEN) return resolve();
              ws.send(JSON.stringify(disconnectMessage(reason)));
              if (reason === 'warning') return resolve();
              const drop = setTimeout(() => ws.terminate(), SOCKET_DISCONNECT_GRACE_MS);
              ws.once('close', () => {
                clearTimeout(drop);
                resolve();
              });
            }),
        ),
      );
    },
  };

  const faults: SlackFaults = {
    rateLimit({ method, channel, retryAfterS, count = 1 }) {
      pendingFaults.push({
        ...(method && { method }),
        ...(channel && { channel }),
        remaining: count,
        answer: { status: 429, headers: { 'retry-after': String(retryAfterS) }, body: fail('ratelimited') },
      });
    },
    fail({ status, method, count = 1 }) {
      const error = status === 503 ? 'service_unavailable' : 'internal_error';
      pendingFaults.push({
        ...(method && { method }),
        remaining: count,
        answer: { status, headers: {}, body: fail(error) },
      });
    },
    outage(on) {
      outage = on;
      if (on) for (const { ws } of live.values()) ws.terminate();
    },
    latency(ms) {
      latencyMs = ms;
    },
    clear() {
      pendingFaults = [];
      outage = false;
      latencyMs = 0;
    },
  };

  return {
    url: base,
    apiUrl: `${base}/api/`,
    teamId,
    teamDomain,
    botUserId,
    botId,
    appId,
    responseUrl,
    createResponseUrl(context) {
      const id = randomBytes(12).toString('hex');
      responseUrls.set(id, { context: { ...context }, createdAt: now(), uses: 0 });
      return { id, url: responseUrl(id) };
    },
    mintTriggerId(mintOptions = {}) {
      triggerCounter += 1;
      const id = `${triggerCounter}.${Math.floor(now() / 1000)}.${randomBytes(16).toString('hex')}`;
      triggers.set(id, {
        mintedAt: now(),
        used: false,
        ...(mintOptions.userId && { userId: mintOptions.userId }),
      });
      return id;
    },
    messages: (channel) => clone(findChannel(channel, false)?.messages ?? []),
    message(channel, ts) {
      const state = findChannel(channel, false);
      const found = state && findMessage(state, ts);
      return found && clone(found);
    },
    replies: (channel, threadTs) =>
      clone(findChannel(channel, false)?.messages.find((m) => m.ts === threadTs)?.replies ?? []),
    ephemerals: (filter = {}) =>
      clone(
        ephemerals.filter(
          (e) =>
            (!filter.channel || e.channel === filter.channel) && (!filter.user || e.user === filter.user),
        ),
      ),
    responseUrlPosts: (id) => clone(responsePosts.filter((p) => !id || p.id === id)),
    views: () => clone(views),
    calls: (filter = {}) =>
      clone(
        callLog.filter(
          (c) =>
            (!filter.method || c.method === filter.method) &&
            (!filter.channel || c.channel === filter.channel) &&
            (filter.ok === undefined || c.ok === filter.ok),
        ),
      ),
    userGroups: () => Object.fromEntries([...userGroups].map(([id, list]) => [id, [...list]])),
    setUserGroup(id, list) {
      userGroups.set(id, [...list]);
    },
    showCommandAnswer: (command, answer) => showCommandAnswer(command, answer),
    postAsUser(channel, user, text) {
      const state = findChannel(channel, true);
      if (!state) throw new Error(`channel ${channel} does not exist in the Slack stand-in`);
      const message: SlackMessage = {
        ts: nextTs(),
        channel: state.id,
        user,
        text,
        replies: [],
        edits: [],
        postedAt: now(),
        via: 'user',
      };
      state.messages.push(message);
      return message.ts;
    },
    addChannel,
    faults,
    socketMode,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Upgraded sockets are no longer the HTTP server's to close, yet keep it open until they end.
        for (const { ws, pinger } of live.values()) {
          clearInterval(pinger);
          ws.terminate();
        }
        wss.close();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
