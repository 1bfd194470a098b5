/** The SDK client Baton talks to Route 53 through, with the SDK's own retries off. */
import { Route53Client } from '@aws-sdk/client-route-53';
import type { Route53ClientConfig } from '@aws-sdk/client-route-53';

/** Where and as whom the client connects. */
export interface Route53ConnectionOptions {
  /** Endpoint override, e.g. AWS_ENDPOINT_URL_ROUTE_53 (the sandbox's stand-in). */
  endpoint?: string;
  /** Signing region (default us-east-1; Route 53 is global). */
  region?: string;
  /** Default: the SDK's standard chain (env, profile, web identity, container, instance role). */
  credentials?: Route53ClientConfig['credentials'];
  /** Socket timeout per HTTP request (default 10 s). */
  requestTimeoutMs?: number;
}

/**
 * A Route 53 client that makes one attempt per request: Baton retries itself, so that every attempt passes its
 * rate limiter.
 */
export function createRoute53Client(options: Route53ConnectionOptions): Route53Client {
  return new Route53Client({
    region: options.region ?? 'us-east-1',
    maxAttempts: 1,
    requestHandler: {
      connectionTimeout: 5000,
      requestTimeout: options.requestTimeoutMs ?? 10_000,
    },
    ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
    ...(options.credentials !== undefined && { credentials: options.credentials }),
  });
}
