/**
 * `SelfSubjectAccessReview` (authorization.k8s.io/v1): "may I do this?", answered for the caller by the same RBAC
 * denials that refuse its real requests (authorize.ts), so a review and the request it describes always agree.
 *
 * As the real API server does it: the review is created with POST and never stored, the answer is the spec echoed
 * with a `status` (201 Created); the spec must name exactly one of `resourceAttributes` and
 * `nonResourceAttributes` (422 otherwise); the RBAC authorizer never says `denied`, only `allowed` or no opinion
 * (`allowed: false` with an empty reason), because RBAC has no deny rules
 * (https://kubernetes.io/docs/reference/access-authn-authz/authorization/#checking-api-access, and the
 * SubjectAccessReviewStatus reference: "If both allowed is false and denied is false, then the authorizer has no
 * opinion"). Creating a review is open to every authenticated user (the `system:basic-user` ClusterRole), unless
 * a test denies `create` on `selfsubjectaccessreviews` itself.
 */
import { authorize } from './authorize.js';
import type { ClusterState } from './cluster-state.js';
import type { Attributes, Request } from './request-attributes.js';
import { methodNotAllowed, StatusError, statusError } from './status-errors.js';

export const ACCESS_REVIEW_GROUP = 'authorization.k8s.io';

interface ResourceAttributesSpec {
  namespace?: unknown;
  verb?: unknown;
  group?: unknown;
  resource?: unknown;
  subresource?: unknown;
  name?: unknown;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

function invalid(message: string, field: string): StatusError {
  return statusError(
    422,
    'Invalid',
    `SelfSubjectAccessReview.authorization.k8s.io "" is invalid: ${field}: ${message}`,
    {
      group: ACCESS_REVIEW_GROUP,
      kind: 'SelfSubjectAccessReview',
      causes: [{ reason: 'FieldValueInvalid', message, field }],
    },
  );
}

/** Answers `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews` (the caller sets status 201). */
export function serveAccessReview(state: ClusterState, attributes: Attributes, request: Request): unknown {
  if (attributes.resource !== 'selfsubjectaccessreviews' || attributes.verb !== 'create') {
    throw methodNotAllowed();
  }
  const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as {
    spec?: { resourceAttributes?: ResourceAttributesSpec; nonResourceAttributes?: unknown };
  };
  const spec = body.spec ?? {};
  const resource = spec.resourceAttributes;
  if ((resource === undefined) === (spec.nonResourceAttributes === undefined)) {
    throw invalid(
      'exactly one of nonResourceAttributes or resourceAttributes must be specified',
      'spec.resourceAttributes',
    );
  }
  // The stand-in has no non-resource rules: every non-resource URL is open to an authenticated user.
  let allowed = true;
  if (resource) {
    const asked: Attributes = {
      verb: text(resource.verb),
      group: text(resource.group),
      resource: text(resource.resource),
      subresource: text(resource.subresource),
      namespace: text(resource.namespace),
      name: text(resource.name),
    };
    try {
      authorize(state, asked);
    } catch (error) {
      if (!(error instanceof StatusError) || error.status.code !== 403) throw error;
      allowed = false;
    }
  }
  return {
    kind: 'SelfSubjectAccessReview',
    apiVersion: `${ACCESS_REVIEW_GROUP}/v1`,
    metadata: { creationTimestamp: null },
    spec,
    status: allowed
      ? {
          allowed: true,
          reason: `RBAC: allowed by ClusterRoleBinding "baton" of ClusterRole "baton" to User "${state.user}"`,
        }
      : { allowed: false, reason: '' },
  };
}
