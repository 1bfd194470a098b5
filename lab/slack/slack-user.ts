/**
 * A person in the sandbox's Slack workspace: what Slack sends to Baton when they type a slash command or click a
 * button, signed exactly as Slack signs it, with a fresh response_url and trigger_id minted by the Slack stand-in,
 * and what Slack does with Baton's HTTP answer (an ack body becomes an ephemeral or an in-channel message).
 */
import type { SlackApiServer } from './slack-api-server.js';
import type { AppResponse } from './slack-signer.js';
import { blockAction, postToApp, sign, slashCommand } from './slack-signer.js';

export interface SlackUserActionsOptions {
  slack: SlackApiServer;
  /** Baton's Events URL (`…/slack/events`). */
  eventsUrl: string;
  signingSecret: string;
  /** The channel commands are typed in. */
  channel: string;
  channelName?: string;
  /** Display names by user id (Slack sends `user_name`); default: the id in lower case. */
  userNames?: Record<string, string>;
}

export interface ButtonClick {
  messageTs: string;
  actionId: string;
  value: string;
  blockId?: string;
  buttonText?: string;
  /** The button sits in an ephemeral message (Slack then omits `message`). */
  ephemeral?: boolean;
}

export interface SlackUserActions {
  /** Types `/failover …` or `/failback …` as `userId`; Baton's answer is shown as Slack shows it. */
  command(userId: string, command: string, text: string): Promise<AppResponse>;
  /** Clicks a button of a message in the channel as `userId`. */
  click(userId: string, click: ButtonClick): Promise<AppResponse>;
}

export function slackUserActions(options: SlackUserActionsOptions): SlackUserActions {
  const { slack, eventsUrl, signingSecret, channel } = options;
  const channelName = options.channelName ?? channel.toLowerCase();
  const signed = (body: string) => sign(signingSecret, body, Date.now() / 1000);
  return {
    async command(userId, command, text) {
      const { url } = slack.createResponseUrl({ channel, user: userId });
      const body = slashCommand({
        command,
        text,
        userId,
        ...(options.userNames?.[userId] && { userName: options.userNames[userId] }),
        channelId: channel,
        channelName,
        responseUrl: url,
        triggerId: slack.mintTriggerId({ userId }),
      });
      const response = await postToApp(eventsUrl, body, signed(body));
      if (response.status === 200 && response.text.trim()) {
        let answer: unknown;
        try {
          answer = JSON.parse(response.text);
        } catch {
          answer = { text: response.text }; // a plain-text ack body is shown as text
        }
        slack.showCommandAnswer(Object.fromEntries(new URLSearchParams(body)), answer);
      }
      return response;
    },
    async click(userId, click) {
      const message = click.ephemeral ? undefined : slack.message(channel, click.messageTs);
      const { url } = slack.createResponseUrl({
        channel,
        user: userId,
        messageTs: click.messageTs,
        ...(click.ephemeral && { ephemeral: true }),
      });
      const body = blockAction({
        actionId: click.actionId,
        value: click.value,
        ...(click.blockId && { blockId: click.blockId }),
        ...(click.buttonText && { buttonText: click.buttonText }),
        userId,
        ...(options.userNames?.[userId] && { userName: options.userNames[userId] }),
        channelId: channel,
        channelName,
        messageTs: click.messageTs,
        nowSeconds: Date.now() / 1000,
        responseUrl: url,
        triggerId: slack.mintTriggerId({ userId }),
        ...(message && { message: { ts: message.ts, text: message.text, blocks: message.blocks } }),
        ...(click.ephemeral && { isEphemeral: true }),
      });
      return postToApp(eventsUrl, body, signed(body));
    },
  };
}
