/**
 * The Web API methods Baton calls, answered as Slack's method reference describes: auth.test,
 * chat.postMessage, chat.update, chat.postEphemeral, conversations.info and usergroups.users.list here;
 * files.getUploadURLExternal and files.completeUploadExternal from file-uploads.ts;
 * views.open (interactivity) and apps.connections.open (Socket Mode) come from their own modules. Also the
 * scope each method needs, and where the bot may post (channel-access.ts).
 */
import { conversationInfo, refusePost } from './channel-access.js';
import { readContent } from './message-content.js';
import type { Answer, Params } from './web-api-wire.js';
import { asString, fail } from './web-api-wire.js';
import type { SlackIdentity, SlackWorkspace } from './workspace.js';

export type WebApiMethod = (params: Params) => Answer;

// Scopes each method needs with a bot token, from each method's reference page. conversations.info's depends on
// the channel (channels:read or groups:read) and is checked with the channel (channel-access.ts).
export const METHOD_SCOPES: Record<string, string | undefined> = {
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'usergroups.users.list': 'usergroups:read',
  'files.getUploadURLExternal': 'files:write',
  'files.completeUploadExternal': 'files:write',
};

/** Scopes granted to the bot token unless the options name others. */
export const DEFAULT_SCOPES = [
  'commands',
  'chat:write',
  'chat:write.public',
  'channels:read',
  'groups:read',
  'usergroups:read',
  'files:write',
];

export interface WebApiMethodsOptions {
  identity: SlackIdentity;
  workspace: SlackWorkspace;
  /** The bot token's scopes (chat:write.public opens public channels the bot is not in). */
  scopes: ReadonlySet<string>;
  /** views.open */
  openView: WebApiMethod;
  /** apps.connections.open */
  openConnection: WebApiMethod;
  /** files.getUploadURLExternal and files.completeUploadExternal (file-uploads.ts) */
  files: { getUploadURLExternal: WebApiMethod; completeUploadExternal: WebApiMethod };
}

/** Every method the stand-in knows, by name; any other answers `unknown_method`. */
export function createWebApiMethods(options: WebApiMethodsOptions): Record<string, WebApiMethod> {
  const { identity, workspace, scopes } = options;
  const { teamId, teamDomain, botUserId, botId } = identity;
  return {
    'apps.connections.open': options.openConnection,

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
      const channel = workspace.findChannel(asString(params.channel), true);
      if (!channel) return fail('channel_not_found');
      const refused = refusePost(channel, scopes);
      if (refused) return refused;
      const content = readContent(params, true);
      if (content.error) return content.error;
      const threadTs = asString(params.thread_ts) || undefined;
      const message = workspace.postBotMessage(
        channel,
        { text: content.text ?? '', ...content },
        threadTs,
        'api',
      );
      return { ok: true, channel: channel.id, ts: message.ts, message: workspace.messageJson(message) };
    },

    'chat.update': (params) => {
      const channel = workspace.findChannel(asString(params.channel), false);
      if (!channel) return fail('channel_not_found');
      const refused = refusePost(channel, scopes);
      if (refused) return refused;
      const ts = asString(params.ts);
      if (!ts) return fail('message_not_found');
      const content = readContent(params, true);
      if (content.error) return content.error;
      const message = workspace.findMessage(channel, ts);
      if (!message) return fail('message_not_found');
      if (message.user !== botUserId) return fail('cant_update_message');
      workspace.replaceContent(message, content);
      message.editedTs = workspace.nextTs();
      return {
        ok: true,
        channel: channel.id,
        ts: message.ts,
        text: message.text,
        message: workspace.messageJson(message),
      };
    },

    'chat.postEphemeral': (params) => {
      const channel = workspace.findChannel(asString(params.channel), true);
      if (!channel) return fail('channel_not_found');
      const refused = refusePost(channel, scopes);
      if (refused) return refused;
      const user = asString(params.user);
      if (!user) return fail('user_not_in_channel');
      if (!workspace.canSeeEphemeral(channel, user)) return fail('user_not_in_channel');
      const content = readContent(params, true);
      if (content.error) return content.error;
      const ephemeral = workspace.postEphemeral(
        channel,
        user,
        { text: content.text ?? '', ...(content.blocks && { blocks: content.blocks }) },
        asString(params.thread_ts),
        'api',
      );
      return { ok: true, message_ts: ephemeral.ts };
    },

    'conversations.info': (params) =>
      conversationInfo(workspace.findChannel(asString(params.channel), false), scopes, teamId),

    'views.open': options.openView,

    'files.getUploadURLExternal': options.files.getUploadURLExternal,
    'files.completeUploadExternal': options.files.completeUploadExternal,

    'usergroups.users.list': (params) => {
      const id = asString(params.usergroup);
      const members = id ? workspace.userGroup(id) : undefined;
      if (!members) return fail('no_such_subteam');
      return { ok: true, users: [...members] };
    },
  };
}
