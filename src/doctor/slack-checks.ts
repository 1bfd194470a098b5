/**
 * Slack: the bot token works and carries the scopes Baton uses (`auth.test`, whose `x-oauth-scopes` header the Web
 * API client reports as `response_metadata.scopes`), the bot can post in the incident channel (`conversations.info`:
 * a member, or a public channel and `chat:write.public`), and every user group the approvals name resolves
 * (`usergroups.users.list`). Calls go through the worker's Slack client (src/adapters/slack-web.ts), whose errors
 * say what to do.
 *
 * `conversations.info` needs `channels:read` (public channels) or `groups:read` (private ones); Slack answers a
 * private channel the bot is not in with `channel_not_found`, exactly as chat.postMessage would
 * (https://api.slack.com/methods/conversations.info).
 */
import type { SlackApiError } from '../adapters/slack-web.js';
import type { Topology } from '../config/topology.js';
import type { DoctorCheck } from './doctor-check.js';
import { fail, failed, ok, warn } from './doctor-check.js';

/** The Web API methods the doctor calls, as the Web API client answers them. */
export interface SlackDoctorClient {
  auth: { test(): Promise<{ user_id?: string; team?: string; response_metadata?: { scopes?: string[] } }> };
  conversations: {
    info(args: { channel: string }): Promise<{
      channel?: { is_member?: boolean; is_private?: boolean; is_archived?: boolean; name?: string };
    }>;
  };
  usergroups: { users: { list(args: { usergroup: string }): Promise<{ users?: string[] }> } };
}

const slackError = (error: unknown): string | undefined =>
  (error as Partial<SlackApiError> | null)?.slackError;

function requiredScopes(topology: Topology): { scope: string; why: string }[] {
  const groups = [...topology.approvals.approvers.userGroups, ...topology.approvals.requesters.userGroups];
  return [
    { scope: 'commands', why: '/failover and /failback' },
    { scope: 'chat:write', why: 'posting and updating run messages' },
    { scope: 'files:write', why: "attaching each finished run's report to its thread" },
    ...(groups.length
      ? [{ scope: 'usergroups:read', why: 'approvers and requesters named by user group' }]
      : []),
  ];
}

const MANIFEST = 'add it to oauth_config.scopes.bot (manifests/slack-app.yaml) and reinstall the app';

export async function checkSlack(client: SlackDoctorClient, topology: Topology): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  let scopes: string[] | undefined;
  try {
    const auth = await client.auth.test();
    scopes = auth.response_metadata?.scopes;
    checks.push(
      ok('slack', 'the bot token works (auth.test)', `bot ${auth.user_id ?? '?'} in ${auth.team ?? '?'}`),
    );
  } catch (error) {
    return [failed('slack', 'the bot token works (auth.test)', error)];
  }
  for (const { scope, why } of requiredScopes(topology)) {
    const name = `the token has scope ${scope}`;
    if (!scopes) {
      checks.push(
        warn(
          'slack',
          name,
          "Slack did not report the token's scopes",
          `check ${scope} in the app's OAuth & Permissions page`,
        ),
      );
    } else {
      checks.push(
        scopes.includes(scope)
          ? ok('slack', name, `for ${why}`)
          : fail('slack', name, `missing; needed for ${why}`, MANIFEST),
      );
    }
  }

  const channel = topology.slack.incidentChannel;
  const name = `the bot can post in the incident channel ${channel}`;
  try {
    const info = (await client.conversations.info({ channel })).channel ?? {};
    const label = `${info.is_private ? 'private' : 'public'} channel${info.name ? ` #${info.name}` : ''}`;
    if (info.is_archived) {
      checks.push(
        fail('slack', name, `${label} is archived`, 'point slack.incidentChannel at a live channel'),
      );
    } else if (info.is_member) {
      checks.push(ok('slack', name, `member of the ${label}`));
    } else if (!info.is_private && scopes?.includes('chat:write.public')) {
      // Files are shared only where the bot is a member (files.completeUploadExternal answers not_in_channel).
      checks.push(
        warn(
          'slack',
          name,
          `not a member of the ${label}; posts through chat:write.public, but run reports cannot be attached`,
          `invite the bot: /invite @Baton in ${channel}`,
        ),
      );
    } else {
      checks.push(
        fail('slack', name, `not a member of the ${label}`, `invite the bot: /invite @Baton in ${channel}`),
      );
    }
  } catch (error) {
    const code = slackError(error);
    if (code === 'channel_not_found') {
      checks.push(
        fail(
          'slack',
          name,
          'Slack cannot find it for the bot: a private channel the bot is not in, or a wrong id',
          `invite the bot to the private channel (/invite @Baton), or fix slack.incidentChannel (a C… or G… id)`,
        ),
      );
    } else if (code === 'missing_scope') {
      checks.push(
        warn(
          'slack',
          name,
          'not checked: conversations.info needs channels:read (public) or groups:read (private)',
          `add channels:read and groups:read so that baton doctor can see the channel; ${MANIFEST}`,
        ),
      );
    } else {
      checks.push(failed('slack', name, error));
    }
  }

  const groups = [
    ...new Set([...topology.approvals.approvers.userGroups, ...topology.approvals.requesters.userGroups]),
  ];
  for (const group of groups) {
    const groupName = `user group ${group} resolves`;
    try {
      const users = (await client.usergroups.users.list({ usergroup: group })).users ?? [];
      checks.push(
        users.length
          ? ok('slack', groupName, `${users.length} member(s)`)
          : warn(
              'slack',
              groupName,
              'it has no members: nobody can act through it',
              'add its people in Slack',
            ),
      );
    } catch (error) {
      checks.push(
        slackError(error) === 'no_such_subteam'
          ? fail(
              'slack',
              groupName,
              'Slack has no such user group',
              'fix the S… id in approvals (approvers or requesters)',
            )
          : failed('slack', groupName, error),
      );
    }
  }
  return checks;
}
