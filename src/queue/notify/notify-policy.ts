/**
 * What the notify worker talks to and how patiently: the Slack calls it makes, the files it attaches, BullMQ's lock
 * settings for its jobs, and the retry policy of a failed Slack call (capped exponential backoff with jitter, at
 * least Retry-After, within a time budget per kind of job).
 */
import type { MinimalJob } from 'bullmq';
import type { SlackApiError } from '../../adapters/slack-web.js';
import { systemClock } from '../../core/clock.js';
import type { NotifyFileRef } from './notify-jobs.js';

/** The Slack calls the notify worker makes; `createSlackWebClient()` satisfies it. */
export interface NotifySlack {
  chat: {
    postMessage(args: {
      channel: string;
      text: string;
      blocks?: unknown[];
      thread_ts?: string;
    }): Promise<{ ts?: string; channel?: string }>;
    update(args: { channel: string; ts: string; text: string; blocks?: unknown[] }): Promise<unknown>;
    postEphemeral(args: {
      channel: string;
      user: string;
      text: string;
      blocks?: unknown[];
    }): Promise<unknown>;
  };
  /**
   * Slack's upload flow: files.getUploadURLExternal, the bytes POSTed to the upload_url it returns, then
   * files.completeUploadExternal sharing the file into the thread (files.upload is retired).
   */
  filesUploadV2?(args: {
    channel_id: string;
    thread_ts: string;
    file: Buffer;
    filename: string;
    title: string;
    initial_comment?: string;
  }): Promise<unknown>;
}

/** A file to attach, read when it is posted. */
export interface NotifyFile {
  filename: string;
  title: string;
  content: string;
  /** The message text introducing it in the thread. */
  comment?: string;
}

/** Reads what a file job attaches; null when there is nothing (any more) to attach. */
export type NotifyFileSource = (ref: NotifyFileRef) => Promise<NotifyFile | null>;

/** Posts a body to a response_url; throws SlackApiError. */
export type RespondFn = (responseUrl: string, body: Record<string, unknown>) => Promise<void>;

/** BullMQ lock settings: a killed notify worker's jobs resume within seconds. */
export const NOTIFY_WORKER_SETTINGS = {
  lockDuration: 15_000,
  stalledInterval: 5_000,
  maxStalledCount: 5,
} as const;

/** Retry pacing of failed Slack calls: capped exponential backoff within a time budget per job. */
export interface NotifyRetryPolicy {
  baseMs: number;
  maxMs: number;
  /** Status updates and thread replies: give up this long after the job was created. */
  giveUpAfterMs: number;
  /** Ephemerals and response_url replies answer a click; late, they only confuse. */
  interactiveGiveUpAfterMs: number;
}

export const DEFAULT_NOTIFY_RETRY: NotifyRetryPolicy = {
  baseMs: 1_000,
  maxMs: 60_000,
  giveUpAfterMs: 15 * 60_000,
  interactiveGiveUpAfterMs: 60_000,
};

/** Capped exponential backoff with jitter, at least Retry-After; -1 (give up) once the time budget is spent. */
export function notifyBackoff(retry: NotifyRetryPolicy) {
  return (attemptsMade: number, _type?: string, error?: Error, job?: MinimalJob): number => {
    const exponential = Math.min(retry.maxMs, retry.baseMs * 2 ** Math.max(0, attemptsMade - 1));
    const jittered = exponential * (0.8 + Math.random() * 0.4);
    const asked = (error as Partial<SlackApiError> | undefined)?.retryAfterMs ?? 0;
    const delay = Math.round(Math.max(jittered, asked));
    const interactive = job?.name === 'ephemeral' || job?.name === 'respond';
    const budget = interactive ? retry.interactiveGiveUpAfterMs : retry.giveUpAfterMs;
    // job.timestamp is BullMQ's (wall clock) stamp of when the job was added.
    const now = systemClock.now();
    return now + delay - (job?.timestamp ?? now) > budget ? -1 : delay;
  };
}
