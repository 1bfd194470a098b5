/**
 * Who may request and who may approve, resolved against Slack user groups (`usergroups.users.list`), cached
 * briefly so a burst of clicks costs one API call per group. A group that cannot be read grants nothing: when
 * Slack cannot tell us someone is an approver, they are not one, and the message says to try again.
 */
import type { Principals } from '../config/topology.js';
import type { Clock, Log } from '../core/ports.js';
import { BatonError, describeError } from '../errors.js';

/** The one Web API method this needs; Bolt's `app.client` satisfies it. */
export interface UserGroupsApi {
  usergroups: {
    users: {
      list(args: { usergroup: string }): Promise<{ ok?: boolean; users?: string[]; error?: string }>;
    };
  };
}

export class SlackDirectory {
  private readonly cache = new Map<string, { at: number; users: Promise<Set<string>> }>();

  constructor(
    private readonly api: UserGroupsApi,
    private readonly clock: Clock,
    private readonly log: Log,
    private readonly ttlMs = 60_000,
  ) {}

  /**
   * Whether `userId` is one of `principals` (listed user or member of a listed group). Throws
   * `directory-unavailable` when membership matters and a group cannot be read.
   */
  async includes(principals: Principals, userId: string): Promise<boolean> {
    if (principals.users.includes(userId)) return true;
    let unreadable: string | null = null;
    for (const group of principals.userGroups) {
      try {
        if ((await this.members(group)).has(userId)) return true;
      } catch (error) {
        unreadable = describeError(error);
      }
    }
    if (unreadable) {
      throw new BatonError(
        'directory-unavailable',
        `Baton could not read the Slack user groups that decide this (${unreadable}). Try again in a minute.`,
        { retriable: true },
      );
    }
    return false;
  }

  private members(group: string): Promise<Set<string>> {
    const now = this.clock.now();
    const cached = this.cache.get(group);
    if (cached && now - cached.at < this.ttlMs) return cached.users;
    const users = this.api.usergroups.users
      .list({ usergroup: group })
      .then((result) => new Set(result.users ?? []));
    // A failed lookup is not cached: the next click asks Slack again.
    users.catch((error: unknown) => {
      this.cache.delete(group);
      this.log.warn({ group, err: describeError(error) }, 'usergroups.users.list failed');
    });
    this.cache.set(group, { at: now, users });
    return users;
  }
}
