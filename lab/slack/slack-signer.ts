/**
 * What Slack sends to an app, built and signed like Slack: slash command and block_actions bodies with the fields
 * real Slack includes, and the v0 request signature (HMAC-SHA256 of `v0:<timestamp>:<body>` with the signing
 * secret). Pure except `postToApp`; time is always passed in.
 */
import { createHmac } from 'node:crypto';

/** Workspace details Slack puts in every request; the defaults match the Slack API stand-in's. */
export interface SlackTeam {
  teamId?: string;
  teamDomain?: string;
  apiAppId?: string;
  /** The deprecated verification token Slack still sends in `token`. */
  verificationToken?: string;
}

export interface SlashCommandInput extends SlackTeam {
  command: string;
  text: string;
  userId: string;
  userName?: string;
  channelId: string;
  channelName?: string;
  responseUrl: string;
  triggerId: string;
}

export interface BlockActionInput extends SlackTeam {
  actionId: string;
  value: string;
  blockId?: string;
  /** The button's label (default: the action id). */
  buttonText?: string;
  userId: string;
  userName?: string;
  channelId: string;
  channelName?: string;
  messageTs: string;
  responseUrl: string;
  triggerId: string;
  /** The message holding the button, as Slack includes it (default: a bare message with that ts). */
  message?: Record<string, unknown>;
  /** The clicked message was an ephemeral (Slack then omits `message`). */
  isEphemeral?: boolean;
  /** Seconds since the epoch of the click, for `action_ts` (default: the message's ts). */
  nowSeconds?: number;
}

export interface SignOptions {
  /** Slack's retry count of this delivery (`X-Slack-Retry-Num`), with its reason (`http_timeout`, …). */
  retryNum?: number;
  retryReason?: string;
}

const DEFAULTS = {
  teamId: 'T0BATON',
  teamDomain: 'baton-sandbox',
  apiAppId: 'A0BATON',
  verificationToken: 'verification-token-unused',
} as const;

const team = (input: SlackTeam) => ({
  teamId: input.teamId ?? DEFAULTS.teamId,
  teamDomain: input.teamDomain ?? DEFAULTS.teamDomain,
  apiAppId: input.apiAppId ?? DEFAULTS.apiAppId,
  verificationToken: input.verificationToken ?? DEFAULTS.verificationToken,
});

/** The form body Slack POSTs for a slash command, fields in Slack's order. */
export function slashCommand(input: SlashCommandInput): string {
  const t = team(input);
  return new URLSearchParams({
    token: t.verificationToken,
    team_id: t.teamId,
    team_domain: t.teamDomain,
    channel_id: input.channelId,
    channel_name: input.channelName ?? input.channelId.toLowerCase(),
    user_id: input.userId,
    user_name: input.userName ?? input.userId.toLowerCase(),
    command: input.command,
    text: input.text,
    api_app_id: t.apiAppId,
    is_enterprise_install: 'false',
    response_url: input.responseUrl,
    trigger_id: input.triggerId,
  }).toString();
}

/** The `block_actions` payload Slack sends when a button in a message is clicked. */
export function blockActionPayload(input: BlockActionInput): Record<string, unknown> {
  const t = team(input);
  const userName = input.userName ?? input.userId.toLowerCase();
  const blockId = input.blockId ?? `${input.actionId}-block`;
  return {
    type: 'block_actions',
    user: { id: input.userId, username: userName, name: userName, team_id: t.teamId },
    api_app_id: t.apiAppId,
    token: t.verificationToken,
    container: {
      type: 'message',
      message_ts: input.messageTs,
      channel_id: input.channelId,
      is_ephemeral: input.isEphemeral ?? false,
    },
    trigger_id: input.triggerId,
    team: { id: t.teamId, domain: t.teamDomain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: input.channelId, name: input.channelName ?? input.channelId.toLowerCase() },
    ...(!input.isEphemeral && {
      message: input.message ?? { type: 'message', ts: input.messageTs, text: '' },
    }),
    state: { values: {} },
    response_url: input.responseUrl,
    actions: [
      {
        action_id: input.actionId,
        block_id: blockId,
        text: { type: 'plain_text', text: input.buttonText ?? input.actionId, emoji: true },
        value: input.value,
        type: 'button',
        action_ts: input.nowSeconds === undefined ? input.messageTs : input.nowSeconds.toFixed(6),
      },
    ],
  };
}

/** The form body (`payload=<json>`) Slack POSTs for a button click. */
export function blockAction(input: BlockActionInput): string {
  return new URLSearchParams({ payload: JSON.stringify(blockActionPayload(input)) }).toString();
}

/** `v0=<hex>`: Slack's request signature of `body` sent at `timestampSeconds`. */
export function signature(secret: string, body: string, timestampSeconds: number): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestampSeconds}:${body}`).digest('hex')}`;
}

/** The headers Slack sends with a form body signed at `nowSeconds`. */
export function sign(
  secret: string,
  body: string,
  nowSeconds: number,
  options: SignOptions = {},
): Record<string, string> {
  const timestamp = Math.floor(nowSeconds);
  return {
    'Content-Type': 'application/x-www-form-urlencoded',
    'X-Slack-Request-Timestamp': String(timestamp),
    'X-Slack-Signature': signature(secret, body, timestamp),
    ...(options.retryNum !== undefined && {
      'X-Slack-Retry-Num': String(options.retryNum),
      'X-Slack-Retry-Reason': options.retryReason ?? 'http_timeout',
    }),
  };
}

export interface AppResponse {
  status: number;
  text: string;
  headers: Headers;
  /** Wall time of the request (ms): Slack gives an app 3 s to answer. */
  ms: number;
}

/** POSTs a body to the app as Slack would. */
export async function postToApp(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<AppResponse> {
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', body, headers });
  const text = await response.text();
  return { status: response.status, text, headers: response.headers, ms: performance.now() - started };
}
