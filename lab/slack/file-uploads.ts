/**
 * Slack's file upload flow, as its method reference describes it (files.upload was retired on 12 November 2025,
 * docs.slack.dev/changelog/2024-04-a-better-way-to-upload-files-is-here-to-stay):
 *
 * 1. `files.getUploadURLExternal` (`filename` and `length` required, docs.slack.dev/reference/methods/
 *    files.getUploadURLExternal) answers an `upload_url` and a `file_id`; a `length` of 0 is `missing_argument`
 *    (the method's error list), any other bad or absent argument `invalid_arguments`.
 * 2. The bytes are POSTed to the upload_url, raw or multipart; Slack answers HTTP 200 ("OK - <bytes>"). The URL
 *    is pre-signed: it takes no token, and an unknown one is a 404.
 * 3. `files.completeUploadExternal` (`files` required: `[{"id", "title"?}]`; optional `channel_id`, `thread_ts`,
 *    `initial_comment`; docs.slack.dev/reference/methods/files.completeUploadExternal) shares them. A file never
 *    started, or whose bytes never arrived, is `file_not_found`; `thread_ts` without `channel_id` has nowhere to go
 *    (`invalid_arguments`, Slack's answer to bad destination arguments: slackapi/bolt-js#2115); sharing into a
 *    channel follows membership like posting does, but `chat:write.public` does not open a channel to files: the
 *    bot must be a member, or Slack answers `not_in_channel` (getnao/nao#1372: chat.postMessage succeeded in a
 *    public channel through chat:write.public, files.completeUploadExternal did not). Shared files appear as one
 *    bot message carrying `files`, in the thread when `thread_ts` names its parent.
 *
 * Both methods need `files:write` (checked with the other scopes, web-api-methods.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Answer, Params } from './web-api-wire.js';
import { asString, fail } from './web-api-wire.js';
import type { SlackFile, SlackWorkspace } from './workspace.js';

interface PendingUpload {
  id: string;
  filename: string;
  length: number;
  snippetType?: string;
  bytes?: Buffer;
  completed: boolean;
}

/** What the upload URL answers: plain text, as Slack's file service does. */
export interface UploadReply {
  status: number;
  text: string;
}

function parseFiles(value: unknown): { id: string; title?: string }[] | undefined {
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (!Array.isArray(parsed) || parsed.length === 0) return undefined;
  const files: { id: string; title?: string }[] = [];
  for (const entry of parsed as unknown[]) {
    const file = entry as Params | null;
    if (typeof file !== 'object' || file === null || typeof file.id !== 'string') return undefined;
    files.push({ id: file.id, ...(typeof file.title === 'string' && { title: file.title }) });
  }
  return files;
}

export class SlackFileUploads {
  private readonly byId = new Map<string, PendingUpload>();
  private readonly byToken = new Map<string, PendingUpload>();
  private sequence = 0;

  constructor(
    private readonly workspace: SlackWorkspace,
    /** `http://127.0.0.1:P`, known once the server listens. */
    private readonly baseUrl: () => string,
  ) {}

  getUploadURLExternal(params: Params): Answer {
    const filename = asString(params.filename);
    const lengthText = asString(params.length);
    if (!filename || lengthText === undefined || !/^\d+$/.test(lengthText)) return fail('invalid_arguments');
    const length = Number(lengthText);
    if (length === 0) return fail('missing_argument');
    this.sequence += 1;
    const id = `F0UPLOAD${String(this.sequence).padStart(4, '0')}`;
    const token = randomBytes(12).toString('hex');
    const snippetType = asString(params.snippet_type);
    const upload: PendingUpload = {
      id,
      filename,
      length,
      ...(snippetType && { snippetType }),
      completed: false,
    };
    this.byId.set(id, upload);
    this.byToken.set(token, upload);
    return { ok: true, upload_url: `${this.baseUrl()}/upload/v1/${token}`, file_id: id };
  }

  /**
   * `POST /upload/v1/<token>`: the file's bytes, raw or as the one file part of a multipart/form-data body (what
   * @slack/web-api sends). Multipart is parsed by the runtime's own Fetch implementation, not by hand.
   */
  async receive(token: string, body: Buffer, contentType: string): Promise<UploadReply> {
    const upload = this.byToken.get(token);
    if (!upload || upload.completed) return { status: 404, text: 'Not Found' };
    let bytes = body;
    if (contentType.toLowerCase().startsWith('multipart/form-data')) {
      const form = await new Request('http://upload.invalid/', {
        method: 'POST',
        headers: { 'content-type': contentType },
        body,
      })
        .formData()
        .catch(() => undefined);
      const part = form && [...form.values()].find((value) => typeof value !== 'string');
      if (!part || typeof part === 'string') return { status: 400, text: 'Bad Request' };
      bytes = Buffer.from(await part.arrayBuffer());
    }
    upload.bytes = bytes;
    return { status: 200, text: `OK - ${bytes.length}` };
  }

  completeUploadExternal(params: Params): Answer {
    const files = parseFiles(params.files);
    if (!files) return fail('invalid_arguments');
    const channelId = asString(params.channel_id);
    const threadTs = asString(params.thread_ts);
    if (threadTs && !channelId) return fail('invalid_arguments');
    const uploads: PendingUpload[] = [];
    for (const file of files) {
      const upload = this.byId.get(file.id);
      if (!upload || upload.completed || upload.bytes === undefined) return fail('file_not_found');
      uploads.push(upload);
    }
    const channel = channelId ? this.workspace.findChannel(channelId, true) : undefined;
    if (channelId) {
      if (!channel || (channel.isPrivate && !channel.botMember)) return fail('channel_not_found');
      if (!channel.botMember) return fail('not_in_channel');
    }
    const shared: SlackFile[] = uploads.map((upload, i) => {
      upload.completed = true;
      return {
        id: upload.id,
        name: upload.filename,
        title: files[i]?.title ?? upload.filename,
        size: upload.bytes?.length ?? 0,
        lengthDeclared: upload.length,
        content: upload.bytes?.toString('utf8') ?? '',
      };
    });
    if (channel) {
      this.workspace.postBotMessage(
        channel,
        { text: asString(params.initial_comment) ?? '', files: shared },
        threadTs || undefined,
        'api',
      );
    }
    return { ok: true, files: shared.map((f) => ({ id: f.id, title: f.title })) };
  }
}
