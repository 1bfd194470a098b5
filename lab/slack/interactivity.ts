/**
 * The interactive side of the workspace: trigger_ids and the modals views.open opens with them, response_urls
 * and what a POST to one does (reply, replace, delete), and how Slack shows the body a slash command was
 * answered with. Expiry and use limits are Slack's: a trigger_id once within 3 s, a response_url 5 times in
 * 30 minutes.
 */
import { randomBytes } from 'node:crypto';
import type { JsonReply } from './http-server.js';
import { blocksError, readContent, schemaError, textObjectError } from './message-content.js';
import type { Answer, Params } from './web-api-wire.js';
import { asString, fail, parseJsonParam } from './web-api-wire.js';
import type { SlackEphemeral, SlackIdentity, SlackMessage, SlackWorkspace } from './workspace.js';

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

export const TRIGGER_TTL_MS = 3_000;
export const RESPONSE_URL_TTL_MS = 30 * 60_000;
export const RESPONSE_URL_MAX_USES = 5;

const TRIGGER_ID = /^\d+\.\d+\.[0-9a-f]+$/;

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

function randomId(prefix: string, length = 10): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const bytes = randomBytes(length);
  return prefix + Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

export class SlackInteractivity {
  /** Every modal opened, oldest first. */
  readonly views: SlackOpenedView[] = [];
  /** Every POST to a response_url, oldest first. */
  readonly responsePosts: SlackResponseUrlPost[] = [];
  private readonly triggers = new Map<string, TriggerState>();
  private readonly responseUrls = new Map<string, ResponseUrlState>();
  private triggerCounter = 0;

  constructor(
    private readonly identity: SlackIdentity,
    private readonly workspace: SlackWorkspace,
    private readonly now: () => number,
  ) {}

  /** A fresh trigger_id, exchangeable once by views.open within 3 seconds. */
  mintTriggerId(options: { userId?: string } = {}): string {
    this.triggerCounter += 1;
    const id = `${this.triggerCounter}.${Math.floor(this.now() / 1000)}.${randomBytes(16).toString('hex')}`;
    this.triggers.set(id, {
      mintedAt: this.now(),
      used: false,
      ...(options.userId && { userId: options.userId }),
    });
    return id;
  }

  /** A fresh response_url id, valid for 5 uses within 30 minutes. */
  createResponseUrl(context: SlackResponseUrlContext): string {
    const id = randomBytes(12).toString('hex');
    this.responseUrls.set(id, { context: { ...context }, createdAt: this.now(), uses: 0 });
    return id;
  }

  /** views.open: a modal, for a trigger_id not yet used nor expired. */
  openView(params: Params): Answer {
    const { now } = this;
    const triggerId = asString(params.trigger_id);
    if (!triggerId)
      return fail('invalid_arguments', {
        response_metadata: { messages: ['[ERROR] missing required field: trigger_id'] },
      });
    const trigger = this.triggers.get(triggerId);
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
      team_id: this.identity.teamId,
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
      app_id: this.identity.appId,
      bot_id: this.identity.botId,
    };
    this.views.push({
      id,
      triggerId,
      ...(trigger.userId && { userId: trigger.userId }),
      view,
      openedAt: now(),
    });
    return { ok: true, view: opened };
  }

  /**
   * A POST to response_url `id` (JSON, or a form with a `payload` field): an ephemeral reply by default, a
   * channel message with `response_type: 'in_channel'`, or the clicked message replaced or deleted.
   */
  postToResponseUrl(id: string, raw: string, contentType: string): JsonReply {
    const { workspace } = this;
    const at = this.now();
    let body: Params = {};
    const answer = (status: number, error?: string): JsonReply => {
      this.responsePosts.push({ id, at, status, body, ...(error && { error }) });
      return { status, body: error ? { ok: false, error } : { ok: true } };
    };
    const state = this.responseUrls.get(id);
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
    const channel = workspace.findChannel(context.channel, true);
    if (!channel) return answer(404, 'channel_not_found');
    const original = context.messageTs
      ? context.ephemeral
        ? workspace.findEphemeral(context.messageTs, context.user)
        : workspace.findMessage(channel, context.messageTs)
      : undefined;

    if (body.delete_original === true || body.delete_original === 'true') {
      state.uses += 1;
      if (original && context.ephemeral) workspace.deleteEphemeral(original as SlackEphemeral);
      else if (original) workspace.deleteMessage(channel, original as SlackMessage);
      return answer(200);
    }

    const content = readContent(body, true);
    if (content.error) return answer(400, content.error.ok ? 'invalid_payload' : content.error.error);
    state.uses += 1;
    const text = content.text ?? '';
    const replace = body.replace_original === true || body.replace_original === 'true';
    if (replace && original) {
      workspace.replaceContent(original, { text, blocks: content.blocks ?? [] });
      if (!context.ephemeral) (original as SlackMessage).editedTs = workspace.nextTs();
      return answer(200);
    }
    const threadTs = asString(body.thread_ts);
    const blocks = content.blocks && { blocks: content.blocks };
    if (body.response_type === 'in_channel') {
      workspace.postBotMessage(channel, { text, ...blocks }, threadTs, 'response_url');
      return answer(200);
    }
    workspace.postEphemeral(channel, context.user, { text, ...blocks }, threadTs, 'response_url');
    return answer(200);
  }

  /**
   * Shows the body a slash command was answered with (over HTTP or in a Socket Mode ack) as Slack does: an
   * ephemeral for the user, or a channel message with `response_type: 'in_channel'`. Returns why it could
   * not.
   */
  showCommandAnswer(command: Params, answer: unknown): string | undefined {
    const { workspace } = this;
    if (typeof answer !== 'object' || answer === null || Object.keys(answer).length === 0) return undefined;
    const body = answer as Params;
    const content = readContent(body, true);
    if (content.error) return content.error.ok ? 'invalid_payload' : content.error.error;
    const channel = workspace.findChannel(asString(command.channel_id), true);
    if (!channel) return 'channel_not_found';
    const text = content.text ?? '';
    const blocks = content.blocks && { blocks: content.blocks };
    if (body.response_type === 'in_channel') {
      workspace.postBotMessage(channel, { text, ...blocks }, undefined, 'ack');
      return undefined;
    }
    workspace.postEphemeral(channel, asString(command.user_id) ?? '', { text, ...blocks }, undefined, 'ack');
    return undefined;
  }
}
