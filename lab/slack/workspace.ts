/**
 * The workspace as an operator would see it in Slack: channels with their messages, thread replies and edit
 * history, ephemerals per user, the users and user groups, and the message timestamps (`seconds.micros`,
 * unique and increasing). The methods, response_urls and Socket Mode acks all write here; tests read it.
 */

/** A channel that exists. `members` limits who can receive ephemerals (default: every user). */
export interface SlackChannelSeed {
  id: string;
  name?: string;
  members?: string[];
  /** A private channel: invisible to the bot unless it is a member (default: public). */
  isPrivate?: boolean;
  /**
   * Whether the bot user was invited (default: not, as in a real workspace until someone runs `/invite @baton`).
   * A channel that an open world creates on its first message has the bot in it.
   */
  botMember?: boolean;
}

export interface SlackMessageEdit {
  /** The content before this edit. */
  text: string;
  blocks?: unknown[];
  /** When it was replaced (ms). */
  replacedAt: number;
}

/** A file shared with files.completeUploadExternal (file-uploads.ts); `content` is its bytes as UTF-8. */
export interface SlackFile {
  id: string;
  name: string;
  title: string;
  /** Bytes received at the upload URL. */
  size: number;
  /** The `length` given to files.getUploadURLExternal. */
  lengthDeclared: number;
  content: string;
}

export interface SlackMessage {
  ts: string;
  channel: string;
  /** The bot user for messages Baton posted; a person's id for messages seeded with `postAsUser`. */
  user: string;
  botId?: string;
  text: string;
  blocks?: unknown[];
  /** Files shared with the message (files.completeUploadExternal). */
  files?: SlackFile[];
  threadTs?: string;
  /** Thread replies, oldest first (top-level messages only). */
  replies: SlackMessage[];
  /** Earlier versions, oldest first; empty when never edited. */
  edits: SlackMessageEdit[];
  /** ts of the latest edit (Slack's `edited.ts`). */
  editedTs?: string;
  postedAt: number;
  /** `ack`: an `in_channel` answer in a slash command's Socket Mode ack. */
  via: 'api' | 'response_url' | 'user' | 'ack';
}

export interface SlackEphemeral {
  channel: string;
  user: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  threadTs?: string;
  /** `ack`: the answer a slash command's Socket Mode ack carried. */
  via: 'api' | 'response_url' | 'ack';
  postedAt: number;
  /** Earlier versions replaced through a response_url with replace_original. */
  edits: SlackMessageEdit[];
}

/** Who the workspace and the app are. */
export interface SlackIdentity {
  teamId: string;
  teamDomain: string;
  botUserId: string;
  botId: string;
  appId: string;
}

export interface ChannelState {
  id: string;
  name: string;
  members?: Set<string>;
  isPrivate: boolean;
  botMember: boolean;
  /** When the channel was made (seconds, conversations.info's `created`). */
  created: number;
  messages: SlackMessage[];
}

export interface SlackWorkspaceOptions {
  identity: SlackIdentity;
  now: () => number;
  /** When given, only these users can receive ephemerals. */
  users?: string[];
  userGroups?: Record<string, string[]>;
  /** Omitted: any channel id (C…, G…, D…) exists from its first message. */
  channels?: (string | SlackChannelSeed)[];
}

/** What a message shows; `blocks` absent means none. */
export interface MessageBody {
  text: string;
  blocks?: unknown[];
  files?: SlackFile[];
}

const CHANNEL_ID = /^[CGD][A-Z0-9]{2,}$/;

export class SlackWorkspace {
  /** Every ephemeral shown, oldest first. */
  readonly ephemerals: SlackEphemeral[] = [];
  private readonly channels = new Map<string, ChannelState>();
  private readonly users: Set<string>;
  private readonly knownUsersOnly: boolean;
  private readonly openWorld: boolean;
  private readonly groups: Map<string, string[]>;
  private lastTsMicros = 0;

  constructor(private readonly options: SlackWorkspaceOptions) {
    this.users = new Set(options.users ?? []);
    this.knownUsersOnly = options.users !== undefined;
    this.openWorld = options.channels === undefined;
    this.groups = new Map(Object.entries(options.userGroups ?? {}).map(([id, list]) => [id, [...list]]));
    for (const seed of options.channels ?? []) this.addChannel(seed);
  }

  /** Unique, increasing message timestamps in Slack's `seconds.micros` form. */
  nextTs(): string {
    this.lastTsMicros = Math.max(this.options.now() * 1000, this.lastTsMicros + 1);
    const seconds = Math.floor(this.lastTsMicros / 1_000_000);
    return `${seconds}.${String(this.lastTsMicros % 1_000_000).padStart(6, '0')}`;
  }

  addChannel(seed: string | SlackChannelSeed): void {
    const channel = typeof seed === 'string' ? { id: seed } : seed;
    this.channels.set(channel.id, {
      id: channel.id,
      name: channel.name ?? channel.id.toLowerCase(),
      ...(channel.members && { members: new Set(channel.members) }),
      isPrivate: channel.isPrivate ?? false,
      botMember: channel.botMember ?? false,
      created: Math.floor(this.options.now() / 1000),
      messages: [],
    });
  }

  /** Invites the bot to a channel (`/invite @baton`), or removes it. */
  setBotMember(id: string, member: boolean): void {
    const channel = this.channels.get(id);
    if (!channel) throw new Error(`channel ${id} does not exist in the Slack stand-in`);
    channel.botMember = member;
  }

  /** A channel by id or `#name`; with `create`, an open world makes any well-formed channel id exist. */
  findChannel(ref: string | undefined, create: boolean): ChannelState | undefined {
    if (!ref) return undefined;
    const name = ref.replace(/^#/, '');
    const found = this.channels.get(ref) ?? [...this.channels.values()].find((c) => c.name === name);
    if (found || !create || !this.openWorld || !CHANNEL_ID.test(ref)) return found;
    this.addChannel({ id: ref, botMember: true });
    return this.channels.get(ref);
  }

  /** A top-level message or a thread reply. */
  findMessage(channel: ChannelState, ts: string): SlackMessage | undefined {
    for (const message of channel.messages) {
      if (message.ts === ts) return message;
      const reply = message.replies.find((r) => r.ts === ts);
      if (reply) return reply;
    }
    return undefined;
  }

  /**
   * Whether `user` may see an ephemeral in `channel`: a known user, and a member when the channel lists them.
   */
  canSeeEphemeral(channel: ChannelState, user: string): boolean {
    return !(
      (this.knownUsersOnly && !this.users.has(user)) ||
      (channel.members && !channel.members.has(user))
    );
  }

  userGroup(id: string): string[] | undefined {
    return this.groups.get(id);
  }

  userGroups(): Record<string, string[]> {
    return Object.fromEntries([...this.groups].map(([id, list]) => [id, [...list]]));
  }

  setUserGroup(id: string, users: string[]): void {
    this.groups.set(id, [...users]);
  }

  /** Posts as the bot, in the thread of `threadTs` when given. */
  postBotMessage(
    channel: ChannelState,
    content: MessageBody,
    threadTs: string | undefined,
    via: SlackMessage['via'],
  ): SlackMessage {
    const { botUserId, botId } = this.options.identity;
    const message: SlackMessage = {
      ts: this.nextTs(),
      channel: channel.id,
      user: botUserId,
      botId,
      text: content.text,
      ...(content.blocks && { blocks: content.blocks }),
      ...(content.files && { files: content.files }),
      ...(threadTs && { threadTs }),
      replies: [],
      edits: [],
      postedAt: this.options.now(),
      via,
    };
    const parent = threadTs ? channel.messages.find((m) => m.ts === threadTs) : undefined;
    // A reply to a reply joins the parent's thread, as Slack does. A reply to an unknown thread_ts stays
    // top-level with its threadTs set, so a test can spot such orphans.
    const root =
      parent ??
      (threadTs ? channel.messages.find((m) => m.replies.some((r) => r.ts === threadTs)) : undefined);
    if (root) {
      message.threadTs = root.ts;
      root.replies.push(message);
    } else channel.messages.push(message);
    return message;
  }

  /** A top-level message from a person. */
  postAsUser(channel: ChannelState, user: string, text: string): SlackMessage {
    const message: SlackMessage = {
      ts: this.nextTs(),
      channel: channel.id,
      user,
      text,
      replies: [],
      edits: [],
      postedAt: this.options.now(),
      via: 'user',
    };
    channel.messages.push(message);
    return message;
  }

  postEphemeral(
    channel: ChannelState,
    user: string,
    content: MessageBody,
    threadTs: string | undefined,
    via: SlackEphemeral['via'],
  ): SlackEphemeral {
    const ephemeral: SlackEphemeral = {
      channel: channel.id,
      user,
      ts: this.nextTs(),
      text: content.text,
      ...(content.blocks && { blocks: content.blocks }),
      ...(threadTs && { threadTs }),
      via,
      postedAt: this.options.now(),
      edits: [],
    };
    this.ephemerals.push(ephemeral);
    return ephemeral;
  }

  findEphemeral(ts: string, user: string): SlackEphemeral | undefined {
    return this.ephemerals.find((e) => e.ts === ts && e.user === user);
  }

  /** Replaces a message's or an ephemeral's content, keeping the old one in its edit history. */
  replaceContent(
    target: { text: string; blocks?: unknown[]; edits: SlackMessageEdit[] },
    content: { text?: string; blocks?: unknown[] },
  ): void {
    target.edits.push({
      text: target.text,
      ...(target.blocks && { blocks: target.blocks }),
      replacedAt: this.options.now(),
    });
    if (content.text !== undefined) target.text = content.text;
    // chat.update keeps the old blocks when none are sent; an empty array removes them.
    if (content.blocks !== undefined) {
      if (content.blocks.length > 0) target.blocks = content.blocks;
      else delete target.blocks;
    }
  }

  deleteMessage(channel: ChannelState, message: SlackMessage): void {
    channel.messages = channel.messages.filter((m) => m !== message);
    for (const m of channel.messages) m.replies = m.replies.filter((r) => r !== message);
  }

  deleteEphemeral(ephemeral: SlackEphemeral): void {
    this.ephemerals.splice(this.ephemerals.indexOf(ephemeral), 1);
  }

  /** A message as the Web API returns it (chat.postMessage's and chat.update's `message`). */
  messageJson(message: SlackMessage) {
    const { appId, teamId } = this.options.identity;
    return {
      type: 'message',
      user: message.user,
      ...(message.botId && { bot_id: message.botId, app_id: appId }),
      text: message.text,
      ...(message.blocks && { blocks: message.blocks }),
      ...(message.files && {
        files: message.files.map((f) => ({ id: f.id, name: f.name, title: f.title, size: f.size })),
      }),
      ts: message.ts,
      team: teamId,
      ...(message.threadTs && { thread_ts: message.threadTs, parent_user_id: message.user }),
      ...(message.editedTs && { edited: { user: message.user, ts: message.editedTs } }),
    };
  }
}
