/**
 * Authentication and authorization of a request: the bearer token a cluster was given, and the RBAC denials a test
 * injects, answered with the API server's 401 and 403 wording.
 */
import type { ClusterState } from './cluster-state.js';
import type { Attributes } from './request-attributes.js';
import { qualified, statusError } from './status-errors.js';

/** 401 unless the request carries the cluster's bearer token (when the cluster was given one). */
export function authenticate(state: ClusterState, authorization: string | undefined): void {
  const token = state.options.token;
  if (token !== undefined && authorization !== `Bearer ${token}`) {
    throw statusError(401, 'Unauthorized', 'Unauthorized');
  }
}

/** 403 when an injected RBAC denial matches the request's attributes, worded as the RBAC authorizer words it. */
export function authorize(state: ClusterState, attributes: Attributes | null): void {
  if (!attributes) return;
  const denied = state.faults.denials.some(
    (d) =>
      d.verb === attributes.verb &&
      (d.group ?? '') === attributes.group &&
      d.resource === attributes.resource &&
      (d.subresource ?? '') === attributes.subresource &&
      (d.namespace === undefined || d.namespace === attributes.namespace),
  );
  if (denied) {
    throw statusError(403, 'Forbidden', denialMessage(attributes, state.user), {
      ...(attributes.name && { name: attributes.name }),
      group: attributes.group,
      kind: attributes.resource,
    });
  }
}

function denialMessage(attributes: Attributes, user: string): string {
  const resource = attributes.subresource
    ? `${attributes.resource}/${attributes.subresource}`
    : attributes.resource;
  const scope = attributes.namespace ? `in the namespace "${attributes.namespace}"` : 'at the cluster scope';
  const reason = `User "${user}" cannot ${attributes.verb} resource "${resource}" in API group "${attributes.group}" ${scope}`;
  const subject = qualified(attributes.resource, attributes.group);
  return attributes.name
    ? `${subject} "${attributes.name}" is forbidden: ${reason}`
    : `${subject} is forbidden: ${reason}`;
}
