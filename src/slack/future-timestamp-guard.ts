/**
 * Bolt's HTTP receiver with one more check in front: a request whose `X-Slack-Request-Timestamp` is more than five
 * minutes in the future is refused. Slack's guide to verifying requests rejects a timestamp "more than five minutes
 * from local time", either way. Bolt checks only the past: `verifySlackRequest` (receivers/verify-request.ts, "Rule
 * 1: Check staleness") refuses `timestamp < now - 5 min` and nothing later. A captured request signed for the future
 * could then be replayed until that time. The answer is the empty 401 that Bolt's HTTPReceiver gives a stale
 * request (`buildNoBodyResponse(res, 401)`).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { HTTPReceiverOptions } from '@slack/bolt';
import { HTTPReceiver } from '@slack/bolt';
import type { Clock, Log } from '../core/ports.js';

/** How far a request's timestamp may be from Baton's clock, as Slack's guide and Bolt both use. */
export const MAX_REQUEST_SKEW_SECONDS = 5 * 60;

/** Whether the request carries a Slack timestamp more than five minutes ahead of `nowMs`. */
export function isFromTheFuture(req: IncomingMessage, nowMs: number): boolean {
  const header = req.headers['x-slack-request-timestamp'];
  const seconds = Number(Array.isArray(header) ? header[0] : header);
  // A missing or malformed header is Bolt's to refuse, with its own message.
  if (header === undefined || Number.isNaN(seconds)) return false;
  return seconds > Math.floor(nowMs / 1000) + MAX_REQUEST_SKEW_SECONDS;
}

/** Bolt's HTTPReceiver whose requests pass the future check first. */
export function createGuardedReceiver(
  options: HTTPReceiverOptions,
  context: { clock: Clock; log: Log },
): HTTPReceiver {
  const receiver = new HTTPReceiver(options);
  const bolt: RequestListener = receiver.requestListener;
  receiver.requestListener = (req: IncomingMessage, res: ServerResponse) => {
    if (!isFromTheFuture(req, context.clock.now())) return bolt(req, res);
    context.log.warn(
      { path: req.url, timestamp: req.headers['x-slack-request-timestamp'] },
      'refused a Slack request timestamped more than 5 minutes in the future',
    );
    // Drain the body so the connection stays usable, as Bolt does by reading it before refusing.
    req.resume();
    res.writeHead(401);
    res.end();
  };
  return receiver;
}
