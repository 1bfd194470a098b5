/**
 * Errors as the API server answers them: a `kind: Status` body with a reason and a code, worded as Kubernetes
 * words them (NotFound, Conflict, BadRequest, MethodNotAllowed).
 */

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: { reason?: string; message: string; field?: string }[];
    retryAfterSeconds?: number;
  };
  code: number;
}

/** An error answered as a `kind: Status` object. */
export class StatusError extends Error {
  constructor(
    readonly status: StatusBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(status.message);
  }
}

export function statusError(
  code: number,
  reason: string,
  message: string,
  details?: StatusBody['details'],
  headers?: Record<string, string>,
): StatusError {
  return new StatusError(
    {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      ...(details && { details }),
      code,
    },
    headers,
  );
}

/** `deployments.apps`, or `nodes` for the core group, as the API server names a resource in messages. */
export const qualified = (resource: string, group: string): string =>
  group ? `${resource}.${group}` : resource;

export const notFound = (resource: string, group: string, name: string): StatusError =>
  statusError(404, 'NotFound', `${qualified(resource, group)} "${name}" not found`, {
    name,
    group,
    kind: resource,
  });

export const conflict = (resource: string, group: string, name: string): StatusError =>
  statusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": the object has been modified; ` +
      'please apply your changes to the latest version and try again',
    { name, group, kind: resource },
  );

export const badRequest = (message: string): StatusError => statusError(400, 'BadRequest', message);

export const pathNotFound = (): StatusError =>
  statusError(404, 'NotFound', 'the server could not find the requested resource', {});

export const methodNotAllowed = (): StatusError =>
  statusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
