/** The notify queue's public API: producers use the Notifier, the worker role starts the notify worker. */
export { NOTIFY_QUEUE, replyJobId, statusJobId } from './notify-jobs.js';
export type { NotifyMessage } from './notify-jobs.js';
export { Notifier } from './notifier.js';
export type { NotifierOptions } from './notifier.js';
export type { StatusMessageState } from './status-coalescer.js';
export { DEFAULT_NOTIFY_RETRY, NOTIFY_WORKER_SETTINGS, startNotifyWorker } from './notify-worker.js';
export type {
  NotifyRetryPolicy,
  NotifySlack,
  NotifyWorker,
  NotifyWorkerOptions,
  RespondFn,
} from './notify-worker.js';
