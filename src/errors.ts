/**
 * The one error type Baton throws on purpose. `code` is stable and machine-readable, `retriable` tells the step
 * runner (and BullMQ) whether trying again can help, and the message tells an operator what to do next.
 */
export class BatonError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
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
