/**
 * Errors in the shape the real service sends and the SDK's restXml protocol parses: an HTTP status, a code, a
 * message in the service's wording, and an `ErrorResponse` body. Injected faults (throttling, outages of the
 * service behind the API, IAM denials) use the same codes and statuses as the real ones.
 */
import { el, xmlDocument } from './write-response-xml.js';
import type { Route53Action, Route53Fault } from './route53-types.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** InvalidChangeBatch's individual problems, sent as `<Messages>` as well. */
    readonly messages?: string[],
  ) {
    super(message);
  }
}

export const invalidInput = (message: string): ApiError => new ApiError(400, 'InvalidInput', message);

/** The real service lists every problem, bracketed and comma-separated, in one Message. */
export const invalidChangeBatch = (messages: string[]): ApiError =>
  new ApiError(400, 'InvalidChangeBatch', `[${messages.join(', ')}]`, messages);

const ACCESS_DENIED_RESOURCE: Record<Route53Action, string> = {
  ChangeResourceRecordSets: 'hostedzone',
  ListResourceRecordSets: 'hostedzone',
  GetHostedZone: 'hostedzone',
  GetChange: 'change',
  GetHealthCheck: 'healthcheck',
  UpdateHealthCheck: 'healthcheck',
  GetHealthCheckStatus: 'healthcheck',
};

/** The error an injected fault answers with, worded as Route 53 and IAM word it. */
export function faultError(
  fault: Route53Fault,
  action: Route53Action | 'Unknown',
  resourceId: string,
): ApiError {
  switch (fault) {
    case 'Throttling':
      return new ApiError(400, 'Throttling', 'Rate exceeded');
    case 'PriorRequestNotComplete':
      return new ApiError(
        400,
        'PriorRequestNotComplete',
        'The request was rejected because Route 53 was still processing a prior request.',
      );
    case 'AccessDenied': {
      const kind = action === 'Unknown' ? 'hostedzone' : ACCESS_DENIED_RESOURCE[action];
      return new ApiError(
        403,
        'AccessDenied',
        `User: arn:aws:sts::123456789012:assumed-role/baton/baton-session is not authorized to perform: ` +
          `route53:${action} on resource: arn:aws:route53:::${kind}/${resourceId} because no identity-based ` +
          `policy allows the route53:${action} action`,
      );
    }
    case 'InternalFailure':
      return new ApiError(
        500,
        'InternalFailure',
        'The request processing has failed because of an unknown error, exception or failure.',
      );
    case 'ServiceUnavailable':
      return new ApiError(
        503,
        'ServiceUnavailable',
        'The request has failed due to a temporary failure of the server.',
      );
  }
}

/** Any error as the ApiError the client sees: a bug in the stand-in is an InternalFailure, as it would be there. */
export const toApiError = (error: unknown): ApiError =>
  error instanceof ApiError
    ? error
    : new ApiError(500, 'InternalFailure', `The request processing has failed: ${(error as Error).message}`);

/** The `ErrorResponse` body: Type (Sender for 4xx, Receiver for 5xx), Code, Message, Messages, RequestId. */
export function errorBody(error: ApiError, requestId: string): string {
  const type = error.status >= 500 ? 'Receiver' : 'Sender';
  return xmlDocument('ErrorResponse', [
    el('Error', [
      el('Type', type),
      el('Code', error.code),
      el('Message', error.message),
      error.messages
        ? el(
            'Messages',
            error.messages.map((message) => el('Message', message)),
          )
        : undefined,
    ]),
    el('RequestId', requestId),
  ]);
}
