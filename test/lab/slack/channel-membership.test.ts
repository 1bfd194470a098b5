/**
 * The Slack stand-in's channel membership and chat.update's own rate limit, through `@slack/web-api`'s WebClient:
 * a private channel the bot is not in does not exist for it, a public one needs chat:write.public, and
 * conversations.info answers with Slack's conversation object under channels:read or groups:read.
 */
import { LogLevel, WebClient } from '@slack/web-api';
import type { Logger } from '@slack/web-api';
import { afterEach, describe, expect, it } from 'vitest';
import { startSlackApiServer } from '../../../lab/slack/slack-api-server.js';
import type { SlackApiServer, SlackApiServerOptions } from '../../../lab/slack/slack-api-server.js';

const TOKEN = 'xoxb-membership-test';
const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => LogLevel.ERROR,
  setName: () => undefined,
};

const servers: SlackApiServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function start(options: Omit<SlackApiServerOptions, 'botToken'>) {
  const server = await startSlackApiServer({ botToken: TOKEN, users: ['U0ALICE'], ...options });
  servers.push(server);
  const slack = new WebClient(TOKEN, {
    slackApiUrl: server.apiUrl,
    logger: silent,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
  });
  return { server, slack };
}

/** Slack's error code for a call, or 'ok'. */
async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'ok';
  } catch (error) {
    const e = error as { data?: { error?: string }; code?: string };
    return e.data?.error ?? e.code ?? 'unknown';
  }
}

const CHANNELS = [
  { id: 'C0SECRET', name: 'secret-incidents', isPrivate: true },
  { id: 'C0PUBLIC', name: 'incidents' },
];

describe('channel membership', () => {
  it('hides a private channel from the bot until it is invited, whatever its scopes', async () => {
    const { server, slack } = await start({ channels: CHANNELS });
    const channel = 'C0SECRET';
    expect(await outcome(slack.chat.postMessage({ channel, text: 'proposal' }))).toBe('channel_not_found');
    expect(await outcome(slack.chat.postEphemeral({ channel, user: 'U0ALICE', text: 'x' }))).toBe(
      'channel_not_found',
    );
    expect(await outcome(slack.conversations.info({ channel }))).toBe('channel_not_found');
    expect(server.messages(channel)).toEqual([]);

    server.setBotMember(channel, true); // /invite @baton
    const { ts } = await slack.chat.postMessage({ channel, text: 'proposal' });
    expect(await outcome(slack.chat.update({ channel, ts: ts as string, text: 'approved' }))).toBe('ok');
    const info = await slack.conversations.info({ channel });
    expect(info.channel).toMatchObject({
      id: channel,
      name: 'secret-incidents',
      is_private: true,
      is_member: true,
      is_channel: true,
      is_archived: false,
    });

    // Removed from the channel, the bot can no longer edit what it posted there.
    server.setBotMember(channel, false);
    expect(await outcome(slack.chat.update({ channel, ts: ts as string, text: 'running' }))).toBe(
      'channel_not_found',
    );
    expect(server.message(channel, ts as string)?.text).toBe('approved');
  });

  it('lets the bot post in a public channel it is not in only with chat:write.public', async () => {
    const narrow = await start({ channels: CHANNELS, scopes: ['chat:write', 'channels:read'] });
    const channel = 'C0PUBLIC';
    expect(await outcome(narrow.slack.chat.postMessage({ channel, text: 'proposal' }))).toBe(
      'not_in_channel',
    );
    expect(await outcome(narrow.slack.chat.postEphemeral({ channel, user: 'U0ALICE', text: 'x' }))).toBe(
      'not_in_channel',
    );
    expect((await narrow.slack.conversations.info({ channel })).channel).toMatchObject({
      is_private: false,
      is_member: false,
    });
    narrow.server.setBotMember(channel, true);
    expect(await outcome(narrow.slack.chat.postMessage({ channel, text: 'proposal' }))).toBe('ok');

    const wide = await start({ channels: CHANNELS, scopes: ['chat:write', 'chat:write.public'] });
    expect(await outcome(wide.slack.chat.postMessage({ channel, text: 'proposal' }))).toBe('ok');
    expect(wide.server.messages(channel)).toHaveLength(1);
  });

  it('answers conversations.info only under the scope the channel needs', async () => {
    const none = await start({ channels: CHANNELS, scopes: ['chat:write'] });
    const refused = await none.slack.conversations.info({ channel: 'C0PUBLIC' }).catch((e: unknown) => e);
    expect((refused as { data: unknown }).data).toMatchObject({ error: 'missing_scope' });

    const privateOnly = await start({
      channels: CHANNELS.map((c) => ({ ...c, botMember: true })),
      scopes: ['groups:read'],
    });
    expect((await privateOnly.slack.conversations.info({ channel: 'C0SECRET' })).channel).toMatchObject({
      is_member: true,
    });
    const publicRefused = await privateOnly.slack.conversations
      .info({ channel: 'C0PUBLIC' })
      .catch((e: unknown) => e);
    expect((publicRefused as { data: unknown }).data).toMatchObject({
      error: 'missing_scope',
      needed: 'channels:read',
    });

    const publicOnly = await start({
      channels: CHANNELS.map((c) => ({ ...c, botMember: true })),
      scopes: ['channels:read'],
    });
    // A private channel is invisible without groups:read, even to a member.
    expect(await outcome(publicOnly.slack.conversations.info({ channel: 'C0SECRET' }))).toBe(
      'channel_not_found',
    );
    expect(await outcome(publicOnly.slack.conversations.info({ channel: 'C0NOWHERE' }))).toBe(
      'channel_not_found',
    );
  });

  it('keeps an open world working: a channel made by its first message has the bot in it', async () => {
    const { slack } = await start({ scopes: ['chat:write', 'channels:read'] });
    expect(await outcome(slack.chat.postMessage({ channel: 'C0ANY', text: 'hi' }))).toBe('ok');
    expect((await slack.conversations.info({ channel: 'C0ANY' })).channel).toMatchObject({ is_member: true });
  });
});

describe("chat.update's own rate limit", () => {
  it('limits chat.update per workspace, apart from chat.postMessage per channel', async () => {
    let now = Date.now();
    const { server, slack } = await start({
      now: () => now,
      channelRateLimit: { perSecond: 1, burst: 1 },
      updateRateLimit: { perMinute: 50, burst: 3 },
    });
    const { ts: a } = await slack.chat.postMessage({ channel: 'C0ONE', text: 'a' });
    const { ts: b } = await slack.chat.postMessage({ channel: 'C0TWO', text: 'b' });
    // Three updates go at once (the burst), across channels: the limit is the method's, not a channel's.
    for (const [channel, ts] of [
      ['C0ONE', a],
      ['C0TWO', b],
      ['C0ONE', a],
    ] as const)
      expect(await outcome(slack.chat.update({ channel, ts: ts as string, text: 'edited' }))).toBe('ok');
    const limited = await slack.chat.update({ channel: 'C0TWO', ts: b as string, text: 'x' }).catch((e) => e);
    expect(limited).toMatchObject({ code: 'slack_webapi_rate_limited_error', retryAfter: 2 });
    // chat.postMessage's budget is its own: a fresh channel still posts.
    expect(await outcome(slack.chat.postMessage({ channel: 'C0THREE', text: 'c' }))).toBe('ok');

    now += 1200; // 50 a minute: one more token every 1.2 s
    expect(await outcome(slack.chat.update({ channel: 'C0TWO', ts: b as string, text: 'x' }))).toBe('ok');
    expect(server.calls({ method: 'chat.update', ok: false })).toHaveLength(1);
  });
});
