/**
 * The Slack stand-in's upload flow, driven by `@slack/web-api` unmodified (filesUploadV2 makes the three calls) and
 * by raw calls for the refusals: argument checks, files:write, the upload URL taking the bytes, a file that was
 * never uploaded, channel membership, and the shared file appearing in the thread as a message with `files`.
 */
import { LogLevel, WebClient } from '@slack/web-api';
import type { Logger } from '@slack/web-api';
import { afterEach, describe, expect, it } from 'vitest';
import { startSlackApiServer } from '../../../lab/slack/slack-api-server.js';
import type { SlackApiServer, SlackApiServerOptions } from '../../../lab/slack/slack-api-server.js';

const TOKEN = 'xoxb-files-test';
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

async function start(options: Omit<SlackApiServerOptions, 'botToken'> = {}) {
  const server = await startSlackApiServer({ botToken: TOKEN, ...options });
  servers.push(server);
  const slack = new WebClient(TOKEN, {
    slackApiUrl: server.apiUrl,
    logger: silent,
    retryConfig: { retries: 0 },
  });
  return { server, slack };
}

/** A form-encoded Web API call with the bot token; Slack's JSON answer. */
async function call(server: SlackApiServer, method: string, params: Record<string, string>) {
  const response = await fetch(`${server.apiUrl}${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
  return (await response.json()) as { ok: boolean; error?: string; upload_url?: string; file_id?: string };
}

describe('the Slack stand-in: file uploads', () => {
  it('shares a file into a thread through filesUploadV2, as a bot message with files', async () => {
    const { server, slack } = await start({ channels: [{ id: 'C0INCIDENTS', botMember: true }] });
    const parent = await slack.chat.postMessage({ channel: 'C0INCIDENTS', text: 'run r1' });
    const markdown = '# Report\n\n| a | b |\n|---|---|\n| ü | → |\n';
    await slack.filesUploadV2({
      channel_id: 'C0INCIDENTS',
      thread_ts: parent.ts as string,
      file: Buffer.from(markdown, 'utf8'),
      filename: 'r1-report.md',
      title: 'Run r1 report',
      initial_comment: 'Report of run r1',
    });
    const [reply] = server.replies('C0INCIDENTS', parent.ts as string);
    expect(reply).toMatchObject({ text: 'Report of run r1', threadTs: parent.ts });
    expect(reply?.files).toEqual([
      {
        id: expect.stringMatching(/^F/),
        name: 'r1-report.md',
        title: 'Run r1 report',
        size: Buffer.byteLength(markdown),
        lengthDeclared: Buffer.byteLength(markdown),
        content: markdown,
      },
    ]);
    expect(server.messages('C0INCIDENTS')).toHaveLength(1);
  });

  it('checks the arguments and the scope as Slack does', async () => {
    const { server } = await start();
    expect(await call(server, 'files.getUploadURLExternal', { filename: 'x.md' })).toMatchObject({
      ok: false,
      error: 'invalid_arguments',
    });
    expect(await call(server, 'files.getUploadURLExternal', { length: '5' })).toMatchObject({
      error: 'invalid_arguments',
    });
    expect(await call(server, 'files.getUploadURLExternal', { filename: 'x.md', length: '0' })).toMatchObject(
      { error: 'missing_argument' },
    );
    expect(await call(server, 'files.completeUploadExternal', { channel_id: 'C1' })).toMatchObject({
      error: 'invalid_arguments',
    });

    const { server: noScope } = await start({ scopes: ['chat:write'] });
    expect(
      await call(noScope, 'files.getUploadURLExternal', { filename: 'x.md', length: '5' }),
    ).toMatchObject({ ok: false, error: 'missing_scope' });
  });

  it('refuses a file whose bytes never arrived, a thread without a channel, and a channel without the bot', async () => {
    const { server } = await start({
      channels: [
        { id: 'C0PUBLIC', botMember: false },
        { id: 'C0SECRET', isPrivate: true, botMember: false },
        { id: 'C0MEMBER', botMember: true },
      ],
    });
    const started = await call(server, 'files.getUploadURLExternal', { filename: 'x.md', length: '5' });
    const files = JSON.stringify([{ id: started.file_id }]);
    expect(
      await call(server, 'files.completeUploadExternal', { files, channel_id: 'C0MEMBER' }),
    ).toMatchObject({ error: 'file_not_found' });
    expect(
      await call(server, 'files.completeUploadExternal', {
        files: JSON.stringify([{ id: 'F0NOSUCH' }]),
        channel_id: 'C0MEMBER',
      }),
    ).toMatchObject({ error: 'file_not_found' });

    const upload = await fetch(started.upload_url as string, { method: 'POST', body: 'hello' });
    expect(upload.status).toBe(200);
    expect(await upload.text()).toBe('OK - 5');
    expect((await fetch(`${server.url}/upload/v1/unknown`, { method: 'POST', body: 'x' })).status).toBe(404);

    expect(
      await call(server, 'files.completeUploadExternal', { files, thread_ts: '1.000001' }),
    ).toMatchObject({ error: 'invalid_arguments' });
    // chat:write.public opens a public channel to chat.postMessage, not to shared files.
    expect(
      await call(server, 'files.completeUploadExternal', { files, channel_id: 'C0PUBLIC' }),
    ).toMatchObject({ error: 'not_in_channel' });
    expect(
      await call(server, 'files.completeUploadExternal', { files, channel_id: 'C0SECRET' }),
    ).toMatchObject({ error: 'channel_not_found' });
    expect(
      await call(server, 'files.completeUploadExternal', { files, channel_id: 'C0MEMBER' }),
    ).toMatchObject({ ok: true });
    // Completed once: the same file cannot be shared again.
    expect(
      await call(server, 'files.completeUploadExternal', { files, channel_id: 'C0MEMBER' }),
    ).toMatchObject({ error: 'file_not_found' });
    expect(server.messages('C0MEMBER')[0]?.files?.[0]?.content).toBe('hello');
  });
});
