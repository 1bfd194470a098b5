/**
 * Route 53 SDK errors: which ones trying again can help, and the BatonError each becomes, with a message that tells
 * an operator what to do (grant an IAM action, fix an id in the topology file, wait out the shared quota).
 */
import { BatonError } from '../../errors.js';

/** The Route 53 API operations Baton calls; each is also the IAM action `route53:<name>`. */
export type Route53Action =
  | 'ChangeResourceRecordSets'
  | 'ListResourceRecordSets'
  | 'GetChange'
  | 'GetHostedZone'
  | 'GetHealthCheck'
  | 'UpdateHealthCheck';

/** What a request was about, as error messages name it. */
export interface Route53Resource {
  kind: 'hosted zone' | 'change' | 'health check';
  id: string;
}

const RETRIABLE_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'PriorRequestNotComplete',
  'ServiceUnavailable',
  'InternalFailure',
  'InternalError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const CREDENTIAL_CODES = new Set([
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'ExpiredToken',
  'ExpiredTokenException',
]);

interface SdkErrorShape {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

const sdkError = (error: unknown): SdkErrorShape =>
  typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};

/** Whether trying the same request again can help: throttling, a busy zone, 5xx, or no HTTP answer at all. */
export function isRetriable(error: unknown): boolean {
  const { name = '', $metadata } = sdkError(error);
  if (name === 'AbortError' || name === 'CredentialsProviderError') return false;
  if (RETRIABLE_CODES.has(name)) return true;
  const status = $metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500;
  // No HTTP status: the request never got an answer (reset, refused, timed out).
  return error instanceof Error;
}

/** `Name: message` of an SDK error, for logs and error messages. */
export const describeSdkError = (error: unknown): string => {
  const { name, message, code } = sdkError(error);
  const label = name && name !== 'Error' ? name : (code ?? 'Error');
  return message ? `${label}: ${message}` : label;
};

/** An SDK error → the BatonError an operator can act on. `attempts`: how many were made, the failing one included. */
export function translateRoute53Error(
  error: unknown,
  action: Route53Action,
  resource: Route53Resource,
  attempts: number,
): BatonError {
  const { name = '', message = '', $metadata } = sdkError(error);
  const on = `${resource.kind} ${resource.id}`;
  const cause = { cause: error };
  if (name === 'CredentialsProviderError') {
    return new BatonError(
      'route53-no-credentials',
      `No AWS credentials for Route 53 (${message}) — provide them the AWS SDK way: AWS_ACCESS_KEY_ID and ` +
        `AWS_SECRET_ACCESS_KEY, AWS_PROFILE, a web identity token (IRSA, EKS Pod Identity) or an instance role`,
      cause,
    );
  }
  if (CREDENTIAL_CODES.has(name)) {
    return new BatonError(
      'route53-credentials-rejected',
      `Route 53 rejected Baton's AWS credentials on route53:${action} (${name}: ${message}) — check the access key, ` +
        `secret and session the AWS SDK picks up`,
      { retriable: name.startsWith('ExpiredToken'), ...cause },
    );
  }
  if (name === 'AccessDenied' || name === 'AccessDeniedException' || $metadata?.httpStatusCode === 403) {
    return new BatonError(
      'route53-access-denied',
      `Route 53 denied route53:${action} on ${on} — grant the IAM role route53:${action}`,
      cause,
    );
  }
  switch (name) {
    case 'NoSuchHostedZone':
      return new BatonError(
        'route53-no-such-hosted-zone',
        `Route 53 has no hosted zone ${resource.id} (${message}) — check dns.hostedZoneId in the topology file`,
        cause,
      );
    case 'InvalidChangeBatch':
      return new BatonError(
        'route53-invalid-change-batch',
        `Route 53 rejected the change batch for ${on}: ${message} — compare the zone's records with the site's dns ` +
          `settings (recordName, recordType, setIdentifiers, targets)`,
        cause,
      );
    case 'NoSuchChange':
      return new BatonError(
        'route53-no-such-change',
        `Route 53 has no change ${resource.id} (${message}) — check the record itself with /failover status`,
        cause,
      );
    case 'NoSuchHealthCheck':
      return new BatonError(
        'route53-no-such-health-check',
        `Route 53 has no health check ${resource.id} (${message}) — check dns.healthCheckIds in the topology file`,
        cause,
      );
    case 'HealthCheckVersionMismatch':
      return new BatonError(
        'route53-health-check-conflict',
        `Health check ${resource.id} changed while Baton was updating it (${message}) — someone else is editing ` +
          `it; retrying re-reads it`,
        { retriable: true, ...cause },
      );
    case 'InvalidInput':
      return new BatonError(
        'route53-invalid-input',
        `Route 53 refused route53:${action} on ${on}: ${message}`,
        cause,
      );
  }
  if (isRetriable(error)) {
    const hint =
      name === 'PriorRequestNotComplete'
        ? `Route 53 was still processing an earlier change to ${on}`
        : RETRIABLE_CODES.has(name) && name.startsWith('Thrott')
          ? `the account's 5 requests/s quota is shared with every tool using it (external-dns, Terraform, CI)`
          : 'Route 53 or the network to it is failing';
    return new BatonError(
      'route53-unavailable',
      `Route 53 kept failing route53:${action} on ${on}: ${attempts} attempts, the last ${describeSdkError(error)} — ` +
        `${hint}; the step can be retried`,
      { retriable: true, ...cause },
    );
  }
  return new BatonError(
    'route53-error',
    `route53:${action} on ${on} failed: ${describeSdkError(error)}`,
    cause,
  );
}
