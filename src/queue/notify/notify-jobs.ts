/**
 * The notify queue's names: the queue, its job data and deterministic job ids. The Redis keys of the notify state are
 * `NotifyKeys` (store/keys.ts).
 */
import { createHash } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import { z } from 'zod';

export const NOTIFY_QUEUE = 'notify';

/** What Baton posts: `text` is always set (notifications and screen readers use it), `blocks` optional. */
export interface NotifyMessage {
  text: string;
  blocks?: unknown[];
}

/** The status message state and the pacing lanes live this long after their last use. */
export const STATE_TTL_MS = 30 * 24 * 3600_000;
/** A posted thread reply is remembered this long, so a repeat of its dedupeId posts nothing. */
export const REPLY_MARKER_TTL_MS = 7 * 24 * 3600_000;

const BACKOFF_TYPE = 'baton-notify';
/** Attempts are bounded by time (the worker's retry policy), not by count. */
const MAX_ATTEMPTS = 10_000;

/** Every notify job retries with the worker's backoff strategy until its time budget is spent. */
export const notifyJobOptions = (removeOnComplete: JobsOptions['removeOnComplete'] = true): JobsOptions => ({
  attempts: MAX_ATTEMPTS,
  backoff: { type: BACKOFF_TYPE },
  removeOnComplete,
  removeOnFail: true,
});

const b64 = (value: string) => Buffer.from(value, 'utf8').toString('base64url');

/** Deterministic job ids (no `:`): one per generation of a status key, one per thread reply. */
export const statusJobId = (key: string, generation: number) => `status-${b64(key)}-${generation}`;
export const replyJobId = (threadKey: string, dedupeId: string) =>
  `reply-${createHash('sha256').update(`${threadKey}\n${dedupeId}`).digest('base64url').slice(0, 32)}`;
/** One per file attached to a thread (a file is a thread reply: it shares the reply's order and posted marker). */
export const fileJobId = (threadKey: string, dedupeId: string) => `file-${replyJobId(threadKey, dedupeId)}`;

const messageSchema = { text: z.string(), blocks: z.array(z.unknown()).optional() };
// A reserved send slot is valid for the attempt that reserved it; a retry after a failure reserves a new one.
const slotSchema = {
  slot: z.number().optional(),
  slotAttempt: z.number().optional(),
  slotLane: z.string().optional(),
};
export const statusJobSchema = z.object({
  key: z.string().min(1),
  gen: z.number().int().positive(),
  ...slotSchema,
});
export const replyJobSchema = z.object({
  channel: z.string().min(1),
  threadKey: z.string().min(1),
  dedupeId: z.string().min(1),
  /** When the reply was asked for (the Notifier's clock): its place in the thread and its time budget. */
  createdAt: z.number(),
  ...messageSchema,
  ...slotSchema,
});
/** What a file job attaches; the worker reads its content when it posts, so the job stays small. */
export const notifyFileRefSchema = z.object({ kind: z.literal('run-report'), runId: z.string().min(1) });
export const fileJobSchema = z.object({
  channel: z.string().min(1),
  threadKey: z.string().min(1),
  dedupeId: z.string().min(1),
  createdAt: z.number(),
  file: notifyFileRefSchema,
  ...slotSchema,
});
export const ephemeralJobSchema = z.object({
  channel: z.string().min(1),
  user: z.string().min(1),
  ...messageSchema,
});
export const respondJobSchema = z.object({ responseUrl: z.url(), body: z.record(z.string(), z.unknown()) });

export type StatusJobData = z.infer<typeof statusJobSchema>;
export type ReplyJobData = z.infer<typeof replyJobSchema>;
export type EphemeralJobData = z.infer<typeof ephemeralJobSchema>;
export type RespondJobData = z.infer<typeof respondJobSchema>;
export type FileJobData = z.infer<typeof fileJobSchema>;
export type NotifyFileRef = z.infer<typeof notifyFileRefSchema>;
export type NotifyJobData = StatusJobData | ReplyJobData | EphemeralJobData | RespondJobData | FileJobData;
/** The part of a job's data that holds its reserved send slot. */
export type SlotReservation = Partial<Pick<StatusJobData, 'slot' | 'slotAttempt' | 'slotLane'>>;
