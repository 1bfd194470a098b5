/**
 * The one error type Baton throws on purpose. `code` is one of ERROR_CODES (a closed set, each with an operator hint),
 * `retriable` tells the step runner (and BullMQ) whether trying again can help, and the message tells an operator
 * what happened and, usually, what to do next.
 */
import type { ErrorCode } from './error-codes.js';
import { errorHint, messageSaysWhatToDo } from './error-codes.js';

export class BatonError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BatonError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

export const isBatonError = (error: unknown): error is BatonError => error instanceof BatonError;

/** A short, single-line description of any thrown value, for step outputs and Slack messages. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * The hint to show a person after `error`'s message: its code's, unless the code's messages already say what to do.
 * None for anything but a BatonError.
 */
export function hintFor(error: unknown): string | undefined {
  if (!(error instanceof BatonError) || messageSaysWhatToDo(error.code)) return undefined;
  return errorHint(error.code);
}

/** `error`'s message followed by its hint (when one is shown), as one text for a terminal or a log line. */
export function describeErrorWithHint(error: unknown): string {
  const message = describeError(error);
  const hint = hintFor(error);
  if (!hint) return message;
  const said = message.trimEnd();
  return `${said}${/[.!?]$/.test(said) ? '' : '.'} ${hint}`;
}
