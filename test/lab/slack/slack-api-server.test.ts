/**
 * The Slack Web API stand-in, driven by the real clients: `@slack/web-api`'s WebClient unmodified for every
 * method and fault, a real Bolt App that receives signed requests from the signer and answers through the
 * stand-in (auth.test, views.open, response_url), and a plain WebSocket client speaking the Socket Mode protocol.
 */
import { App, LogLevel } from '@slack/bolt';
import type { Logger } from '@slack/web-api';
import { ErrorCode, WebClient } from '@slack/web-api';
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { parse } from 'yaml';
import { freePort } from '../../../lab/processes/processes.js';
import { startSlackApiServer } from '../../../lab/slack/slack-api-server.js';
import type { SlackApiServer } from '../../../lab/slack/slack-api-server.js';
import { blockAction, postToApp, sign, signature, slashCommand } from '../../../lab/slack/slack-signer.js';

const TOKEN = 'xoxb-test-token';
const SECRET = 'signing-secret-for-tests';

const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => LogLevel.ERROR,
  setName: () => undefined,
};

/** A WebClient as Baton's adapter builds it: no retries, 429s rejected with their Retry-After. */
const client = (server: SlackApiServer, token: string | null = TOKEN) =>
  new WebClient(token ?? undefined, {
    slackApiUrl: server.apiUrl,
    logger: silent,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
  });

/** The error a WebClient call rejects with. */
async function failure(
  call: Promise<unknown>,
): Promise<Record<string, unknown> & { data?: Record<string, unknown> }> {
  try {
    await call;
  } catch (error) {
    return error as Record<string, unknown>;
  }
  throw new Error('the call succeeded');
}

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

describe('Slack Web API stand-in through WebClient', () => {
  let server: SlackApiServer;
  let clock = Date.now();
  let slack: WebClient;

  beforeAll(async () => {
    server = await startSlackApiServer({
      botToken: TOKEN,
      users: ['U0ALICE', 'U0BOB', 'U0CAROL'],
      userGroups: { S0SRE: ['U0ALICE', 'U0BOB'] },
      channels: [{ id: 'C0INCIDENTS', name: 'incidents', members: ['U0ALICE', 'U0BOB'] }, 'C0OTHER'],
      now: () => clock,
    });
    slack = client(server);
  });
  afterEach(() => {
    server.faults.clear();
    clock = Date.now();
  });
  afterAll(async () => server.close());

  it('answers auth.test for the bot token, and refuses missing or wrong tokens as Slack does', async () => {
    const me = await slack.auth.test();
    expect(me).toMatchObject({
      ok: true,
      team_id: server.teamId,
      user_id: server.botUserId,
      bot_id: server.botId,
    });
    expect((await failure(client(server, 'xoxb-wrong').auth.test())).data).toMatchObject({
      error: 'invalid_auth',
    });
    expect((await failure(client(server, null).auth.test())).data).toMatchObject({
      error: 'not_authed',
    });
    expect(await failure(client(server, 'xoxb-wrong').auth.test())).toMatchObject({
      code: ErrorCode.PlatformError,
    });
  });

  it('takes the token from a form field, but from a JSON body only through the Authorization header', async () => {
    const form = await fetch(`${server.apiUrl}auth.test`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: TOKEN }).toString(),
    });
    expect(await form.json()).toMatchObject({ ok: true });
    const jsonBody = { channel: 'C0INCIDENTS', text: 'json body', token: TOKEN };
    const withoutHeader = await fetch(`${server.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(jsonBody),
    });
    expect(await withoutHeader.json()).toEqual({ ok: false, error: 'not_authed' });
    const withHeader = await fetch(`${server.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ channel: 'C0INCIDENTS', text: 'json body', blocks: [section('as JSON')] }),
    });
    const posted = (await withHeader.json()) as { ok: boolean; ts: string };
    expect(posted.ok).toBe(true);
    expect(server.message('C0INCIDENTS', posted.ts)?.blocks).toEqual([section('as JSON')]);
  });

  it('posts messages and thread replies, and keeps them as a channel shows them', async () => {
    const blocks = [section('Failover of *production*'), { type: 'divider' }];
    const posted = await slack.chat.postMessage({
      channel: 'C0INCIDENTS',
      text: 'Failover of production',
      blocks,
    });
    expect(posted).toMatchObject({
      ok: true,
      channel: 'C0INCIDENTS',
      message: {
        type: 'message',
        text: 'Failover of production',
        user: server.botUserId,
        bot_id: server.botId,
      },
    });
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
    const reply = await slack.chat.postMessage({
      channel: 'C0INCIDENTS',
      text: 'fence-source done',
      thread_ts: posted.ts,
    });
    expect(reply.message).toMatchObject({ thread_ts: posted.ts });
    // Addressed by name, as Slack allows.
    await slack.chat.postMessage({
      channel: '#incidents',
      text: 'scale-up done',
      thread_ts: posted.ts as string,
    });

    const message = server.message('C0INCIDENTS', posted.ts as string);
    expect(message).toMatchObject({ text: 'Failover of production', blocks, edits: [] });
    expect(server.replies('C0INCIDENTS', posted.ts as string).map((r) => r.text)).toEqual([
      'fence-source done',
      'scale-up done',
    ]);
    expect(server.messages('C0INCIDENTS').map((m) => m.ts)).toContain(posted.ts);
    expect(server.messages('C0INCIDENTS').every((m) => m.threadTs === undefined)).toBe(true);
  });

  it('refuses what Slack refuses: unknown channel, no content, too many or malformed blocks, too much text', async () => {
    const error = async (args: Parameters<WebClient['chat']['postMessage']>[0]) =>
      (await failure(slack.chat.postMessage(args))).data;
    expect(await error({ channel: 'C0NOWHERE', text: 'hi' })).toMatchObject({ error: 'channel_not_found' });
    expect(await error({ channel: 'C0INCIDENTS', text: '' })).toMatchObject({ error: 'no_text' });
    const many = Array.from({ length: 51 }, (_, i) => section(`block ${i}`));
    const tooMany = await error({ channel: 'C0INCIDENTS', text: 'fallback', blocks: many });
    expect(tooMany).toMatchObject({ error: 'invalid_blocks' });
    expect(JSON.stringify(tooMany?.response_metadata)).toContain('json-pointer:/blocks');
    const fifty = Array.from({ length: 50 }, () => ({ type: 'divider' }));
    expect(await slack.chat.postMessage({ channel: 'C0INCIDENTS', text: 'x', blocks: fifty })).toMatchObject({
      ok: true,
    });
    const malformed = await error({
      channel: 'C0INCIDENTS',
      text: 'fallback',
      blocks: [{ type: 'section' } as never, { type: 'actions', elements: [] }],
    });
    expect(malformed).toMatchObject({ error: 'invalid_blocks' });
    expect(
      await error({
        channel: 'C0INCIDENTS',
        text: 'fallback',
        blocks: [
          { type: 'actions', elements: [{ type: 'button', text: { type: 'mrkdwn', text: '*no*' } }] },
        ] as never,
      }),
    ).toMatchObject({ error: 'invalid_blocks' });
    expect(await error({ channel: 'C0INCIDENTS', text: 'x'.repeat(40_001) })).toMatchObject({
      error: 'msg_too_long',
    });
    expect(server.messages('C0NOWHERE')).toEqual([]);
  });

  it('updates a message in place with its edit history, and refuses unknown or foreign messages', async () => {
    const posted = await slack.chat.postMessage({ channel: 'C0OTHER', text: 'v1', blocks: [section('v1')] });
    const ts = posted.ts as string;
    const updated = await slack.chat.update({ channel: 'C0OTHER', ts, text: 'v2' });
    expect(updated).toMatchObject({ ok: true, channel: 'C0OTHER', ts, text: 'v2' });
    // Blocks are kept when an update leaves them out, and removed by an empty array.
    expect(server.message('C0OTHER', ts)?.blocks).toEqual([section('v1')]);
    await slack.chat.update({ channel: 'C0OTHER', ts, text: 'v3', blocks: [] });
    const message = server.message('C0OTHER', ts);
    expect(message?.text).toBe('v3');
    expect(message?.blocks).toBeUndefined();
    expect(message?.edits.map((e) => e.text)).toEqual(['v1', 'v2']);
    expect(server.messages('C0OTHER').filter((m) => m.ts === ts)).toHaveLength(1);

    const missing = await failure(
      slack.chat.update({ channel: 'C0OTHER', ts: '1000000000.000001', text: 'x' }),
    );
    expect(missing.data).toMatchObject({ error: 'message_not_found' });
    const someonesTs = server.postAsUser('C0OTHER', 'U0ALICE', 'I am a person');
    const foreign = await failure(slack.chat.update({ channel: 'C0OTHER', ts: someonesTs, text: 'x' }));
    expect(foreign.data).toMatchObject({ error: 'cant_update_message' });
  });

  it('posts ephemerals to channel members only', async () => {
    const sent = await slack.chat.postEphemeral({
      channel: 'C0INCIDENTS',
      user: 'U0ALICE',
      text: 'only you',
    });
    expect(sent).toMatchObject({ ok: true, message_ts: expect.stringMatching(/^\d+\.\d{6}$/) });
    expect(server.ephemerals({ user: 'U0ALICE' })).toMatchObject([
      { channel: 'C0INCIDENTS', text: 'only you' },
    ]);
    const outsider = await failure(
      slack.chat.postEphemeral({ channel: 'C0INCIDENTS', user: 'U0CAROL', text: 'x' }),
    );
    expect(outsider.data).toMatchObject({ error: 'user_not_in_channel' });
    const stranger = await failure(
      slack.chat.postEphemeral({ channel: 'C0OTHER', user: 'U0NOBODY', text: 'x' }),
    );
    expect(stranger.data).toMatchObject({ error: 'user_not_in_channel' });
    expect(server.ephemerals({ user: 'U0CAROL' })).toEqual([]);
  });

  it('opens a modal once per trigger_id, within 3 seconds of the click', async () => {
    const view = {
      type: 'modal' as const,
      title: { type: 'plain_text' as const, text: 'Failover' },
      blocks: [],
    };
    const trigger = server.mintTriggerId({ userId: 'U0ALICE' });
    const opened = await slack.views.open({ trigger_id: trigger, view });
    expect(opened).toMatchObject({ ok: true, view: { type: 'modal', team_id: server.teamId } });
    expect(server.views()).toMatchObject([{ triggerId: trigger, userId: 'U0ALICE', view }]);
    const again = await failure(slack.views.open({ trigger_id: trigger, view }));
    expect(again.data).toMatchObject({ error: 'exchanged_trigger_id' });
    const unknown = await failure(slack.views.open({ trigger_id: '123.456.abcdef', view }));
    expect(unknown.data).toMatchObject({ error: 'invalid_trigger_id' });

    const late = server.mintTriggerId();
    clock += 3_001;
    const expired = await failure(slack.views.open({ trigger_id: late, view }));
    expect(expired.data).toMatchObject({ error: 'expired_trigger_id' });
    const fresh = server.mintTriggerId();
    const badTitle = {
      ...view,
      title: { type: 'plain_text' as const, text: 'A title far longer than Slack allows' },
    };
    expect((await failure(slack.views.open({ trigger_id: fresh, view: badTitle }))).data).toMatchObject({
      error: 'invalid_arguments',
    });
  });

  it('lists user group members, and knows only the groups it has', async () => {
    expect(await slack.usergroups.users.list({ usergroup: 'S0SRE' })).toMatchObject({
      ok: true,
      users: ['U0ALICE', 'U0BOB'],
    });
    server.setUserGroup('S0ONCALL', ['U0CAROL']);
    expect((await slack.usergroups.users.list({ usergroup: 'S0ONCALL' })).users).toEqual(['U0CAROL']);
    const missing = await failure(slack.usergroups.users.list({ usergroup: 'S0NOPE' }));
    expect(missing.data).toMatchObject({ error: 'no_such_subteam' });
  });

  it('answers unknown_method for a method it does not have, whatever its name', async () => {
    for (const method of ['chat.unknown', 'toString', 'constructor', '__proto__']) {
      const response = await fetch(`${server.apiUrl}${method}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: '',
      });
      expect(await response.json(), method).toMatchObject({ ok: false, error: 'unknown_method' });
    }
  });

  it('refuses a method the token has no scope for, naming the scope', async () => {
    const narrow = await startSlackApiServer({ botToken: TOKEN, scopes: ['chat:write'] });
    try {
      const denied = await failure(client(narrow).usergroups.users.list({ usergroup: 'S0SRE' }));
      expect(denied.data).toMatchObject({ error: 'missing_scope', needed: 'usergroups:read' });
      // Without a channel list, any channel id exists from its first message.
      expect(await client(narrow).chat.postMessage({ channel: 'C0ANY', text: 'hi' })).toMatchObject({
        ok: true,
      });
    } finally {
      await narrow.close();
    }
  });

  it('answers 429 with Retry-After: rejected at once with retryAfter, or waited out by a retrying client', async () => {
    server.faults.rateLimit({ method: 'chat.postMessage', retryAfterS: 7 });
    const limited = await failure(slack.chat.postMessage({ channel: 'C0OTHER', text: 'x' }));
    expect(limited).toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 7 });
    const raw = await fetch(`${server.apiUrl}auth.test`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(raw.status).toBe(200);

    server.faults.rateLimit({ method: 'chat.postMessage', channel: 'C0OTHER', retryAfterS: 1 });
    const patient = new WebClient(TOKEN, { slackApiUrl: server.apiUrl, logger: silent });
    const started = Date.now();
    expect(await patient.chat.postMessage({ channel: 'C0OTHER', text: 'after the wait' })).toMatchObject({
      ok: true,
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    const calls = server.calls({ method: 'chat.postMessage', channel: 'C0OTHER' }).slice(-2);
    expect(calls.map((c) => c.status)).toEqual([429, 200]);
    expect(calls[0]?.error).toBe('ratelimited');
  });

  it('enforces Slack per-channel posting limit when asked to', async () => {
    const strict = await startSlackApiServer({
      botToken: TOKEN,
      channelRateLimit: { perSecond: 1, burst: 2 },
    });
    try {
      const api = client(strict);
      await api.chat.postMessage({ channel: 'C0BUSY', text: '1' });
      await api.chat.postMessage({ channel: 'C0BUSY', text: '2' });
      expect(await failure(api.chat.postMessage({ channel: 'C0BUSY', text: '3' }))).toMatchObject({
        code: ErrorCode.RateLimitedError,
        retryAfter: 1,
      });
      // Another channel has its own allowance.
      expect(await api.chat.postMessage({ channel: 'C0CALM', text: '1' })).toMatchObject({ ok: true });
    } finally {
      await strict.close();
    }
  });

  it('fails with 5xx, resets connections in an outage, adds latency, and logs every call', async () => {
    server.faults.fail({ status: 503, method: 'chat.update', count: 2 });
    const ts = (await slack.chat.postMessage({ channel: 'C0OTHER', text: 'a' })).ts as string;
    for (let i = 0; i < 2; i++)
      expect(await failure(slack.chat.update({ channel: 'C0OTHER', ts, text: 'b' }))).toMatchObject({
        code: ErrorCode.HTTPError,
        statusCode: 503,
      });
    expect(await slack.chat.update({ channel: 'C0OTHER', ts, text: 'b' })).toMatchObject({ ok: true });

    server.faults.outage(true);
    expect(await failure(slack.auth.test())).toMatchObject({ code: ErrorCode.RequestError });
    server.faults.outage(false);

    server.faults.latency(150);
    const started = Date.now();
    await slack.auth.test();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);

    const log = server.calls({ channel: 'C0OTHER', method: 'chat.update' }).slice(-3);
    expect(log.map((c) => c.status)).toEqual([503, 503, 200]);
    expect(log.every((c) => typeof c.at === 'number' && c.channel === 'C0OTHER')).toBe(true);
  });
});

describe('response_url', () => {
  let server: SlackApiServer;
  let clock = Date.now();
  beforeAll(async () => {
    server = await startSlackApiServer({ botToken: TOKEN, channels: ['C0INCIDENTS'], now: () => clock });
  });
  afterAll(async () => server.close());

  const post = async (url: string, body: unknown) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as unknown };
  };

  it('replies ephemerally or in channel, replaces and deletes the clicked message', async () => {
    const slack = client(server);
    const ts = (
      await slack.chat.postMessage({
        channel: 'C0INCIDENTS',
        text: 'Approve?',
        blocks: [section('Approve?')],
      })
    ).ts as string;
    const { id, url } = server.createResponseUrl({ channel: 'C0INCIDENTS', user: 'U0BOB', messageTs: ts });
    expect(url).toBe(server.responseUrl(id));

    expect(await post(url, { text: 'Only you can see this' })).toEqual({ status: 200, body: { ok: true } });
    expect(server.ephemerals({ user: 'U0BOB' })).toMatchObject([
      { text: 'Only you can see this', via: 'response_url' },
    ]);

    await post(url, { text: 'Approved by <@U0BOB>', replace_original: true });
    const replaced = server.message('C0INCIDENTS', ts);
    expect(replaced).toMatchObject({ text: 'Approved by <@U0BOB>', edits: [{ text: 'Approve?' }] });
    expect(replaced?.blocks).toBeUndefined();

    await post(url, { text: 'Everyone sees this', response_type: 'in_channel' });
    expect(server.messages('C0INCIDENTS').map((m) => m.text)).toContain('Everyone sees this');

    await post(url, { delete_original: true });
    expect(server.message('C0INCIDENTS', ts)).toBeUndefined();
    expect(server.responseUrlPosts(id)).toHaveLength(4);
  });

  it('works 5 times within 30 minutes, then answers used_url or expired_url', async () => {
    const { url } = server.createResponseUrl({ channel: 'C0INCIDENTS', user: 'U0BOB' });
    for (let i = 1; i <= 5; i++) expect((await post(url, { text: `reply ${i}` })).status).toBe(200);
    expect(await post(url, { text: 'reply 6' })).toEqual({
      status: 404,
      body: { ok: false, error: 'used_url' },
    });

    const late = server.createResponseUrl({ channel: 'C0INCIDENTS', user: 'U0BOB' });
    clock += 30 * 60_000 + 1;
    expect(await post(late.url, { text: 'too late' })).toEqual({
      status: 404,
      body: { ok: false, error: 'expired_url' },
    });
    const fresh = server.createResponseUrl({ channel: 'C0INCIDENTS', user: 'U0BOB' });
    expect((await post(fresh.url, {})).body).toEqual({ ok: false, error: 'no_text' });
  });
});

describe('signed requests into a real Bolt app', () => {
  let server: SlackApiServer;
  let app: App;
  let appUrl: string;
  const seen: { retryNum?: number; text?: string } = {};
  /** Holds the slash command's handler after its ack() until the test lets it go on. */
  let handlerHeld: Promise<void> = Promise.resolve();
  let release: () => void = () => undefined;

  beforeAll(async () => {
    server = await startSlackApiServer({ botToken: TOKEN, channels: ['C0INCIDENTS'], users: ['U0ALICE'] });
    app = new App({
      token: TOKEN,
      signingSecret: SECRET,
      clientOptions: { slackApiUrl: server.apiUrl, retryConfig: { retries: 0 } },
      logLevel: LogLevel.ERROR,
    });
    app.command('/failover', async ({ ack, command, respond, client: web, context }) => {
      await ack();
      await handlerHeld;
      seen.text = command.text;
      if (context.retryNum !== undefined) seen.retryNum = context.retryNum;
      await web.views.open({
        trigger_id: command.trigger_id,
        view: { type: 'modal', title: { type: 'plain_text', text: 'Failover' }, blocks: [] },
      });
      await respond({ text: `Failover of ${command.text} requested` });
    });
    app.action('approve', async ({ ack, respond, body }) => {
      await ack();
      const user = (body as { user: { id: string } }).user.id;
      await respond({ replace_original: true, text: `Approved by <@${user}>` });
    });
    const port = await freePort();
    await app.start(port);
    appUrl = `http://127.0.0.1:${port}/slack/events`;
  });
  afterAll(async () => {
    release();
    await app.stop();
    await server.close();
  });

  it('Bolt accepts a signed slash command and answers through the stand-in', async () => {
    const { url } = server.createResponseUrl({ channel: 'C0INCIDENTS', user: 'U0ALICE' });
    const body = slashCommand({
      command: '/failover',
      text: 'production --planned',
      userId: 'U0ALICE',
      channelId: 'C0INCIDENTS',
      teamId: server.teamId,
      responseUrl: url,
      triggerId: server.mintTriggerId({ userId: 'U0ALICE' }),
    });
    const fields = new URLSearchParams(body);
    for (const field of [
      'token',
      'team_id',
      'team_domain',
      'channel_id',
      'channel_name',
      'user_id',
      'user_name',
    ])
      expect(fields.get(field)).toBeTruthy();
    expect(fields.get('is_enterprise_install')).toBe('false');
    expect(fields.get('api_app_id')).toBeTruthy();

    handlerHeld = new Promise((resolve) => (release = resolve));
    // Answered on ack() while the handler is still held: its views.open and respond never delay Slack's 3 s ack.
    const response = await postToApp(
      appUrl,
      body,
      sign(SECRET, body, Math.floor(Date.now() / 1000), { retryNum: 1 }),
    );
    expect(response.status).toBe(200);
    expect(server.views()).toHaveLength(0);
    release();
    await expect.poll(() => server.ephemerals({ user: 'U0ALICE' }).length).toBe(1);
    expect(seen).toMatchObject({ text: 'production --planned', retryNum: 1 });
    expect(server.ephemerals({ user: 'U0ALICE' })[0]?.text).toBe(
      'Failover of production --planned requested',
    );
    expect(server.views()).toHaveLength(1);
    expect(server.calls({ method: 'auth.test' }).length).toBeGreaterThan(0);
  });

  it('Bolt accepts a signed button click whose response_url replaces the message', async () => {
    const ts = (await client(server).chat.postMessage({ channel: 'C0INCIDENTS', text: 'Approve?' }))
      .ts as string;
    const { url } = server.createResponseUrl({ channel: 'C0INCIDENTS', user: 'U0ALICE', messageTs: ts });
    const body = blockAction({
      actionId: 'approve',
      value: 'run-1',
      userId: 'U0ALICE',
      channelId: 'C0INCIDENTS',
      messageTs: ts,
      responseUrl: url,
      triggerId: server.mintTriggerId(),
      message: server.message('C0INCIDENTS', ts) as unknown as Record<string, unknown>,
      nowSeconds: Date.now() / 1000,
    });
    const payload = JSON.parse(new URLSearchParams(body).get('payload') ?? '{}') as Record<string, unknown>;
    expect(payload).toMatchObject({
      type: 'block_actions',
      user: { id: 'U0ALICE', team_id: 'T0BATON' },
      container: { type: 'message', message_ts: ts, channel_id: 'C0INCIDENTS', is_ephemeral: false },
      actions: [{ action_id: 'approve', value: 'run-1', type: 'button' }],
    });
    const response = await postToApp(appUrl, body, sign(SECRET, body, Math.floor(Date.now() / 1000)));
    expect(response.status).toBe(200);
    await expect.poll(() => server.message('C0INCIDENTS', ts)?.text).toBe('Approved by <@U0ALICE>');
  });

  it('Bolt refuses a wrong signature and a stale timestamp', async () => {
    const body = slashCommand({
      command: '/failover',
      text: 'x',
      userId: 'U0ALICE',
      channelId: 'C0INCIDENTS',
      responseUrl: server.createResponseUrl({ channel: 'C0INCIDENTS', user: 'U0ALICE' }).url,
      triggerId: server.mintTriggerId(),
    });
    const now = Math.floor(Date.now() / 1000);
    expect((await postToApp(appUrl, body, sign('wrong-secret', body, now))).status).toBe(401);
    expect((await postToApp(appUrl, body, sign(SECRET, body, now - 600))).status).toBe(401);
    expect(signature(SECRET, 'a=b', 1_700_000_000)).toMatch(/^v0=[0-9a-f]{64}$/);
  });
});

describe('the Slack app manifest', () => {
  it('grants exactly the scopes the methods Baton calls need, and routes everything to /slack/events', async () => {
    const manifest = parse(
      await readFile(new URL('../../../manifests/slack-app.yaml', import.meta.url), 'utf8'),
    ) as {
      _metadata: { major_version: number };
      features: { slash_commands: { command: string; url: string; usage_hint: string }[] };
      oauth_config: { scopes: { bot: string[] } };
      settings: { interactivity: { is_enabled: boolean; request_url: string }; socket_mode_enabled: boolean };
    };
    expect(manifest._metadata.major_version).toBe(1);
    expect(manifest.features.slash_commands.map((c) => c.command)).toEqual(['/failover', '/failback']);
    for (const command of manifest.features.slash_commands)
      expect(command.url).toMatch(/^https:\/\/.+\/slack\/events$/);
    expect(manifest.settings.interactivity).toMatchObject({ is_enabled: true });
    expect(manifest.settings.interactivity.request_url).toMatch(/\/slack\/events$/);
    expect(manifest.settings.socket_mode_enabled).toBe(false);

    // The stand-in refuses a method whose scope the token lacks: with exactly these scopes, all of Baton's calls pass.
    const scoped = await startSlackApiServer({
      botToken: TOKEN,
      scopes: manifest.oauth_config.scopes.bot,
      userGroups: { S0SRE: ['U0ALICE'] },
    });
    try {
      const slack = client(scoped);
      const { ts } = await slack.chat.postMessage({ channel: 'C0INCIDENTS', text: 'proposal' });
      await slack.chat.update({ channel: 'C0INCIDENTS', ts: ts as string, text: 'approved' });
      await slack.chat.postEphemeral({ channel: 'C0INCIDENTS', user: 'U0ALICE', text: 'only you' });
      await slack.usergroups.users.list({ usergroup: 'S0SRE' });
      await slack.conversations.info({ channel: 'C0INCIDENTS' });
      await slack.views.open({
        trigger_id: scoped.mintTriggerId(),
        view: { type: 'modal', title: { type: 'plain_text', text: 'Failover' }, blocks: [] },
      });
      await slack.filesUploadV2({
        channel_id: 'C0INCIDENTS',
        thread_ts: ts as string,
        file: Buffer.from('# report\n'),
        filename: 'report.md',
        title: 'report',
      });
      expect(scoped.calls().every((c) => c.ok)).toBe(true);
      expect(manifest.oauth_config.scopes.bot.sort()).toEqual(
        [
          'channels:read',
          'chat:write',
          'chat:write.public',
          'commands',
          'files:write',
          'groups:read',
          'usergroups:read',
        ].sort(),
      );
    } finally {
      await scoped.close();
    }
  });
});

describe('Socket Mode', () => {
  const APP_TOKEN = 'xapp-1-A0BATON-1-app-level';
  let server: SlackApiServer;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    server = await startSlackApiServer({ botToken: TOKEN, appToken: APP_TOKEN, socketPingIntervalMs: 50 });
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.terminate();
  });
  afterAll(async () => server.close());

  /** A client that has read the hello; its later messages are queued in `messages`. */
  async function connect(url: string) {
    const socket = new WebSocket(url);
    sockets.push(socket);
    const messages: Record<string, unknown>[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>));
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    await vi.waitFor(() => expect(messages.length).toBeGreaterThan(0));
    return { socket, hello: messages.shift(), messages };
  }

  it('apps.connections.open takes the app-level token from the Authorization header, and nothing else', async () => {
    const opened = await client(server, APP_TOKEN).apps.connections.open();
    expect(opened.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/link\/\?ticket=[0-9a-f-]{36}&app_id=A0BATON$/);
    const error = async (token: string | null) =>
      (await failure(client(server, token).apps.connections.open())).data?.error;
    expect(await error('xapp-1-A0BATON-1-wrong')).toBe('invalid_auth');
    expect(await error(TOKEN)).toBe('not_allowed_token_type');
    expect(await error(null)).toBe('not_authed');
    // Passing the token as a POST parameter does not count for this method.
    const asField = await fetch(`${server.apiUrl}apps.connections.open`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: APP_TOKEN }).toString(),
    });
    expect(await asField.json()).toEqual({ ok: false, error: 'not_authed' });
    // The app-level token is good for nothing else.
    expect(
      (await failure(client(server, APP_TOKEN).chat.postMessage({ channel: 'C0X', text: 'no' }))).data?.error,
    ).toBe('not_allowed_token_type');
    // Without an app token configured, Socket Mode is off: the bot token is still the wrong type.
    const plain = await startSlackApiServer({ botToken: TOKEN });
    try {
      expect((await failure(client(plain, TOKEN).apps.connections.open())).data?.error).toBe(
        'not_allowed_token_type',
      );
    } finally {
      await plain.close();
    }
  });

  it('greets, pings, delivers envelopes, records acks, and refuses a used ticket', async () => {
    const { url } = await client(server, APP_TOKEN).apps.connections.open();
    const { socket, hello, messages } = await connect(String(url));
    expect(hello).toMatchObject({
      type: 'hello',
      num_connections: 1,
      connection_info: { app_id: 'A0BATON' },
      debug_info: { host: expect.any(String), approximate_connection_time: expect.any(Number) },
    });
    // The server pings and hears the pongs; a client ping gets a pong.
    await vi.waitFor(() =>
      expect(server.socketMode.connectionLog().at(-1)?.pongsReceived).toBeGreaterThan(0),
    );
    const pong = new Promise((resolve) => socket.once('pong', resolve));
    socket.ping();
    await pong;

    // A slash command: the app acks with an answer, which the user sees as an ephemeral.
    const command = { channel_id: 'C0INCIDENTS', user_id: 'U0ALICE', command: '/failover', text: 'help' };
    const delivery = server.socketMode.deliver({ type: 'slash_commands', payload: command });
    await vi.waitFor(() => expect(messages).toHaveLength(1));
    const envelope = messages.shift() as { envelope_id: string };
    expect(envelope).toEqual({
      envelope_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      type: 'slash_commands',
      payload: command,
      accepts_response_payload: true,
    });
    socket.send(JSON.stringify({ envelope_id: envelope.envelope_id, payload: { text: 'usage: …' } }));
    expect(await delivery).toMatchObject({ acked: true, ackPayload: { text: 'usage: …' } });
    expect(server.ephemerals({ user: 'U0ALICE' }).at(-1)).toMatchObject({ text: 'usage: …', via: 'ack' });

    // No ack in time: Slack gives up. An ack for an unknown envelope changes nothing.
    socket.send(JSON.stringify({ envelope_id: 'not-an-envelope' }));
    const unanswered = await server.socketMode.deliver(
      { type: 'interactive', payload: { type: 'block_actions' } },
      { timeoutMs: 100 },
    );
    expect(unanswered).toMatchObject({ acked: false, error: 'operation_timeout' });

    // A ticket is good for one connection.
    const reused = new WebSocket(String(url));
    reused.on('error', () => undefined); // closing a refused handshake reports an error we expect
    sockets.push(reused);
    const status = await new Promise((resolve) =>
      reused.once('unexpected-response', (_req, res) => resolve(res.statusCode)),
    );
    expect(status).toBe(401);

    // disconnect: the client closes, and nothing is left to deliver to.
    socket.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type?: string }).type === 'disconnect') socket.close(1000);
    });
    await server.socketMode.disconnectAll('refresh_requested');
    expect(messages.at(-1)).toMatchObject({ type: 'disconnect', reason: 'refresh_requested' });
    expect(server.socketMode.connections()).toBe(0);
    expect(await server.socketMode.deliver({ type: 'interactive', payload: {} })).toMatchObject({
      acked: false,
      error: 'dispatch_failed',
    });
  });
});
