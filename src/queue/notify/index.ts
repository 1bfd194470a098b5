/** The notify queue's public API: producers use the Notifier, the worker role starts the notify worker. */
export { NOTIFY_QUEUE, fileJobId, replyJobId, statusJobId } from './notify-jobs.js';
export type { NotifyFileRef, NotifyMessage } from './notify-jobs.js';
export { Notifier } from './notifier.js';
export type { NotifierOptions } from './notifier.js';
export type { StatusMessageState } from './status-coalescer.js';
export { startNotifyWorker } from './notify-worker.js';
export type { NotifyWorker, NotifyWorkerOptions } from './notify-worker.js';
export { DEFAULT_NOTIFY_RETRY, NOTIFY_WORKER_SETTINGS } from './notify-policy.js';
export type {
  NotifyFile,
  NotifyFileSource,
  NotifyRetryPolicy,
  NotifySlack,
  RespondFn,
} from './notify-policy.js';
