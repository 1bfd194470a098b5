/**
 * Where the bot may post, and what conversations.info shows it, as Slack decides from channel membership.
 *
 * - A private channel the bot was not invited to does not exist for it: chat.postMessage, chat.update and
 *   chat.postEphemeral answer `channel_not_found`, as does conversations.info ("Value passed for `channel` was
 *   invalid"; Slack does not reveal private channels to non-members). No scope changes that: only `/invite`.
 * - A public channel the bot is not in needs `chat:write.public` ("Send messages to channels your Slack app isn't
 *   a member of"; it requires chat:write too). Without it the answer is `not_in_channel` ("Cannot post user
 *   messages to a channel they are not in").
 * - conversations.info accepts any of channels:read, groups:read, im:read and mpim:read; what it may show
 *   depends on the channel: a public one needs channels:read, a private one groups:read.
 */
import type { Answer } from './web-api-wire.js';
import { fail } from './web-api-wire.js';
import type { ChannelState } from './workspace.js';

/** The scopes conversations.info accepts, any one of them (its method reference). */
export const CONVERSATIONS_READ_SCOPES = ['channels:read', 'groups:read', 'im:read', 'mpim:read'];

/** Slack's refusal of a post (or an edit, or an ephemeral) by the bot in `channel`, or undefined when allowed. */
export function refusePost(channel: ChannelState, scopes: ReadonlySet<string>): Answer | undefined {
  if (channel.botMember) return undefined;
  if (channel.isPrivate) return fail('channel_not_found');
  return scopes.has('chat:write.public') ? undefined : fail('not_in_channel');
}

/** conversations.info's answer for `channel`, or its refusal. */
export function conversationInfo(
  channel: ChannelState | undefined,
  scopes: ReadonlySet<string>,
  teamId: string,
): Answer {
  const provided = [...scopes].join(',');
  if (!CONVERSATIONS_READ_SCOPES.some((scope) => scopes.has(scope)))
    return fail('missing_scope', { needed: CONVERSATIONS_READ_SCOPES.join(','), provided });
  if (!channel || (channel.isPrivate && !(channel.botMember && scopes.has('groups:read'))))
    return fail('channel_not_found');
  if (!channel.isPrivate && !scopes.has('channels:read'))
    return fail('missing_scope', { needed: 'channels:read', provided });
  return { ok: true, channel: conversationJson(channel, teamId) };
}

/**
 * A channel as the Conversations API describes it (the conversation object). Channels made since March 2021
 * have C ids whether private or not; a G id is a private channel from before, still flagged `is_group`.
 */
function conversationJson(channel: ChannelState, teamId: string) {
  const legacyGroup = channel.id.startsWith('G');
  return {
    id: channel.id,
    name: channel.name,
    is_channel: !legacyGroup,
    is_group: legacyGroup,
    is_im: false,
    is_mpim: false,
    is_private: channel.isPrivate,
    created: channel.created,
    is_archived: false,
    is_general: false,
    unlinked: 0,
    name_normalized: channel.name,
    is_shared: false,
    is_org_shared: false,
    is_ext_shared: false,
    is_pending_ext_shared: false,
    pending_shared: [],
    context_team_id: teamId,
    shared_team_ids: [teamId],
    is_member: channel.botMember,
    topic: { value: '', creator: '', last_set: 0 },
    purpose: { value: '', creator: '', last_set: 0 },
    previous_names: [],
  };
}
